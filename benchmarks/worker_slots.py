"""Worker-slot seconds per edit: the deferrable submit operator vs a PythonOperator blocking on the SDK.

A real Airflow 3 deployment runs here (the end-to-end suite's stack, ``tests/e2e/stack.py``: api-server,
dag-processor, scheduler with the LocalExecutor, triggerer; SQLite; the emulator in its own process). Two
DAGs of ``--edits`` parallel edits each, run one after the other:

- ``deferrable``: ``WanxiangSubmitOperator(deferrable=True, wait_for_completion=True)``: a worker slot for
  the submit (until the task defers), none while the triggerer waits, a second slot to resume and finish;
- ``blocking``: a ``PythonOperator`` calling the dashscope SDK's ``ImageSynthesis.call`` (create, then its
  own ``wait()`` loop) with ``dashscope.base_http_api_url`` pointed at the emulator: one slot for the
  whole remote run;
- ``noop``: a ``PythonOperator`` that returns at once, from a DAG file with the same imports: Airflow's own
  cost of one workload, which splits the deferrable figure into Airflow's share (two workloads) and the
  operator's.

What is counted: the time each LocalExecutor worker process is busy with a workload. The executor's worker
titles itself ``airflow worker -- LocalExecutor: <idle>`` between workloads and with the workload's name
while it runs one, so the orchestrator samples the titles of the scheduler's worker processes every
``--sample`` seconds (reading ``/proc/PID/cmdline``, outside the measured processes) and sums the busy
spells of each run (divided by its edits). A spell includes everything Airflow does per workload on the
worker: forking the task process, the task runner's start-up (loading the DAG file, the Execution API calls
to start, defer and finish), the operator's own work, and reporting the state. Not counted: the scheduler's
queueing delay before a worker picks the workload up, and the triggerer's share of its event loop while it
waits (neither holds a worker slot). Each busy spell is known to within one sampling period at each end.

The remote run lasts ``--task-seconds`` (emulated; a shorter edit than the goal's 60 s keeps the run
short): the deferrable path's slot time does not depend on it (submit and resume are fixed costs), so the
figure for a 60 s edit is ``fixed overhead / 60 s``; the blocking path holds its slot for the whole run
plus the SDK's detection latency.

Usage::

    python benchmarks/worker_slots.py [--edits 4] [--task-seconds 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import collections
import os
import secrets
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, command_line, exit_on_sigterm, median, write_figures

sys.path.insert(0, str(ROOT))

#: The edit duration the goal is stated for.
GOAL_EDIT_SECONDS = 60.0
#: How much longer than its mode's median a busy spell is to count as one of the supervisor's ~5 s stalls
#: (``[workers] min_heartbeat_interval``, the longest its loop waits in ``select``).
STALL_SECONDS = 4.0
MODES = ("deferrable", "blocking", "noop")
_WORKER_TITLE = "airflow worker -- LocalExecutor"

DAGS = textwrap.dedent(
    '''
    """Worker-slot benchmark DAGs (written by benchmarks/worker_slots.py into its own Airflow home)."""

    from __future__ import annotations

    import pendulum
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG

    from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
    from tests.images import png_data_uri

    EDITS = {edits}
    START = pendulum.datetime(2026, 1, 1, tz="UTC")


    def blocking_edit(index: int) -> str:
        """The SDK's synchronous path: create, then block in its own wait() until the task ends."""
        import dashscope
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection("wanxiang_default")
        dashscope.base_http_api_url = connection.host.rstrip("/") + "/api/v1"
        answer = dashscope.ImageSynthesis.call(
            model="wan2.5-i2i-preview",
            prompt=f"Repaint the sky, variant {{index}}",
            images=[png_data_uri(400, 480)],
            n=1,
            api_key=connection.password,
        )
        if answer.status_code != 200 or answer.output.task_status != "SUCCEEDED":
            raise RuntimeError(f"the edit did not succeed: {{answer.status_code}} {{answer.code}}")
        return str(answer.output.task_id)


    with DAG("bench_slots_deferrable", schedule=None, start_date=START, catchup=False,
             is_paused_upon_creation=False, max_active_tasks=EDITS):
        for index in range(EDITS):
            WanxiangSubmitOperator(
                task_id=f"edit_{{index}}",
                prompt=f"Repaint the sky, variant {{index}}",
                images=[png_data_uri(400, 480)],
                n=1,
                wait_for_completion=True,
                deferrable=True,
            )

    with DAG("bench_slots_blocking", schedule=None, start_date=START, catchup=False,
             is_paused_upon_creation=False, max_active_tasks=EDITS):
        for index in range(EDITS):
            PythonOperator(task_id=f"edit_{{index}}", python_callable=blocking_edit, op_args=[index])

    with DAG("bench_slots_noop", schedule=None, start_date=START, catchup=False,
             is_paused_upon_creation=False, max_active_tasks=EDITS):
        for index in range(EDITS):
            PythonOperator(task_id=f"edit_{{index}}", python_callable=lambda: None)
    '''
)


class SlotSampler:
    """Busy spells of the LocalExecutor's worker processes, by the workload named in their title."""

    def __init__(self, scheduler_pid: int, period: float) -> None:
        self.scheduler_pid = scheduler_pid
        self.period = period
        #: workload title -> list of (start, end) monotonic seconds.
        self.spells: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        self._busy: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlotSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _children(self) -> list[int]:
        """The scheduler's direct children (its executor's workers), read from /proc at every sample: a
        worker started for one short workload must not be missed between two scans."""
        pids: list[int] = []
        try:
            for thread in os.listdir(f"/proc/{self.scheduler_pid}/task"):
                with open(f"/proc/{self.scheduler_pid}/task/{thread}/children") as children:
                    pids += [int(pid) for pid in children.read().split()]
        except OSError:
            pass
        return pids

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            seen = set()
            for pid in self._children():
                title = _title(pid)
                if not title.startswith(_WORKER_TITLE):
                    continue
                seen.add(pid)
                self._observe(pid, title.split(":", 1)[1].strip(), now)
            for pid in set(self._busy) - seen:  # a worker that exited
                self._observe(pid, "<gone>", now)
            time.sleep(self.period)

    def busy(self) -> bool:
        """Whether a worker is running a workload right now."""
        return bool(self._busy)

    def _observe(self, pid: int, workload: str, now: float) -> None:
        busy = self._busy.get(pid)
        if busy is not None and busy[0] != workload:
            self.spells[busy[0]].append((busy[1], now))
            del self._busy[pid]
        if workload not in ("<idle>", "<gone>") and pid not in self._busy:
            self._busy[pid] = (workload, now)


def _title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _run_dag(stack: Any, sampler: SlotSampler, dag_id: str, edits: int) -> dict[str, Any]:
    run_id = f"bench__{secrets.token_hex(4)}"
    started = time.monotonic()
    stack.cli("dags", "trigger", dag_id, "--run-id", run_id)
    state = stack.wait_for_run_end(dag_id, run_id, timeout=600)
    if state != "success":
        raise RuntimeError(f"{dag_id} run {run_id} ended {state}:\n{stack.diagnostics()}")
    # A worker is still busy for a moment after its task reported success (the supervisor finishes): wait
    # until every worker is idle again, so the last spells are whole.
    deadline = time.monotonic() + 120
    while sampler.busy() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(3 * sampler.period)
    # Runs go one at a time and nothing else runs on the deployment, so every busy spell that began after
    # the trigger belongs to this run (a task instance's id changes between its submit and resume
    # workloads, so the titles cannot be matched to task ids).
    spells = [
        (begin, end)
        for title_spells in sampler.spells.values()
        for begin, end in title_spells
        if begin >= started
    ]
    if len(spells) < edits:
        raise RuntimeError(f"saw {len(spells)} busy worker spells for {edits} edits: {sampler.spells}")
    busy = sum(end - begin for begin, end in spells)
    return {
        "spells_s": sorted(round(end - begin, 3) for begin, end in spells),
        "slot_s_per_edit": busy / edits,
        "workloads_per_edit": len(spells) / edits,
        "run_wall_s": time.monotonic() - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edits", type=int, default=4, help="parallel edits per DAG run")
    parser.add_argument("--task-seconds", type=float, default=20.0, help="emulated remote run, seconds")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, choices=(0, 1), default=1, help="one uncounted run per mode")
    parser.add_argument("--sample", type=float, default=0.02, help="seconds between title samples")
    parser.add_argument("--json", help="write the figures here (for benchmarks/run.py)")
    args = parser.parse_args()
    exit_on_sigterm()
    command = command_line()
    print(f"command: {command}", flush=True)

    from tests.e2e.stack import running_stack

    runs: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="wanxiang-bench-slots-") as home,
        running_stack(Path(home)) as stack,
    ):
        stack.emulator(
            "config",
            {"task_seconds": args.task_seconds, "task_seconds_spread": 0, "max_concurrent": 1000},
        )
        (Path(home) / "dags" / "bench_slot_dags.py").write_text(DAGS.format(edits=args.edits))
        stack.wait_for(
            "the benchmark DAGs to be parsed",
            lambda: (
                len(stack.query("SELECT dag_id FROM dag WHERE dag_id LIKE 'bench_slots_%'")) == len(MODES)
                or None
            ),
            timeout=300,
        )
        scheduler = stack.processes["scheduler"].popen.pid
        print(f"{'mode':<12}{'edits':>6}{'slot s/edit':>13}{'workloads':>11}{'remote s':>10}", flush=True)
        with SlotSampler(scheduler, args.sample) as sampler:
            for mode in MODES[: args.warmup * len(MODES)]:
                # Not counted: the first task processes after the deployment starts pay cold caches
                # (page cache, .pyc files of the DAG's imports) that a running deployment has long warmed.
                _run_dag(stack, sampler, f"bench_slots_{mode}", args.edits)
            for repeat in range(args.repeats):
                for mode in MODES:
                    figures = _run_dag(stack, sampler, f"bench_slots_{mode}", args.edits)
                    figures.update(mode=mode, repeat=repeat, task_seconds=args.task_seconds)
                    runs.append(figures)
                    print(
                        f"{mode:<12}{args.edits:>6}{figures['slot_s_per_edit']:>13.2f}"
                        f"{figures['workloads_per_edit']:>11.1f}{args.task_seconds:>10.0f}",
                        flush=True,
                    )
    write_figures(
        args.json,
        {
            "name": "worker_slots",
            "command": command,
            "edits": args.edits,
            "task_seconds": args.task_seconds,
            "goal_edit_seconds": GOAL_EDIT_SECONDS,
            "sample_s": args.sample,
            "runs": runs,
            "medians": summarize(runs, args.task_seconds),
        },
    )
    return 0


def summarize(runs: list[dict[str, Any]], task_seconds: float) -> list[dict[str, Any]]:
    """Median per mode; the deferrable path's slot time is a fixed cost, so its share of a 60 s edit is
    ``slot / 60``; the blocking path's grows with the edit (``slot - task_seconds`` is its own overhead);
    the no-op task edits nothing (no share of an edit), its slot is Airflow's cost of one workload."""
    rows = []
    for mode in MODES:
        mine = [r for r in runs if r["mode"] == mode]
        if not mine:
            continue
        slot = median([r["slot_s_per_edit"] for r in mine])
        spells = [spell for r in mine for spell in r["spells_s"]]
        typical = median(spells)
        # Airflow's task supervisor sometimes holds the slot ~5 s more after its task process is done: a
        # spell that long past the mode's median is counted as such a stall, and the slot recomputed with
        # the stalls at the median, so what the operator costs shows apart from that wait.
        stalled = [spell for spell in spells if spell >= typical + STALL_SECONDS]
        edits = sum(len(r["spells_s"]) / r["workloads_per_edit"] for r in mine)
        row: dict[str, Any] = {
            "mode": mode,
            "repeats": len(mine),
            "slot_s_per_edit": slot,
            "spell_median_s": typical,
            "spells": len(spells),
            "stalls": len(stalled),
            "slot_s_per_edit_without_stalls": (sum(spells) - sum(stalled) + typical * len(stalled)) / edits,
            "workloads_per_edit": median([r["workloads_per_edit"] for r in mine]),
            "share_of_remote": slot / task_seconds,
        }
        if mode == "noop":
            row["fixed_overhead_s"] = slot
            row["share_of_remote"] = row["share_of_60s_edit"] = None
        elif mode == "deferrable":
            row["fixed_overhead_s"] = slot
            row["share_of_60s_edit"] = slot / GOAL_EDIT_SECONDS
        else:
            row["fixed_overhead_s"] = slot - task_seconds
            row["share_of_60s_edit"] = (GOAL_EDIT_SECONDS + slot - task_seconds) / GOAL_EDIT_SECONDS
        rows.append(row)
    return rows


if __name__ == "__main__":
    sys.exit(main())
