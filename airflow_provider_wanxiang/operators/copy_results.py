"""Copy the result images of a finished wan2.5 task into object storage (S3, GCS, Azure, local disk, ...).

Result URLs are signed, expire 24 h after the task ended, and are capabilities: they never travel through
XCom. So this operator takes only the remote task id, re-reads the task, and copies every image that
succeeded. The copying itself (streamed, verified, atomic, idempotent) lives in
:mod:`airflow_provider_wanxiang.storage`; this module decides which images go where, what a failure means
for the Airflow task, and what is reported.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import Asset, BaseOperator, ObjectStoragePath
from airflow.sdk.io import attach

from airflow_provider_wanxiang.client import ImageResult, Task, TaskStatus, WanxiangValidationError
from airflow_provider_wanxiang.client.config import DEFAULT_USER_AGENT
from airflow_provider_wanxiang.client.deadlines import deadline_session
from airflow_provider_wanxiang.coercion import (
    BOOL_STRINGS,
    to_bool,
    to_int,
    to_optional_str,
    to_seconds,
    to_task_id,
    unless_template,
)
from airflow_provider_wanxiang.exceptions import (
    WanxiangCopyError,
    WanxiangImagesFailedError,
    WanxiangResultsExpiredError,
    WanxiangResultsUnavailableError,
    WanxiangTaskNotFinishedError,
)
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.outcomes import summarize
from airflow_provider_wanxiang.storage import (
    DEFAULT_DOWNLOAD_DEADLINE,
    CopyAction,
    CopyError,
    CopyResult,
    OverwritePolicy,
    ResultExpiredError,
    ResultNotFoundError,
    copy_png,
    read_small,
    write_bytes_atomic,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["DEFAULT_FILE_NAME", "REPORT_XCOM_KEY", "WanxiangCopyResultsOperator"]

#: XCom key of the URL-free per-image report (pushed on success and on failure).
REPORT_XCOM_KEY = "wanxiang_copy_report"
DEFAULT_FILE_NAME = "{wanxiang_task_id}/{index}.png"
#: Fields a ``file_name`` pattern may use (``str.format`` syntax, e.g. ``{index:02d}``).
FILE_NAME_FIELDS = ("wanxiang_task_id", "index", "number", "total")
_NOT_FINISHED = frozenset({TaskStatus.PENDING, TaskStatus.RUNNING})


# -- the plan ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Location:
    """An object in an Airflow-registered filesystem: the fsspec filesystem and its own path for it.

    Built with ``airflow.sdk.io.attach`` (the registry ``ObjectStoragePath`` itself uses, with the same
    connection handling and cache) rather than by constructing ``ObjectStoragePath``: Airflow 3.1.0 cannot
    construct one at all with universal-pathlib 0.3, which a fresh install resolves to.
    """

    fs: Any
    path: str  # the filesystem's path: "bucket/prefix/name.png", "/abs/dir/name.png"
    protocol: str

    def child(self, name: str) -> _Location:
        return _Location(self.fs, f"{self.path.rstrip('/')}/{name}", self.protocol)

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rpartition("/")[2]

    @property
    def uri(self) -> str:
        """The object's URI without the connection id (``s3://bucket/key``, ``file:///dir/name``).

        The connection is how this worker reaches the object, not part of its identity: the same form as
        Asset URIs and lineage. Read it back with ``ObjectStoragePath(uri, conn_id=...)``.
        """
        if self.protocol in ("file", "local"):
            return "file://" + (self.path if self.path.startswith("/") else "/" + self.path)
        return f"{self.protocol}://{self.path}"

    def sidecar(self) -> _Location:
        name = self.name
        stem = name[: -len(".png")] if name.lower().endswith(".png") else name
        head = self.path.rstrip("/").rpartition("/")[0]
        return _Location(self.fs, f"{head}/{stem}.json", self.protocol)


@dataclass(frozen=True)
class _Target:
    result: ImageResult
    location: _Location
    sidecar: _Location | None


def _filesystem(protocol: str, conn_id: str | None) -> Any:
    """The filesystem Airflow registers for ``protocol``, with a clear error (and the OSS recipe)."""
    try:
        return attach(protocol=protocol, conn_id=conn_id).fs
    except (ValueError, ImportError) as err:
        hint = ""
        if protocol == "oss":
            hint = (
                " Alibaba OSS speaks the S3 API: use s3://bucket/prefix/ with an 'aws' connection whose "
                'extra is {"endpoint_url": "https://s3.oss-<region>.aliyuncs.com", "config_kwargs": '
                '{"signature_version": "s3", "s3": {"addressing_style": "virtual"}}} (see docs/storage.md).'
            )
        raise ValueError(
            f"Cannot write to {protocol}:// destinations: {err}. Airflow object storage knows only the "
            "schemes registered by installed providers (s3 needs apache-airflow-providers-amazon[s3fs])."
            + hint
        ) from err


class _Formatter(string.Formatter):
    """``str.format`` restricted to plain field names (no attribute or index access on the values)."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if field_name not in kwargs:
            raise KeyError(field_name)
        return kwargs[field_name], field_name


