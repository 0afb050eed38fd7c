"""Edit inside a ``@task``: submit, wait and copy with the operators' rules, without an operator.

:class:`~airflow_provider_wanxiang.hooks.wanxiang.WanxiangHook` exposes these as ``submit_and_wait``,
``copy_results`` and ``edit_and_copy``. They are the operators' pieces, not a second implementation: the
request is validated by the same builder before anything is paid for, the wait is
:func:`airflow_provider_wanxiang.waiting.poll_in_worker` with the same
:class:`~airflow_provider_wanxiang.polling.PollSchedule` (interval, error budget, absolute deadline), its
end is :func:`~airflow_provider_wanxiang.exceptions.raise_for_outcome` (the same typed errors), and the copy
is :func:`airflow_provider_wanxiang.copying.copy_task`.

A ``@task`` holds its worker slot while it waits (there is no deferral from inside a Python callable), so
the default interval is the worker's 15 s. What they return is URL-free (the outcome summary, the written
URIs): safe as a ``@task``'s return value, which goes to XCom. Result URLs are signed capabilities and never
leave the copy.

Cancellation: a still-PENDING remote task is canceled when the deadline passes (as the operators do) and
when the wait is interrupted (Airflow's ``execution_timeout``, a kill that raises in the task, Ctrl-C): a
task nobody waits for any more should not be paid for. A started task cannot be canceled and still bills.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_wanxiang.client import DEFAULT_MODEL, build_edit_request
from airflow_provider_wanxiang.coercion import to_images, to_int, to_seconds
from airflow_provider_wanxiang.copying import (
    DEFAULT_FILE_NAME,
    CopySettings,
    OverwritePolicy,
    copy_task,
    destination_root,
)
from airflow_provider_wanxiang.exceptions import (
    raise_for_copy_report,
    raise_for_outcome,
    raise_for_uncopyable,
)
from airflow_provider_wanxiang.inputs import normalise_image_inputs
from airflow_provider_wanxiang.lineage import input_refs, output_ref, record_hook_lineage, task_ref
from airflow_provider_wanxiang.outcomes import OutcomeStatus
from airflow_provider_wanxiang.polling import DEFAULT_ERROR_BUDGET, DEFAULT_POLL_INTERVAL
from airflow_provider_wanxiang.waiting import DEFAULT_TIMEOUT, Wait, poll_in_worker

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook

__all__ = ["copy_results", "edit_and_copy", "submit_and_wait"]


def submit_and_wait(
    hook: WanxiangHook,
    prompt: str,
    images: Any,
    *,
    negative_prompt: str | None = None,
    n: int = 1,
    size: str | None = None,
    seed: int | None = None,
    prompt_extend: bool = True,
    watermark: bool = False,
    model: str = DEFAULT_MODEL,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    timeout: timedelta | float = DEFAULT_TIMEOUT,
    error_budget: int = DEFAULT_ERROR_BUDGET,
    require_all_images: bool = False,
) -> dict[str, Any]:
    """Submit one edit, wait until it ends, and return its URL-free summary (raise on a bad outcome).

    :returns: the summary the operator pushes as ``wanxiang_summary``: ``wanxiang_task_id``,
        ``task_status``, image counts, ``failed_images`` (index, code, message), usage and times.
    :raises WanxiangValidationError: a bad argument, before any request to the API.
    :raises WanxiangTaskError: the outcome's typed error (timeout, FAILED, rejected, CANCELED, UNKNOWN,
        gave up polling, or some images failed with ``require_all_images=True``).
    """
    interval = to_seconds("poll_interval", poll_interval)
    limit = to_seconds("timeout", timeout)
    budget = to_int("error_budget", error_budget, minimum=0)
    request = build_edit_request(
        prompt=prompt,
        images=normalise_image_inputs(to_images(images)),
        negative_prompt=negative_prompt,
        n=n,
        size=size,
        seed=seed,
        prompt_extend=prompt_extend,
        watermark=watermark,
        model=model,
    )
    client = hook.get_conn()
    created = client.create_task(request)
    task_id = created.task_id
    hook.log.info("Submitted Wanxiang task %s (request_id=%s)", task_id, created.request_id)
    record_hook_lineage(
        hook, inputs=input_refs(to_images(images)), outputs=[task_ref(hook.client_config.base_url, task_id)]
    )
    wait = Wait.begin(task_id, hook.wanxiang_conn_id, interval, budget, limit)
    try:
        outcome = poll_in_worker(client, wait.schedule(), hook.log)
    except BaseException:
        # Interrupted (execution_timeout, a kill, Ctrl-C): nobody waits for the task any more.
        hook.cancel_quietly(task_id)
        raise
    if outcome.status is OutcomeStatus.TIMEOUT:
        hook.cancel_quietly(task_id)
    summary = raise_for_outcome(outcome, require_all_images=require_all_images)
    hook.log.info(outcome.message)
    return summary


def copy_results(
    hook: WanxiangHook,
    wanxiang_task_id: str,
    destination: str | ObjectStoragePath,
    *,
    dest_conn_id: str | None = None,
    file_name: str = DEFAULT_FILE_NAME,
    overwrite: bool | str = False,
    write_sidecar: bool = False,
    fail_on_image_failure: bool = False,
) -> list[str]:
    """Copy every successful image of a finished task to ``destination``; return the URIs in place.

    The same copy as :class:`~airflow_provider_wanxiang.operators.wanxiang.WanxiangCopyResultsOperator`
    (streamed, verified, atomic, idempotent; see its parameters); the written objects are reported to
    hook lineage as outputs.
    """
    root = destination_root(destination, dest_conn_id)
    task = hook.get_conn().get_task(wanxiang_task_id)
    raise_for_uncopyable(task)
    settings = CopySettings(overwrite=OverwritePolicy.coerce(overwrite), proxy=hook.client_config.proxy)
    report = copy_task(task, root, file_name=file_name, write_sidecar=write_sidecar, settings=settings)
    hook.log.info(report.summary_line())
    record_hook_lineage(
        hook,
        inputs=[task_ref(hook.client_config.base_url, task.task_id)],
        outputs=[ref for uri in report.uris if (ref := output_ref(uri)) is not None],
    )
    raise_for_copy_report(report, fail_on_image_failure=fail_on_image_failure)
    return report.uris


def edit_and_copy(
    hook: WanxiangHook,
    prompt: str,
    images: Any,
    destination: str | ObjectStoragePath,
    *,
    dest_conn_id: str | None = None,
    file_name: str = DEFAULT_FILE_NAME,
    overwrite: bool | str = False,
    write_sidecar: bool = False,
    fail_on_image_failure: bool = False,
    **edit: Any,
) -> list[str]:
    """:func:`submit_and_wait` then :func:`copy_results`; ``edit`` takes ``submit_and_wait``'s keywords."""
    destination_root(destination, dest_conn_id)  # a bad destination fails before the paid edit
    summary = submit_and_wait(hook, prompt, images, **edit)
    return copy_results(
        hook,
        summary["wanxiang_task_id"],
        destination,
        dest_conn_id=dest_conn_id,
        file_name=file_name,
        overwrite=overwrite,
        write_sidecar=write_sidecar,
        fail_on_image_failure=fail_on_image_failure,
    )
