"""Atomic writes to any fsspec filesystem: a reader sees the old object or the complete new one, never half.

One strategy per kind of backend (:func:`open_sink` picks it):

- local disks: a temp file beside the target, fsynced, then ``os.replace`` over it;
- object stores (S3 and S3-compatible, GCS, Azure): one upload straight to the final key, which becomes
  visible only when the upload completes, and is aborted (never completed) on any failure;
- anything else (SFTP, HDFS, memory, ...): a hidden temp object, then ``fs.mv``.

:func:`write_atomically` is the one loop every write goes through (images and sidecars): open, write,
verify, commit, and abort on any failure.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol, TypeVar

from fsspec.implementations.local import LocalFileSystem

from airflow_provider_wanxiang.copying.errors import DestinationError

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "OBJECT_STORE_PROTOCOLS",
    "Sink",
    "describe",
    "is_object_store",
    "open_sink",
    "read_small",
    "write_atomically",
    "write_bytes_atomic",
]

log = logging.getLogger(__name__)

#: Largest upload part buffered in memory for object stores; S3 needs >= 5 MiB for all but the last part.
#: Wanxiang results are a few MiB (a 1280*1280 PNG of pure noise is 4.7 MiB), so nearly every image goes up
#: in one PUT. Larger images become multipart uploads, whose parts s3fs sends one after another after an
#: extra create request: with 8 MiB parts, 8.6 MiB images copied at 0.74x boto3's throughput, in one PUT at
#: 1.1x (benchmarks/copy_memory.py). Memory holds at most one part's worth of the image.
DEFAULT_BLOCK_SIZE: Final = 16 * 1024 * 1024
#: fsspec protocols whose writes become visible only when the upload completes (single PUT or completed
#: multipart / resumable / block-list upload), so streaming straight to the final key is atomic.
OBJECT_STORE_PROTOCOLS: Final = frozenset(
    {"s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss"}
)
_S3_PROTOCOLS: Final = frozenset({"s3", "s3a", "s3n"})

T = TypeVar("T")


class Sink(Protocol):
    """An object being written: invisible under its final name until :meth:`commit` returns."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None:
        """Make the object visible under its final name (atomically); cleans up itself if that fails."""

    def abort(self) -> None:
        """Drop everything written so far; never raises, never leaves anything behind it can remove."""


def describe(err: BaseException) -> str:
    """An exception in a few words for a message: its type and at most 300 characters of its text."""
    text = str(err).strip()
    return f"{type(err).__name__}: {text[:300]}" if text else type(err).__name__


def _protocols(fs: Any) -> set[str]:
    protocol = getattr(fs, "protocol", ())
    return {protocol} if isinstance(protocol, str) else set(protocol)


def is_object_store(fs: Any) -> bool:
    """Whether ``fs`` writes objects that become visible only when their upload completes (S3, GCS, Azure)."""
    return bool(_protocols(fs) & OBJECT_STORE_PROTOCOLS)


def _temp_name(path: str) -> str:
    """A hidden sibling of ``path`` (same directory, so a rename is atomic; ``.tmp`` so globs skip it)."""
    head, sep, name = path.rpartition("/")
    return f"{head}{sep}.{name}.{uuid.uuid4().hex[:12]}.tmp"


