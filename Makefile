# Every target creates what it needs: the virtual environment from the lock file, a throw-away Airflow home
# and, where a run needs one, the emulator. Nothing outside the repository is touched.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements-dev.lock

.PHONY: venv demo test lint format bench reliability emulator clean

venv: $(STAMP)

$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip sync --python $(BIN)/python --quiet $(LOCK)
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	touch $(STAMP)

demo: venv
	$(BIN)/python scripts/demo.py

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python scripts/bench.py

reliability: venv
	$(BIN)/python scripts/reliability.py

emulator: venv
	$(BIN)/python -m airflow_provider_dbxscim.emulator --port 8765

.PHONY: lock
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o $(LOCK) --quiet

clean:
	rm -rf $(VENV) .airflow-home .demo build *.egg-info