class WanxiangCopyResultsOperator(BaseOperator):
    """Copy every successful result image of a finished wan2.5 task to ``destination``; return their URIs.

    The task is re-read by id, because result URLs are signed capabilities that expire after 24 h and must
    not travel through XCom. Each image is streamed (memory stays bounded), verified (PNG signature,
    header and end chunk, byte count and MD5 when the server announces them) and written so that no reader
    ever sees half an object; see :mod:`airflow_provider_wanxiang.storage`.

    Re-running is safe and cheap: an existing complete PNG of the right size is kept, so a retry after a
    partial failure writes only what is missing, and the return value lists every image in place (written
    now or before). Images that failed remotely are logged and reported; ``fail_on_image_failure`` decides
    whether they fail the task, always after everything else was copied.

    The per-image report goes to XCom ``wanxiang_copy_report`` (also when the task fails): index, outcome
    (``written``/``replaced``/``kept``/``failed_remote``/``copy_error``), URI, bytes, width and height, and
    ``code``/``message`` for failures. Neither the report nor sidecars contain result URLs.

    To publish the copies as an Airflow Asset, declare it in ``outlets`` (e.g.
    ``outlets=[Asset("s3://bucket/edits/")]``): on success the asset event's ``extra`` carries the task id
    and the written URIs, for asset-scheduled DAGs downstream.

    :param wanxiang_task_id: The remote task id (templated; typically the submit operator's return value).
    :param destination: Where to write: an ``ObjectStoragePath`` or a URL such as
        ``s3://[conn_id@]bucket/prefix/``, ``file:///abs/dir/`` or an absolute path (templated). Alibaba OSS
        is reached through its S3-compatible endpoint: ``s3://`` with an ``aws`` connection whose
        ``extra.endpoint_url`` is ``https://s3.oss-<region>.aliyuncs.com`` (see docs/storage.md).
    :param dest_conn_id: The connection for ``destination`` when it does not name one (templated).
    :param wanxiang_conn_id: The ``wanxiang`` connection (templated).
    :param file_name: Relative object name per image, a ``str.format`` pattern with fields
        ``{wanxiang_task_id}``, ``{index}`` (0-based position in the task's results), ``{number}``
        (``index + 1``) and ``{total}`` (images requested); also Jinja-templated, so ``{{ ds }}`` etc. work.
        It must give each image its own name.
    :param overwrite: When the object exists: ``False`` (default) keeps an existing complete PNG of the
        same size and fails the image if a different object is there; ``"if_different"`` replaces a
        different object; ``True`` always replaces. Replacement is atomic too.
    :param fail_on_image_failure: Fail the Airflow task (after copying the others, without retries) when
        some images failed remotely (e.g. output moderation). By default a partial result succeeds, as it
        does for the sensor and the API itself; the failures are logged and reported either way.
    :param write_sidecar: Also write ``<name>.json`` beside each image: task id, index, prompt,
        actual prompt, width, height, bytes, submit/end times, plus ``sidecar_metadata``.
    :param sidecar_metadata: Extra JSON-able fields for every sidecar (templated), e.g.
        ``{"model": "wan2.5-i2i-preview", "seed": 42}``: the task API does not report model or seed.
        ``model`` and ``seed`` are always present (``null`` when unknown).
    :param download_timeout: Seconds to wait for the result server to answer or send the next chunk.
    :param download_deadline: Seconds one image may take in all (every attempt, connect to last byte):
        a stalled or trickling result server fails that image with a ``DownloadError`` instead of holding
        the worker. Generous by default (600 s); a result PNG is a few MB.
    :param download_attempts: Tries per image for transient download failures (network, 429/5xx, a body
        cut short); destination failures are left to the Airflow task's own retries.

    ``overwrite``, ``fail_on_image_failure`` and ``write_sidecar`` are templated; like every rendered value
    they are typed by :mod:`airflow_provider_wanxiang.coercion` (``"false"``/``"no"``/``"0"`` are
    ``False``; ``dest_conn_id`` rendered to ``"None"`` means "not set"), and a value that cannot be typed
    fails the task before the task is read.
    """

    template_fields: Sequence[str] = (
        "wanxiang_task_id",
        "destination",
        "dest_conn_id",
        "file_name",
        "wanxiang_conn_id",
        "sidecar_metadata",
        "overwrite",
        "fail_on_image_failure",
        "write_sidecar",
    )
    template_fields_renderers = {"sidecar_metadata": "json"}
    ui_color = "#c9e7ff"

    def __init__(
        self,
        *,
        wanxiang_task_id: str,
        destination: str | ObjectStoragePath,
        dest_conn_id: str | None = None,
        wanxiang_conn_id: str = WanxiangHook.default_conn_name,
        file_name: str = DEFAULT_FILE_NAME,
        overwrite: bool | str = False,
        fail_on_image_failure: bool = False,
        write_sidecar: bool = False,
        sidecar_metadata: dict[str, Any] | None = None,
        download_timeout: float = 60.0,
        download_attempts: int = 3,
        download_deadline: float = DEFAULT_DOWNLOAD_DEADLINE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wanxiang_task_id = unless_template(wanxiang_task_id, to_task_id)
        self.destination = destination
        self.dest_conn_id = dest_conn_id
        self.wanxiang_conn_id = wanxiang_conn_id
        self.file_name = file_name
        # Literal values fail at DAG parse time; templated ones are typed again in execute.
        unless_template(overwrite, _overwrite_policy)  # kept as given: a policy enum would render as text
        self.overwrite = overwrite
        self.fail_on_image_failure = unless_template(fail_on_image_failure, to_bool, "fail_on_image_failure")
        self.write_sidecar = unless_template(write_sidecar, to_bool, "write_sidecar")
        self.sidecar_metadata = sidecar_metadata
        self.download_timeout = to_seconds("download_timeout", download_timeout)
        self.download_attempts = to_int("download_attempts", download_attempts, minimum=1)
        self.download_deadline = to_seconds("download_deadline", download_deadline)

    @cached_property
    def hook(self) -> WanxiangHook:
        return WanxiangHook(self.wanxiang_conn_id)

    # -- execute --------------------------------------------------------------------------------------------
    def execute(self, context: Context) -> list[str]:
        self._coerce_rendered()
        task_id = str(self.wanxiang_task_id)
        root = self._destination_root()
        task = self.hook.get_conn().get_task(task_id)
        self._check_task(task)
        targets = self._plan(task, root)

        report_images: dict[int, dict[str, Any]] = {}
        errors: list[tuple[int, CopyError]] = []
        proxy = self.hook.client_config.proxy  # the connection's extra.proxy, for the downloads too
        with deadline_session() as session:
            session.headers["User-Agent"] = DEFAULT_USER_AGENT
            for target in targets:
                index = target.result.index
                assert target.result.url is not None
                try:
                    result = copy_png(
                        target.result.url,
                        target.location.fs,
                        target.location.path,
                        session=session,
                        overwrite=_overwrite_policy(self.overwrite),
                        timeout=(min(10.0, self.download_timeout), self.download_timeout),
                        attempts=self.download_attempts,
                        deadline=self.download_deadline,
                        proxy=proxy,
                    )
                except CopyError as err:
                    self.log.error(
                        "Image %d of task %s was not copied to %s: %s",
                        index,
                        task_id,
                        target.location.uri,
                        err,
                    )
                    errors.append((index, err))
                    report_images[index] = {
                        "index": index,
                        "outcome": "copy_error",
                        "uri": target.location.uri,
                        "error": type(err).__name__,
                        "message": str(err),
                    }
                    continue
                self.log.info(
                    "Image %d of task %s %s: %s (%d bytes, %sx%s)",
                    index,
                    task_id,
                    result.action.value,
                    target.location.uri,
                    result.size,
                    result.width,
                    result.height,
                )
                entry = self._entry(target, result)
                if target.sidecar is not None:
                    entry["sidecar_uri"] = self._write_sidecar(task, target, result, errors, entry)
                report_images[index] = entry

        for failed in task.failed_images:
            self.log.warning(
                "Image %d of task %s failed remotely and has no result to copy: %s: %s",
                failed.index,
                task_id,
                failed.code,
                failed.message,
            )
            report_images[failed.index] = {
                "index": failed.index,
                "outcome": "failed_remote",
                "code": failed.code,
                "message": failed.message,
            }

        report = self._report(task, root, [report_images[i] for i in sorted(report_images)])
        context["ti"].xcom_push(key=REPORT_XCOM_KEY, value=report)
        uris = [entry["uri"] for entry in report["images"] if entry["outcome"] in _IN_PLACE]
        self.log.info(
            "Task %s: %d written, %d replaced, %d already in place, %d failed remotely, %d not copied",
            task_id,
            report["written"],
            report["replaced"],
            report["kept"],
            report["failed_remote"],
            report["copy_errors"],
        )
        self._raise_for_errors(task, errors, report)
        if task.failed_images and self.fail_on_image_failure:
            codes = ", ".join(sorted({str(image.code) for image in task.failed_images}))
            raise WanxiangImagesFailedError(
                f"Task {task_id}: {len(task.failed_images)} of {len(task.results)} image(s) failed remotely "
                f"({codes}); the {len(uris)} that succeeded were copied. Re-run the edit for the missing "
                "ones, or set fail_on_image_failure=False to accept partial results.",
                wanxiang_task_id=task_id,
                code=task.code,
                summary=report,
            )
        self._annotate_outlets(context, task_id, uris)
        return uris

    # -- steps --------------------------------------------------------------------------------------------
    def _coerce_rendered(self) -> None:
        """Type the rendered values (:mod:`airflow_provider_wanxiang.coercion`) before anything is read."""
        self.wanxiang_task_id = to_task_id(self.wanxiang_task_id)
        self.dest_conn_id = to_optional_str("dest_conn_id", self.dest_conn_id)
        self.overwrite = _overwrite_policy(self.overwrite)
        self.fail_on_image_failure = to_bool("fail_on_image_failure", self.fail_on_image_failure)
        self.write_sidecar = to_bool("write_sidecar", self.write_sidecar)

    def _destination_root(self) -> _Location:
        """Resolve ``destination`` (+ ``dest_conn_id``) to a filesystem and path, failing clearly."""
        destination = self.destination
        conn_id = self.dest_conn_id or None
        if isinstance(destination, ObjectStoragePath):
            protocol = destination.protocol or "file"
            named = getattr(destination, "conn_id", None)
            if conn_id and named and named != conn_id:
                raise ValueError(f"destination names connection {named!r} but dest_conn_id is {conn_id!r}")
            fs = _filesystem(protocol, conn_id) if conn_id else destination.fs
            return _Location(fs, str(destination.path).rstrip("/") or "/", protocol)
        text = str(destination or "").strip()
        if not text:
            raise ValueError("destination is empty")
        parts = urlsplit(text)
        if parts.query or parts.fragment:
            raise ValueError(f"destination {text!r} must not have a query string or fragment")
        if not parts.scheme:
            if not text.startswith("/"):
                raise ValueError(
                    f"destination {text!r} is a relative path; use an absolute path, file:///..., or an "
                    "object store URL such as s3://bucket/prefix/"
                )
            fs = _filesystem("file", None)
            return _Location(fs, fs._strip_protocol(text).rstrip("/") or "/", "file")
        userinfo, _, host = parts.netloc.rpartition("@")
        if conn_id and userinfo and userinfo != conn_id:
            raise ValueError(f"destination names connection {userinfo!r} but dest_conn_id is {conn_id!r}")
        protocol = parts.scheme.lower()
        fs = _filesystem(protocol, userinfo or conn_id)
        path = str(fs._strip_protocol(f"{protocol}://{host}{parts.path}")).rstrip("/")
        if not path:
            raise ValueError(f"destination {text!r} names no bucket or directory")
        return _Location(fs, path, protocol)

    def _check_task(self, task: Task) -> None:
        """Fail clearly when the task has no results to copy, saying what would fix it."""
        task_id = task.task_id
        summary = summarize(task)
        if task.status is TaskStatus.SUCCEEDED:
            return
        if task.status in _NOT_FINISHED:
            raise WanxiangTaskNotFinishedError(
                f"Task {task_id} is still {task.status.value}: wait for it to finish before copying "
                "(WanxiangTaskSensor, or WanxiangSubmitOperator(wait_for_completion=True)).",
                wanxiang_task_id=task_id,
                summary=summary,
            )
        if task.status is TaskStatus.UNKNOWN:
            message = (
                f"Task {task_id} is UNKNOWN: the id expired (task ids and result URLs live 24 h) or is not "
                "visible to this API key/workspace, so its results can no longer be copied. Re-run the edit "
                "(and copy within 24 h), or check the wanxiang connection's key and region."
            )
        elif task.status is TaskStatus.FAILED:
            message = (
                f"Task {task_id} FAILED ({task.code}: {task.message}); it has no results to copy. "
                "Re-run the edit (after fixing the input if the code says so)."
            )
        else:
            message = f"Task {task_id} was CANCELED; it has no results to copy. Re-run the edit."
        raise WanxiangResultsUnavailableError(
            message, wanxiang_task_id=task_id, code=task.code, summary=summary
        )

    def _plan(self, task: Task, root: _Location) -> list[_Target]:
        """Name every successful image from ``file_name`` and check the names are safe and distinct."""
        total = task.metrics.total if task.metrics else len(task.results)
        targets: list[_Target] = []
        seen: dict[str, int] = {}
        for result in task.succeeded_images:
            name = self._file_name_for(task.task_id, result.index, total)
            if name in seen:
                raise ValueError(
                    f"file_name {self.file_name!r} gives images {seen[name]} and {result.index} the same "
                    f"name {name!r}; include {{index}} or {{number}}"
                )
            seen[name] = result.index
            location = root.child(name)
            targets.append(_Target(result, location, location.sidecar() if self.write_sidecar else None))
        return targets

    def _file_name_for(self, task_id: str, index: int, total: int) -> str:
        values = {"wanxiang_task_id": task_id, "index": index, "number": index + 1, "total": total}
        try:
            name = _Formatter().vformat(str(self.file_name), (), values)
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(
                f"file_name {self.file_name!r} is not a valid pattern ({type(err).__name__}: {err}); "
                f"fields: {', '.join('{' + field + '}' for field in FILE_NAME_FIELDS)}"
            ) from None
        segments = name.split("/")
        if name.startswith("/") or name.endswith("/") or any(s in ("", ".", "..") for s in segments):
            raise ValueError(
                f"file_name {self.file_name!r} gives {name!r}: it must be a relative name under the "
                "destination, without empty, '.' or '..' segments"
            )
        return name

    def _entry(self, target: _Target, result: CopyResult) -> dict[str, Any]:
        return {
            "index": target.result.index,
            "outcome": result.action.value,
            "uri": target.location.uri,
            "bytes": result.size,
            "width": result.width,
            "height": result.height,
        }

    def _write_sidecar(
        self,
        task: Task,
        target: _Target,
        result: CopyResult,
        errors: list[tuple[int, CopyError]],
        entry: dict[str, Any],
    ) -> str | None:
        """Write the JSON sidecar when it is missing or differs (it is deterministic for a given image)."""
        assert target.sidecar is not None
        body = self._sidecar(task, target, result)
        sidecar = target.sidecar
        try:
            if read_small(sidecar.fs, sidecar.path) == body:
                return sidecar.uri
            write_bytes_atomic(sidecar.fs, sidecar.path, body, content_type="application/json")
        except CopyError as err:
            self.log.error(
                "Sidecar of image %d was not written to %s: %s", target.result.index, sidecar.uri, err
            )
            errors.append((target.result.index, err))
            entry["sidecar_error"] = str(err)
            return None
        except Exception as err:  # e.g. the store went away between the image and its sidecar
            error = CopyError(
                f"cannot write sidecar {sidecar.uri}: {type(err).__name__}: {err}", retryable=True
            )
            self.log.error("%s", error)
            errors.append((target.result.index, error))
            entry["sidecar_error"] = str(error)
            return None
        return sidecar.uri

    def _sidecar(self, task: Task, target: _Target, result: CopyResult) -> bytes:
        image = target.result
        extra = dict(self.sidecar_metadata or {})
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

    def _report(self, task: Task, root: _Location, images: list[dict[str, Any]]) -> dict[str, Any]:
        def count(outcome: str) -> int:
            return sum(1 for image in images if image["outcome"] == outcome)

        return {
            "wanxiang_task_id": task.task_id,
            "task_status": task.status.value,
            "destination": root.uri,
            "images_total": len(task.results),
            "written": count(CopyAction.WRITTEN.value),
            "replaced": count(CopyAction.REPLACED.value),
            "kept": count(CopyAction.KEPT.value),
            "failed_remote": count("failed_remote"),
            "copy_errors": count("copy_error"),
            "images": images,
        }

    def _raise_for_errors(
        self, task: Task, errors: list[tuple[int, CopyError]], report: dict[str, Any]
    ) -> None:
        if not errors:
            return
        details = "; ".join(f"image {index}: {err}" for index, err in errors)
        gone = [err for _, err in errors if isinstance(err, (ResultExpiredError, ResultNotFoundError))]
        if len(gone) == len(errors):
            raise WanxiangResultsExpiredError(
                f"Task {task.task_id}: {len(gone)} result image(s) can no longer be downloaded — the signed "
                f"URLs expired (they live 24 h after the task ended). Re-run the edit. ({details})",
                wanxiang_task_id=task.task_id,
                code=gone[0].code,
                summary=report,
            )
        raise WanxiangCopyError(
            f"Task {task.task_id}: {len(errors)} image(s) were not copied ({details}). Nothing partial was "
            "left; a retry copies only what is missing.",
            wanxiang_task_id=task.task_id,
            summary=report,
        )

    def _annotate_outlets(self, context: Context, task_id: str, uris: list[str]) -> None:
        """Put the task id and the URIs in the ``extra`` of each outlet Asset's event."""
        outlet_events = context.get("outlet_events")
        if outlet_events is None:
            return
        for outlet in self.outlets or ():
            if isinstance(outlet, Asset):
                extra: dict[str, Any] = {"wanxiang_task_id": task_id, "uris": list(uris)}
                outlet_events[outlet].extra.update(extra)


def _overwrite_policy(value: object) -> OverwritePolicy:
    """``overwrite`` as a policy: a boolean in any accepted spelling, or ``"if_different"``/a member name."""
    if isinstance(value, str) and value.strip().lower() in BOOL_STRINGS:
        value = to_bool("overwrite", value)
    try:
        return OverwritePolicy.coerce(value)  # type: ignore[arg-type]
    except ValueError:
        allowed = "True, False (or true/false/1/0/yes/no), 'if_different', 'never' or 'always'"
        raise WanxiangValidationError(
            "overwrite", value, allowed, f"{value!r} is not an overwrite policy (allowed: {allowed})"
        ) from None


_IN_PLACE = frozenset({CopyAction.WRITTEN.value, CopyAction.REPLACED.value, CopyAction.KEPT.value})
