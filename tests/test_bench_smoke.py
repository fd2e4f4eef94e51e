"""Smoke tests of the benchmark's pure helpers: the scenario data and the figures read off a PATCH log."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from bench_report import render, run_figures, summary, targets
from bench_scenario import (
    Scenario,
    build_seed,
    build_user_list,
    max_window_overshoot,
    pauses,
    sustained_rate,
    unabsorbed_429,
)

SMALL = Scenario(account_users=60, listed_inactive=10, listed_active=5, listed_unknown=3, baseline_users=4)


def patch(user_id: str, at: float, status: int = 200) -> dict:
    return {"scope": "account", "id": user_id, "monotonic": at, "status": status}


def stats(patches: list[dict], requests: dict | None = None) -> dict:
    return {"patches": patches, "requests": requests or {}}


def test_user_list_mixes_inactive_active_and_unknown_names():
    """The list holds the scenario's numbers of inactive, active and unknown users, each once."""
    seed = build_seed(SMALL)
    by_name = {user["userName"]: user for user in seed["users"]}

    names = build_user_list(SMALL, seed)

    assert len(names) == len(set(names)) == SMALL.listed
    assert sum(1 for n in names if n in by_name and not by_name[n]["active"]) == 10
    assert sum(1 for n in names if n in by_name and by_name[n]["active"]) == 5
    assert sum(1 for n in names if n not in by_name) == 3


def test_sustained_rate_counts_intervals_between_first_and_last():
    """Eleven PATCHes spread over one second are ten per second."""
    times = [n / 10 for n in range(11)]

    assert sustained_rate(times) == pytest.approx(10.0)
    assert sustained_rate(times[:1]) is None


def test_window_overshoot_finds_the_busiest_second():
    """A burst of 12 within one second over a limit of 10 overshoots by 20 %, wherever it sits."""
    steady = [n * 0.1 for n in range(30)]
    burst = [5.0 + n * 0.05 for n in range(12)]

    assert max_window_overshoot(steady, 10) == pytest.approx(0.0)
    assert max_window_overshoot(sorted(steady[:20] + burst), 10) == pytest.approx(0.2)


def test_pauses_add_up_the_long_gaps_only():
    """Two gaps above the threshold are counted; the short ones are not."""
    assert pauses([0.0, 0.1, 1.1, 1.2, 2.0], 0.5) == (2, pytest.approx(1.8))


def test_a_429_retried_successfully_is_absorbed():
    """A PATCH that got 429 and then succeeded is absorbed; one that never succeeded is not."""
    log = [patch("a", 1.0, 429), patch("a", 2.0), patch("b", 3.0, 429)]
    requests = {"scim_patch": {"200": 1, "429": 2}, "scim_list": {"429": 1, "200": 3}}

    assert unabsorbed_429(stats(log, requests), run_completed=True) == 1
    assert unabsorbed_429(stats(log, requests), run_completed=False) == 2


def test_figures_summary_and_table_fit_together():
    """Figures of a clean run meet the request and 429 targets and render in the table."""
    log = [patch(str(n), n / 100) for n in range(10)]
    requests = {"scim_patch": {"200": 10}, "scim_list": {"200": 1}}
    run = {"seconds": 1.0, "counts": {"reactivated": 10, "already_active": 5, "not_found": 3}}
    figures = run_figures(stats(log, requests), {**run, "maxrss_mb": 100.0}, SMALL, users=18)
    runs = {"single_task": {**figures, "left_inactive": 0}}

    headline = summary(runs, SMALL)
    table = render(SMALL, runs, {"single_task": "operator"})

    assert figures["patch_rate"] == pytest.approx(100.0)
    assert figures["other_requests_per_user"] == pytest.approx(1 / 18)
    assert targets(headline)["unabsorbed_429 == 0"] is True
    assert "sustained PATCH/s" in table
