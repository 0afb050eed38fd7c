"""Turn the benchmarks' figures into ``results.md``, ``results.json`` and the PNG plots.

Only formatting: every number comes from the figures the benchmarks wrote in the same ``make bench`` run
(medians of their repeats, ratios between waiters of the same run).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from _batch_report import batch_airflow_section, batch_scale_section

PACKAGES = (
    "airflow-provider-wanxiang",
    "apache-airflow",
    "apache-airflow-providers-http",
    "aiohttp",
    "requests",
    "dashscope",
    "boto3",
    "moto",
    "s3fs",
    "fsspec",
    "matplotlib",
)
WAITERS = {
    "ours": "WanxiangTaskTrigger",
    "http_event": "HttpEventTrigger",
    "http_sensor": "HttpSensorTrigger",
    "floor": "shared-session floor",
}


def machine() -> dict[str, Any]:
    """What the figures depend on: cores, memory, CPU model, load when the run began, kernel."""
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        total_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(total_kib / 1024 / 1024, 1),
        "cpu_model": model,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True)
        found["commit"] = commit + (" (uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        found["commit"] = "unknown"
    return found


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def waiting_section(fig: dict[str, Any]) -> str:
    rows = [
        [
            WAITERS[r["mode"]],
            f"{r['n']:,}",
            f"{r['cpu_ms_per_poll']:.3f}",
            _ratio(r.get("cpu_ms_per_poll_vs_floor")),
            f"{r['rss_kib_per_wait']:.1f}",
            _ratio(r.get("rss_kib_per_wait_vs_floor")),
            f"{r['sockets_held']:.0f}",
            f"{r['lag_p50_ms']:.1f} / {r['lag_p99_ms']:.1f} / {r['lag_max_ms']:.0f}",
            f"{r.get('polls_per_s', r['queries_per_s']):.1f}",
            f"{r['queries_per_s']:.1f} ({r['queries_per_s'] / fig['account_qps']:.1f}x)",
        ]
        for r in fig["medians"]
    ]
    table = _table(
        [
            "waiter",
            "N",
            "ms CPU / poll",
            "vs floor",
            "KiB RSS / wait",
            "vs floor",
            "sockets held (peak)",
            "loop lag p50 / p99 / max ms",
            "polls/s",
            f"queries/s (x the {fig['account_qps']:.0f} QPS limit)",
        ],
        rows,
    )
    return (
        "## Waiting cost: N waits in one event loop\n\n"
        f"Command: `{fig['command']}`\n\n"
        f"Each waiter polls every {fig['poll_interval_s']:g} s; figures measured over {fig['window_s']:g} s "
        "after a warm-up of 1.5 intervals, in a fresh process per run, the emulator in its own process "
        "(its query limit off, so queries/s is each waiter's demand). A poll is one wait learning its "
        "task's status: one request for the other waiters; for ours, one status answer of its pool, which "
        "with 16 or more waits comes from a round of list pages (up to 100 tasks per query, the rounds "
        "paced to half the connection's default budget of 10 q/s) or, for a task the list no longer shows, "
        "the wait's own GET, so its queries/s stays within the budget whatever N is while polls/s follows "
        "the waits (its window holds whole rounds). Each N has its own account holding just its N tasks. "
        f"Medians of {fig['medians'][0]['repeats']} repeats; ratios against the floor of the same run. "
        "`HttpSensorTrigger` cannot wait on this API (the "
        "task URL answers 200 whatever the status; it fires on the first non-404): it polls a URL answering "
        "404, to show what its loop costs. `HttpEventTrigger` reads the status through a "
        "`response_check_path` (the key in the http connection's extra headers).\n\n"
        f"{table}\n\n![waiting cost](plots/waiting_cost.png)\n"
    )


def _command(fig: dict[str, Any]) -> str:
    """The command that made a section's figures, and when and why it ran alone if it did."""
    alone = f" (a run of its own, {fig['generated']}: {fig['note']})" if fig.get("generated") else ""
    return f"Command: `{fig['command']}`{alone}\n\n"


