"""
The product's two runs: the operator in one worker process, and ``airflow dags test`` with mapped chunks.

Each run happens in a child process started here and reaped with ``os.wait4``, so its peak resident memory
is that process's own (with its waited-for children), not the benchmark's. Run as a script, this module is
the worker of the single-task run: ``bench_product.py worker NAMES.json RESULT.json``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DAG_ID = "dbxscim_reactivate_users"
WORKER_TIMEOUT = 900.0
DAG_TIMEOUT = 1200.0
MIGRATE_TIMEOUT = 600.0


@dataclass
class ChildRun:
    """
    How a child process ended.

    :param returncode: its exit status (negative: killed by that signal).
    :param seconds: wall time from start to exit.
    :param maxrss_mb: peak resident memory of the child and its reaped descendants, in MiB.
    :param log: where its output went.
    """

    returncode: int
    seconds: float
    maxrss_mb: float
    log: Path


def airflow_env(home: Path, connection: str, rate_limit_dir: Path) -> dict[str, str]:
    """The environment of a throw-away Airflow home on SQLite that reaches the emulator."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    return {
        **inherited,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_DBXSCIM_DEFAULT": connection,
        "DBXSCIM_RATE_LIMIT_DIR": str(rate_limit_dir),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }


def run_child(command: Sequence[str], env: Mapping[str, str], log: Path, timeout: float) -> ChildRun:
    """Run a command with its output in ``log``; kill it after ``timeout`` seconds; measure its peak RSS."""
    return _reap(_start(command, env, log), time.monotonic(), timeout, log)


def _start(command: Sequence[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            list(command), env=dict(env), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def _reap(process: subprocess.Popen[bytes], started: float, timeout: float, log: Path) -> ChildRun:
    """Wait for the child with ``os.wait4``, whose rusage is that child's (and its reaped children's)."""
    watchdog = threading.Timer(max(0.0, started + timeout - time.monotonic()), process.kill)
    watchdog.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        watchdog.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(process.returncode, time.monotonic() - started, usage.ru_maxrss / 1024, log)


def tail(log: Path, chars: int = 4000) -> str:
    """The end of a child's output, for an error message (the work directory is removed afterwards)."""
    return log.read_text(errors="replace")[-chars:]


def run_single_task(user_names: list[str], env: Mapping[str, str], workdir: Path) -> dict[str, Any]:
    """Reactivate the whole list with one operator in a worker process; return the worker's report."""
    return run_workers([user_names], env, workdir)


def run_workers(parts: list[list[str]], env: Mapping[str, str], workdir: Path) -> dict[str, Any]:
    """
    Run one worker process per part, all at once, as mapped tasks in a pool with that many slots would.

    :return: outcome counts added up, the largest worker peak RSS, the longest ``execute`` and the wall time
        from the first start to the last exit.
    """
    started = time.monotonic()
    folders = [workdir / f"worker-{n}" for n in range(len(parts))]
    processes = [_start_worker(part, env, folder) for part, folder in zip(parts, folders, strict=True)]
    children = [
        _reap(process, started, WORKER_TIMEOUT, folder / "worker.log")
        for process, folder in zip(processes, folders, strict=True)
    ]
    summaries = []
    for child, folder in zip(children, folders, strict=True):
        if child.returncode != 0 or not (folder / "result.json").exists():
            raise RuntimeError(f"a worker exited with {child.returncode}:\n{tail(child.log)}")
        summaries.append(json.loads((folder / "result.json").read_text()))
    return {
        "execute_seconds": max(summary["execute_seconds"] for summary in summaries),
        "process_seconds": max(child.seconds for child in children),
        "maxrss_mb": max(summary["maxrss_mb"] for summary in summaries),
        "counts": _add_counts(summary["counts"] for summary in summaries),
        "returncode": 0,
    }


def _start_worker(user_names: list[str], env: Mapping[str, str], folder: Path) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    names_file, result_file = folder / "names.json", folder / "result.json"
    names_file.write_text(json.dumps(user_names))
    command = [sys.executable, str(Path(__file__).resolve()), "worker", str(names_file), str(result_file)]
    return _start(command, env, folder / "worker.log")


def migrate(env: Mapping[str, str], workdir: Path) -> float:
    """Create the metadata database of the throw-away Airflow home; return the seconds it took."""
    command = [sys.executable, "-m", "airflow", "db", "migrate"]
    child = run_child(command, env, workdir / "migrate.log", MIGRATE_TIMEOUT)
    if child.returncode != 0:
        raise RuntimeError(f"airflow db migrate exited with {child.returncode}:\n{tail(child.log)}")
    return child.seconds


def run_dag(
    list_file: Path, conf: Mapping[str, Any], env: Mapping[str, str], workdir: Path
) -> dict[str, Any]:
    """Run ``airflow dags test`` of the example DAG on the list file; return exit, time, RSS and counts."""
    run_conf = {**conf, "user_list_path": str(list_file)}
    command = [sys.executable, "-m", "airflow", "dags", "test", DAG_ID, "-c", json.dumps(run_conf)]
    child = run_child(command, env, workdir / "dags-test.log", DAG_TIMEOUT)
    if child.returncode != 0:
        print(f"airflow dags test exited with {child.returncode}:\n{tail(child.log)}", file=sys.stderr)
    counts, reports = report_counts(Path(conf["report_dir"]))
    return {
        "returncode": child.returncode,
        "seconds": child.seconds,
        "process_seconds": child.seconds,
        "maxrss_mb": child.maxrss_mb,
        "counts": counts,
        "reports": reports,
    }


def report_counts(report_dir: Path) -> tuple[dict[str, int], int]:
    """Add up the outcome counts of every task report under ``report_dir``; also return how many there are."""
    paths = [path for path in report_dir.rglob("*.json") if not path.name.endswith(".progress.json")]
    return _add_counts(json.loads(path.read_text())["counts"] for path in paths), len(paths)


def _add_counts(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for one in counts:
        for outcome, count in one.items():
            totals[outcome] = totals.get(outcome, 0) + count
    return totals


class _StateStore:
    """Airflow 3.3's task state store as the operator sees it, serialising each value as the real one must."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self._values[key]) if key in self._values else default

    def set(self, key: str, value: Any) -> None:
        self._values[key] = json.dumps(value)


def _worker(names_file: Path, result_file: Path) -> None:
    """Run the operator over every name in one task, as a worker would, and write what it returned."""
    from airflow_provider_dbxscim.operators.reactivate import ReactivateAccountUserOperator

    user_names = json.loads(names_file.read_text())
    operator = ReactivateAccountUserOperator(
        task_id="reactivate",
        user_names=user_names,
        max_users=len(user_names),
        report_dir=str(result_file.parent / "reports"),
    )
    ti = SimpleNamespace(
        dag_id="bench", run_id="bench", task_id="reactivate", map_index=-1, try_number=1, xcom_push=print
    )
    started = time.monotonic()
    result = operator.execute({"ti": ti, "task_state_store": _StateStore()})
    seconds = time.monotonic() - started
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {"execute_seconds": seconds, "counts": result["counts"], "maxrss_mb": maxrss_mb}
    result_file.write_text(json.dumps(summary))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "worker":
        sys.exit("usage: bench_product.py worker NAMES.json RESULT.json")
    _worker(Path(sys.argv[2]), Path(sys.argv[3]))
