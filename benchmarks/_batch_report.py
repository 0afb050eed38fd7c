"""The batch section of ``results.md`` (issue 11): formatting only, every number from the figures.

Kept apart from ``report.py`` (which lists these functions in its ``SECTIONS``) so the batch benchmark's
table and goals change in one place. The figures may come from a run of their own (the Airflow runs take
long): each section then names its run (time, command, load at its start) instead of the page's header run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

WAYS = {
    "worker": "batch operator, worker mode",
    "deferrable": "batch operator, deferrable",
    "mapped": "mapped submit + pool, mapped copy",
}


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _runs(fig: dict[str, Any]) -> list[dict[str, Any]]:
    """Every run of the figures (a merged file holds several invocations under ``parts``)."""
    parts = fig.get("parts") or [fig]
    return [run for part in parts for run in part.get("medians", [])]


def _provenance(fig: dict[str, Any]) -> str:
    parts = fig.get("parts") or [fig]
    lines = []
    for part in parts:
        load = part.get("load_average_at_start")
        lines.append(
            f"- `{part['command']}`"
            + (f", started {part['generated']}" if part.get("generated") else "")
            + (f", load average at its start {load}" if load else "")
            + (f". {part['note']}" if part.get("note") else "")
        )
    return "\n".join(lines)


def _goals(rows: list[dict[str, Any]]) -> str:
    goals: list[list[str]] = []

    def pick(mode: str, seconds: float) -> dict[str, Any] | None:
        return next((r for r in rows if r["mode"] == mode and r["task_seconds"] == seconds), None)

    for mode, gap_goal, ratio_goal in (("worker", 1.0, 1.05), ("deferrable", 3.0, 1.15)):
        measured = [r for r in rows if r["mode"] == mode]
        gaps = ", ".join(f"{r['slot_gap_mean_s']:.2f} s at D = {r['task_seconds']:g} s" for r in measured)
        goals.append(
            [
                f"mean slot gap ≤ {gap_goal:g} s, {WAYS[mode]}",
                gaps or "not run",
                ("yes" if all(r["slot_gap_mean_s"] <= gap_goal for r in measured) else "**no**")
                if measured
                else "n/a",
            ]
        )
        at30 = pick(mode, 30.0)
        goals.append(
            [
                f"makespan ≤ {ratio_goal:.2f}x the ideal at D = 30 s, {WAYS[mode]}",
                f"{at30['makespan_over_ideal']:.2f}x" if at30 else "not run (see above)",
                ("yes" if at30["makespan_over_ideal"] <= ratio_goal else "**no**") if at30 else "n/a",
            ]
        )
    batches = [r for r in rows if r["mode"] != "mapped"]
    goals.append(
        [
            "one task instance per batch",
            ", ".join(
                f"{r['batch_task_instances']:.0f} ({r['mode']}, D = {r['task_seconds']:g} s)" for r in batches
            )
            or "not run",
            ("yes" if all(r["batch_task_instances"] == 1 for r in batches) else "**no**")
            if batches
            else "n/a",
        ]
    )
    return _table(["goal (issue 11)", "measured", "met"], goals)


def batch_airflow_section(fig: dict[str, Any]) -> str:
    rows = sorted(_runs(fig), key=lambda r: (r["task_seconds"], list(WAYS).index(r["mode"])))
    table = _table(
        [
            "D",
            "way",
            "N",
            "makespan s",
            "ideal s",
            "x ideal",
            "mean / max slot gap s",
            "creates",
            "429s",
            "task instances / photo",
            "worker start-ups / photo",
            "retries",
            "repeats (failed)",
        ],
        [
            [
                f"{r['task_seconds']:g} s",
                WAYS[r["mode"]],
                f"{r['items']:.0f}",
                f"{r['makespan_s']:.1f}",
                f"{r['ideal_s']:.0f}",
                f"{r['makespan_over_ideal']:.2f}x",
                f"{r['slot_gap_mean_s']:.2f} / {r['slot_gap_max_s']:.2f}",
                f"{r['creates']:.0f}",
                f"{r['rejected_429']:.0f}",
                f"{r['task_instances_per_photo']:.2f}",
                f"{r['worker_starts_per_photo']:.2f}",
                f"{r['retries']:.0f}",
                f"{r['repeats']} ({r['failed_repeats']})",
            ]
            for r in rows
        ],
    )
    ran = {(r["task_seconds"], r["mode"]) for r in rows}
    missing = [f"{WAYS[m]} at D = {d:g} s" for d in (10.0, 30.0) for m in WAYS if (d, m) not in ran]
    not_run = f"**Not measured in these runs**: {'; '.join(missing)}.\n\n" if missing else ""
    return (
        "## Catalogue batches: the batch operator against mapped tasks + pool\n\n"
        "Figures from these runs (not from the run named at the top of the page when the times differ):\n\n"
        f"{_provenance(fig)}\n\n"
        "A real Airflow deployment (`tests/e2e/stack.py`: api-server, dag-processor, scheduler with "
        "LocalExecutor and parallelism 8, triggerer, SQLite metadata DB), the emulator in its own process "
        f"enforcing {fig.get('concurrent', 5)} concurrent tasks and {fig.get('submit_rps', 5.0):g} creates/s "
        "(429 beyond) with every task running exactly D s, so the ideal `ceil(N/5) * D` is exact. The "
        "three ways run the same N edits one after the other on the same deployment "
        "(`benchmarks/dags/wanxiang_bench_batch.py`). Makespan: the end of the item-list task to the end "
        "of the last task storing results (the batch task; the recipe's last copy). Slot gap: a remote "
        "task's end to the next create on that slot (emulator, first in first out). Task instances per "
        "photo count every task instance of the DAG run (the item-list task included) / N; worker start-ups "
        "count every task process started (first run, resume after a deferral, retry) / N. **The machine "
        "has 2 cores shared with other jobs running at the same time**: the Airflow processes, the emulator "
        "and the task processes compete for them, which lengthens every Airflow hand-over.\n\n"
        f"{table}\n\n" + (f"{fig['reading']}\n\n" if fig.get("reading") else "") + f"{not_run}"
        f"{_goals(rows)}\n"
    )


def batch_scale_section(fig: dict[str, Any]) -> str:
    rows = _runs(fig)
    table = _table(
        ["items", "creates", "images stored", "time s", "RSS before MiB", "peak RSS MiB", "peak growth MiB"],
        [
            [
                f"{r['items']:,}",
                f"{r['creates']:,}",
                f"{r['images_stored']:,}",
                f"{r['elapsed_s']:.0f}",
                f"{r['rss_before_mib']:.1f}",
                f"{r['peak_rss_mib']:.1f}",
                f"{r['peak_rss_growth_mib']:.1f}",
            ]
            for r in rows
        ],
    )
    return (
        "## Catalogue batches: 10,000 items in one batch\n\n"
        f"{_provenance(fig)}\n\n"
        "Instant edits (D = 0) of one tiny input picture (480 x 400 PNG, about 1 KB; each stored output is "
        "about 58 KB) from a JSON Lines manifest, through the batch engine the operator runs in worker mode, "
        "50 in flight, the emulator in its own process without limits. Peak RSS is the `ru_maxrss` of the "
        "process running the batch (Python, the provider and Airflow's imports included); *RSS before* is "
        "what it held before reading the manifest, so the growth is the batch's.\n\n"
        f"{table}\n"
    )


#: Why a benchmark's figures come from a run of its own, after a change to what it measures (shown in its
#: section with the run's time). The batch runs name themselves (``parts``).
RERUN_NOTES = {
    "detection_latency": "re-run when the submit operator stopped querying right after the create, which "
    "the simulation models",
    "copy_memory": "re-run when the copy to object stores stopped listing the destination to find an absent "
    "object, looked it up beside the first request, and sent images up to 16 MiB in one PUT from the "
    "chunks as they arrived",
    "worker_slots": "re-run when the submit operator stopped its status check before deferring, with a "
    "do-nothing task beside it for Airflow's own cost of a workload",
}


def _stamp() -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def merge(results: Path, runs: list[Path]) -> None:
    """Put the figures of separate runs (``--json`` files of ``batch_airflow.py``, ``batch_scale.py`` or of
    a benchmark in ``RERUN_NOTES``) into ``results.json`` and rewrite ``results.md``: the
    Airflow runs take too long to repeat with every other benchmark, so their figures may come from runs of
    their own, each named."""
    saved = json.loads(results.read_text())
    airflow_parts = [json.loads(p.read_text()) for p in runs]
    batch = [f for f in airflow_parts if f["name"] == "batch_airflow"]
    scale = [f for f in airflow_parts if f["name"] == "batch_scale"]
    if batch:
        saved["batch_airflow"] = {
            "name": "batch_airflow",
            "parts": batch,
            "medians": [row for part in batch for row in part["medians"]],
            # How to read these runs' figures (written by whoever ran them): kept until the runs change.
            "reading": saved.get("batch_airflow", {}).get("reading", ""),
        }
    if scale:
        saved["batch_scale"] = {"name": "batch_scale", "parts": scale, "medians": scale[-1]["medians"]}
    # Waiting-cost runs at one N that look at the loop's worst lag (garbage collection, with and without
    # gc.freeze()): kept beside the full waiting-cost run, which they do not replace.
    gc_runs = [f for f in airflow_parts if f["name"] == "waiting_cost"]
    if gc_runs:
        saved["waiting_gc"] = {"name": "waiting_gc", "parts": gc_runs, "generated": _stamp()}
    # The quicker benchmarks re-run alone after a change to what they measure.
    for part in (f for f in airflow_parts if f["name"] in RERUN_NOTES):
        saved[part["name"]] = {**part, "generated": _stamp(), "note": RERUN_NOTES[part["name"]]}
    results.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    import report

    report.rewrite(results.parent)


if __name__ == "__main__":
    # python benchmarks/_batch_report.py RUN.json [RUN.json ...]: merge into benchmarks/results.json + .md
    merge(Path(__file__).resolve().parent / "results.json", [Path(p) for p in sys.argv[1:]])
