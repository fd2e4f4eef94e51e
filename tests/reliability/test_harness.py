"""The readings the reliability runs take off the emulator's PATCH log, its statistics and the run outputs."""

from __future__ import annotations

from reliability_harness import (
    Population,
    build_accounts,
    busiest_window,
    find_secrets,
    injected_faults,
    patches_after_success,
)


def patch(user: str, at: float, status: int | None = 200, scope: str = "account") -> dict:
    return {"scope": scope, "id": user, "userName": user, "monotonic": at, "status": status}


def test_a_patch_after_a_success_is_a_repeat_and_a_retry_after_a_failure_is_not():
    """Dropped and throttled PATCHes may be sent again; anything after the first success is counted."""
    log = [
        patch("a", 1.0, None),
        patch("a", 1.1, 429),
        patch("a", 1.2),
        patch("b", 1.3),
        patch("a", 1.4, 503),
        patch("b", 1.5, 204),
    ]

    repeats = patches_after_success(log)

    assert repeats == {"a": 1, "b": 1}


def test_workspace_patches_are_counted_apart_from_the_account():
    """The same user PATCHed at the account and in a workspace is not a repeat."""
    log = [patch("a", 1.0), patch("a", 1.1, scope="lab")]

    assert patches_after_success(log) == {}


def test_busiest_window_counts_successful_patches_within_one_second():
    """Failed PATCHes do not count, and a window spans less than one second."""
    log = [patch("a", 0.0), patch("b", 0.5), patch("c", 0.99, 429), patch("d", 0.999), patch("e", 1.0)]

    assert busiest_window(log) == 3


def test_injected_faults_add_expired_tokens_and_the_emulators_own_throttling():
    """Drawn faults, 403 answers of API routes and the emulator's 429s are counted by kind."""
    stats = {
        "faults": {"429": 4, "drop": 1},
        "requests": {
            "scim_patch": {"200": 9, "403": 2},
            "token": {"200": 3, "403": 5},
            "scim_list": {"403": 1},
        },
        "throttled": {"patch": 2},
    }

    assert injected_faults(stats) == {"429": 4, "drop": 1, "expired_token": 3, "rate_limited": 2}


def test_secrets_are_found_wherever_they_occur():
    """Each text holding a secret is named, with only the first characters of the secret."""
    texts = {"log": "Bearer tok-123456 sent", "xcom": '{"ok": true}', "error": "secret s3cr3t-value"}

    found = find_secrets(texts, ["tok-123456", "s3cr3t-value", ""])

    assert found == [("log", "tok-"), ("error", "s3cr")]


def test_accounts_list_every_kind_with_its_expected_outcome():
    """The list names each listed user once, some in capitals, and the unlisted stay out of it."""
    population = Population(inactive=5, idp_managed=2, active=3, unknown=4, unlisted_inactive=6)

    accounts = build_accounts(population)

    assert len(accounts.entries) == len({entry.lower() for entry in accounts.entries}) == 14
    assert any(entry != entry.lower() for entry in accounts.entries)
    assert sorted(accounts.expected.values()).count("reactivated") == 7
    assert not set(accounts.unlisted) & set(accounts.expected)
    assert len(accounts.seed["users"]) == 5 + 2 + 3 + 6