class _LocalSink:
    """Local disk: write a temp file beside the target, fsync it, then ``os.replace`` it over the target.

    ``os.replace`` is atomic on POSIX and Windows within one filesystem, which the same directory
    guarantees; readers see the old file or the complete new one.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        directory = os.path.dirname(path) or "."
        os.makedirs(directory, exist_ok=True)
        self._temp = _temp_name(path)
        # "xb": never reuse someone else's file; default permissions (umask), unlike mkstemp's 0600.
        self._file = open(self._temp, "xb")  # noqa: SIM115 (closed in commit/abort)

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._temp, self._path)
        except BaseException:
            self.abort()
            raise
        _fsync_directory(os.path.dirname(self._path) or ".")

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        try:
            os.unlink(self._temp)
        except FileNotFoundError:
            pass
        except OSError as err:  # pragma: no cover - e.g. the directory vanished
            log.warning("Could not remove temp file %s: %s", self._temp, err)


def _fsync_directory(directory: str) -> None:
    """Persist the rename itself (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _ObjectStoreSink:
    """Object stores (S3 and S3-compatible, GCS, Azure): stream into the final key with one upload.

    An object appears only when its upload completes. Up to ``block_size`` bytes are held as the chunks
    that arrived and sent with one PUT (``fs.pipe_file``) on :meth:`commit`: every Wanxiang result takes
    this path, and skipping fsspec's buffered file saves a copy of the image and about a tenth of the time
    of a 4 MiB copy to S3. Past ``block_size`` the sink switches to a multipart upload
    (``fs.open(path, "wb")``) whose parts stay invisible until ``CompleteMultipartUpload``. fsspec files
    commit on ``close()`` — also from ``__exit__`` and ``__del__``, even after an exception — so this sink
    never uses ``with``: on failure it calls ``discard()`` (s3fs aborts the multipart upload) and marks the
    file closed, so nothing can complete the upload later. Before the switch, an abort has nothing to undo:
    nothing was sent.
    """

    def __init__(self, fs: Any, path: str, *, block_size: int, content_type: str | None) -> None:
        self._fs = fs
        self._path = path
        self._block_size = block_size
        self._kwargs: dict[str, Any] = {}
        if content_type and _protocols(fs) & _S3_PROTOCOLS:
            self._kwargs["ContentType"] = content_type
        self._chunks: list[bytes] = []
        self._held = 0
        self._file: Any = None

    def write(self, data: bytes) -> None:
        if self._file is not None:
            self._file.write(data)
            return
        self._chunks.append(data)
        self._held += len(data)
        if self._held > self._block_size:  # too large for one PUT: a multipart upload from here on
            self._file = self._fs.open(self._path, "wb", block_size=self._block_size, **self._kwargs)
            chunks, self._chunks = self._chunks, []
            for chunk in chunks:
                self._file.write(chunk)

    def commit(self) -> None:
        try:
            if self._file is None:
                self._fs.pipe_file(self._path, b"".join(self._chunks), **self._kwargs)
                self._chunks = []
            else:
                self._file.close()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self._chunks = []
        file = self._file
        if file is None:  # nothing was sent: nothing to undo
            return
        try:
            discard = getattr(file, "discard", None)
            if callable(discard):
                discard()
        except Exception as err:  # the store may be down: the upload stays incomplete (thus invisible)
            log.warning(
                "Could not abort the incomplete upload of %s (%s); it is invisible, and a bucket lifecycle "
                "rule (AbortIncompleteMultipartUpload) reclaims its parts",
                getattr(file, "path", "?"),
                err,
            )
        with contextlib.suppress(AttributeError):  # a file type without fsspec's setter
            file.closed = True  # no commit from close()/__del__ any more


class _TempRenameSink:
    """Any other filesystem (SFTP, HDFS, memory, ...): write a hidden temp object, then ``fs.mv`` it.

    A rename is atomic on filesystems that have one; where ``mv`` is copy-and-delete a reader could briefly
    see a partial copy, which is why object stores and local disks have their own sinks.
    """

    def __init__(self, fs: Any, path: str) -> None:
        self._fs = fs
        self._path = path
        self._temp = _temp_name(path)
        parent = path.rpartition("/")[0]
        if parent:
            with contextlib.suppress(NotImplementedError, OSError):  # stores without directories
                fs.makedirs(parent, exist_ok=True)
        self._file = fs.open(self._temp, "wb")

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        try:
            self._file.close()
            self._fs.mv(self._temp, self._path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # best effort: the temp object is removed next
            if not self._file.closed:
                self._file.close()
        try:
            if self._fs.exists(self._temp):
                self._fs.rm(self._temp)
        except Exception as err:
            log.warning("Could not remove temp object %s: %s", self._temp, err)


def open_sink(
    fs: Any, path: str, *, block_size: int = DEFAULT_BLOCK_SIZE, content_type: str | None = None
) -> Sink:
    """Open ``path`` for an atomic write with the strategy that fits ``fs`` (see the sink classes)."""
    if isinstance(fs, LocalFileSystem):
        return _LocalSink(path)
    if is_object_store(fs):
        return _ObjectStoreSink(fs, path, block_size=block_size, content_type=content_type)
    return _TempRenameSink(fs, path)


def write_atomically(
    fs: Any,
    path: str,
    chunks: Iterable[bytes],
    verify: Callable[[], T],
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    content_type: str | None = None,
) -> T:
    """Write ``chunks`` to ``path`` atomically; commit only if ``verify()`` returns (its value is returned).

    Any failure — reading ``chunks`` (which may raise its own errors, e.g. a broken download), writing,
    ``verify`` — aborts the sink, so nothing is left behind. Destination failures become
    :class:`~airflow_provider_wanxiang.copying.errors.DestinationError`; the others pass through as they are.
    """
    try:
        sink = open_sink(fs, path, block_size=block_size, content_type=content_type)
    except Exception as err:
        raise DestinationError(f"cannot write {path}: {describe(err)}") from err
    try:
        for chunk in chunks:
            try:
                sink.write(chunk)
            except Exception as err:
                raise DestinationError(f"writing {path} failed: {describe(err)}") from err
        verified = verify()
    except BaseException:
        sink.abort()
        raise
    try:
        sink.commit()
    except Exception as err:
        raise DestinationError(f"completing {path} failed: {describe(err)}") from err
    return verified


def write_bytes_atomic(fs: Any, path: str, data: bytes, *, content_type: str | None = None) -> None:
    """Write a small object (a sidecar) with the same never-half-written guarantee as images."""
    write_atomically(fs, path, (data,), lambda: None, content_type=content_type)


def read_small(fs: Any, path: str, limit: int = 1 << 20) -> bytes | None:
    """The content of a small object, or ``None`` if it does not exist or is larger than ``limit``."""
    fs.invalidate_cache(path)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        return None
    if info.get("type") == "directory" or int(info.get("size") or 0) > limit:
        return None
    data: bytes = fs.cat_file(path)
    return data
