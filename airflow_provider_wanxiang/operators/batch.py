"""``WanxiangBatchEditOperator``: a catalogue of edits in one task, the quota always busy, nothing paid twice.

Thin on purpose: the items, the ledger, the loop, the outputs and the report are the
:mod:`airflow_provider_wanxiang.batch` package's; this module types the arguments, runs a wave in the worker
and either finishes (report, XCom, Asset event, failure policy) or defers on the in-flight tasks
(:class:`~airflow_provider_wanxiang.triggers.batch.WanxiangBatchTrigger`) and runs the next wave when one
ends. Every wave starts from the ledger, so a resumed, retried or re-run task re-attaches instead of paying.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, Asset, BaseOperator, conf

from airflow_provider_wanxiang.batch.engine import BatchEngine, BatchSettings
from airflow_provider_wanxiang.batch.items import Catalogue
from airflow_provider_wanxiang.batch.ledger import Entry, Ledger
from airflow_provider_wanxiang.batch.outputs import ListedOutputs, make_copier
from airflow_provider_wanxiang.batch.plan import RunPlan, load_or_validate
from airflow_provider_wanxiang.batch.report import run_results, summarize, write_report
from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.coercion import to_int, to_optional_int, to_optional_str, to_seconds
from airflow_provider_wanxiang.copying import CopySettings, OverwritePolicy, destination_root
from airflow_provider_wanxiang.copying.destination import Location
from airflow_provider_wanxiang.exceptions import WanxiangBatchError, WanxiangTaskTimeoutError
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.lineage import (
    LineageRef,
    operator_lineage,
    output_ref,
    record_hook_lineage,
    task_ref,
    tasks_ref,
)
from airflow_provider_wanxiang.polling import DEFAULT_TRIGGER_POLL_INTERVAL
from airflow_provider_wanxiang.triggers.batch import WanxiangBatchTrigger
from airflow_provider_wanxiang.waiting import DEFERRAL_GRACE

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_wanxiang.lineage import OperatorLineage

__all__ = ["WanxiangBatchEditOperator"]

#: The longest a whole batch may take unless the task says otherwise.
DEFAULT_BATCH_TIMEOUT = timedelta(hours=12)
#: Seconds a deferrable wave keeps polling in the worker after the last task ended, before it defers: a
#: task that ends meanwhile is handled at once (no slot gap), and a trigger never fires seconds after the
#: deferral (Airflow 3.2-3.3.2's "state mismatch" race, docs/batch.md).
DEFAULT_LINGER = 5.0
#: Most remote tasks, and most stored images, a batch names one by one in its lineage. Past it the run is
#: reported as the destination prefix (and the API's task namespace): an OpenLineage event naming 10,000
#: objects is more than lineage backends are made to take.
MAX_LINEAGE_DATASETS = 1000


def _positive_float(name: str, value: object) -> float:
    number = to_seconds(name, value)
    if number <= 0:
        raise WanxiangValidationError(name, value, "a number > 0", f"{name} must be > 0, got {value!r}")
    return number


class WanxiangBatchEditOperator(BaseOperator):
    """Edit a whole catalogue in one task: up to ``max_concurrent`` remote edits in flight, each result
    stored at ``{destination}/{key}/{i}.png`` as soon as it finishes, a per-item report at
    ``{destination}/_wanxiang/report.jsonl``. Returns ``{"total", "succeeded", "failed", "skipped",
    "images", "failed_items"}`` (``images``: billed images; ``failed_items``: the first 100 failed keys
    with their codes; all of them are in the report).

    Every item is validated before the first create (all invalid items are reported together). A durable
    ledger in ``{destination}/_wanxiang/`` makes a killed worker or triggerer, a retry and the next DAG run
    resume: in-flight tasks are re-attached, done items skipped, failed items resubmitted only when a new
    attempt can help; changed items (new fingerprint) are edited again. See docs/batch.md.

    :param items: a list of dicts (templated, e.g. from an XCom) or the path of a JSON Lines file of them
        (``str`` or ``ObjectStoragePath``; ``s3://[conn_id@]bucket/key``). Each: ``key`` (unique, path-safe),
        ``prompt``, ``images`` (1-3, every form the submit operator takes), optional ``negative_prompt``,
        ``n`` (default 1), ``size``, ``seed``, ``prompt_extend``, ``watermark``.
    :param destination: where outputs, ledger and report go (``ObjectStoragePath`` or URL).
    :param max_concurrent: remote tasks in flight at most (the account's concurrency quota).
    :param submit_rps: creates per second at most (the account's submit quota).
    :param max_images: refuse before the first create when the items to edit ask for more images; never
        submit past it (``None``: no limit).
    :param max_failed: failed items tolerated before the task fails (after every other item ended).
    :param deferrable: wait in the triggerer between waves (default ``[operators] default_deferrable``).
    :param dest_conn_id: connection for ``destination`` when it does not name one.
    :param poll_interval: seconds between status queries of one in-flight task.
    :param resubmit_attempts: extra paid attempts per item and run when a failure is worth resubmitting.
    :param linger: deferrable only: seconds a wave waits in the worker for a task to end before deferring.
    :param timeout: the longest the batch may take (its deadline is fixed when the DAG run's first wave
        starts).
    :param task_timeout: ``deferrable=False`` only: the longest to wait for one remote task (seconds or
        ``timedelta``; ``None``: as long as it takes). A task still PENDING then is canceled, as the submit
        operator's ``timeout`` does; either way its item is reported failed with code ``TaskTimeout`` and
        the rest of the batch goes on (a later run re-attaches to a task that was already running).
    """

    template_fields: Sequence[str] = (
        "items",
        "destination",
        "dest_conn_id",
        "wanxiang_conn_id",
        "max_images",
    )
    template_fields_renderers = {"items": "json"}
    ui_color = "#ffe4b5"

    def __init__(
        self,
        *,
        items: Any,
        destination: Any,
        wanxiang_conn_id: str = WanxiangHook.default_conn_name,
        max_concurrent: int = 5,
        submit_rps: float = 5.0,
        max_images: int | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        dest_conn_id: str | None = None,
        max_failed: int = 0,
        poll_interval: float | None = None,
        resubmit_attempts: int = 1,
        linger: float = DEFAULT_LINGER,
        timeout: timedelta | float = DEFAULT_BATCH_TIMEOUT,
        task_timeout: timedelta | float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.items = items
        self.destination = destination
        self.wanxiang_conn_id = wanxiang_conn_id
        self.max_concurrent = to_int("max_concurrent", max_concurrent, minimum=1)
        self.submit_rps = _positive_float("submit_rps", submit_rps)
        self.max_images = max_images
        self.deferrable = bool(deferrable)
        self.dest_conn_id = dest_conn_id
        self.max_failed = to_int("max_failed", max_failed, minimum=0)
        self.poll_interval = (
            None if poll_interval is None else _positive_float("poll_interval", poll_interval)
        )
        self.resubmit_attempts = to_int("resubmit_attempts", resubmit_attempts, minimum=0)
        self.linger = to_seconds("linger", linger)
        self.timeout = to_seconds("timeout", timeout)
        self.task_timeout = None if task_timeout is None else _positive_float("task_timeout", task_timeout)
        if self.task_timeout is not None and self.deferrable:
            # The trigger waits on the whole wave and cannot cancel one task on its own clock: refuse rather
            # than silently ignore a limit the user relies on.
            raise WanxiangValidationError(
                "task_timeout",
                task_timeout,
                "None when deferrable=True",
                "task_timeout applies to deferrable=False only (the batch's own timeout bounds a deferrable "
                "batch); drop it or set deferrable=False",
            )
        self._engine: BatchEngine | None = None
        self._lineage_inputs: list[LineageRef] = []
        self._lineage_outputs: list[LineageRef] = []

    @cached_property
    def hook(self) -> WanxiangHook:
        return WanxiangHook(self.wanxiang_conn_id)

    # -- Airflow entry points --------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        return self._wave(context, first_of_try=True)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: run the next wave (results come from the ledger, not the event)."""
        status = (event or {}).get("status")
        if status == "timeout":
            root = self._root()
            plan, ledger = self._plan_and_ledger(context, root)
            write_report(root, plan.items, ledger, self._run_id(context))
            raise WanxiangTaskTimeoutError(
                f"the batch did not finish within its timeout of {self.timeout:g} s; a retry re-attaches",
                wanxiang_task_id="batch",
            )
        if status == "error":
            self.log.warning("Wanxiang batch: the trigger gave up polling (%s); polling in the worker", event)
        return self._wave(context, first_of_try=False)

    def on_kill(self) -> None:
        """Stop submitting and cancel the in-flight remote tasks that are still PENDING (a started edit
        cannot be canceled and is billed anyway). They stay in the ledger: a retry re-attaches to the others
        and resubmits the canceled ones."""
        engine = self._engine
        if engine is None:
            return
        in_flight = engine.in_flight()  # before stopping: a stopped wave forgets its watchers
        engine.stop(AirflowException("the batch task was killed"))
        for task_id in in_flight:
            self.hook.cancel_quietly(task_id)

    # -- one wave ------------------------------------------------------------------------------------
    def _root(self) -> Location:
        return destination_root(self.destination, to_optional_str("dest_conn_id", self.dest_conn_id))

    @staticmethod
    def _run_id(context: Context) -> str:
        return str(context["run_id"])

    def _plan_and_ledger(self, context: Context, root: Location) -> tuple[RunPlan, Ledger]:
        plan = load_or_validate(
            Catalogue(self.items), root, self._run_id(context), time.time() + self.timeout
        )
        ledger = Ledger(root)
        return plan, ledger

    def _wave(self, context: Context, *, first_of_try: bool) -> dict[str, Any]:
        """One wave; ``first_of_try``: a new try, which submits this run's unconfirmed creates again."""
        root = self._root()
        run_id = self._run_id(context)
        max_images = to_optional_int("max_images", self.max_images)
        catalogue = Catalogue(self.items)
        plan = load_or_validate(catalogue, root, run_id, time.time() + self.timeout)
        ledger = Ledger(root)
        ambiguous = ledger.load()
        listed = ListedOutputs(root)

        def done(key: str, entry: Entry) -> bool:
            return entry.run == run_id or listed.present(key, entry)

        settings = BatchSettings(
            max_concurrent=self.max_concurrent,
            submit_rps=self.submit_rps,
            max_images=max_images,
            poll_interval=self.poll_interval or (DEFAULT_TRIGGER_POLL_INTERVAL if self.deferrable else 1.0),
            resubmit_attempts=self.resubmit_attempts,
            linger=self.linger if self.deferrable else None,
            task_timeout=self.task_timeout,
            run_id=run_id,
            resubmit_unconfirmed=first_of_try,
        )
        copy_settings = CopySettings(
            overwrite=OverwritePolicy.IF_DIFFERENT, proxy=self.hook.client_config.proxy
        )
        engine = BatchEngine(
            catalogue=catalogue,
            plans=plan.items,
            ledger=ledger,
            config=self.hook.client_config,
            copier=make_copier(root, copy_settings),
            settings=settings,
            done_outputs=done,
            log=self.log,
        )
        self._engine = engine
        try:
            result = asyncio.run(engine.run(ambiguous))
        finally:
            self._engine = None
        if not result.finished:
            self._defer_on(context, result.in_flight, plan.deadline, settings.poll_interval)
        return self._finish(context, root, plan, ledger)

    def _defer_on(self, context: Context, in_flight: list[str], deadline: float, interval: float) -> None:
        self.log.info("Wanxiang batch: deferring on %d tasks in flight", len(in_flight))
        self.defer(
            trigger=WanxiangBatchTrigger(
                wanxiang_task_ids=in_flight,
                wanxiang_conn_id=self.wanxiang_conn_id,
                end_time=deadline,
                poll_interval=interval,
                deferred_in_try=context["ti"].try_number,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=max(deadline - time.time(), 0.0)) + DEFERRAL_GRACE,
        )

    def _finish(self, context: Context, root: Location, plan: RunPlan, ledger: Ledger) -> dict[str, Any]:
        run_id = self._run_id(context)
        report_uri = write_report(root, plan.items, ledger, run_id)
        summary = summarize(plan.items, ledger, run_id)
        self.log.info(
            "Wanxiang batch done: %d succeeded, %d skipped (already done), %d failed of %d; "
            "%d images billed; report at %s",
            summary["succeeded"],
            summary["skipped"],
            summary["failed"],
            summary["total"],
            summary["images"],
            report_uri,
        )
        self._annotate_outlets(context, root, summary)
        self._record_lineage(root, plan, ledger, run_id)
        if summary["failed"] > self.max_failed:
            shown = ", ".join(f"{key} ({code})" for key, code in summary["failed_items"].items())
            raise WanxiangBatchError(
                f"{summary['failed']} of {summary['total']} items failed (allowed: {self.max_failed}): "
                f"{shown}; every other item was stored; see {report_uri}",
                failed=dict(summary["failed_items"]),
                summary=summary,
            )
        return summary

    def _record_lineage(self, root: Location, plan: RunPlan, ledger: Ledger, run_id: str) -> None:
        """Report this run's remote tasks (read) and the images it stored (written), as the copy operator
        does for one task; past :data:`MAX_LINEAGE_DATASETS` each side is reported as a whole."""
        base_url = self.hook.client_config.base_url
        task_ids, written = run_results(root, plan.items, ledger, run_id)
        inputs = [task_ref(base_url, task_id) for task_id in task_ids]
        outputs = [ref for uri in written if (ref := output_ref(uri)) is not None]
        if len(inputs) > MAX_LINEAGE_DATASETS:
            inputs = [tasks_ref(base_url)]
        if len(outputs) > MAX_LINEAGE_DATASETS:
            outputs = [ref for ref in (output_ref(root.uri),) if ref is not None]
        self._lineage_inputs, self._lineage_outputs = inputs, outputs
        record_hook_lineage(self.hook, inputs=inputs, outputs=outputs)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        """OpenLineage at the end (also when too many items failed): this run's remote tasks in, the images
        it stored out (see :meth:`_record_lineage`)."""
        return operator_lineage(inputs=self._lineage_inputs, outputs=self._lineage_outputs)

    def _annotate_outlets(self, context: Context, root: Location, summary: dict[str, Any]) -> None:
        """Put the destination and the counts in the ``extra`` of each outlet Asset's event."""
        outlet_events = context.get("outlet_events")
        if outlet_events is None:
            return
        counts = {k: summary[k] for k in ("total", "succeeded", "failed", "skipped", "images")}
        for outlet in self.outlets or ():
            if isinstance(outlet, Asset):
                outlet_events[outlet].extra.update({"destination": root.uri, **counts})
