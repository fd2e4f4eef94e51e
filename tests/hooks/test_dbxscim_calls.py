"""Tests of the hook's SCIM calls against the emulator: lookups, paging, PATCH, faults and Retry-After."""

from __future__ import annotations

import pytest

from airflow_provider_dbxscim import scim
from airflow_provider_dbxscim.emulator import make_users
from airflow_provider_dbxscim.exceptions import (
    InvalidRequestError,
    NotFoundError,
    ServiceUnavailableError,
    UnexpectedResponseError,
)
from airflow_provider_dbxscim.hooks._transport import Audience, Call
from airflow_provider_dbxscim.hooks.dbxscim import DbxScimHook


def _heal_after(fake_time, emu, waits: int, **switches) -> None:
    fake_time.on_sleep.append(lambda: len(fake_time.waits) == waits and emu.state.configure(**switches))


def test_lookups_are_batched(hook, emu, requests_of):
    """120 known and 10 unknown names take three filtered requests of up to 50 terms."""
    emu.state.seed({"users": make_users(120, inactive_every=3, external_every=10)})
    names = [f"USER{number:04d}@example.com" for number in range(1, 131)]

    found = hook.find_account_users(names)

    assert len(found) == 120
    assert "user0130@example.com" not in found
    assert found["user0003@example.com"].active is False
    assert found["user0010@example.com"].external_id == "idp-user-0010"
    assert requests_of("scim_list") == {"200": 3}


def test_lookups_page_past_a_small_page_cap(connect, emu, fake_time, requests_of):
    """With pages capped at 7, one filter's 30 matches are read in five pages, none skipped or repeated."""
    emu.state.configure(max_page_size=7)
    emu.state.seed({"users": make_users(30)})
    names = [f"user{number:04d}@example.com" for number in range(1, 51)]

    with DbxScimHook(connect(terms_per_filter=100), sleep=fake_time.sleep, clock=fake_time.monotonic) as hook:
        found = hook.find_account_users(names)

    assert sorted(found) == names[:30]
    assert requests_of("scim_list") == {"200": 5}


def test_get_and_reactivate_an_account_user(hook, emu, requests_of):
    """A user read by id is reactivated with one PATCH carrying a JSON boolean."""
    emu.state.seed({"users": [{"userName": "a@example.com", "active": False, "id": "1234567890123456"}]})

    before = hook.get_account_user("1234567890123456")
    hook.set_account_user_active(before.id)
    after = hook.get_account_user(before.id)

    assert (before.active, after.active) == (False, True)
    assert requests_of("scim_patch") == {"200": 1}
    assert emu.state.stats()["patches"][0]["active"] is True


@pytest.mark.parametrize("answer", ["empty_object", "no_content", "resource"])
def test_every_patch_success_shape_is_accepted(hook, emu, answer):
    """A PATCH answered 200 with {}, 204, or 200 with the user counts as done."""
    emu.state.configure(patch_response=answer)
    emu.state.seed({"users": [{"userName": "a@example.com", "active": False, "id": "42"}]})

    hook.set_account_user_active("42")

    assert emu.state.get_user("a@example.com")["active"] is True


@pytest.mark.parametrize(
    ("switch", "route"),
    [
        ("fault_rate_drop", "scim_list"),
        ("fault_rate_429", "scim_list"),
        ("fault_rate_503", "scim_list"),
        ("fault_rate_500_null", "scim_list"),
        ("fault_rate_non_json", "scim_list"),
        ("fault_rate_drop", "scim_patch"),
        ("fault_rate_429", "scim_patch"),
        ("fault_rate_503", "scim_patch"),
        ("fault_rate_throttle_500", "scim_patch"),
    ],
)
def test_retryable_faults_are_survived(hook, emu, fake_time, requests_of, switch, route):
    """Two failures in a row of each retryable kind are retried until the call succeeds."""
    emu.state.seed({"users": [{"userName": "a@example.com", "active": False, "id": "42"}]})
    emu.state.configure(**{switch: 1.0, "fault_route_kinds": [route]})
    _heal_after(fake_time, emu, 2, **{switch: 0.0})

    if route == "scim_patch":
        hook.set_account_user_active("42")
    else:
        hook.find_account_users(["a@example.com"])

    assert sum(requests_of(route).values()) == 3
    assert requests_of(route)["200"] == 1
    assert len(fake_time.waits) == 2


def test_throttling_disguised_as_500_is_retried(hook, emu, fake_time, requests_of):
    """A 500 whose detail starts with REQUEST_LIMIT_EXCEEDED is throttling and is retried after a backoff."""
    emu.state.configure(rate_limits_enabled=True, rate_limit_get=1.0, throttle_as_500=True)

    for name in ("a@example.com", "b@example.com", "c@example.com"):
        hook.find_account_users([name])

    assert requests_of("scim_list")["200"] == 3
    assert requests_of("scim_list")["500"] >= 1


