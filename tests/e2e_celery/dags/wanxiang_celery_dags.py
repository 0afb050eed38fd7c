"""The fault campaign's DAGs, for the Celery topology (tests/e2e_celery).

Each campaign DAG is one *load shape* over the same edits, registered in :data:`CAMPAIGNS`; the test is
parametrized over that dict, so another way of submitting the same edits (the batch operator, when it
lands) is one more entry here with its own builder, and every invariant of the campaign applies to it
unchanged. Two shapes: the mapped path (a deferrable ``WanxiangSubmitOperator`` mapped over the prompts,
then ``WanxiangCopyResultsOperator`` mapped over the remote task ids it returns, copying to S3: moto,
connection ``aws_moto``) and the batch operator (one deferrable ``WanxiangBatchEditOperator`` task over the
same edits, writing to S3 with its ledger and ``report.jsonl``). Both have the deadline edit and the audit.

Retries are the ones a user would set for a flaky network and restarting workers: a try that lost its
worker (SIGKILL) or hit an error the client does not retry (a create whose answer was lost) is retried by
Airflow. The remote edits are long (``[seconds:600]``); the test ends them by moving the emulator's clock,
so the triggerer crash always happens while every edit is still running remotely.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_wanxiang.operators.batch import WanxiangBatchEditOperator
from airflow_provider_wanxiang.operators.copy_results import WanxiangCopyResultsOperator
from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
from tests.images import png_data_uri

#: Edits per campaign run (the issue asks for at least 50).
EDITS = 50
LONG_RUN = "[seconds:600]"
#: Beyond every step of the test's clock: the deadline edit is still running when its wait times out.
NEVER_ENDS = "[seconds:10000000]"
DEADLINE = timedelta(seconds=30)
#: The deadline edit's tries: a create lost to a fault is retried; each later try re-attaches to the same
#: remote task and times out again (and cancels again), so few.
DEADLINE_RETRIES = 2
AUDIT_PAGE = 10
#: Remote edits the batch keeps in flight (the emulator's limit is lifted in the campaign).
BATCH_CONCURRENCY = 10
BUCKET = "wanxiang-campaign"
START = pendulum.datetime(2026, 1, 1, tz="UTC")
#: Tries per task: enough that a 20 % fault rate plus one SIGKILL and one S3 outage cannot exhaust them.
RETRIES = 4
RETRY_DELAY = timedelta(seconds=3)
#: One small input image, a data URI: readable from every worker (a local path would exist on one host).
IMAGE = png_data_uri(384, 384, (30, 140, 200))


def prompts() -> list[str]:
    return [f"Repaint the sky, variant {index} {LONG_RUN}" for index in range(EDITS)]


def destination(dag_id: str) -> str:
    """Each campaign DAG writes under its own prefix of the one bucket."""
    return f"s3://aws_moto@{BUCKET}/{dag_id}/"


def mapped_submit_and_copy(dag_id: str) -> None:
    """The mapped path: one deferrable submit per edit, one copy per finished remote task."""
    edits = WanxiangSubmitOperator.partial(
        task_id="edit",
        images=[IMAGE],
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2.0,
        retries=RETRIES,
        retry_delay=RETRY_DELAY,
    ).expand(prompt=prompts())
    copies = WanxiangCopyResultsOperator.partial(
        task_id="copy",
        destination=destination(dag_id),
        retries=RETRIES,
        retry_delay=RETRY_DELAY,
    ).expand(wanxiang_task_id=edits.output)
    [copies, deadline_edit()] >> audit()


def batch_edits(dag_id: str) -> None:
    """The batch path: the same edits as items of one deferrable batch task (``edit``), 10 in flight."""
    edits = WanxiangBatchEditOperator(
        task_id="edit",
        items=[
            {"key": f"edit-{index:02d}", "prompt": p, "images": [IMAGE]} for index, p in enumerate(prompts())
        ],
        destination=destination(dag_id),
        max_concurrent=BATCH_CONCURRENCY,
        submit_rps=5.0,
        deferrable=True,
        poll_interval=2.0,
        linger=0.5,
        # Creates a fault left unconfirmed (a 500 or a reset after sending: the task may exist) are reported
        # (CreateUnconfirmed), not paid twice in this try: the task succeeds with them in the report.
        max_failed=EDITS,
        retries=RETRIES,
        retry_delay=RETRY_DELAY,
    )
    [edits, deadline_edit()] >> audit()


def deadline_edit() -> WanxiangSubmitOperator:
    """An edit with a deadline it cannot meet: its wait times out and the remote task is canceled (the
    cancel route), as a user's SLA would have it. It fails, naming the timeout."""
    return WanxiangSubmitOperator(
        task_id="deadline_edit",
        prompt=f"An edit nobody can wait for {NEVER_ENDS}",
        images=[IMAGE],
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2.0,
        timeout=DEADLINE,
        retries=DEADLINE_RETRIES,
        retry_delay=RETRY_DELAY,
    )


@task(retries=RETRIES, retry_delay=RETRY_DELAY, trigger_rule="all_done")
def audit() -> int:
    """What a user reconciles after a campaign: the remote tasks of the account, page by page (the list
    route), counted by id."""
    from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook

    client = WanxiangHook().get_conn()
    ids: set[str] = set()
    page_no, pages = 1, 1
    while page_no <= pages:
        page = client.list_tasks(page_size=AUDIT_PAGE, page_no=page_no)
        ids.update(item.task_id for item in page.items)
        pages, page_no = page.total_pages, page_no + 1
    return len(ids)


#: dag_id -> builder of its tasks.
CAMPAIGNS: dict[str, Callable[[str], None]] = {
    "wx_campaign_mapped": mapped_submit_and_copy,
    "wx_campaign_batch": batch_edits,
}
#: The campaigns whose edits are items of one batch task (per-edit checks read its report.jsonl).
BATCH_CAMPAIGNS = frozenset({"wx_campaign_batch"})

for _dag_id, _build in CAMPAIGNS.items():
    with DAG(
        _dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        is_paused_upon_creation=False,
        max_active_tasks=EDITS * 2,
        tags=["e2e", "celery", "campaign"],
    ):
        _build(_dag_id)
