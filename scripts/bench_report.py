"""Turn the emulator's statistics of each run into figures, the printed table and ``bench-results.json``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench_scenario import (
    Scenario,
    count_status,
    max_window_count,
    patch_arrivals,
    pauses,
    requests_by_kind,
    sustained_rate,
    unabsorbed_429,
)

MiB_TARGET = 300.0
RATIO_TARGET = 0.9
OTHER_PER_USER_TARGET = 0.05
OVERSHOOT_TARGET = 0.05
OUTCOMES = ("reactivated", "already_active", "not_found", "failed")
#: A pause between two PATCHes longer than this is time spent elsewhere (lookups, a task starting).
PAUSE_SECONDS = 0.2


def run_figures(
    stats: Mapping[str, Any], run: Mapping[str, Any], scenario: Scenario, *, users: int
) -> dict[str, Any]:
    """
    The figures of one run, from the emulator's statistics and what the run itself reported.

    :param stats: the emulator's ``stats()`` after the run.
    :param run: ``seconds`` (wall time of the work), ``counts`` (outcomes), and optionally
        ``process_seconds`` (wall time of the whole process, start-up included), ``maxrss_mb`` and
        ``returncode``.
    :param scenario: the scenario, for the limits.
    :param users: how many listed users the run was given.
    """
    successes = patch_arrivals(stats, successful=True)
    rate = sustained_rate(successes)
    kinds = requests_by_kind(stats)
    other = sum(count for kind, count in kinds.items() if kind != "scim_patch")
    counts = {outcome: run["counts"].get(outcome, 0) for outcome in OUTCOMES}
    completed = run.get("returncode", 0) == 0 and counts["failed"] == 0 and sum(counts.values()) == users
    busiest = max_window_count(patch_arrivals(stats, successful=False))
    paused, paused_seconds = pauses(successes, PAUSE_SECONDS)
    return {
        "users": users,
        "wall_seconds": run["seconds"],
        "process_seconds": run.get("process_seconds"),
        "users_per_second": users / run["seconds"],
        "patch_window_seconds": successes[-1] - successes[0] if len(successes) > 1 else None,
        "patch_rate": rate,
        "patch_rate_ratio": rate / scenario.patch_limit if rate is not None else None,
        "patch_pauses": paused,
        "patch_pause_seconds": paused_seconds,
        "max_patches_in_1s": busiest,
        "max_window_overshoot": busiest / scenario.patch_limit - 1.0 if busiest else None,
        "requests": kinds,
        "requests_per_user": sum(kinds.values()) / users,
        "other_requests_per_user": other / users,
        "seen_429": count_status(stats, "429"),
        "unabsorbed_429": unabsorbed_429(stats, run_completed=completed),
        "peak_rss_mb": run.get("maxrss_mb"),
        "outcomes": counts,
        "completed": completed,
        "task_reports": run.get("reports"),
    }


def summary(runs: Mapping[str, Mapping[str, Any]], scenario: Scenario) -> dict[str, Any]:
    """
    The headline keys of ``bench-results.json``.

    ``other_requests_per_user`` and ``peak_rss_mb`` are the worse of the two product runs, ``unabsorbed_429``
    their sum; ``max_window_overshoot`` is the mapped DAG run's. The speed-ups compare the single-task run
    with each baseline's per-user rate, extrapolated to the whole list.
    """
    single, dag = runs["single_task"], runs.get("dag")
    product = [run for run in (single, dag) if run]
    sdk, shell = runs.get("sdk_loop"), runs.get("shell_script")
    return {
        "patch_rate_ratio": single["patch_rate_ratio"],
        "patch_rate_ratio_dag": dag["patch_rate_ratio"] if dag else None,
        "other_requests_per_user": max(run["other_requests_per_user"] for run in product),
        "unabsorbed_429": sum(run["unabsorbed_429"] for run in product),
        "max_window_overshoot": dag["max_window_overshoot"] if dag else None,
        "peak_rss_mb": max(run["peak_rss_mb"] for run in product),
        "speedup_vs_sdk": _speedup(single, sdk),
        "speedup_vs_sdk_dag": _speedup(dag, sdk),
        "speedup_vs_shell": _speedup(single, shell),
    }


def targets(headline: Mapping[str, Any]) -> dict[str, bool | None]:
    """Whether each target of the issue is met (None when the figure is missing)."""
    return {
        "patch_rate_ratio >= 0.9": _at_least(headline["patch_rate_ratio"], RATIO_TARGET),
        "patch_rate_ratio_dag >= 0.9": _at_least(headline["patch_rate_ratio_dag"], RATIO_TARGET),
        "other_requests_per_user <= 0.05": _at_most(
            headline["other_requests_per_user"], OTHER_PER_USER_TARGET
        ),
        "unabsorbed_429 == 0": headline["unabsorbed_429"] == 0,
        "max_window_overshoot <= 0.05": _at_most(headline["max_window_overshoot"], OVERSHOOT_TARGET),
        "peak_rss_mb < 300": _at_most(headline["peak_rss_mb"], MiB_TARGET - 1e-9),
    }


def render(scenario: Scenario, runs: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str]) -> str:
    """The one table of the benchmark: a column per run, a row per figure."""
    names = [name for name in labels if name in runs]
    kinds = sorted({kind for name in names for kind in runs[name]["requests"]})
    rows: list[tuple[str, list[str]]] = [("", [labels[name] for name in names])]
    rows += [(title, [cell(runs[name]) for name in names]) for title, cell in _ROWS]
    rows += [(f"  {kind}", [_int(runs[name]["requests"].get(kind, 0)) for name in names]) for kind in kinds]
    rows += [(title, [cell(runs[name]) for name in names]) for title, cell in _TAIL_ROWS]
    rows += [(f"  {o}", [_int(runs[name]["outcomes"][o]) for name in names]) for o in OUTCOMES]
    rows += [("extrapolated to the list (s)", [_extrapolated(runs[name], scenario) for name in names])]
    width = max(len(title) for title, _ in rows)
    columns = [max(len(row[1][i]) for row in rows) for i in range(len(names))]
    lines = [_line(title, cells, width, columns) for title, cells in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join([describe(scenario), "", *lines])


def describe(scenario: Scenario) -> str:
    """The scenario in two lines."""
    return (
        f"Account of {scenario.account_users:,} users; list of {scenario.listed:,} = "
        f"{scenario.listed_inactive:,} inactive + {scenario.listed_active:,} active + "
        f"{scenario.listed_unknown:,} unknown.\nEmulator limits: PATCH {scenario.patch_limit:g}/s, GET "
        f"{scenario.get_limit:g}/s, latency {scenario.latency_ms:g} ms per request; DAG chunks of "
        f"{scenario.chunk_size} ({scenario.chunks} mapped tasks); baselines on the first "
        f"{scenario.baseline_users} users."
    )


def render_targets(headline: Mapping[str, Any]) -> str:
    """The headline figures, each target with MET or MISSED."""
    lines = [f"{key}: {_value(value)}" for key, value in headline.items()]
    for target, met in targets(headline).items():
        lines.append(f"target {target}: {'n/a' if met is None else 'MET' if met else 'MISSED'}")
    return "\n".join(lines)


def _speedup(product: Mapping[str, Any] | None, baseline: Mapping[str, Any] | None) -> float | None:
    if not product or not baseline:
        return None
    return product["users_per_second"] / baseline["users_per_second"]


def _extrapolated(run: Mapping[str, Any], scenario: Scenario) -> str:
    if run["users"] >= scenario.listed:
        return "(measured)"
    return f"~{scenario.listed / run['users_per_second']:,.0f} (est.)"


def _at_least(value: float | None, bound: float) -> bool | None:
    return None if value is None else value >= bound


def _at_most(value: float | None, bound: float) -> bool | None:
    return None if value is None else value <= bound


def _line(title: str, cells: Sequence[str], width: int, columns: Sequence[int]) -> str:
    return "  ".join([f"{title:<{width}}", *(f"{c:>{w}}" for c, w in zip(cells, columns, strict=True))])


def _int(value: Any) -> str:
    return f"{value:,}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _value(value: Any) -> str:
    return _num(value, 3) if isinstance(value, float) else str(value)


_ROWS = [
    ("listed users given", lambda r: _int(r["users"])),
    ("wall time (s)", lambda r: _num(r["wall_seconds"], 1)),
    ("  of the process, start-up included", lambda r: _num(r["process_seconds"], 1)),
    ("first..last PATCH (s)", lambda r: _num(r["patch_window_seconds"], 1)),
    ("sustained PATCH/s", lambda r: _num(r["patch_rate"], 1)),
    ("PATCH rate / limit", lambda r: _num(r["patch_rate_ratio"])),
    (
        f"PATCH pauses > {PAUSE_SECONDS} s (n / s)",
        lambda r: f"{r['patch_pauses']} / {r['patch_pause_seconds']:.1f}",
    ),
    ("most PATCHes in a 1 s window", lambda r: _int(r["max_patches_in_1s"])),
    ("window overshoot", lambda r: _num(r["max_window_overshoot"])),
    ("requests per listed user", lambda r: _num(r["requests_per_user"], 3)),
    ("non-PATCH requests per user", lambda r: _num(r["other_requests_per_user"], 3)),
    ("requests by kind", lambda r: ""),
]
_TAIL_ROWS = [
    ("429 seen / unabsorbed", lambda r: f"{r['seen_429']} / {r['unabsorbed_429']}"),
    ("peak RSS of the worker (MiB)", lambda r: _num(r["peak_rss_mb"], 0)),
    ("listed users per second", lambda r: _num(r["users_per_second"], 1)),
    ("listed users left inactive", lambda r: _int(r["left_inactive"])),
    ("outcomes", lambda r: ""),
]
