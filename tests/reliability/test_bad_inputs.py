"""Bad inputs: each is refused, set aside or normalised, with a message naming the problem and the remedy."""

from __future__ import annotations

import pytest

ISSUE_INPUTS = [
    "an empty list",
    "None",
    "a string where a list is expected",
    "a list over max_users",
    "entries that are not e-mail addresses",
    "addresses with spaces",
    "addresses in capitals",
    "duplicate addresses",
    "addresses with non-ASCII characters",
    "a CSV file with a byte-order mark and a header",
    "a CSV file without a userName column",
    "a malformed JSON file",
    "an empty upstream file",
    "a file over max_users",
    "a connection without account id",
    "a connection with an http:// host",
    "a workspace host where the accounts host belongs",
    "a host that is not a Databricks host",
    "a connection with a wrong secret",
    "a token endpoint answering an HTML page",
]


def test_every_input_of_the_issue_is_tried(bad_inputs):
    """The bench tries exactly the inputs listed here, in this order."""
    assert list(bad_inputs.verdicts) == ISSUE_INPUTS


@pytest.mark.parametrize("name", ISSUE_INPUTS)
def test_bad_input_is_handled_clearly(bad_inputs, name):
    """The message names the problem and the remedy; only users asked for were PATCHed, each reported."""
    verdict = bad_inputs.verdicts[name]

    assert verdict.problems == [], verdict.message
