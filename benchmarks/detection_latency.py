"""How soon is a finished edit noticed, and how many status queries does each edit cost?

A simulation in VIRTUAL time (real minutes are too long to run here), driving the real schedule code:

- ``ours``: :class:`airflow_provider_wanxiang.polling.PollSchedule` (``first_delay`` then ``step`` on each
  answer, jitter included) with the trigger's default ``poll_interval`` stretched, as in the triggerer, to
  the wait's fair share of the connection's default ``query_budget`` (``waits / budget`` seconds) while
  each wait GETs its own task; from ``BATCH_MIN_WAITS`` waits on, the pool's list rounds answer them (see
  :func:`simulate_ours`);
- ``sdk``: the dashscope SDK's own ``BaseAsyncApi.wait`` loop (what ``ImageSynthesis.wait``/``call`` run:
  1, 1, 2, 2, 2, 4, 4, 4, 5, 5, ... s) with its clock and ``_get`` replaced by the virtual ones;
- ``fixed10``: a query every 10 s.

The SDK's and the fixed schedule's first status query is at t = 0, right after the create; ours makes none
there (the operator defers on the create's answer, PENDING) and queries first after ``first_delay``. Edit
durations are
drawn as the emulator draws them (lognormal, median ``EmulatorConfig.task_seconds``, sigma
``task_seconds_spread``: most 30 s-2 min). Each wait is simulated alone: the SDK's and the fixed schedules
are per wait, so their detection latency (first query that sees the task terminal, minus the moment it
became terminal) and queries per edit do not depend on concurrency; ours does, through the shared query
budget. What depends on concurrency for all of them is the load: with C waits always in flight, the account
sees ``C x queries per edit / mean wait`` queries/s, reported against the 20 QPS query limit (the simulation
does not model what the limit's 429s would then do to latency).

Usage::

    python benchmarks/detection_latency.py [--edits 2000] [--concurrency 5 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import random
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command_line, median, write_figures

ACCOUNT_QPS = 20.0
SCHEDULES = ("ours", "sdk", "fixed10")


def simulate_ours(duration: float, concurrency: int) -> tuple[float, float]:
    """(detection time, queries) of one of ``concurrency`` waits under the real PollSchedule.

    Below ``BATCH_MIN_WAITS`` each wait GETs its task, at the trigger's default interval stretched to its
    fair share of the default budget. From there on the pool answers the waits with list rounds: every
    round lists one PENDING page and ``concurrency / LIST_PAGE_SIZE`` RUNNING pages (all waits' tasks in
    flight, nothing else on the account), rounds are ``max(MIN_ROUND_SECONDS, pages / (budget x
    LIST_BUDGET_SHARE))`` apart, a wait asks at the trigger's own interval (nothing to stretch: an ask
    costs no query) and is answered at the next round, the first round that no longer
    lists the task sends the wait's own GET, and each wait carries its share of the list pages sent while
    it waited (``pages / round seconds x its wait / concurrency``).
    """
    from airflow_provider_wanxiang.client import Task, TaskStatus
    from airflow_provider_wanxiang.client.batching import LIST_BUDGET_SHARE, LIST_PAGE_SIZE, MIN_ROUND_SECONDS
    from airflow_provider_wanxiang.client.config import DEFAULT_QUERY_BUDGET
    from airflow_provider_wanxiang.client.shared import BATCH_MIN_WAITS
    from airflow_provider_wanxiang.outcomes import TaskOutcome
    from airflow_provider_wanxiang.polling import DEFAULT_TRIGGER_POLL_INTERVAL, PollSchedule

    batching = concurrency >= BATCH_MIN_WAITS
    pages = 1 + max(1, math.ceil(concurrency / LIST_PAGE_SIZE))
    round_s = max(MIN_ROUND_SECONDS, pages / (DEFAULT_QUERY_BUDGET * LIST_BUDGET_SHARE))
    schedule = PollSchedule(
        "bench",
        DEFAULT_TRIGGER_POLL_INTERVAL,
        end_time=1e9,
        fair_interval=(lambda: 0.0) if batching else (lambda: concurrency / DEFAULT_QUERY_BUDGET),
    )
    phase = random.uniform(0, round_s)
    now, queries = 0.0, 0.0  # no query right after the create: its answer (PENDING) is the first read
    if duration <= now:
        return now, queries
    now += schedule.first_delay(now)
    while True:
        if batching:
            now = phase + math.ceil((now - phase) / round_s) * round_s  # answered by the next round
            if now >= duration:
                return now, queries + 1 + pages / round_s * now / concurrency
        else:
            queries += 1
        status = TaskStatus.SUCCEEDED if now >= duration else TaskStatus.RUNNING
        decision = schedule.step(Task(task_id="bench", status=status), now)
        if isinstance(decision, TaskOutcome):
            return now, queries
        now += decision


class _VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@contextlib.contextmanager
def _sdk_in_virtual_time(clock: _VirtualClock) -> Iterator[None]:
    """The SDK's wait loop reads ``time.time`` and calls ``time.sleep`` of its own module: swap both."""
    from dashscope.client import base_api

    real = base_api.time
    base_api.time = types.SimpleNamespace(time=clock.time, sleep=clock.sleep)  # type: ignore[assignment]
    try:
        yield
    finally:
        base_api.time = real


