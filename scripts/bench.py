"""
Benchmark bulk reactivation against the emulator, with the service limits scaled so a run takes minutes.

One emulator process serves every run, reset to the same seed and statistics before each:

1. ``single_task``: the operator over the whole list in one worker process (the hook and operator path).
2. ``dag``: ``airflow dags test dbxscim_reactivate_users`` with the list in a file and mapped chunks.
3. ``parallel`` (diagnostic, ``--parallel-workers``): that many operator processes at once on parts of the
   list, sharing the rate-limit directory, as mapped tasks in a pool with that many slots would.
4. ``sdk_loop`` and ``shell_script``: the baselines of ``bench_baselines`` on the first users of the list.

Figures come from the emulator's request counters and PATCH log; the table is printed and the same figures
are written to ``bench-results.json`` at the repository root.

Usage: ``python scripts/bench.py [--chunk-size 500] [--baseline-users 300] [--parallel-workers 4]
[--skip-dag] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_baselines import run_sdk_loop, run_shell_script  # noqa: E402
from bench_product import airflow_env, migrate, run_dag, run_single_task, run_workers  # noqa: E402
from bench_report import render, render_targets, run_figures, summary, targets  # noqa: E402
from bench_scenario import Scenario, build_seed, build_user_list, connection_json  # noqa: E402

from airflow_provider_dbxscim.emulator import EmulatorProcess, start_emulator_process  # noqa: E402

RESULTS = REPO / "bench-results.json"
QUICK = {"account_users": 2_000, "listed_inactive": 500, "listed_active": 100, "listed_unknown": 20}


class Bench:
    """
    The runs of one benchmark against one emulator.

    :param scenario: the account, list and limits.
    :param emulator: the emulator, seeded with the scenario's account.
    :param workdir: a temporary directory for Airflow homes, lists, logs and reports.
    :param names: the upstream list.
    """

    def __init__(self, scenario: Scenario, emulator: EmulatorProcess, workdir: Path, names: list[str]):
        self.scenario = scenario
        self.emulator = emulator
        self.workdir = workdir
        self.names = names
        self.runs: dict[str, dict[str, Any]] = {}

    def measure(self, name: str, users: list[str], action: Callable[[], dict[str, Any]]) -> None:
        """Reset the emulator, run ``action`` and keep its figures under ``name``."""
        _progress(f"{name}: {len(users):,} users ...")
        self.emulator.state.reset()
        run = action()
        figures = run_figures(self.emulator.state.stats(), run, self.scenario, users=len(users))
        figures["left_inactive"] = self._left_inactive(users)
        self.runs[name] = figures
        _progress(f"{name}: done in {run['seconds']:.1f} s, {figures['patch_rate'] or 0:.1f} PATCH/s")

    def env(self, name: str) -> dict[str, str]:
        """A fresh Airflow home and rate-limit directory for one run."""
        emulator, folder = self.emulator, self.workdir / name
        connection = connection_json(
            emulator.url, emulator.account_id, emulator.client_id, emulator.client_secret, self.scenario
        )
        return airflow_env(folder / "airflow-home", connection, folder / "ratelimit")

    def single_task(self) -> None:
        """The operator over the whole list in one worker process."""
        env, folder = self.env("single_task"), self._folder("single_task")
        self.measure("single_task", self.names, lambda: _as_run(run_single_task(self.names, env, folder)))

    def parallel(self, workers: int) -> None:
        """``workers`` operator processes at once, each on a contiguous part of the list."""
        env, folder = self.env("parallel"), self._folder("parallel")
        size = -(-len(self.names) // workers)
        parts = [self.names[start : start + size] for start in range(0, len(self.names), size)]
        self.measure("parallel", self.names, lambda: _as_run(run_workers(parts, env, folder)))

    def dag(self) -> None:
        """``airflow dags test`` of the example DAG with mapped chunks, the list read from a file."""
        env, folder = self.env("dag"), self._folder("dag")
        _progress(f"dag: airflow db migrate took {migrate(env, folder):.1f} s")
        list_file = folder / "users.txt"
        list_file.write_text("".join(f"{name}\n" for name in self.names))
        conf = {
            "chunk_size": self.scenario.chunk_size,
            "max_users": len(self.names),
            "report_dir": str(folder / "reports"),
        }
        self.measure("dag", self.names, lambda: run_dag(list_file, conf, env, folder))

    def baselines(self) -> None:
        """The SDK loop and the shell script on the first ``baseline_users`` of the list."""
        subset = self.names[: self.scenario.baseline_users]
        emulator = self.emulator
        access = (emulator.url, emulator.account_id, emulator.client_id, emulator.client_secret, subset)
        self.measure("sdk_loop", subset, lambda: run_sdk_loop(*access))
        folder = self._folder("shell_script")
        self.measure("shell_script", subset, lambda: run_shell_script(*access, folder))

    def _left_inactive(self, users: list[str]) -> int:
        """Listed users that exist and are still inactive after the run."""
        wanted = set(users)
        return sum(
            1 for user in self.emulator.state.users() if user["userName"] in wanted and not user["active"]
        )

    def _folder(self, name: str) -> Path:
        folder = self.workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder


LABELS = {
    "single_task": "operator, 1 task",
    "dag": "DAG, mapped",
    "parallel": "parallel workers*",
    "sdk_loop": "SDK loop",
    "shell_script": "bash+curl+jq",
}

NOTES = [
    "patch_rate_ratio: successful account PATCHes per second from the first to the last in the emulator's "
    "log, over the limit; the DAG run's includes the pauses between mapped tasks, not Airflow start-up.",
    "max_window_overshoot: the most PATCHes (all statuses) in any 1 s window starting at a PATCH, over the "
    "limit, minus 1; headline from the DAG run. `airflow dags test` runs mapped tasks one after another, so "
    "the `parallel` diagnostic is the run where processes contend for the shared limiter.",
    "unabsorbed_429: PATCH 429s not followed by a successful PATCH of the same user, plus other 429s when "
    "the run did not give every listed user an outcome without failures.",
    "peak_rss_mb: the worse of the worker's RUSAGE_SELF and the `airflow dags test` process (os.wait4).",
    "speedup_vs_sdk: listed users per second of the single-task run over the SDK loop's, measured on "
    "baseline_users and extrapolated to the list; the shell baseline is a real bash+curl+jq script.",
]


def main() -> int:
    """Run the benchmark, print the table and write ``bench-results.json``."""
    args = _parse_args()
    scenario = Scenario(
        chunk_size=args.chunk_size, baseline_users=args.baseline_users, **(QUICK if args.quick else {})
    )
    started, load_before = time.monotonic(), os.getloadavg()[0]
    seed = build_seed(scenario)
    names = build_user_list(scenario, seed)
    _progress(f"starting the emulator with {scenario.account_users:,} users")
    with (
        tempfile.TemporaryDirectory(prefix="dbxscim-bench-") as workdir,
        start_emulator_process(seed=seed, config=scenario.emulator_config()) as emulator,
    ):
        bench = Bench(scenario, emulator, Path(workdir), names)
        bench.single_task()
        if not args.skip_dag:
            bench.dag()
        if args.parallel_workers > 1:
            bench.parallel(args.parallel_workers)
        bench.baselines()
    machine = {"cpus": os.cpu_count(), "load_1min_before": load_before, "load_1min_after": os.getloadavg()[0]}
    machine["total_runtime_seconds"] = time.monotonic() - started
    _publish(scenario, bench.runs, machine, args.parallel_workers)
    return 0


def _publish(
    scenario: Scenario, runs: Mapping[str, dict[str, Any]], machine: Mapping[str, Any], workers: int
) -> None:
    headline = summary(runs, scenario)
    labels = {**LABELS, "dag": f"DAG, {scenario.chunks} mapped", "parallel": f"{workers} workers*"}
    for name in ("sdk_loop", "shell_script"):
        labels[name] = f"{LABELS[name]} ({scenario.baseline_users})"
    print(render(scenario, runs, labels))
    print(f"* diagnostic, not a target: {workers} operator processes at once sharing the rate limiter.")
    print("wall time: operator.execute in the worker runs, the whole `airflow dags test` in the DAG run, the")
    print("loop in the baselines; their times for the whole list are extrapolated from their per-user rate.")
    print()
    print(render_targets(headline))
    print(
        f"total benchmark runtime: {machine['total_runtime_seconds']:.0f} s on {machine['cpus']} CPUs; "
        f"load average {machine['load_1min_before']:.1f} before, {machine['load_1min_after']:.1f} after"
    )
    results = {
        **headline,
        "targets": targets(headline),
        "scenario": scenario.as_dict(),
        "runs": runs,
        "machine": machine,
        "total_runtime_seconds": machine["total_runtime_seconds"],
        "notes": NOTES,
    }
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")


def _as_run(worker: Mapping[str, Any]) -> dict[str, Any]:
    """A worker report as a run: the work is ``operator.execute``, the process adds Python and imports."""
    return {**worker, "seconds": worker["execute_seconds"]}


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark bulk reactivation against the emulator.")
    parser.add_argument("--chunk-size", type=int, default=500, help="users per mapped task (default 500)")
    parser.add_argument("--baseline-users", type=int, default=300, help="users the baselines run on")
    parser.add_argument(
        "--parallel-workers", type=int, default=4, help="diagnostic run with this many processes; 0 skips"
    )
    parser.add_argument("--skip-dag", action="store_true", help="leave out the airflow dags test run")
    parser.add_argument("--quick", action="store_true", help="a ten times smaller account and list")
    return parser.parse_args()


def _progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
