"""Where each image goes: the destination parsed into a filesystem and a path, and a checked name per image.

Everything here runs before the first download, so a bad ``destination`` or ``file_name`` fails the task
with a :class:`~airflow_provider_wanxiang.client.errors.WanxiangValidationError` naming the field, the value
and what is allowed, and nothing is half-copied.

Airflow's object-storage registry is imported only when a destination is resolved, so importing
:mod:`airflow_provider_wanxiang.copying` (e.g. for :func:`~airflow_provider_wanxiang.copying.copy_png` in a
benchmark or a script) stays free of Airflow.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from airflow_provider_wanxiang.client import ImageResult, Task, WanxiangValidationError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

__all__ = [
    "DEFAULT_FILE_NAME",
    "FILE_NAME_FIELDS",
    "Location",
    "Target",
    "destination_root",
    "file_name_for",
    "plan",
]

DEFAULT_FILE_NAME: Final = "{wanxiang_task_id}/{index}.png"
#: Fields a ``file_name`` pattern may use (``str.format`` syntax, e.g. ``{index:02d}``).
FILE_NAME_FIELDS: Final = ("wanxiang_task_id", "index", "number", "total")
_DESTINATIONS: Final = (
    "an ObjectStoragePath, an absolute path, file:///abs/dir/ or an object store URL such as "
    "s3://[conn_id@]bucket/prefix/"
)
_FILE_NAMES: Final = (
    "a relative name under the destination without empty, '.' or '..' segments, using the fields "
    + ", ".join("{" + name + "}" for name in FILE_NAME_FIELDS)
)


@dataclass(frozen=True)
class Location:
    """An object in an Airflow-registered filesystem: the fsspec filesystem and its own path for it.

    Built with ``airflow.sdk.io.attach`` (the registry ``ObjectStoragePath`` itself uses, with the same
    connection handling and cache) rather than by constructing ``ObjectStoragePath``: Airflow 3.1.0 cannot
    construct one at all with universal-pathlib 0.3, which a fresh install resolves to.
    """

    fs: Any
    path: str  # the filesystem's path: "bucket/prefix/name.png", "/abs/dir/name.png"
    protocol: str

    def child(self, name: str) -> Location:
        return Location(self.fs, f"{self.path.rstrip('/')}/{name}", self.protocol)

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

    def sidecar(self) -> Location:
        """The ``<stem>.json`` beside this object."""
        name = self.name
        stem = name[: -len(".png")] if name.lower().endswith(".png") else name
        head = self.path.rstrip("/").rpartition("/")[0]
        return Location(self.fs, f"{head}/{stem}.json", self.protocol)


@dataclass(frozen=True)
class Target:
    """One successful image of a task and where it (and its sidecar, when asked for) goes."""

    result: ImageResult
    location: Location
    sidecar: Location | None


def _invalid(value: object, problem: str) -> WanxiangValidationError:
    return WanxiangValidationError("destination", value, _DESTINATIONS, problem)


def _filesystem(protocol: str, conn_id: str | None, destination: object) -> Any:
    """The filesystem Airflow registers for ``protocol``, with a clear error (and the OSS recipe)."""
    from airflow.sdk.io import attach

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
        raise WanxiangValidationError(
            "destination",
            destination,
            "a scheme registered by an installed provider",
            f"Cannot write to {protocol}:// destinations: {err}. Airflow object storage knows only the "
            "schemes registered by installed providers (s3 needs apache-airflow-providers-amazon[s3fs])."
            + hint,
        ) from err


def _conflict(named: str, conn_id: str) -> WanxiangValidationError:
    return WanxiangValidationError(
        "dest_conn_id",
        conn_id,
        f"the connection the destination names ({named!r}), or nothing",
        f"destination names connection {named!r} but dest_conn_id is {conn_id!r}",
    )


def destination_root(destination: str | ObjectStoragePath, conn_id: str | None) -> Location:
    """Resolve ``destination`` (+ ``conn_id``, the ``dest_conn_id``) to a filesystem and path.

    :raises WanxiangValidationError: an empty, relative or query-bearing destination, a scheme no installed
        provider registers, or a connection that contradicts ``conn_id``.
    """
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    conn_id = conn_id or None
    if isinstance(destination, ObjectStoragePath):
        protocol = destination.protocol or "file"
        named = getattr(destination, "conn_id", None)
        if conn_id and named and named != conn_id:
            raise _conflict(named, conn_id)
        fs = _filesystem(protocol, conn_id, destination) if conn_id else destination.fs
        return Location(fs, str(destination.path).rstrip("/") or "/", protocol)
    text = str(destination or "").strip()
    if not text:
        raise _invalid(destination, "destination is empty")
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        raise _invalid(text, f"destination {text!r} must not have a query string or fragment")
    if not parts.scheme:
        if not text.startswith("/"):
            raise _invalid(
                text,
                f"destination {text!r} is a relative path; use an absolute path, file:///..., or an "
                "object store URL such as s3://bucket/prefix/",
            )
        fs = _filesystem("file", None, text)
        return Location(fs, fs._strip_protocol(text).rstrip("/") or "/", "file")
    userinfo, _, host = parts.netloc.rpartition("@")
    if conn_id and userinfo and userinfo != conn_id:
        raise _conflict(userinfo, conn_id)
    protocol = parts.scheme.lower()
    fs = _filesystem(protocol, userinfo or conn_id, text)
    path = str(fs._strip_protocol(f"{protocol}://{host}{parts.path}")).rstrip("/")
    if not path:
        raise _invalid(text, f"destination {text!r} names no bucket or directory")
    return Location(fs, path, protocol)


class _Formatter(string.Formatter):
    """``str.format`` restricted to plain field names (no attribute or index access on the values)."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if field_name not in kwargs:
            raise KeyError(field_name)
        return kwargs[field_name], field_name


