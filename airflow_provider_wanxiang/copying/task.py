"""Copy every successful image of one task: the piece the copy operator (and a batch operator) calls.

:func:`copy_task` is plan → copy → report for one finished task; it never raises for a single image's
failure (that image is reported with its error, the others are still copied), so the caller decides what
the failures mean — for Airflow, :func:`airflow_provider_wanxiang.exceptions.raise_for_copy_report`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import requests

from airflow_provider_wanxiang.client import Task
from airflow_provider_wanxiang.client.config import DEFAULT_USER_AGENT
from airflow_provider_wanxiang.client.deadlines import deadline_session
from airflow_provider_wanxiang.client.retry import RetryPolicy
from airflow_provider_wanxiang.copying.destination import Location, Target, plan
from airflow_provider_wanxiang.copying.download import (
    DEFAULT_DOWNLOAD_DEADLINE,
    DEFAULT_DOWNLOAD_RETRY,
    CopyResult,
    Timeout,
    copy_png,
)
from airflow_provider_wanxiang.copying.errors import CopyError
from airflow_provider_wanxiang.copying.policy import OverwritePolicy
from airflow_provider_wanxiang.copying.report import CopyReport, ImageReport
from airflow_provider_wanxiang.copying.sinks import describe, read_small, write_bytes_atomic

__all__ = ["CopySettings", "copy_targets", "copy_task", "sidecar_document"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CopySettings:
    """How each image is copied (the same for every image of a task).

    :param proxy: the connection's ``extra.proxy`` for the downloads; ``None`` lets ``HTTP(S)_PROXY``
        and ``NO_PROXY`` decide.
    :param sidecar_metadata: extra JSON-able fields for every sidecar (``model`` and ``seed`` always
        appear, ``null`` when unknown).
    """

    overwrite: OverwritePolicy = OverwritePolicy.NEVER
    timeout: Timeout = (10.0, 60.0)
    retry: RetryPolicy = DEFAULT_DOWNLOAD_RETRY
    deadline: float = DEFAULT_DOWNLOAD_DEADLINE
    proxy: str | None = field(default=None, repr=False)  # may hold the proxy's credentials
    sidecar_metadata: Mapping[str, Any] | None = None


def copy_task(
    task: Task,
    root: Location,
    *,
    file_name: str,
    write_sidecar: bool,
    settings: CopySettings,
    log: logging.Logger = _log,
) -> CopyReport:
    """Copy every successful image of the finished ``task`` under ``root``; report every image.

    :raises WanxiangValidationError: ``file_name`` gives no safe, distinct names (before any download).
    """
    targets = plan(task, root, file_name, write_sidecar=write_sidecar)
    copied = copy_targets(task, targets, settings, log=log)
    for failed in task.failed_images:
        log.warning(
            "Image %d of task %s failed remotely and has no result to copy: %s: %s",
            failed.index,
            task.task_id,
            failed.code,
            failed.message,
        )
    return CopyReport.of(task, root.uri, copied)


def copy_targets(
    task: Task, targets: Sequence[Target], settings: CopySettings, *, log: logging.Logger = _log
) -> list[ImageReport]:
    """Copy each target (one HTTP session for all), then its sidecar; one report per target, in order."""
    reports: list[ImageReport] = []
    with deadline_session() as session:
        session.headers["User-Agent"] = DEFAULT_USER_AGENT
        for target in targets:
            reports.append(_copy_one(task, target, settings, session, log))
    return reports


def _copy_one(
    task: Task, target: Target, settings: CopySettings, session: requests.Session, log: logging.Logger
) -> ImageReport:
    index, location = target.result.index, target.location
    assert target.result.url is not None  # a succeeded image always has one
    try:
        result = copy_png(
            target.result.url,
            location.fs,
            location.path,
            session=session,
            overwrite=settings.overwrite,
            timeout=settings.timeout,
            retry=settings.retry,
            deadline=settings.deadline,
            proxy=settings.proxy,
        )
    except CopyError as err:
        log.error("Image %d of task %s was not copied to %s: %s", index, task.task_id, location.uri, err)
        return ImageReport.not_copied(index, location.uri, err)
    log.info(
        "Image %d of task %s %s: %s (%d bytes, %sx%s)",
        index,
        task.task_id,
        result.action.value,
        location.uri,
        result.size,
        result.width,
        result.height,
    )
    report = ImageReport.copied(index, location.uri, result, sidecar_requested=target.sidecar is not None)
    if target.sidecar is None:
        return report
    body = sidecar_document(task, target, result, settings.sidecar_metadata)
    error = _write_sidecar(target.sidecar, body)
    if error is not None:
        log.error("Sidecar of image %d was not written to %s: %s", index, target.sidecar.uri, error)
        return replace(report, sidecar_error=error)
    return replace(report, sidecar_uri=target.sidecar.uri)


def _write_sidecar(sidecar: Location, body: bytes) -> CopyError | None:
    """Write the sidecar when it is missing or differs (it is deterministic for a given image)."""
    try:
        if read_small(sidecar.fs, sidecar.path) != body:
            write_bytes_atomic(sidecar.fs, sidecar.path, body, content_type="application/json")
    except CopyError as err:
        return err
    except Exception as err:  # e.g. the store went away between the image and its sidecar
        return CopyError(f"cannot write sidecar {sidecar.uri}: {describe(err)}", retryable=True)
    return None


def sidecar_document(
    task: Task, target: Target, result: CopyResult, metadata: Mapping[str, Any] | None
) -> bytes:
    """The JSON beside an image: what the task API says about it, plus the caller's ``metadata``.

    The task API reports neither model nor seed, so they come from ``metadata`` (``null`` otherwise).
    """
    image = target.result
    extra = dict(metadata or {})
    fixed: dict[str, Any] = {
        "wanxiang_task_id": task.task_id,
        "index": image.index,
        "image": target.location.name,
        "model": extra.pop("model", None),
        "seed": extra.pop("seed", None),
        "prompt": image.orig_prompt,
        "actual_prompt": image.actual_prompt,
        "width": result.width,
        "height": result.height,
        "size": f"{result.width}*{result.height}" if result.width and result.height else None,
        "bytes": result.size,
        "submit_time": task.submit_time.isoformat() if task.submit_time else None,
        "end_time": task.end_time.isoformat() if task.end_time else None,
    }
    document = {**{k: v for k, v in extra.items() if k not in fixed}, **fixed}
    return (json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
