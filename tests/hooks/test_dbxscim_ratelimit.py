"""Tests that the hook keeps an account's PATCH budget when several processes reactivate users at once."""

from __future__ import annotations

import multiprocessing

from airflow_provider_dbxscim.emulator import make_users
from airflow_provider_dbxscim.hooks.dbxscim import DbxScimHook

RATE = 20.0
WORKERS = 4
USERS_PER_WORKER = 15


def _reactivate(conn_id: str, names: list[str], results) -> None:
    try:
        with DbxScimHook(conn_id) as hook:
            found = hook.find_account_users(names)
            for user in found.values():
                hook.set_account_user_active(user.id)
        results.put(len(found))
    except Exception as exc:
        results.put(repr(exc))


def _busiest_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max(sum(1 for t in ordered if start <= t < start + 1.0) for start in ordered)


def test_parallel_processes_share_the_patch_budget(emu, connect):
    """Four processes reactivating at once send at most the PATCH rate plus 5 % in any one-second window."""
    emu.state.configure(rate_limits_enabled=True, rate_limit_patch=RATE, rate_limit_get=RATE)
    emu.state.seed({"users": make_users(WORKERS * USERS_PER_WORKER)})
    conn_id = connect(patch_rate_per_second=RATE, get_rate_per_second=RATE)
    names = [user["userName"] for user in emu.state.users()]
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [
        context.Process(target=_reactivate, args=(conn_id, names[i::WORKERS], results))
        for i in range(WORKERS)
    ]

    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(10)

    stats = emu.state.stats()
    patch_times = [patch["time"] for patch in stats["patches"]]
    assert outcomes == [USERS_PER_WORKER] * WORKERS
    assert len(patch_times) == WORKERS * USERS_PER_WORKER
    assert _busiest_second(patch_times) <= RATE * 1.05
    assert stats["requests"]["scim_patch"] == {"200": WORKERS * USERS_PER_WORKER}
    assert all(user["active"] for user in emu.state.users())