def file_name_for(pattern: str, task_id: str, index: int, total: int) -> str:
    """The relative object name ``pattern`` gives image ``index`` of ``total`` of task ``task_id``.

    :raises WanxiangValidationError: (field ``file_name``) an invalid pattern, an unknown field, or a name
        that is absolute or has empty, ``.`` or ``..`` segments (it could escape the destination).
    """
    values = {"wanxiang_task_id": task_id, "index": index, "number": index + 1, "total": total}
    try:
        name = _Formatter().vformat(str(pattern), (), values)
    except (KeyError, IndexError, ValueError) as err:
        raise WanxiangValidationError(
            "file_name",
            pattern,
            _FILE_NAMES,
            f"file_name {pattern!r} is not a valid pattern ({type(err).__name__}: {err}); "
            f"fields: {', '.join('{' + field + '}' for field in FILE_NAME_FIELDS)}",
        ) from None
    segments = name.split("/")
    if name.startswith("/") or name.endswith("/") or any(s in ("", ".", "..") for s in segments):
        raise WanxiangValidationError(
            "file_name",
            pattern,
            _FILE_NAMES,
            f"file_name {pattern!r} gives {name!r}: it must be a relative name under the "
            "destination, without empty, '.' or '..' segments",
        )
    return name


def plan(task: Task, root: Location, file_name: str, *, write_sidecar: bool) -> list[Target]:
    """Name every successful image of ``task`` under ``root``; names must be safe and distinct.

    :raises WanxiangValidationError: (field ``file_name``) two images would get the same name, or
        :func:`file_name_for` refuses the pattern.
    """
    total = task.metrics.total if task.metrics else len(task.results)
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for result in task.succeeded_images:
        name = file_name_for(file_name, task.task_id, result.index, total)
        if name in seen:
            raise WanxiangValidationError(
                "file_name",
                file_name,
                "a pattern that gives each image its own name (include {index} or {number})",
                f"file_name {file_name!r} gives images {seen[name]} and {result.index} the same "
                f"name {name!r}; include {{index}} or {{number}}",
            )
        seen[name] = result.index
        location = root.child(name)
        targets.append(Target(result, location, location.sidecar() if write_sidecar else None))
    return targets
