"""Tests of the file-based rate limiter shared between processes."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from airflow_provider_dbxscim.exceptions import ConfigurationError
from airflow_provider_dbxscim.utils.ratelimit import ENV_DIR, MAX_AHEAD, FileRateLimiter, default_directory


class _Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_slots_are_spaced_by_the_interval(tmp_path):
    """Back-to-back reservations are one interval apart; the first goes at once."""
    clock = _Clock()
    limiter = FileRateLimiter(tmp_path, "account-a-PATCH", 4.0, clock=clock)

    delays = [limiter.reserve() for _ in range(4)]

    assert delays == [0.0, 0.25, 0.5, 0.75]


def test_a_quiet_spell_allows_one_call_at_once_but_no_burst(tmp_path):
    """After idling, one call goes at once and the next still waits a full interval."""
    clock = _Clock()
    limiter = FileRateLimiter(tmp_path, "k", 2.0, clock=clock)
    limiter.reserve()
    clock.now += 60

    delays = [limiter.reserve(), limiter.reserve()]

    assert delays == [0.0, 0.5]


def test_limiters_on_the_same_key_share_one_budget(tmp_path):
    """Two limiters, as in two processes, hand out interleaved slots from one file."""
    clock = _Clock()
    first = FileRateLimiter(tmp_path, "account-a-GET", 10.0, clock=clock)
    second = FileRateLimiter(tmp_path, "account-a-GET", 10.0, clock=clock)
    other = FileRateLimiter(tmp_path, "account-b-GET", 10.0, clock=clock)

    delays = [first.reserve(), second.reserve(), first.reserve(), other.reserve()]

    assert delays == pytest.approx([0.0, 0.1, 0.2, 0.0])


def test_a_clock_stepped_back_resets_the_slot(tmp_path):
    """A slot implausibly far ahead is taken for a wall clock that stepped back, and reset."""
    clock = _Clock(now=10_000.0)
    limiter = FileRateLimiter(tmp_path, "k", 1.0, clock=clock)
    limiter.reserve()
    clock.now -= MAX_AHEAD + 100

    assert limiter.reserve() == 0.0


def test_a_damaged_file_is_treated_as_idle(tmp_path):
    """A slot file with a partial value does not stop the limiter."""
    limiter = FileRateLimiter(tmp_path, "k", 1.0, clock=_Clock())
    limiter.path.parent.mkdir(parents=True, exist_ok=True)
    limiter.path.write_bytes(b"\x01\x02")

    assert limiter.reserve() == 0.0


def test_acquire_sleeps_until_the_slot(tmp_path):
    """acquire waits for its slot with the injected sleep."""
    waits: list[float] = []
    limiter = FileRateLimiter(tmp_path, "k", 5.0, clock=_Clock(), sleep=waits.append)

    limiter.acquire()
    limiter.acquire()

    assert waits == [pytest.approx(0.2)]


def test_an_overrunning_sleep_pushes_the_next_slot_back(tmp_path):
    """When acquire wakes up late, the next slot counts from when it really went, not from its plan."""
    clock = _Clock()

    def late_sleep(seconds: float) -> None:
        clock.now += seconds + 0.05

    limiter = FileRateLimiter(tmp_path, "k", 10.0, clock=clock, sleep=late_sleep)
    limiter.acquire()

    limiter.acquire()

    assert limiter.reserve() == pytest.approx(0.1)


def test_an_unusable_file_is_a_configuration_error(tmp_path):
    """A slot file this user cannot open fails with advice to choose another directory."""
    (tmp_path / "blocked").write_text("a file where the directory should be")
    limiter = FileRateLimiter(tmp_path / "blocked", "k", 1.0)

    with pytest.raises(ConfigurationError, match="rate_limit_dir"):
        limiter.reserve()


def test_rate_must_be_positive(tmp_path):
    """A rate of zero or less is refused."""
    with pytest.raises(ValueError, match="positive"):
        FileRateLimiter(tmp_path, "k", 0)


def test_keys_become_safe_file_names(tmp_path):
    """Keys with URL characters stay inside the directory and distinct keys get distinct files."""
    first = FileRateLimiter(tmp_path, "workspace-https://a.example/x-GET", 1.0)
    second = FileRateLimiter(tmp_path, "workspace-https://a.example_x-GET", 1.0)

    assert first.path.parent == tmp_path
    assert first.path != second.path


def test_directory_override_order(tmp_path, monkeypatch):
    """The connection's directory wins over the environment variable, which wins over the temp default."""
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "env"))

    assert default_directory(str(tmp_path / "extra")) == tmp_path / "extra"
    assert default_directory() == tmp_path / "env"
    monkeypatch.delenv(ENV_DIR)
    assert default_directory().name == "dbxscim-ratelimit"


def _take_slots(directory: str, rate: float, count: int, times) -> None:
    limiter = FileRateLimiter(directory, "account-shared-PATCH", rate)
    for _ in range(count):
        limiter.acquire()
        times.append(time.time())


def test_processes_share_the_rate(tmp_path):
    """Four processes taking slots at once are spaced by the interval between them all."""
    rate = 50.0
    with multiprocessing.Manager() as manager:
        times = manager.list()
        workers = [
            multiprocessing.get_context("fork").Process(
                target=_take_slots, args=(str(tmp_path), rate, 10, times)
            )
            for _ in range(4)
        ]

        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        stamps = sorted(times)

    assert len(stamps) == 40
    assert stamps[-1] - stamps[0] >= 0.95 * 39 / rate
    assert max(sum(1 for t in stamps if start <= t < start + 0.2) for start in stamps) <= 0.2 * rate + 1
