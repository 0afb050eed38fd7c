"""The typed, URL-free record of a copy: one :class:`ImageReport` per image, one :class:`CopyReport` per task.

What users read is the JSON of :meth:`CopyReport.to_xcom` (XCom ``wanxiang_copy_report``); its shape is a
contract and is produced only here::

    {"wanxiang_task_id", "task_status", "destination", "images_total",
     "written", "replaced", "kept", "failed_remote", "copy_errors",
     "images": [
        {"index", "outcome": "written"|"replaced"|"kept", "uri", "bytes", "width", "height"
         [, "sidecar_uri"[, "sidecar_error"]]},
        {"index", "outcome": "copy_error", "uri", "error", "message"},
        {"index", "outcome": "failed_remote", "code", "message"}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow_provider_wanxiang.client import ImageResult, Task
from airflow_provider_wanxiang.copying.download import CopyAction, CopyResult
from airflow_provider_wanxiang.copying.errors import CopyError

__all__ = ["CopyReport", "ImageOutcome", "ImageReport"]


class ImageOutcome(str, Enum):
    """What happened to one image of the task."""

    WRITTEN = "written"  #: nothing was there; the image was written
    REPLACED = "replaced"  #: a different object was there and was atomically replaced
    KEPT = "kept"  #: a complete PNG of the right size was already there
    FAILED_REMOTE = "failed_remote"  #: the service produced no image (e.g. output moderation)
    COPY_ERROR = "copy_error"  #: the image exists remotely but was not copied (see ``error``)

    @property
    def in_place(self) -> bool:
        """The image is at the destination now (written by this run or an earlier one)."""
        return self in (ImageOutcome.WRITTEN, ImageOutcome.REPLACED, ImageOutcome.KEPT)

    @classmethod
    def of(cls, action: CopyAction) -> ImageOutcome:
        return cls(action.value)


@dataclass(frozen=True, slots=True)
class ImageReport:
    """One image's outcome. ``error`` is the image's copy error; ``sidecar_error`` that of its sidecar
    (the image itself is in place then). ``sidecar_uri`` is set when the sidecar is in place."""

    index: int
    outcome: ImageOutcome
    uri: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    code: str | None = None
    message: str | None = None
    error: CopyError | None = field(default=None, compare=False)
    sidecar_requested: bool = False
    sidecar_uri: str | None = None
    sidecar_error: CopyError | None = field(default=None, compare=False)

    @classmethod
    def copied(cls, index: int, uri: str, result: CopyResult, *, sidecar_requested: bool) -> ImageReport:
        return cls(
            index,
            ImageOutcome.of(result.action),
            uri=uri,
            size=result.size,
            width=result.width,
            height=result.height,
            sidecar_requested=sidecar_requested,
        )

    @classmethod
    def not_copied(cls, index: int, uri: str, error: CopyError) -> ImageReport:
        return cls(index, ImageOutcome.COPY_ERROR, uri=uri, message=str(error), error=error)

    @classmethod
    def failed_remote(cls, image: ImageResult) -> ImageReport:
        return cls(image.index, ImageOutcome.FAILED_REMOTE, code=image.code, message=image.message)

    @property
    def errors(self) -> tuple[CopyError, ...]:
        """The copy errors of this image (the image's, or its sidecar's)."""
        return tuple(error for error in (self.error, self.sidecar_error) if error is not None)

    def to_xcom(self) -> dict[str, Any]:
        """This image's entry of the XCom report (see the module docstring for the shape)."""
        if self.outcome is ImageOutcome.FAILED_REMOTE:
            return {
                "index": self.index,
                "outcome": self.outcome.value,
                "code": self.code,
                "message": self.message,
            }
        if self.outcome is ImageOutcome.COPY_ERROR:
            return {
                "index": self.index,
                "outcome": self.outcome.value,
                "uri": self.uri,
                "error": type(self.error).__name__,
                "message": self.message,
            }
        entry: dict[str, Any] = {
            "index": self.index,
            "outcome": self.outcome.value,
            "uri": self.uri,
            "bytes": self.size,
            "width": self.width,
            "height": self.height,
        }
        if self.sidecar_requested:
            entry["sidecar_uri"] = self.sidecar_uri
        if self.sidecar_error is not None:
            entry["sidecar_error"] = str(self.sidecar_error)
        return entry


@dataclass(frozen=True, slots=True)
class CopyReport:
    """Every image of one task, in index order, and where they were copied to.

    ``task_code`` is the task's own error code (not part of the XCom JSON; exceptions carry it).
    """

    wanxiang_task_id: str
    task_status: str
    destination: str
    images_total: int
    images: tuple[ImageReport, ...]
    task_code: str | None = None

    @classmethod
    def of(cls, task: Task, destination: str, images: Sequence[ImageReport]) -> CopyReport:
        """The report for ``task``: the given (copied or not) images plus every image that failed remotely."""
        remote = [ImageReport.failed_remote(image) for image in task.failed_images]
        ordered = sorted({image.index: image for image in [*images, *remote]}.values(), key=lambda i: i.index)
        return cls(task.task_id, task.status.value, destination, len(task.results), tuple(ordered), task.code)

    def count(self, outcome: ImageOutcome) -> int:
        return sum(1 for image in self.images if image.outcome is outcome)

    @property
    def uris(self) -> list[str]:
        """The URIs of every image in place, in index order (the operator's return value)."""
        return [image.uri for image in self.images if image.outcome.in_place and image.uri is not None]

    @property
    def errors(self) -> list[tuple[int, CopyError]]:
        """``(index, error)`` for every image or sidecar that was not copied, in index order."""
        return [(image.index, error) for image in self.images for error in image.errors]

    def to_xcom(self) -> dict[str, Any]:
        """The JSON users read from XCom ``wanxiang_copy_report`` (shape in the module docstring)."""
        return {
            "wanxiang_task_id": self.wanxiang_task_id,
            "task_status": self.task_status,
            "destination": self.destination,
            "images_total": self.images_total,
            "written": self.count(ImageOutcome.WRITTEN),
            "replaced": self.count(ImageOutcome.REPLACED),
            "kept": self.count(ImageOutcome.KEPT),
            "failed_remote": self.count(ImageOutcome.FAILED_REMOTE),
            "copy_errors": self.count(ImageOutcome.COPY_ERROR),
            "images": [image.to_xcom() for image in self.images],
        }

    def summary_line(self) -> str:
        return (
            f"Task {self.wanxiang_task_id}: {self.count(ImageOutcome.WRITTEN)} written, "
            f"{self.count(ImageOutcome.REPLACED)} replaced, "
            f"{self.count(ImageOutcome.KEPT)} already in place, "
            f"{self.count(ImageOutcome.FAILED_REMOTE)} failed remotely, "
            f"{self.count(ImageOutcome.COPY_ERROR)} not copied"
        )
