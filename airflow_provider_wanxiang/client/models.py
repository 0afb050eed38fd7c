"""Typed, immutable values exchanged with the API: the edit request, tasks, results, pages, upload policy.

These are plain frozen dataclasses with no behaviour beyond convenience properties (and the edit's
fingerprint). Building them from untrusted input (validation) and from wire JSON (parsing) happens
elsewhere, in :mod:`~airflow_provider_wanxiang.client.validation` and
:mod:`~airflow_provider_wanxiang.client.protocol`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

__all__ = [
    "CreatedTask",
    "EditRequest",
    "ImageResult",
    "ListTasksQuery",
    "Task",
    "TaskMetrics",
    "TaskPage",
    "TaskStatus",
    "TaskSummary",
    "UploadPolicy",
    "Usage",
]


class TaskStatus(str, Enum):
    """Lifecycle of a remote task: ``PENDING → RUNNING → SUCCEEDED | FAILED``, plus CANCELED and UNKNOWN.

    ``UNKNOWN`` is what the server answers (with HTTP 200) for an id that does not exist, has expired
    (after 24 h) or is not visible to this key or workspace. It never turns into anything else, so it is
    terminal.
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        """Whether the status can no longer change (polling should stop)."""
        return self in _TERMINAL

    def __str__(self) -> str:
        return self.value


_TERMINAL = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELED, TaskStatus.UNKNOWN})


@dataclass(frozen=True, slots=True)
class EditRequest:
    """A validated ``wan2.5-i2i-preview`` edit, ready to send.

    Build it with :func:`~airflow_provider_wanxiang.client.validation.build_edit_request`, which checks every
    field against the API's limits and turns files and bytes into ``data:`` URIs; constructing it directly
    skips those checks. ``images`` holds wire strings (http(s) URLs, ``data:`` URIs or ``oss://`` URLs), and
    is hidden from ``repr`` because data URIs run to megabytes.
    """

    model: str
    prompt: str
    images: tuple[str, ...] = field(repr=False)
    negative_prompt: str | None = None
    n: int = 1
    size: str | None = None
    seed: int | None = None
    prompt_extend: bool = True
    watermark: bool = False

    @property
    def needs_oss_resolve(self) -> bool:
        """Whether an input is an ``oss://`` temporary URL (the create call must then ask to resolve it)."""
        return any(image.startswith("oss://") for image in self.images)

    def fingerprint(self) -> str:
        """A stable hex digest of this edit: equal requests match, any changed field differs.

        A retried task re-attaches to the remote task an earlier try created only when the fingerprints
        match, so the digest must stay the same across releases: it is the SHA-256 of the create body
        (``json.dumps(..., sort_keys=True)``), exactly as the operator computed it before this method
        existed, so a fingerprint stored by an earlier version still matches after an upgrade.
        """
        # Imported here: the request builders import this module, and the body shape is theirs to define.
        from airflow_provider_wanxiang.client._request_builders import edit_request_body

        canonical = json.dumps(edit_request_body(self), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ListTasksQuery:
    """The filters of ``GET /tasks``, checked and normalised.

    Build it with :func:`~airflow_provider_wanxiang.client.validation.build_list_query` (or pass its
    keywords to ``list_tasks``), which checks every field and accepts the looser input forms (Beijing-time
    ``YYYYMMDDhhmmss`` strings, status strings); constructing it directly skips those checks, as with
    :class:`EditRequest`. Times are timezone-aware; the window is at most 24 h (the server's default is the
    last 24 h).
    """

    start_time: datetime | None = None
    end_time: datetime | None = None
    status: TaskStatus | None = None
    page_no: int = 1
    page_size: int = 10
    model_name: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedTask:
    """The answer to a create call: the remote task id to poll."""

    task_id: str
    status: TaskStatus
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ImageResult:
    """One requested output image: a URL when it succeeded, a ``code``/``message`` when it failed.

    ``url`` is a signed OSS link valid for 24 h; it is a capability, so it is kept out of ``repr``.
    """

    index: int
    url: str | None = field(default=None, repr=False)
    orig_prompt: str | None = None
    actual_prompt: str | None = None
    code: str | None = None
    message: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.url is not None


@dataclass(frozen=True, slots=True)
class TaskMetrics:
    """Per-image counts (``TOTAL`` = n requested)."""

    total: int
    succeeded: int
    failed: int


@dataclass(frozen=True, slots=True)
class Usage:
    """What is billed: the number of successfully generated images."""

    image_count: int


@dataclass(frozen=True, slots=True)
class Task:
    """A remote task as returned by ``GET /tasks/{task_id}``.

    Times are timezone-aware (UTC); the server sends Beijing time without a marker. A SUCCEEDED task may
    still contain failed images (``n > 1``): see :attr:`failed_images`. ``code``/``message`` explain a FAILED
    task.
    """

    task_id: str
    status: TaskStatus
    submit_time: datetime | None = None
    scheduled_time: datetime | None = None
    end_time: datetime | None = None
    results: tuple[ImageResult, ...] = ()
    metrics: TaskMetrics | None = None
    usage: Usage | None = None
    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    #: The status exactly as the server wrote it, when it is not a documented one (e.g. ``SUSPENDED``,
    #: which is in the SDK's enum only); ``status`` is then ``RUNNING``, so waiting goes on.
    reported_status: str | None = None

    @property
    def succeeded_images(self) -> tuple[ImageResult, ...]:
        return tuple(result for result in self.results if result.succeeded)

    @property
    def failed_images(self) -> tuple[ImageResult, ...]:
        return tuple(result for result in self.results if not result.succeeded)


@dataclass(frozen=True, slots=True)
class TaskSummary:
    """One row of ``GET /tasks`` (the list endpoint reports epoch milliseconds and ``status``)."""

    task_id: str
    status: TaskStatus
    model_name: str | None = None
    region: str | None = None
    request_id: str | None = None
    created_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    #: As :attr:`Task.reported_status`: an undocumented status as sent (``status`` is then ``RUNNING``).
    reported_status: str | None = None


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of the task list."""

    items: tuple[TaskSummary, ...]
    total: int
    total_pages: int
    page_no: int
    page_size: int
    request_id: str | None = None

    @property
    def has_next(self) -> bool:
        return self.page_no < self.total_pages


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    """A short-lived (``expire_in_seconds``) credential to upload one call's files to temporary OSS storage.

    ``policy``, ``signature`` and ``oss_access_key_id`` grant write access, so they are kept out of ``repr``.
    """

    upload_host: str
    upload_dir: str
    policy: str = field(repr=False)
    signature: str = field(repr=False)
    oss_access_key_id: str = field(repr=False)
    expire_in_seconds: int | None = None
    max_file_size_mb: float | None = None
    capacity_limit_mb: float | None = None
    x_oss_object_acl: str = "private"
    x_oss_forbid_overwrite: str = "true"
    request_id: str | None = None