@pytest.mark.parametrize(
    ("style", "low", "high"), [("integer", 2.0, 2.0), ("decimal", 2.0, 2.0), ("http_date", 1.0, 3.0)]
)
def test_retry_after_is_honoured(hook, emu, fake_time, style, low, high):
    """The wait after a 429 is the Retry-After the service sent, in each of its three forms."""
    emu.state.configure(
        fault_rate_429=1.0,
        fault_route_kinds=["scim_list"],
        fault_retry_after_seconds=2.0,
        retry_after_format=style,
    )
    _heal_after(fake_time, emu, 1, fault_rate_429=0.0)

    hook.find_account_users(["a@example.com"])

    assert len(fake_time.waits) == 1
    assert low <= fake_time.waits[0] <= high


def test_a_retry_after_beyond_the_cap_fails_at_once(hook, emu, fake_time):
    """A Retry-After of an hour is neither waited for nor cut short: the call fails for Airflow to retry."""
    emu.state.configure(fault_rate_503=1.0, fault_route_kinds=["scim_list"], fault_retry_after_seconds=3600)

    with pytest.raises(ServiceUnavailableError) as caught:
        hook.find_account_users(["a@example.com"])

    assert caught.value.retry_after == 3600
    assert fake_time.waits == []


def test_retries_stop_at_max_wait(connect, emu, fake_time, requests_of):
    """A service that never recovers is given up on once the next wait would pass max_wait."""
    emu.state.configure(fault_rate_503=1.0, fault_route_kinds=["scim_list"], fault_retry_after_seconds=4)

    with (
        DbxScimHook(connect(), sleep=fake_time.sleep, clock=fake_time.monotonic, max_wait=10) as hook,
        pytest.raises(ServiceUnavailableError) as caught,
    ):
        hook.find_account_users(["a@example.com"])

    assert caught.value.status == 503
    assert fake_time.waits == [4.0, 4.0]
    assert requests_of("scim_list") == {"503": 3}


def test_unknown_user_is_not_retried(hook, emu, fake_time, requests_of):
    """A PATCH of an id that does not exist fails at once with NotFoundError."""
    with pytest.raises(NotFoundError) as caught:
        hook.set_account_user_active("999")

    assert caught.value.status == 404
    assert requests_of("scim_patch") == {"404": 1}
    assert fake_time.waits == []


def test_bad_request_is_not_retried(hook, emu, fake_time, requests_of):
    """A 400 with an empty body fails at once."""
    emu.state.configure(fault_rate_empty_body=1.0, fault_route_kinds=["scim_list"])

    with pytest.raises(InvalidRequestError):
        hook.find_account_users(["a@example.com"])

    assert requests_of("scim_list") == {"400": 1}
    assert fake_time.waits == []


def test_transient_500_on_patch_is_retried(hook, emu, fake_time, requests_of):
    """A 500 with detail "null" on the idempotent PATCH is retried until the deadline, then raised."""
    emu.state.seed({"users": [{"userName": "a@example.com", "active": False, "id": "42"}]})
    emu.state.configure(fault_rate_500_null=1.0, fault_route_kinds=["scim_patch"])

    with pytest.raises(ServiceUnavailableError):
        hook.set_account_user_active("42")

    assert requests_of("scim_patch")["500"] > 1
    assert fake_time.waits


def test_cast_error_is_not_retried(hook, emu, fake_time, requests_of):
    """The 500 the service answers to a string "true" is final and explains the boolean."""
    emu.state.seed({"users": [{"userName": "a@example.com", "active": False, "id": "42"}]})
    body = {
        "schemas": [scim.PATCH_OP_SCHEMA],
        "Operations": [{"op": "replace", "path": "active", "value": "true"}],
    }
    call = Call(
        "PATCH",
        f"{emu.url}/api/2.0/accounts/{emu.account_id}/scim/v2/Users/42",
        Audience.account(hook.settings),
        body=body,
    )

    with pytest.raises(InvalidRequestError, match="JSON boolean"):
        hook.get_conn().request(call)

    assert requests_of("scim_patch") == {"500": 1}


def test_html_answer_is_not_retried(hook, emu, fake_time, requests_of):
    """A login page where JSON was expected fails at once, naming the URL and content type."""
    emu.state.configure(fault_rate_html=1.0, fault_route_kinds=["scim_list"])

    with pytest.raises(UnexpectedResponseError) as caught:
        hook.find_account_users(["a@example.com"])

    assert f"GET {emu.url}/api/2.0/accounts/{emu.account_id}/scim/v2/Users" in str(caught.value)
    assert "text/html" in str(caught.value)
    assert requests_of("scim_list") == {"200": 1}


def test_not_an_account_admin_is_not_refreshed(hook, emu, requests_of):
    """A 403 that is about permissions, not the token, fails without fetching another token."""
    emu.state.configure(account_admin=False)

    with pytest.raises(Exception, match="account admin"):
        hook.find_account_users(["a@example.com"])

    assert requests_of("token") == {"200": 1}
    assert requests_of("scim_list") == {"403": 1}