def copy_section(fig: dict[str, Any]) -> str:
    rows = [
        [
            r["source"],
            f"{r['images']} x {r['largest_mib']:.1f}",
            r["dest"],
            r["mode"],
            f"{r['mib_per_s']:.1f}",
            _ratio(r.get("throughput_vs_boto3")),
            f"{r['rss_growth_mib']:.1f}",
            f"{r['python_peak_mib']:.1f}",
        ]
        for r in fig["medians"]
    ]
    table = _table(
        ["source", "images x MiB", "dest", "method", "MiB/s", "vs boto3", "peak RSS +MiB", "Python peak MiB"],
        rows,
    )
    return (
        "## Copying results: throughput and peak memory\n\n"
        + _command(fig)
        + "`stream` = `copying.copy_png` (what the copy operator runs); "
        "`naive` = `requests.get(url).content` then write; `boto3` = `s3.upload_fileobj` streaming the "
        "same HTTP body (reference throughput). "
        "Each figure is the median of fresh processes; the emulator, moto (S3) and the file server run in "
        f"their own processes. Medians of {fig['medians'][0]['repeats']} repeats.\n\n"
        f"{table}\n\n![copy throughput and memory](plots/copy.png)\n"
    )


def detection_section(fig: dict[str, Any]) -> str:
    rows = [
        [
            r["schedule"],
            f"{r['concurrency']:,}",
            f"{r['latency_mean_s']:.2f}",
            f"{r['latency_p50_s']:.2f} / {r['latency_p99_s']:.2f}",
            f"{r['queries_per_edit']:.1f}",
            f"{r['account_qps']:.1f} ({r['budget_share']:.2f}x)",
        ]
        for r in fig["medians"]
    ]
    table = _table(
        ["schedule", "concurrent waits", "mean latency s", "p50 / p99 s", "queries / edit", "q/s (x 20 QPS)"],
        rows,
    )
    return (
        "## Detection latency and queries per edit\n\n"
        + _command(fig)
        + "**A simulation in virtual time**, not a timed run: it drives the real `PollSchedule` "
        "(`first_delay`, then `step` on each answer, the trigger's default `poll_interval` stretched to "
        "the wait's fair share of the default `query_budget`, or, from 16 waits, answered by the "
        "pool's list rounds: one PENDING page and `waits / 100` RUNNING pages per round, rounds paced to "
        "half the budget, one GET per finished edit, each wait carrying its share of the pages) and the "
        "dashscope SDK's own "
        "`wait()` loop (its clock and `_get` swapped for virtual ones), against a query every 10 s, on "
        f"{fig['edits']:,} edit durations drawn as the emulator draws them (lognormal around "
        "`EmulatorConfig.task_seconds`). The SDK's and the fixed schedule's first query is right after the "
        "create; ours is after `first_delay` (the operator defers on the create's answer, PENDING). "
        "The SDK's and the fixed schedule's latency and queries per edit do not depend on concurrency; "
        "ours do (the budget is shared), and the account's load depends on it for all "
        "(concurrent waits x queries per edit / mean wait); the effect of the 20 QPS limit's 429s on "
        "latency is not modelled, nor, for ours, the bucket holding that demand to the budget: 1,000 "
        "concurrent edits of this distribution finish ~20 times a second, and each needs its GET, more "
        "than the default budget of 10 q/s, so there the GETs would queue and latency grow (the real "
        "service runs 5 edits at once per account, finishing ~0.1 a second). "
        f"Medians of {fig['medians'][0]['repeats']} seeds.\n\n"
        f"{table}\n\n![detection latency](plots/detection.png)\n"
    )


