"""The fault campaign: ≥ 50 edits on the production topology while everything misbehaves, then invariants.

What misbehaves, all in one run (the figures of the last run are in docs/reliability.md):

- the emulator, at 20 % of the requests of every route the DAG uses (create, get, list, result download):
  500, 503 and 429 with ``Retry-After``, connection resets (and, on downloads, resets in the middle of the
  body), slow answers; plus creates answered 500 or reset *after* the task was stored (5 %), the
  ambiguous case that can bill twice;
- one triggerer SIGKILLed while every edit waits deferred (its triggers must move to the other one);
- one Celery worker SIGKILLed while it runs a copy (the task must be retried on a worker, by its retries);
- the S3 endpoint stopped for 10 s while copies run.

The invariants are asserted from three independent sources: the emulator's counters, the bucket, and the
metadata DB (PostgreSQL), plus every log any process wrote and the broker's keyspace for the secret.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from airflow_provider_wanxiang.testing.emulator import API_KEY
from tests.e2e_celery import services
from tests.e2e_celery.dags.wanxiang_celery_dags import BATCH_CAMPAIGNS, BUCKET, CAMPAIGNS, EDITS
from tests.e2e_celery.stack import TRIGGERERS, WORKERS, CeleryStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

#: 20 % of every route's requests faulted (uniformly 429 with Retry-After, 500, 503, reset, 3 s late).
FAULTS = {
    "fault_rate": 0.2,
    "download_fault_rate": 0.2,
    "fault_slow_seconds": 3.0,
    "retry_after": 1.0,
    "create_fault_after_enqueue_rate": 0.05,
    # The limits are not under test here (tests/integration covers them): only injected faults fail.
    "submit_rps": 0,
    "query_qps": 0,
    "max_concurrent": 1000,
    "pending_fraction": 0,
    # The test moves the emulator's clock CLOCK_STEP s a second while edits wait, up to RUN_BOUND s: the TTLs
    # (24 h by default) are stretched past what that can add up to, so no task or URL expires mid-run (an
    # UNKNOWN task is worth a paid resubmission, which is not what this campaign counts).
    "task_ttl": 30 * 86400.0,
    "result_ttl": 30 * 86400.0,
}
#: Scripted on top of the random 20 %: the DAG makes few list and cancel requests (one audit, one deadline
#: edit), too few for a random rate to be sure to hit; these make sure each of those routes is faulted.
SCRIPTED = {
    "list": [{"status": 503, "retry_after": 1}, {"drop": True}, {"status": 429, "retry_after": 1}],
    "cancel": [{"status": 500}, {"drop": True}],
}
#: The end of every running remote edit (600 s) each time the clock moves (see the TTLs in FAULTS).
CLOCK_STEP = 700
#: A bound on the whole run once the edits are deferred: no task instance may stay non-terminal longer.
RUN_BOUND = 900.0
TERMINAL = {"success", "failed", "skipped", "upstream_failed", "removed"}
OUTAGE_SECONDS = 10.0
TASKS = ("edit", "copy", "deadline_edit", "audit")
SUBMITTED = re.compile(r"Submitted Wanxiang task ([0-9A-Za-z-]+)")
#: The batch's log lines for a create that may exist without its id recorded (docs/batch.md's window).
BATCH_AMBIGUOUS = ("is unconfirmed", "may have been created (and billed)")


def wait_for_dag(stack: CeleryStack, dag_id: str) -> None:
    def serialized() -> bool:
        errors = stack.query("SELECT filename, stacktrace FROM import_error")
        if errors:
            pytest.fail(f"the dag-processor cannot import the campaign DAGs: {errors}", pytrace=False)
        return bool(stack.query("SELECT 1 FROM serialized_dag WHERE dag_id = ?", dag_id))

    stack.wait_for(f"the dag-processor to serialize {dag_id}", serialized)


def ti_rows(
    stack: CeleryStack, dag_id: str, run_id: str
) -> list[tuple[str, int, str | None, int, int | None]]:
    rows = stack.query(
        "SELECT task_id, map_index, state, try_number, pid FROM task_instance "
        "WHERE dag_id = ? AND run_id = ?",
        dag_id,
        run_id,
    )
    return [(task, index, state, tries, pid) for task, index, state, tries, pid in rows]


def states(stack: CeleryStack, dag_id: str, run_id: str, task_id: str) -> Counter[str | None]:
    return Counter(state for task, _, state, _, _ in ti_rows(stack, dag_id, run_id) if task == task_id)


def leak_forms(secret: str) -> list[bytes]:
    """The secret as text and as it would appear inside base64 (Celery message bodies are base64)."""
    raw = secret.encode()
    forms = [raw]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        forms.append(encoded[4 if shift else 0 : -4])  # the stable middle, whatever the alignment
    return forms


def find_leaks(blobs: dict[str, bytes], secret: str) -> list[str]:
    forms = leak_forms(secret)
    return [name for name, blob in blobs.items() if any(form in blob for form in forms)]


class Campaign:
    """The disruptions of one run, driven from the test's polling loop, and what they hit."""

    def __init__(self, stack: CeleryStack, dag_id: str, run_id: str) -> None:
        self.stack, self.dag_id, self.run_id = stack, dag_id, run_id
        batch = dag_id in BATCH_CAMPAIGNS
        #: Task instances of ``edit``: one per edit, or the one batch task.
        self.edit_tis = 1 if batch else EDITS
        #: Where results are written (the worker and the S3 outage strike it): the copies, or the batch.
        self.writer = "edit" if batch else "copy"
        self.clock = 0
        self.killed_triggerer: str | None = None
        self.triggers_on_killed = 0
        self.killed_worker: str | None = None
        self.copy_killed: int | None = None
        self.outage_during: list[int] = []
        self.db_mid_wait = ""

    def kill_triggerer_mid_wait(self) -> None:
        """Once every edit waits deferred, SIGKILL the triggerer holding the most triggers."""
        stack = self.stack

        def all_deferred() -> bool:
            counts = states(stack, self.dag_id, self.run_id, "edit")
            held = stack.triggers_by_triggerer()
            waiting = counts.get("deferred", 0) + sum(counts[s] for s in TERMINAL) == self.edit_tis
            return waiting and counts.get("deferred", 0) > 0 and None not in held

        stack.wait_for("every edit to wait deferred in a triggerer", all_deferred, timeout=RUN_BOUND)
        self.db_mid_wait = services.pg_dump(stack.pg_port)
        jobs = stack.triggerer_jobs()
        held = stack.triggers_by_triggerer()
        victim_job = max(jobs, key=lambda job: held.get(job, 0))
        self.killed_triggerer = TRIGGERERS[jobs.index(victim_job)]
        self.triggers_on_killed = held.get(victim_job, 0)
        stack.processes[self.killed_triggerer].kill()
        stack.forget(self.killed_triggerer)
        survivor = next(job for job in jobs if job != victim_job)

        def handed_over() -> bool:
            now = stack.triggers_by_triggerer()
            return bool(now) and set(now) == {survivor}

        stack.wait_for("the surviving triggerer to take over every trigger", handed_over, timeout=120)

    def step(self) -> None:
        """One turn of the loop: move the clock for deferred edits, strike a worker, then S3, once each."""
        stack = self.stack
        rows = ti_rows(stack, self.dag_id, self.run_id)
        if any(task == "edit" and state == "deferred" for task, _, state, _, _ in rows):
            self.clock += CLOCK_STEP
            stack.emulator("config", {"time_offset": self.clock})
        running = [
            (index, pid) for task, index, state, _, pid in rows if task == self.writer and state == "running"
        ]
        if self.killed_worker is None:
            for index, pid in running:
                name = self.worker_running(pid)
                if name is not None:
                    stack.processes[name].kill()
                    self.killed_worker, self.copy_killed = name, index
                    stack.start_worker(name)  # its supervisor brings it back, empty
                    return
        elif not self.outage_during and running:
            self.outage_during = [index for index, _ in running]
            assert stack.s3 is not None
            stack.s3.stop()
            time.sleep(OUTAGE_SECONDS)
            stack.s3.restart()

    def worker_running(self, pid: int | None) -> str | None:
        if pid is None:
            return None
        for name in WORKERS:
            process = self.stack.processes.get(name)
            if process is not None and pid in {child.pid for child in process.descendants()}:
                return name
        return None