def simulate_sdk(duration: float, concurrency: int) -> tuple[float, float]:
    """(detection time, queries) of one wait under the SDK's own ``wait`` loop, in virtual time."""
    from dashscope.api_entities.dashscope_response import DashScopeAPIResponse
    from dashscope.client.base_api import BaseAsyncApi

    clock = _VirtualClock()
    queries = [0]

    class VirtualTasks(BaseAsyncApi):
        @classmethod
        def _get(
            cls, task_id: str, api_key: str | None = None, workspace: str | None = None, **kw: Any
        ) -> Any:
            queries[0] += 1
            status = "SUCCEEDED" if clock.now >= duration else "RUNNING"
            return DashScopeAPIResponse(
                request_id="bench", status_code=200, output={"task_id": task_id, "task_status": status}
            )

    with _sdk_in_virtual_time(clock):
        VirtualTasks.wait("bench", api_key="sk-bench")
    return clock.now, queries[0]


def simulate_fixed(duration: float, concurrency: int, interval: float = 10.0) -> tuple[float, float]:
    now, queries = 0.0, 1
    while now < duration:
        now += interval
        queries += 1
    return now, queries


SIMULATORS: dict[str, Callable[[float, int], tuple[float, float]]] = {
    "ours": simulate_ours,
    "sdk": simulate_sdk,
    "fixed10": simulate_fixed,
}


def run_once(edits: int, seed: int, concurrency: int) -> dict[str, dict[str, float]]:
    from airflow_provider_wanxiang.emulator.config import EmulatorConfig
    from airflow_provider_wanxiang.emulator.state import draw_run_seconds

    defaults = EmulatorConfig()
    rng = random.Random(seed)
    durations = [
        draw_run_seconds(rng, defaults.task_seconds, defaults.task_seconds_spread) for _ in range(edits)
    ]
    random.seed(seed)  # PollSchedule's jitter
    figures: dict[str, dict[str, float]] = {}
    for name, simulate in SIMULATORS.items():
        latencies, queries, waits = [], [], []
        for duration in durations:
            detected, count = simulate(duration, concurrency)
            latencies.append(detected - duration)
            queries.append(count)
            waits.append(detected)
        latencies.sort()
        figures[name] = {
            "latency_mean_s": sum(latencies) / edits,
            "latency_p50_s": latencies[edits // 2],
            "latency_p99_s": latencies[min(edits - 1, int(edits * 0.99))],
            "queries_per_edit": sum(queries) / edits,
            "qps_per_wait": sum(queries) / sum(waits),
            "duration_p50_s": sorted(durations)[edits // 2],
        }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edits", type=int, default=2000, help="simulated edits per repeat")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[5, 1000])
    parser.add_argument("--repeats", type=int, default=3, help="independent seeds (medians reported)")
    parser.add_argument("--json", help="write the figures here (for benchmarks/run.py)")
    args = parser.parse_args()
    logging.getLogger("dashscope").setLevel(logging.WARNING)  # the SDK logs every poll at INFO

    command = command_line()
    print(f"command: {command}")
    rows = []
    header = (
        f"{'schedule':<10}{'waits':>7}{'latency mean s':>16}{'p50':>7}{'p99':>7}{'queries/edit':>14}"
        f"{'account q/s':>13}{'vs 20 QPS':>11}"
    )
    print(header)
    print("-" * len(header))
    for concurrency in args.concurrency:
        repeats = [run_once(args.edits, seed, concurrency) for seed in range(args.repeats)]
        for name in SCHEDULES:
            row: dict[str, Any] = {"schedule": name, "concurrency": concurrency, "repeats": args.repeats}
            for metric in repeats[0][name]:
                row[metric] = median([r[name][metric] for r in repeats])
            row["account_qps"] = concurrency * row["qps_per_wait"]
            row["budget_share"] = row["account_qps"] / ACCOUNT_QPS
            rows.append(row)
            print(
                f"{name:<10}{concurrency:>7}{row['latency_mean_s']:>16.2f}{row['latency_p50_s']:>7.2f}"
                f"{row['latency_p99_s']:>7.2f}{row['queries_per_edit']:>14.1f}{row['account_qps']:>13.1f}"
                f"{row['budget_share']:>10.1f}x"
            )
    write_figures(
        args.json,
        {"name": "detection_latency", "command": command, "edits": args.edits, "medians": rows},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
