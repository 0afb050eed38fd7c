"""The batch operator against the mapped-tasks + pool recipe, on a real Airflow deployment.

One deployment (``tests/e2e/stack.py``: api-server, dag-processor, scheduler with LocalExecutor, triggerer,
the emulator in its own process; SQLite metadata DB) runs the same N edits of D seconds three ways, one after
the other (DAGs in ``benchmarks/dags/wanxiang_bench_batch.py``):

- ``worker``: ``WanxiangBatchEditOperator(deferrable=False)``, one task;
- ``deferrable``: ``WanxiangBatchEditOperator(deferrable=True)``, one task in waves;
- ``mapped``: mapped deferrable ``WanxiangSubmitOperator`` behind a 5-slot pool counting deferred tasks, then
  a mapped ``WanxiangCopyResultsOperator`` (the recipe of dags/wanxiang_nightly_batch.py).

The emulator enforces the quota the issue names (5 concurrent, 5 creates/s, 429 beyond) and runs every task
for exactly D seconds (``task_seconds_spread`` 0), so the quota ideal ``ceil(N/5) * D`` is exact. Per run:

- makespan: the end of the item-list task (editing may start) → the end of the last task that stores
  results (the batch task, or the last copy), from the metadata DB; over the ideal;
- slot gap: a remote task's end → the next create on that slot (the emulator's ``slot_gaps``, FIFO);
- task instances per photo (every task instance of the DAG run, the item-list task included, ÷ N) and
  worker start-ups per photo (each start of a task process — first run, resume after a deferral, retry —
  counted from the ``Workload finished`` lines the LocalExecutor's supervisors log, ÷ N);
- creates, 429s, peak concurrency at the emulator; retries; stored PNGs.

    python benchmarks/batch_airflow.py --items 100 --seconds 10 30 [--modes worker deferrable mapped]

Figures are reported, never asserted; a run that does not end ``success`` with one stored image per item is
reported as failed (and the script exits 1).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import ROOT, command_line, exit_on_sigterm, median, write_figures

# The deployment is the end-to-end suite's (tests/e2e/stack.py): the repository root on the path.
sys.path.insert(0, str(ROOT))

from tests.e2e.stack import AirflowStack, running_stack

HERE = Path(__file__).resolve().parent
DAG_FILE = HERE / "dags" / "wanxiang_bench_batch.py"
CONCURRENT = 5
SUBMIT_RPS = 5.0
MODES = {
    "worker": "wx_bench_batch_worker",
    "deferrable": "wx_bench_batch_deferrable",
    "mapped": "wx_bench_mapped",
}
#: Tasks whose end means "results stored" (the batch stores as it goes; the recipe stores in its copies).
STORING_TASKS = {"batch", "copy_results"}
#: The item-list tasks: editing can start once one has ended. (A retried task instance's ``start_date`` is its
#: last try's, and this Airflow keeps no history row for a try failed by the scheduler, so the editing task's
#: own start would hide the tries before it.)
ITEM_TASKS = {"batch_items", "submit_kwargs"}
#: One line per task-process start, logged by the supervisor when the process ends (LocalExecutor).
WORKLOAD_LINE = "Workload finished"


def _when(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value).timestamp()


def _wait(stack: AirflowStack, what: str, probe: Any, timeout: float) -> Any:
    """``stack.wait_for`` outside pytest: its ``pytest.fail`` (a BaseException) becomes a RuntimeError."""
    try:
        return stack.wait_for(what, probe, timeout)
    except BaseException as err:
        if isinstance(err, (KeyboardInterrupt, SystemExit)):
            raise
        raise RuntimeError(str(err)[:4000]) from None


def prepare(stack: AirflowStack) -> None:
    """The recipe's pool, and the benchmark DAGs parsed."""
    shutil.copy(DAG_FILE, stack.home / "dags" / DAG_FILE.name)
    stack.cli("pools", "set", "wanxiang", str(CONCURRENT), "wan2.5 edits", "--include-deferred")
    wanted = set(MODES.values())

    def parsed() -> bool:
        rows = stack.query("SELECT dag_id FROM serialized_dag")
        return wanted <= {row[0] for row in rows}

    _wait(stack, "the benchmark DAGs to be parsed", parsed, 180)