@pytest.mark.parametrize("dag_id", sorted(CAMPAIGNS))
def test_fault_campaign_holds_every_invariant(stack: CeleryStack, dag_id: str) -> None:
    assert stack.s3 is not None
    stack.s3.client.create_bucket(Bucket=BUCKET)
    stack.emulator("config", FAULTS)
    for route, faults in SCRIPTED.items():
        stack.emulator("faults", {"route": route, "faults": faults})
    wait_for_dag(stack, dag_id)
    run_id = stack.trigger(dag_id)
    started = time.monotonic()
    campaign = Campaign(stack, dag_id, run_id)

    campaign.kill_triggerer_mid_wait()
    deadline = time.monotonic() + RUN_BOUND
    while stack.dag_run_state(dag_id, run_id) not in ("success", "failed"):
        assert time.monotonic() < deadline, (
            f"the run did not end within {RUN_BOUND:.0f} s\n{stack.diagnostics()}"
        )
        stack.assert_running()
        campaign.step()
        time.sleep(1.0)

    rows = ti_rows(stack, dag_id, run_id)
    stats = stack.emulator_stats()
    report = {
        "dag_run": stack.dag_run_state(dag_id, run_id),
        "task_states": {task: dict(states(stack, dag_id, run_id, task)) for task in TASKS},
        "tries": {task: sum(t for k, _, _, t, _ in rows if k == task) for task in TASKS},
        "emulator": {
            key: stats[key]
            for key in (
                "requests",
                "tasks_created",
                "task_queries",
                "lists",
                "cancels",
                "result_downloads",
                "faults_injected",
                "faults_by_route",
                "slowed_by_route",
            )
        },
        "killed_triggerer": campaign.killed_triggerer,
        "triggers_handed_over": campaign.triggers_on_killed,
        "killed_worker": campaign.killed_worker,
        "copy_killed_map_index": campaign.copy_killed,
        "copies_running_at_s3_outage": len(campaign.outage_during),
        "run_seconds": round(time.monotonic() - started),
    }
    print("CAMPAIGN", json.dumps(report, sort_keys=True))

    # -- the disruptions really happened, and the faults hit every route the DAG uses --------------------
    assert campaign.triggers_on_killed > 0
    assert campaign.killed_worker is not None and campaign.outage_during
    for route in ("create", "get", "list", "cancel", "result"):
        assert stats["faults_by_route"].get(route, 0) + stats["slowed_by_route"].get(route, 0) > 0, route

    # -- no task stuck, no trigger left ---------------------------------------------------------------------
    assert {state for _, _, state, _, _ in rows} <= TERMINAL, rows
    assert stack.query("SELECT count(*) FROM trigger") == [(0,)]

    # -- every edit: verified PNGs in the bucket, or a failed task whose log names the reason -------------
    # The other campaigns' prefixes are theirs (the moto server, and so the bucket, outlives a deployment).
    others = tuple(f"{other}/" for other in CAMPAIGNS if other != dag_id)
    objects = {key: body for key, body in stack.s3.objects(BUCKET).items() if not key.startswith(others)}
    assert stack.s3.multipart_uploads(BUCKET) == []
    # The batch keeps its ledger, plan and report next to the images, under ``_wanxiang/``.
    state_prefix = f"{dag_id}/_wanxiang/"
    images = {key: body for key, body in objects.items() if not key.startswith(state_prefix)}
    assert all(key.startswith(f"{dag_id}/") and key.endswith(".png") for key in images), sorted(objects)
    for body in images.values():
        with Image.open(io.BytesIO(body)) as image:
            image.verify()  # a partial or corrupt object fails here
    logs = {task: stack.task_logs(dag_id, run_id, task) for task in ("edit", "copy", "deadline_edit")}
    if dag_id in BATCH_CAMPAIGNS:
        # One task, many edits: each edit's fate is its line in the report (the batch reads the ledger).
        report_lines = [json.loads(line) for line in objects[f"{state_prefix}report.jsonl"].splitlines()]
        assert len(report_lines) == EDITS == len({line["key"] for line in report_lines}), report_lines
        for line in report_lines:
            if line["status"] == "failed":
                assert line.get("code") and line.get("message"), f"failed without a reason: {line}"
            else:
                assert line["status"] == "succeeded" and line.get("outputs"), line
        written = {uri.split(f"{BUCKET}/", 1)[1] for line in report_lines for uri in line.get("outputs", [])}
        edits_done = sum(line["status"] == "succeeded" for line in report_lines)
        failed_edits = len(report_lines) - edits_done
        batch_ids = {line["wanxiang_task_id"] for line in report_lines if line.get("wanxiang_task_id")}
    else:
        copied = {
            index: json.loads(value) if isinstance(value, str) else value
            for index, value in stack.query(
                "SELECT map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'copy' "
                "AND key = 'return_value'",
                dag_id,
                run_id,
            )
        }
        written = {uri.split(f"{BUCKET}/", 1)[1] for uris in copied.values() for uri in uris}
        for task, index, state, _, _ in rows:
            if task == "copy" and state == "success":
                assert copied.get(index), f"copy[{index}] succeeded without images"
        edits_done = sum(1 for task, _, state, _, _ in rows if task == "copy" and state == "success")
        failed_edits = sum(1 for t, _, s, _, _ in rows if t in ("edit", "copy") and s == "failed")
        batch_ids = set()
    assert written == set(images), "the bucket holds exactly what was reported written: no temp objects"
    for task, index, state, _, _ in rows:
        if task in logs and state == "failed":
            tries = logs[task].get(index, [])
            last = tries[-1] if tries else ""
            assert '"exc_type":"Wanxiang' in last, (
                f"{task}[{index}] failed, no reason in its log:\n{last[-3000:]}"
            )
    # The deadline edit failed on its timeout, and its remote task was asked to stop (cancel route).
    assert states(stack, dag_id, run_id, "deadline_edit") == {"failed": 1}
    deadline_log = logs["deadline_edit"][-1][-1]
    assert "WanxiangTaskTimeoutError" in deadline_log
    assert stats["cancels"] >= 1
    assert edits_done + failed_edits >= EDITS

    # -- creates == edits, except ambiguous creates, each named in a log ----------------------------------
    submitted: dict[int, set[str]] = {}
    ambiguous = 0
    for index, tries in [*logs["edit"].items(), *logs["deadline_edit"].items()]:
        for text in tries:
            submitted.setdefault(index, set()).update(SUBMITTED.findall(text))
            ambiguous += text.count("Ambiguous create")
            # The batch names each create it cannot confirm, and again each one a later wave resubmits
            # (so this bound counts some twice: it stays an upper bound).
            ambiguous += sum(text.count(phrase) for phrase in BATCH_AMBIGUOUS)
    # Retries re-attached, never paid again (the deadline edit, index -1, too: Airflow >= 3.3 keeps its id).
    assert all(len(ids) <= 1 for ids in submitted.values()), submitted
    answered = sum(len(ids) for ids in submitted.values()) + len(batch_ids)
    assert answered <= stats["tasks_created"] <= answered + ambiguous, (answered, ambiguous, stats)
    audit = stack.query(
        "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'audit'", dag_id, run_id
    )
    assert [json.loads(v) if isinstance(v, str) else v for (v,) in audit] == [stats["tasks_created"]]

    # -- the API key appears nowhere ----------------------------------------------------------------------
    blobs: dict[str, bytes] = {str(p.relative_to(stack.home)): p.read_bytes() for p in stack.log_files()}
    assert any("emulator" in name for name in blobs) and any("/logs/dag_id=" in n for n in blobs)
    blobs["metadata DB mid-wait (pg_dump)"] = campaign.db_mid_wait.encode()
    blobs["metadata DB at the end (pg_dump)"] = services.pg_dump(stack.pg_port).encode()
    for key, value in services.redis_keyspace(stack.redis_port).items():
        blobs[f"redis {key!r}"] = key + b" " + value
    access_log = Path(stack.processes["emulator"].log).read_text(errors="replace")
    assert access_log.count('"GET /api/v1/tasks/') > EDITS, "the emulator's access log is on"
    # The search itself finds the key in every form it looks for (raw, and base64 at any alignment).
    probes = {f"probe {shift}": base64.b64encode(b"x" * shift + API_KEY.encode()) for shift in range(3)}
    assert find_leaks({**probes, "raw": API_KEY.encode()}, API_KEY) == [*probes, "raw"]
    assert find_leaks(blobs, API_KEY) == []
    checked = {
        "edits_copied": edits_done,
        "objects_verified": len(images),
        "creates_answered": answered,
        "ambiguous_creates_logged": ambiguous,
        "searched_for_the_key": {
            "files": sum(1 for name in blobs if not name.startswith(("redis", "metadata"))),
            "redis_keys": sum(1 for name in blobs if name.startswith("redis")),
            "db_dump_bytes": len(campaign.db_mid_wait) + len(blobs["metadata DB at the end (pg_dump)"]),
        },
    }
    print("CAMPAIGN CHECKED", json.dumps(checked, sort_keys=True))
