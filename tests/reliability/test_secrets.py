"""After every run and bad input, no file, XCom, rendered field, state value or message holds a secret."""

from __future__ import annotations

import pytest
from reliability_harness import find_secrets, read_files
from reliability_inputs import WRONG_SECRET

pytestmark = pytest.mark.slow


def test_no_secret_or_token_is_left_anywhere(fault_runs, bad_inputs):
    """The client secret, a wrong secret and every token the emulators issued appear nowhere they left."""
    texts = read_files(path for path in fault_runs.root.rglob("*") if path.is_file())
    for home in fault_runs.homes:
        texts.update(home.stored_texts())
    for name, report in fault_runs.reports.items():
        texts.update((f"{name}: {where}", text) for where, text in report.texts.items())
    texts.update((name, verdict.message) for name, verdict in bad_inputs.verdicts.items())
    tokens = [token for report in fault_runs.reports.values() for token in report.tokens] + bad_inputs.tokens

    found = find_secrets(texts, [bad_inputs.client_secret, WRONG_SECRET, *tokens])

    assert found == []
    assert len(set(tokens)) > 10
    assert any(where.startswith("xcom:") for where in texts)
    assert any(where.startswith("rendered_task_instance_fields:") for where in texts)