def workload_count(stack: AirflowStack, ti_ids: set[str]) -> int:
    """Task-process starts of these task instances (every scheduler log generation): one supervisor line
    per process, naming the task instance's id."""
    count = 0
    for log in (stack.home / "process-logs").glob("scheduler*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if WORKLOAD_LINE in line and any(ti_id in line for ti_id in ti_ids):
                count += 1
    return count


def settled_workload_count(stack: AirflowStack, ti_ids: set[str]) -> int:
    """The count once it stopped growing: a supervisor logs its line as its task process ends, which may
    be a moment after the DAG run's state changed."""
    last, stable, deadline = -1, 0, time.monotonic() + 30
    while time.monotonic() < deadline and stable < 3:
        now = workload_count(stack, ti_ids)
        stable = stable + 1 if now == last else 0
        last = now
        time.sleep(1)
    return last


def run_once(stack: AirflowStack, mode: str, items: int, seconds: float, timeout: float) -> dict[str, Any]:
    dag_id = MODES[mode]
    stack.emulator("reset", {})
    stack.emulator(
        "config",
        {
            **stack.emulator_defaults,
            "task_seconds": seconds,
            "task_seconds_spread": 0,
            "max_concurrent": CONCURRENT,
            "submit_rps": SUBMIT_RPS,
            "over_concurrency": "reject",
            "time_offset": 0,
        },
    )
    destination = stack.home / "out" / f"{mode}-{items}x{seconds:g}-{secrets.token_hex(3)}"
    destination.mkdir(parents=True)
    run_id = f"bench__{mode}__{secrets.token_hex(4)}"
    began = time.monotonic()
    stack.cli(
        "dags",
        "trigger",
        dag_id,
        "--run-id",
        run_id,
        "--conf",
        json.dumps({"n": items, "destination": str(destination)}),
    )

    def ended() -> str | None:
        state = stack.dag_run_state(dag_id, run_id)
        return state if state in ("success", "failed") else None

    state = _wait(stack, f"{dag_id}/{run_id} to end", ended, timeout)
    wall = time.monotonic() - began
    stats = stack.emulator_stats()
    rows = stack.query(
        "SELECT task_id, map_index, state, try_number, start_date, end_date, id FROM task_instance "
        "WHERE dag_id = ? AND run_id = ?",
        dag_id,
        run_id,
    )
    starts = [t for r in rows if r[0] in ITEM_TASKS and (t := _when(r[5])) is not None]
    ends = [t for r in rows if r[0] in STORING_TASKS and (t := _when(r[5])) is not None]
    makespan = (max(ends) - min(starts)) if starts and ends else float("nan")
    ideal = math.ceil(items / CONCURRENT) * seconds
    stored = sum(1 for _ in destination.rglob("*.png"))
    # The DB may hold the id without dashes; the supervisor logs ``str(UUID)``.
    worker_starts = settled_workload_count(stack, {str(uuid.UUID(str(r[6]))) for r in rows})
    figures = {
        "mode": mode,
        "items": items,
        "task_seconds": seconds,
        "state": state,
        "ok": state == "success" and stored == items,
        "makespan_s": round(makespan, 1),
        "ideal_s": ideal,
        "makespan_over_ideal": round(makespan / ideal, 3),
        "dag_run_wall_s": round(wall, 1),
        "slot_gap_mean_s": stats["slot_gaps"]["mean"],
        "slot_gap_max_s": stats["slot_gaps"]["max"],
        "slot_gap_count": stats["slot_gaps"]["count"],
        "creates": stats["tasks_created"],
        "rejected_429": sum(stats["rejected"].values()),
        "peak_concurrency": stats["peak_concurrency"],
        "task_instances": len(rows),
        "task_instances_per_photo": round(len(rows) / items, 3),
        "batch_task_instances": sum(1 for r in rows if r[0] == "batch"),
        "worker_starts": worker_starts,
        "worker_starts_per_photo": round(worker_starts / items, 3),
        "retries": sum(max(int(r[3] or 1), 1) - 1 for r in rows),
        "images_stored": stored,
    }
    print(json.dumps(figures), flush=True)
    return figures


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median per (mode, D) over the repeats that succeeded (failed repeats are kept in ``runs``)."""
    medians = []
    for key in sorted(
        {(r["task_seconds"], r["mode"]) for r in runs}, key=lambda k: (k[0], list(MODES).index(k[1]))
    ):
        mine = [r for r in runs if (r["task_seconds"], r["mode"]) == key]
        good = [r for r in mine if r["ok"]] or mine
        row: dict[str, Any] = {"task_seconds": key[0], "mode": key[1], "items": mine[0]["items"]}
        for name, value in good[0].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and name not in row:
                row[name] = round(median([float(g[name]) for g in good]), 3)
        row["repeats"] = len(good)
        row["failed_repeats"] = len(mine) - len([r for r in mine if r["ok"]])
        medians.append(row)
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 30.0])
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    exit_on_sigterm()
    runs: list[dict[str, Any]] = []
    setup_s = 0.0
    generated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    with contextlib.ExitStack() as stack_scope:
        home = Path(stack_scope.enter_context(tempfile.TemporaryDirectory(prefix="wanxiang-bench-batch-")))
        began = time.monotonic()
        stack = stack_scope.enter_context(running_stack(home / "airflow"))
        prepare(stack)
        setup_s = time.monotonic() - began
        print(f"Airflow stack up and DAGs parsed in {setup_s:.0f} s", flush=True)
        for seconds in args.seconds:
            for _ in range(args.repeats):
                for mode in args.modes:
                    ideal = math.ceil(args.items / CONCURRENT) * seconds
                    try:
                        runs.append(run_once(stack, mode, args.items, seconds, timeout=6 * ideal + 300))
                    except RuntimeError as err:
                        print(f"{mode} N={args.items} D={seconds:g}: {err}", flush=True)
                        runs.append(
                            {
                                "mode": mode,
                                "items": args.items,
                                "task_seconds": seconds,
                                "ok": False,
                                "state": "timeout",
                            }
                        )
    figures = {
        "name": "batch_airflow",
        "command": command_line(),
        "concurrent": CONCURRENT,
        "submit_rps": SUBMIT_RPS,
        "setup_s": round(setup_s, 1),
        "generated": generated,
        "load_average_at_start": load_at_start,
        "runs": runs,
        "medians": summarize([r for r in runs if "makespan_s" in r]),
    }
    for row in figures["medians"]:
        print(
            f"{row['mode']:>10} N={row['items']} D={row['task_seconds']:g}: makespan "
            f"{row['makespan_s']:.1f} s = {row['makespan_over_ideal']:.2f}x ideal, slot gap mean "
            f"{row['slot_gap_mean_s']:.2f} s, TIs/photo {row['task_instances_per_photo']:.2f}, "
            f"worker starts/photo {row['worker_starts_per_photo']:.2f}"
        )
    write_figures(args.json, figures)
    return 0 if runs and all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
