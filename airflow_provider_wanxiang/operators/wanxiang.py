"""Operators: submit a wan2.5 edit (and optionally wait for it), and copy its results to object storage.

This module is about submitting: build the request, re-attach to an earlier try's task or submit, push the
ids. Waiting is delegated to :mod:`airflow_provider_wanxiang.waiting` (the lifecycle the sensor shares).
``WanxiangCopyResultsOperator`` lives in :mod:`.copy_results` (its own concern: streaming, verified,
atomic writes) and is re-exported here, the public import path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_wanxiang.client import (
    DEFAULT_MODEL,
    EditRequest,
    Task,
    TaskStatus,
    WanxiangError,
    build_edit_request,
)
from airflow_provider_wanxiang.client.retry import may_have_enqueued
from airflow_provider_wanxiang.client.validation import (
    normalize_size,
    validate_model,
    validate_n,
    validate_seed,
)
from airflow_provider_wanxiang.coercion import (
    to_bool,
    to_images,
    to_int,
    to_optional_int,
    to_optional_str,
    to_required_str,
    to_seconds,
    unless_template,
)
from airflow_provider_wanxiang.compat import task_state_store
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.inputs import normalise_image_inputs
from airflow_provider_wanxiang.lineage import (
    LineageRef,
    input_refs,
    operator_lineage,
    record_hook_lineage,
    task_ref,
)
from airflow_provider_wanxiang.links import CONSOLE_URL_XCOM_KEY, WanxiangTaskLink
from airflow_provider_wanxiang.operators.copy_results import WanxiangCopyResultsOperator
from airflow_provider_wanxiang.outcomes import TaskOutcome, outcome_from_task
from airflow_provider_wanxiang.polling import (
    DEFAULT_ERROR_BUDGET,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TRIGGER_POLL_INTERVAL,
)
from airflow_provider_wanxiang.waiting import (
    DEFAULT_TIMEOUT,
    Wait,
    defer,
    finish_wait,
    poll_in_worker,
    resume,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_wanxiang.lineage import OperatorLineage

__all__ = ["WanxiangCopyResultsOperator", "WanxiangSubmitOperator"]

#: ``task_state_store`` key (Airflow >= 3.3) remembering the remote task across worker retries.
STATE_STORE_KEY = "wanxiang_task"
#: Remote task ids stay queryable for 24 h; remembering them longer is pointless.
STATE_RETENTION = timedelta(hours=24)
_REATTACHABLE = frozenset({TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.SUCCEEDED})
#: Statuses a create's answer can stand in for a first status query with: nothing to collect yet.
_UNFINISHED = frozenset({TaskStatus.PENDING, TaskStatus.RUNNING})


class WanxiangSubmitOperator(BaseOperator):
    """Submit one wan2.5 image edit (single-image editing or 1-3-image fusion) and return its task id.

    Every field is validated before anything is sent (the API bills per output image), the remote task id
    is pushed to XCom (``return_value`` and the console link) before anything else can fail, and with
    ``wait_for_completion=True`` the operator waits for the result — in the triggerer when ``deferrable``
    (no worker slot held), otherwise by polling in the worker.

    On Airflow >= 3.3 the remote task id is also kept in ``task_state_store``: a retry of this task
    re-attaches to a PENDING/RUNNING/SUCCEEDED task of the same request instead of paying again, and
    resubmits only when the previous one FAILED, was CANCELED or is UNKNOWN. Older Airflow always submits.

    :param prompt: What to change (required; the server truncates beyond 2000 characters).
    :param images: 1-3 images: http(s) URLs, ``data:`` URIs, local paths / ``file://``, ``ObjectStoragePath``
        or ``scheme://[conn_id@]bucket/key`` strings (read through Airflow object storage, for the schemes
        whose filesystem is installed). Templated, so it may come from an upstream XCom; a list rendered to
        a string (``"['a.png', 'b.png']"`` or JSON) is parsed back into the list.
    :param negative_prompt: What to avoid (the server truncates beyond 500 characters).
    :param n: Number of output images, 1-4. Defaults to 1 (the API's own default is 4, billed per image).
    :param size: Output size ``"W*H"``; default about 1280*1280 pixels at the last input's aspect ratio.
    :param seed: 0-2147483647, for reproducible outputs.
    :param prompt_extend: Let the service rewrite the prompt (adds ``actual_prompt`` to results).
    :param watermark: Add the "AI-generated" watermark.
    :param model: The model; only ``wan2.5-i2i-preview`` is served on this endpoint.
    :param wanxiang_conn_id: The ``wanxiang`` connection.
    :param wait_for_completion: Wait until the remote task is terminal and fail on a bad outcome.
    :param deferrable: Wait in the triggerer (default ``[operators] default_deferrable``).
    :param poll_interval: Seconds between status queries while waiting. Default: 1.5 s in the triggerer,
        stretched by the connection's ``query_budget`` when many waits share it; 15 s in a worker.
    :param timeout: Longest wait (seconds or timedelta); a task still PENDING then is canceled.
    :param require_all_images: Fail when only some of the ``n`` images succeeded.
    :param error_budget: Consecutive transient polling errors tolerated before giving up.

    Templated values arrive as strings; they are typed by :mod:`airflow_provider_wanxiang.coercion`
    (``"false"``/``"no"``/``"0"`` are ``False``, ``"2"`` is 2, ``"None"`` in an optional field is "not set")
    and anything else fails the task before any request. Literal values are checked at DAG parse time.

    XCom: with ``do_xcom_push=True`` (the default) the remote task id is pushed as ``return_value`` as soon
    as it exists (so it survives a failed wait); with ``do_xcom_push=False`` it is not pushed at all. The
    console URL (``wanxiang_console_url``, read by the task's extra link) and, after a wait, the URL-free
    summary (``wanxiang_summary``) are pushed either way.

    Lineage (:mod:`airflow_provider_wanxiang.lineage`): the named inputs (object storage, http(s) without
    query strings, local files; not ``data:`` URIs or bytes) and the remote task
    (``wanxiang://<API host>`` / ``tasks/<id>``) are reported to Airflow's hook lineage and, when the
    OpenLineage provider is installed, as this task's OpenLineage inputs and output.
    """

    template_fields: Sequence[str] = (
        "prompt",
        "images",
        "negative_prompt",
        "n",
        "size",
        "seed",
        "prompt_extend",
        "watermark",
        "model",
        "wanxiang_conn_id",
        "require_all_images",
    )
    template_fields_renderers = {"images": "json"}
    operator_extra_links = (WanxiangTaskLink(),)
    ui_color = "#ffd8b1"

    def __init__(
        self,
        *,
        prompt: str,
        images: Any,
        negative_prompt: str | None = None,
        n: int = 1,
        size: str | None = None,
        seed: int | None = None,
        prompt_extend: bool = True,
        watermark: bool = False,
        model: str = DEFAULT_MODEL,
        wanxiang_conn_id: str = WanxiangHook.default_conn_name,
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | None = None,
        timeout: timedelta | float = DEFAULT_TIMEOUT,
        require_all_images: bool = False,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Templated fields keep what the DAG gave (checked now unless it is a Jinja template) and are typed
        # again in build_request, after rendering; the others are typed once, here.
        self.prompt = unless_template(prompt, to_required_str, "prompt")
        self.images = images
        unless_template(images, to_images)
        self.negative_prompt = negative_prompt
        self.n = unless_template(n, to_int, "n")
        self.size = size
        self.seed = unless_template(seed, to_optional_int, "seed")
        self.prompt_extend = unless_template(prompt_extend, to_bool, "prompt_extend")
        self.watermark = unless_template(watermark, to_bool, "watermark")
        self.model = unless_template(model, to_required_str, "model")
        self.wanxiang_conn_id = wanxiang_conn_id
        self.wait_for_completion = to_bool("wait_for_completion", wait_for_completion)
        self.deferrable = to_bool("deferrable", deferrable)
        self.poll_interval = None if poll_interval is None else to_seconds("poll_interval", poll_interval)
        self.timeout = to_seconds("timeout", timeout)
        self.require_all_images = unless_template(require_all_images, to_bool, "require_all_images")
        self.error_budget = to_int("error_budget", error_budget, minimum=0)
        self.wanxiang_task_id: str | None = None
        # Literal scalars also meet the API's limits now, so a DAG with n=7 fails to import, not to run.
        for value, check in (
            (self.n, validate_n),
            (self.seed, validate_seed),
            (unless_template(size, to_optional_str, "size"), normalize_size),
            (self.model, validate_model),
        ):
            unless_template(value, check)

    @cached_property
    def hook(self) -> WanxiangHook:
        return WanxiangHook(self.wanxiang_conn_id)

    # -- submit ---------------------------------------------------------------------------------------
    def build_request(self) -> EditRequest:
        """Validate every field (and read object-storage inputs) without any network call to the API.

        Rendered values are typed first (:mod:`airflow_provider_wanxiang.coercion`); the scalars are checked
        before any image is read, so a bad ``n`` is reported without touching object storage.
        """
        prompt = to_required_str("prompt", self.prompt)
        model = to_required_str("model", self.model)
        negative_prompt = to_optional_str("negative_prompt", self.negative_prompt)
        n = to_int("n", self.n)
        size = to_optional_str("size", self.size)
        seed = to_optional_int("seed", self.seed)
        prompt_extend = to_bool("prompt_extend", self.prompt_extend)
        watermark = to_bool("watermark", self.watermark)
        images = to_images(self.images)
        to_bool("require_all_images", self.require_all_images)  # used after the wait: check it before paying
        return build_edit_request(
            prompt=prompt,
            images=normalise_image_inputs(images),
            negative_prompt=negative_prompt,
            n=n,
            size=size,
            seed=seed,
            prompt_extend=prompt_extend,
            watermark=watermark,
            model=model,
        )

    def execute(self, context: Context) -> str:
        request = self.build_request()
        task_id, known = self._reattach_or_submit(context, request)
        if not self.wait_for_completion:
            return task_id
        return self._wait(context, task_id, known)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Resume after the trigger fired: validate the event, then succeed or raise for its outcome."""
        return resume(self, context, event)

    def _wait(self, context: Context, task_id: str, known: Task | None = None) -> str:
        """Wait for ``task_id``; ``known`` is its status if this try already read it (saves a query)."""
        interval = self.poll_interval or (
            DEFAULT_TRIGGER_POLL_INTERVAL if self.deferrable else DEFAULT_POLL_INTERVAL
        )
        wait = Wait.begin(task_id, self.wanxiang_conn_id, interval, self.error_budget, self.timeout)
        # ``known``: the create's answer (just enqueued) or a re-attached task's status (maybe done already).
        task = known or self.hook.get_conn().get_task(task_id)
        if self.deferrable and outcome_from_task(task) is None:
            defer(self, context, wait)
        return self.end_wait(context, poll_in_worker(self.hook.get_conn(), wait.schedule(), self.log, task))

    def restart_wait(self, context: Context, task_id: str) -> str:
        """A retry that Airflow resumed at the previous try's event: re-attach or start over.

        Re-attaching to the task named in the event (when it is still PENDING, RUNNING or SUCCEEDED) is what
        ``task_state_store`` gives on Airflow >= 3.3; it also saves a second bill here.
        """
        task = self._reattachable(task_id, "the previous try")
        if task is None:
            return self.execute(context)
        self._push_task_id(context, task_id)
        return self._wait(context, task_id, task)

    def _reattach_or_submit(self, context: Context, request: EditRequest) -> tuple[str, Task | None]:
        """The remote task id for this try, and its status when an earlier try's task was re-attached."""
        store = task_state_store(context)
        fingerprint = request.fingerprint()
        saved = store.get(STATE_STORE_KEY) if store is not None else None
        known = None
        if isinstance(saved, dict) and saved.get("fingerprint") == fingerprint:
            known = self._reattachable(str(saved["wanxiang_task_id"]), "an earlier try")
        if known is not None:
            task_id = known.task_id
        else:
            try:
                created = self.hook.get_conn().create_task(request)
            except WanxiangError as error:
                if may_have_enqueued(error):
                    # No idempotency key: the service may have enqueued (and will bill) this edit although
                    # its answer was lost; a retry submits again. Named so that a user can reconcile.
                    self.log.warning(
                        "Ambiguous create: the request may have been enqueued although it failed (%s); "
                        "a retry submits the edit again (check the task list for a duplicate)",
                        error,
                    )
                raise
            task_id = created.task_id
            self.log.info("Submitted Wanxiang task %s (request_id=%s)", task_id, created.request_id)
            if created.status in _UNFINISHED:
                # The create's answer is this try's first status read: an edit takes 30 s or more, so a
                # status query right now would only say PENDING again (one query per edit saved, and the
                # deferral starts at once).
                known = Task(task_id, created.status, request_id=created.request_id)
            if store is not None:
                store.set(
                    STATE_STORE_KEY,
                    {"wanxiang_task_id": task_id, "fingerprint": fingerprint},
                    retention=STATE_RETENTION,
                )
        self._push_task_id(context, task_id)
        record_hook_lineage(self.hook, inputs=self._input_refs(), outputs=[self._task_ref(task_id)])
        return task_id, known

    def _reattachable(self, task_id: str, origin: str) -> Task | None:
        """The remote task of ``origin`` if it is still worth waiting on (PENDING, RUNNING or SUCCEEDED)."""
        task = self.hook.get_conn().get_task(task_id)
        if task.status in _REATTACHABLE:
            self.log.info("Re-attaching to Wanxiang task %s from %s (%s)", task_id, origin, task.status.value)
            return task
        self.log.info(
            "Wanxiang task %s from %s ended %s; submitting again", task_id, origin, task.status.value
        )
        return None

    def _push_task_id(self, context: Context, task_id: str) -> None:
        """Push the task id now (so a failed wait keeps it) unless ``do_xcom_push=False``; the console URL
        is always pushed, because the task's extra link reads it."""
        self.wanxiang_task_id = task_id
        ti = context["ti"]
        if self.do_xcom_push:
            ti.xcom_push(key="return_value", value=task_id)
        ti.xcom_push(key=CONSOLE_URL_XCOM_KEY, value=self.hook.console_url(task_id))

    def end_wait(self, context: Context, outcome: TaskOutcome) -> str:
        """End the wait (:func:`airflow_provider_wanxiang.waiting.finish_wait`) with this task's settings."""
        self.wanxiang_task_id = outcome.wanxiang_task_id
        require_all_images = to_bool("require_all_images", self.require_all_images)
        return finish_wait(context, outcome, self.hook, require_all_images=require_all_images)

    def on_kill(self) -> None:
        """Cancel the remote task if it is still PENDING (a started edit cannot be canceled)."""
        if self.wanxiang_task_id:
            self.hook.cancel_quietly(self.wanxiang_task_id)

    # -- lineage --------------------------------------------------------------------------------------
    def _input_refs(self) -> list[LineageRef]:
        return input_refs(to_images(self.images))

    def _task_ref(self, task_id: str) -> LineageRef:
        return task_ref(self.hook.client_config.base_url, task_id)

    def get_openlineage_facets_on_start(self) -> OperatorLineage[Any, Any]:
        """OpenLineage at start: the input images (the remote task does not exist yet)."""
        return operator_lineage(inputs=self._input_refs())

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        """OpenLineage at the end (also on failure): the input images and the remote task, once submitted."""
        outputs = [self._task_ref(self.wanxiang_task_id)] if self.wanxiang_task_id else []
        return operator_lineage(inputs=self._input_refs(), outputs=outputs)