def _pick(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def _lag_limits(gc_runs: dict[str, Any], n: int) -> str:
    """What the loop's worst lag is made of, from the runs with and without ``gc.freeze()``."""
    text = (
        "A round answers thousands of waits, woken 100 per loop turn, each turn also parsing a 100-row "
        "page: p99 stays within the goal. "
    )
    rows = {
        part.get("gc_freeze", False): _pick(part.get("medians", []), n=n, mode="ours")
        for part in gc_runs.get("parts", [])
    }
    plain, frozen = rows.get(False), rows.get(True)
    if plain is None or frozen is None:
        return text + "Would move it: a profile of the stall (garbage collection or the machine) first."
    commands = " and ".join(
        f"`{part['command']}`" for part in gc_runs["parts"] if part.get("gc_freeze") is not None
    )

    def per_wait(row: dict[str, Any]) -> float:
        return float(row["gc_tracked_objects"] - row["gc_tracked_before_waits"]) / n

    floors = [_pick(part.get("medians", []), n=n, mode="floor") for part in gc_runs["parts"]]
    floor = next((row for row in floors if row and "gc_tracked_before_waits" in row), None)
    return text + (
        f"The max is one full garbage collection: in runs of their own at {n:,} waits ({commands}, "
        f"medians of {plain['repeats']}), the longest generation-2 collection took "
        f"{plain['gc_full_max_ms']:.0f} ms (max lag {plain['lag_max_ms']:.0f} ms): it walks every tracked "
        f"object of the process, {plain['gc_tracked_objects']:,.0f} here, of which "
        f"{plain['gc_tracked_before_waits']:,.0f} were there before any wait (Airflow's and the "
        "libraries' imports) and the waits and their traffic hold the rest, "
        f"~{per_wait(plain):.0f} a wait"
        + (f" (the hand-written floor's: ~{per_wait(floor):.0f})" if floor else "")
        + ". With `gc.freeze()` once the waits have started (`--gc-freeze`), no full collection runs "
        f"and the max lag is {frozen['lag_max_ms']:.0f} ms (p99 {frozen['lag_p99_ms']:.1f} ms). Would "
        "move it: the triggerer freezing what it holds after start-up, as Airflow's executors and DAG "
        "processor already do before they fork (an Airflow change; a provider freezing a shared "
        "process's heap would be a global side effect); fewer objects per wait."
    )


def _slot_limits(
    deferrable: dict[str, Any], blocking: dict[str, Any] | None, noop: dict[str, Any] | None
) -> str:
    """What limits the worker-slot figure: Airflow's own cost per workload (the no-op task's slot)."""
    text = (
        "A deferred edit is two Airflow workloads (submit, resume), each paying the fork of the task "
        "process, the DAG file and its imports, the Execution API calls and the supervisor's wrap-up, "
        "around the operator's own work. "
    )
    if noop is not None and "stalls" in noop:
        text += (
            "The workloads' busy spells are bimodal, for every task alike: most last "
            f"{noop['spell_median_s']:.2f} s (a task that does nothing) to "
            f"{deferrable['spell_median_s']:.2f} s (ours, the median of submits and resumes), and "
            f"{deferrable['stalls'] + noop['stalls'] + (blocking or {}).get('stalls', 0)} of "
            f"{deferrable['spells'] + noop['spells'] + (blocking or {}).get('spells', 0)} last ~5 s "
            "longer. The extra 5 s matches Airflow's `[workers] min_heartbeat_interval`, the longest the "
            "task supervisor's loop (`_monitor_subprocess`) waits in `select`; read from its code, when "
            "the task process's sockets close before the process can be reaped, nothing is left to wake "
            "that wait. Without those stalls a "
            f"deferred edit holds a slot {deferrable['slot_s_per_edit_without_stalls']:.2f} s, two "
            f"do-nothing workloads {2 * noop['slot_s_per_edit_without_stalls']:.2f} s: the operator's own "
            "work (checking and encoding the images, the create, reading the event) is lost in Airflow's "
            "per-workload cost. "
        )
    elif blocking is not None:
        text += (
            f"The blocking PythonOperator's overhead (one workload, the SDK's create and its detection "
            f"latency) is {blocking['fixed_overhead_s']:.2f} s. "
        )
    return text + (
        "Would move it: the supervisor's stall is Airflow's to fix (a lower `min_heartbeat_interval` "
        "shortens it); ending the task from the trigger (Airflow's `TaskSuccessEvent` with the XCom) "
        "would drop the resume workload, at the price of what runs in the worker on completion (the "
        "typed exception a failure raises, OpenLineage's `on_complete` facets, the task log of the "
        "resume); for the ratio, longer edits (a fixed cost: a 120 s edit halves it)."
    )


def goals_section(figures: dict[str, dict[str, Any]]) -> str:
    """Issue 10's goals against this run's figures: reported, not asserted anywhere."""
    rows: list[list[str]] = []

    def goal(text: str, measured: str, met: bool | None, why: str = "") -> None:
        rows.append(
            [
                text,
                measured,
                "n/a" if met is None else ("yes" if met else "**no**"),
                why if met is False else "",
            ]
        )

    waiting = figures.get("waiting_cost", {}).get("medians", [])
    if waiting:
        ns = sorted({r["n"] for r in waiting})
        cpu = [(n, r["cpu_ms_per_poll_vs_floor"]) for n in ns if (r := _pick(waiting, n=n, mode="ours"))]
        goal(
            "CPU per poll ≤ 1.2x the floor",
            ", ".join(f"{v:.2f}x at {n:,}" for n, v in cpu),
            all(v <= 1.2 for _, v in cpu),
            "Per poll a wait still runs its own step (`PollSchedule.step` with jitter, the DEBUG log call, "
            "the timeout context, a wake-up of its coroutine chain) on top of its share of a list page; "
            "at small N the round's fixed pages are shared by few waits. Would move it: a pool that keeps "
            "only (task id, deadline, state) per wait and wakes a trigger only when its wait ends.",
        )
        ours, sensor = _pick(waiting, n=1000, mode="ours"), _pick(waiting, n=1000, mode="http_sensor")
        if ours and sensor:
            less = sensor["cpu_ms_per_poll"] / ours["cpu_ms_per_poll"]
            goal(
                "≥ 3x less CPU per poll than HttpSensorTrigger at 1,000",
                f"{less:.2f}x less",
                less >= 3,
                "See the CPU row above; HttpSensorTrigger's cost is mostly its TCP connection per poll.",
            )
        rss = [(n, r["rss_kib_per_wait"]) for n in ns if (r := _pick(waiting, n=n, mode="ours"))]
        shown = ", ".join(f"{v:.1f} at {n:,}" for n, v in rss)
        goal(
            "≤ 10 KiB RSS per wait",
            shown,
            all(v <= 10 for _, v in rss),
            "What each wait holds: an asyncio task, the trigger (Airflow's BaseTrigger attributes plus "
            "its kwargs), its coroutine chain (run → wait → sleep) and PollSchedule; the hand-written "
            "floor (a coroutine and a task per wait) is itself close to 10 KiB. RSS also moves with the "
            "allocator's arenas, so ±1 KiB between runs is noise. Would move it: waits without a "
            "coroutine of their own (a pool-side schedule), which Airflow's one-coroutine-per-trigger "
            "model does not allow for the trigger itself.",
        )
        held = [(n, r["sockets_held"]) for n in ns if (r := _pick(waiting, n=n, mode="ours"))]
        goal(
            "sockets held O(1) per connection, not O(N)",
            ", ".join(f"{v:.0f} at {n:,}" for n, v in held),
            max(v for _, v in held) <= 100,
        )
        top = _pick(waiting, n=max(ns), mode="ours")
        if top:
            goal(
                f"loop lag p99 ≤ 20 ms, max ≤ 100 ms at {max(ns):,}",
                f"p99 {top['lag_p99_ms']:.0f} ms, max {top['lag_max_ms']:.0f} ms",
                top["lag_p99_ms"] <= 20 and top["lag_max_ms"] <= 100,
                _lag_limits(figures.get("waiting_gc", {}), max(ns)),
            )
    # The waiting-cost run lifts the query budget (every waiter at the same demand, so cost per poll
    # compares); that the budget holds is counted at the emulator in
    # tests/integration/airflow/test_trigger_pool.py, not timed here.
    top_ours = _pick(waiting, n=max(r["n"] for r in waiting), mode="ours") if waiting else None
    goal(
        "never above the query budget (default 10 q/s per connection and triggerer)",
        (f"{top_ours['queries_per_s']:.1f} q/s at {top_ours['n']:,} waits here; " if top_ours else "")
        + "counted at the emulator by tests/integration/airflow/test_trigger_batching.py and "
        "test_trigger_pool.py (1,000 waits)",
        None if top_ours is None else top_ours["queries_per_s"] <= 10,
    )
    detection = figures.get("detection_latency", {}).get("medians", [])
    ours_rows = [r for r in detection if r["schedule"] == "ours"]
    few = _pick(detection, concurrency=5, schedule="ours")
    if few:
        mean = few["latency_mean_s"]
        goal("mean detection latency ≤ 1 s with ≤ 10 waits", f"{mean:.2f} s", mean <= 1)
    if ours_rows:
        many = max(ours_rows, key=lambda r: r["concurrency"])
        goal(
            f"≤ 2 queries per finished edit at {many['concurrency']:,} waits (within the budget)",
            f"{many['queries_per_edit']:.1f} (the operator defers on the create's answer: every query is "
            f"the triggerer's), mean latency {many['latency_mean_s']:.1f} s; demand "
            f"{many['account_qps']:.1f} q/s (see below)",
            many["queries_per_edit"] <= 2,
            "Each edit costs its own GET when the list no longer shows it (1) and its share of the list "
            "pages.",
        )
    copies = [r for r in figures.get("copy_memory", {}).get("medians", []) if r["mode"] == "stream"]
    to_s3 = [r for r in copies if r["dest"] == "s3"]
    if to_s3:
        goal(
            "copy ≥ 80 % of boto3's throughput",
            ", ".join(f"{r['throughput_vs_boto3']:.0%} ({r['source']})" for r in to_s3),
            all(r["throughput_vs_boto3"] >= 0.8 for r in to_s3),
            "Met for the synthetic images since they go up in one PUT (16 MiB parts). For the "
            "emulator's 4.1 MiB results, profiled per image (cProfile in the benchmark's child): ~42 ms "
            "against boto3's ~29 ms, of which s3fs's PUT, made through fsspec's sync bridge and "
            "aiobotocore, ~23 ms against botocore's ~17-19 ms, and the MD5 of the body checked against "
            "the server's Content-MD5 ~5 ms (boto3's path checks nothing); the destination probe "
            "(one ranged read) runs beside the download's first request. Would move it: letting S3 "
            "check the MD5 (`ContentMD5` on the PUT) instead of hashing here, and PUTs through a botocore "
            "client instead of s3fs, which would give up the one fsspec path every store takes.",
        )
    if copies:
        peak = max(r["rss_growth_mib"] for r in copies)
        goal("copy peak RSS growth ≤ 64 MiB", f"{peak:.1f} MiB at most", peak <= 64)
    slots = figures.get("worker_slots", {})
    deferrable = _pick(slots.get("medians", []), mode="deferrable")
    if deferrable:
        goal(
            "worker-slot time ≤ 2 % of a 60 s edit, Airflow start-up included",
            f"{deferrable['fixed_overhead_s']:.2f} s per edit = "
            f"{deferrable['share_of_60s_edit']:.1%} of 60 s "
            f"(measured on {slots['task_seconds']:g} s edits; the slot time does not grow with the edit)"
            + (
                f"; {deferrable['slot_s_per_edit_without_stalls']:.2f} s = "
                f"{deferrable['slot_s_per_edit_without_stalls'] / 60:.1%} without the task supervisor's "
                f"5 s stalls ({deferrable['stalls']} of {deferrable['spells']} workloads)"
                if "stalls" in deferrable
                else ""
            ),
            deferrable["share_of_60s_edit"] <= 0.02,
            _slot_limits(
                deferrable,
                _pick(slots.get("medians", []), mode="blocking"),
                _pick(slots.get("medians", []), mode="noop"),
            ),
        )
    return (
        "## Goals of issue 10 against this run\n\n"
        "Reported, never asserted; a goal missed here is a finding about the code measured.\n\n"
        + _table(["goal", "measured", "met", "if missed: what limits it, what would move it"], rows)
        + "\n"
    )


def worker_slots_section(fig: dict[str, Any]) -> str:
    names = {
        "deferrable": "WanxiangSubmitOperator (deferrable, wait_for_completion)",
        "blocking": "PythonOperator + dashscope ImageSynthesis.call",
        "noop": "PythonOperator returning at once (Airflow's own cost of a workload)",
    }
    spread = {
        mode: [r["slot_s_per_edit"] for r in fig.get("runs", []) if r["mode"] == mode] for mode in names
    }
    rows = [
        [
            names[r["mode"]],
            f"{r['slot_s_per_edit']:.2f}"
            + (f" ({min(spread[r['mode']]):.1f}-{max(spread[r['mode']]):.1f})" if spread[r["mode"]] else ""),
            f"{r['workloads_per_edit']:.0f}",
            f"{r['fixed_overhead_s']:.2f}",
            f"{r['spell_median_s']:.2f}" if "spell_median_s" in r else "",
            f"{r['stalls']} of {r['spells']}" if "stalls" in r else "",
            "" if r["share_of_remote"] is None else f"{r['share_of_remote']:.1%}",
            "" if r["share_of_60s_edit"] is None else f"{r['share_of_60s_edit']:.1%}",
        ]
        for r in fig["medians"]
    ]
    table = _table(
        [
            "task",
            f"worker-slot s / edit, {fig['task_seconds']:g} s edits (min-max of repeats)",
            "workloads / edit",
            "fixed overhead s",
            "median workload s",
            "workloads ~5 s longer",
            f"of the {fig['task_seconds']:g} s edit",
            "of a 60 s edit",
        ],
        rows,
    )
    return (
        "## Worker-slot seconds per edit\n\n"
        + _command(fig)
        + "A real Airflow deployment (the end-to-end suite's stack: api-server, dag-processor, scheduler "
        "with the LocalExecutor, triggerer; SQLite) runs DAGs of "
        f"{fig['edits']} parallel edits of {fig['task_seconds']:g} s (emulated). A worker slot is the time "
        "a LocalExecutor worker process is busy with a workload, read from its process title (sampled every "
        f"{fig['sample_s'] * 1000:.0f} ms from outside): it includes forking the task process, the task "
        "runner's start-up (loading the DAG file, the Execution API calls), the operator's work and the "
        "state report, for the submit and again for the resume of a deferred task. Not included: the "
        "scheduler's queueing before a worker takes the workload (no slot is held) and the triggerer's "
        "share of its event loop while the edit runs. The deferrable path's slot time is a fixed cost, so "
        "its share of a 60 s edit is `slot / 60 s`; the blocking path holds its slot for the whole edit "
        "plus the SDK's detection latency, so its share of a 60 s edit is `(60 s + its overhead) / 60 s`. "
        "A deployment whose executor starts a fresh interpreter or container per workload (Celery with "
        "a spawn start method, Kubernetes) pays that start twice for a deferred task and once for a "
        "blocking one. The edits of a run start at once, on a machine shared with other jobs; the spread "
        "between repeats is mostly how many workloads hit the task supervisor's ~5 s stall (see the goals). "
        f"Medians of {fig['medians'][0]['repeats']} repeats after one uncounted warm-up run per task.\n\n"
        f"{table}\n\n![worker-slot seconds](plots/worker_slots.png)\n"
    )


SECTIONS = {
    "waiting_cost": waiting_section,
    "copy_memory": copy_section,
    "detection_latency": detection_section,
    "worker_slots": worker_slots_section,
    "batch_airflow": batch_airflow_section,
    "batch_scale": batch_scale_section,
}


def plot(figures: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "waiting_cost" in figures:
        rows = figures["waiting_cost"]["medians"]
        fig, axes = plt.subplots(2, 2, figsize=(11, 8))
        panels = (
            ("cpu_ms_per_poll", "ms CPU per poll"),
            ("rss_kib_per_wait", "KiB RSS per wait"),
            ("sockets_held", "sockets held"),
            ("lag_p99_ms", "event-loop lag p99, ms"),
        )
        for ax, (metric, label) in zip(axes.flat, panels, strict=True):
            for mode, name in WAITERS.items():
                mine = [r for r in rows if r["mode"] == mode]
                if mine:
                    ax.plot([r["n"] for r in mine], [r[metric] for r in mine], marker="o", label=name)
            ax.set_xscale("log")
            ax.set_xlabel("concurrent waits (N)")
            ax.set_title(label)
        axes.flat[0].legend(fontsize="small")
        fig.tight_layout()
        written.append(_save(fig, out / "waiting_cost.png"))
    if "copy_memory" in figures:
        rows = figures["copy_memory"]["medians"]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        labels = [f"{r['source']}\n{r['dest']} {r['mode']}" for r in rows]
        axes[0].barh(labels, [r["mib_per_s"] for r in rows])
        axes[0].set_title("throughput, MiB/s")
        axes[1].barh(labels, [r["rss_growth_mib"] for r in rows])
        axes[1].set_title("peak RSS growth, MiB")
        for ax in axes:
            ax.tick_params(axis="y", labelsize="small")
        fig.tight_layout()
        written.append(_save(fig, out / "copy.png"))
    if "detection_latency" in figures:
        rows = figures["detection_latency"]["medians"]
        first = rows[0]["concurrency"]
        mine = [r for r in rows if r["concurrency"] == first]
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        axes[0].bar([r["schedule"] for r in mine], [r["latency_mean_s"] for r in mine])
        axes[0].set_title("mean detection latency, s")
        axes[1].bar([r["schedule"] for r in mine], [r["queries_per_edit"] for r in mine])
        axes[1].set_title("status queries per edit")
        fig.tight_layout()
        written.append(_save(fig, out / "detection.png"))
    if "worker_slots" in figures:
        rows = figures["worker_slots"]["medians"]
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.barh([r["mode"] for r in rows], [r["slot_s_per_edit"] for r in rows])
        ax.set_title(f"worker-slot seconds per {figures['worker_slots']['task_seconds']:g} s edit")
        fig.tight_layout()
        written.append(_save(fig, out / "worker_slots.png"))
    return written


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write(
    figures: dict[str, dict[str, Any]],
    out: Path,
    elapsed: float,
    command: str,
    meta: dict[str, Any] | None = None,
) -> None:
    """``results.md`` + ``results.json`` + ``plots/*.png`` in ``out``."""
    meta = meta or {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "elapsed_s": round(elapsed, 1),
        "machine": machine(),
        "versions": versions(),
    }
    plot(figures, out / "plots")
    (out / "results.json").write_text(json.dumps({"meta": meta, **figures}, indent=2, sort_keys=True) + "\n")
    m = meta["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Generated {meta['generated']} by `{command}` in {elapsed / 60:.1f} min "
        "(every figure below comes from this one run; raw figures in `results.json`).",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu_model']}; Linux {m['kernel']}; "
        f"load average at start {m['load_average_at_start']}. The machine may be shared with other jobs "
        "while the benchmarks run: ratios compare waiters and methods measured in the same run, "
        "interleaved, so a noisy neighbour hurts each alike, but absolute figures (and event-loop lag "
        "maxima, worker-slot seconds) move with the load.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
        "",
    ]
    lines.append(goals_section(figures))
    for name, section in SECTIONS.items():
        if name in figures:
            lines.append(section(figures[name]))
    (out / "results.md").write_text("\n".join(lines))


def rewrite(out: Path) -> None:
    """Regenerate results.md and the plots from an existing results.json (a formatting change needs
    no new run)."""
    saved = json.loads((out / "results.json").read_text())
    meta = saved.pop("meta")
    write(saved, out, meta["elapsed_s"], meta["command"], meta)


if __name__ == "__main__":
    # ``python benchmarks/report.py``: rewrite results.md and the plots from benchmarks/results.json.
    rewrite(Path(__file__).resolve().parent)
