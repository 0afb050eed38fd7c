"""Copy result images from signed URLs into any fsspec filesystem: streamed, verified, atomic, idempotent.

Result URLs are signed OSS links that die after 24 h, and a result PNG runs to several megabytes. This
module moves one image from such a URL to a destination path so that:

- **memory stays bounded** whatever the image size: the body is streamed in ``chunk_size`` pieces straight
  into the destination (object stores buffer at most one upload part, ``block_size``);
- **every image is verified** before it counts as written: the PNG signature and IHDR header at the start,
  the IEND chunk at the end, the byte count against ``Content-Length`` and, when the server sends one,
  the MD5 against ``Content-MD5``;
- **a reader never sees half an object**, with one strategy per kind of backend (see :func:`open_sink`):
  a temp file renamed over the final name on local disks, a single upload that becomes visible only on
  completion on object stores (and is aborted, never completed, on any failure);
- **a re-run does not duplicate work**: an existing complete PNG of the right size is kept (per
  :class:`OverwritePolicy`);
- **no image can hang a worker**: each image has a total deadline (``deadline``, default
  :data:`DEFAULT_DOWNLOAD_DEADLINE`) covering every attempt from connect to the last byte, enforced even
  against a server that trickles one byte a second (see :mod:`airflow_provider_wanxiang.client.deadlines`);
- **the same proxy as every other route**: the result URL's proxy comes from
  :func:`~airflow_provider_wanxiang.client.proxies.proxy_for_url` (``HTTP(S)_PROXY``/``NO_PROXY``, or the
  connection's ``extra.proxy``), never from requests' own environment or ``~/.netrc`` lookups.

It is deliberately free of Airflow: it takes an fsspec filesystem and a path (what
``ObjectStoragePath.fs`` / ``.path`` give), so it can be unit-tested and benchmarked on its own. Errors never
carry the signed URL (a capability): messages name only the result host, and the ``requests`` exception
that may quote the full URL is never chained.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import requests
from fsspec.implementations.local import LocalFileSystem

from airflow_provider_wanxiang.client.deadlines import mount_deadline_adapter, total_deadline
from airflow_provider_wanxiang.client.errors import WanxiangValidationError
from airflow_provider_wanxiang.client.proxies import proxy_for_url, requests_proxies

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_DOWNLOAD_DEADLINE",
    "OBJECT_STORE_PROTOCOLS",
    "PNG_SIGNATURE",
    "CopyAction",
    "CopyError",
    "CopyResult",
    "DestinationError",
    "DestinationExistsError",
    "DownloadError",
    "ExistingObject",
    "IntegrityError",
    "OverwritePolicy",
    "PngInfo",
    "ResultExpiredError",
    "ResultNotFoundError",
    "Sink",
    "copy_png",
    "open_sink",
    "parse_png_header",
    "probe_existing",
    "read_small",
    "result_host",
    "write_bytes_atomic",
]

log = logging.getLogger(__name__)

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
#: The last 12 bytes of every complete PNG: a zero-length IEND chunk and its CRC.
PNG_IEND: Final = b"\x00\x00\x00\x00IEND\xaeB`\x82"
#: Signature (8) + IHDR length (4) + type (4) + width (4) + height (4): enough to know the size.
_HEADER_BYTES: Final = 24
_MIN_PNG_BYTES: Final = 8 + 25 + 12  # signature + IHDR chunk + IEND chunk
DEFAULT_CHUNK_SIZE: Final = 256 * 1024
#: Seconds one image may take in all (every attempt, connect to last byte). Generous: a result PNG is a few
#: MB, which even a slow 100 KB/s link moves in under a minute; the bound is there for a stalled server.
DEFAULT_DOWNLOAD_DEADLINE: Final = 600.0
#: Largest upload part buffered in memory for object stores; S3 needs >= 5 MiB for all but the last part.
DEFAULT_BLOCK_SIZE: Final = 8 * 1024 * 1024
#: fsspec protocols whose writes become visible only when the upload completes (single PUT or completed
#: multipart / resumable / block-list upload), so streaming straight to the final key is atomic.
OBJECT_STORE_PROTOCOLS: Final = frozenset(
    {"s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss"}
)
_S3_PROTOCOLS: Final = frozenset({"s3", "s3a", "s3n"})
_OSS_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
_OSS_MESSAGE = re.compile(rb"<Message>([^<]{1,300})</Message>")

Timeout = float | tuple[float, float]


# -- errors -------------------------------------------------------------------------------------------------
class CopyError(Exception):
    """Copying one image failed; nothing was left at the destination.

    :param retryable: whether trying the same copy again soon may succeed (network drops, 5xx, a body cut
        short); expired or missing results, bad content and destination conflicts are not.
    :param http_status: the result URL's HTTP status, when the failure was an HTTP answer.
    :param code: the storage server's error code (OSS/S3 XML ``<Code>``), when it sent one.
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        http_status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = self.default_retryable if retryable is None else retryable
        self.http_status = http_status
        self.code = code


class ResultExpiredError(CopyError):
    """The signed result URL answered 403: it expired (24 h after the task ended) or was tampered with.

    The images are gone from the service; the only fix is to run the edit again.
    """


class ResultNotFoundError(CopyError):
    """The result URL answered 404: the service no longer holds the image."""


class DownloadError(CopyError):
    """The result could not be read: connection failure, timeout, throttling or a 5xx answer."""

    default_retryable = True


class IntegrityError(CopyError):
    """The bytes received are not a complete PNG, or not the announced number of bytes (or MD5)."""


class DestinationError(CopyError):
    """Writing to the destination failed (the partial upload or temp file was cleaned up)."""


class DestinationExistsError(CopyError):
    """A different object already sits at the destination and the policy forbids replacing it."""


# -- values -------------------------------------------------------------------------------------------------
class OverwritePolicy(str, Enum):
    """What to do when the destination object already exists.

    Whatever the policy, an existing object is only ever replaced atomically (a reader sees the old or the
    new image, never a mix).
    """

    #: Keep an existing complete PNG of the announced size; refuse (``DestinationExistsError``) to replace a
    #: different one. The default: re-runs are cheap and never clobber someone else's file.
    NEVER = "never"
    #: Keep an existing complete PNG of the announced size; replace anything else.
    IF_DIFFERENT = "if_different"
    #: Always download and replace.
    ALWAYS = "always"

    @classmethod
    def coerce(cls, value: bool | str | OverwritePolicy) -> OverwritePolicy:
        """Accept ``False`` / ``True`` / ``"if_different"`` (and the member names) as operators pass them."""
        if isinstance(value, OverwritePolicy):
            return value
        if isinstance(value, bool):
            return cls.ALWAYS if value else cls.NEVER
        if isinstance(value, str):
            text = value.strip().lower().replace("-", "_")
            aliases = {"true": cls.ALWAYS, "false": cls.NEVER}
            if text in aliases:
                return aliases[text]
            for member in cls:
                if text == member.value:
                    return member
        allowed = "False, True, 'if_different' (or 'never', 'always')"
        raise ValueError(f"overwrite must be one of {allowed}, got {value!r}")


class CopyAction(str, Enum):
    """What :func:`copy_png` did."""

    WRITTEN = "written"  #: nothing was there; the image was written
    REPLACED = "replaced"  #: a different object was there and was atomically replaced
    KEPT = "kept"  #: a complete PNG of the right size was already there (nothing downloaded)


@dataclass(frozen=True, slots=True)
class PngInfo:
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ExistingObject:
    """What is already at a destination path.

    :param complete: it starts with the PNG signature and an IHDR chunk and ends with the IEND chunk.
    """

    size: int
    complete: bool
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class CopyResult:
    action: CopyAction
    size: int
    width: int | None
    height: int | None
    attempts: int


def parse_png_header(head: bytes) -> PngInfo:
    """Width and height from the first 24 bytes of a PNG.

    :raises IntegrityError: when the bytes do not start with the PNG signature and an IHDR chunk.
    """
    if len(head) < 8 or head[:8] != PNG_SIGNATURE:
        raise IntegrityError("the content is not a PNG (bad signature)")
    if len(head) < _HEADER_BYTES or head[12:16] != b"IHDR":
        raise IntegrityError("the content is not a valid PNG (no IHDR header)")
    width, height = struct.unpack(">II", head[16:24])
    return PngInfo(width=width, height=height)


def result_host(url: str) -> str:
    """The host of a result URL: what messages name (useful for firewall allow-lists), never the URL.

    Even without its query (the signature) a result URL is kept out of messages, reports and XCom.
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


# -- sinks: one atomic-write strategy per kind of backend ----------------------------------------------------
class Sink(Protocol):
    """An object being written: invisible under its final name until :meth:`commit` returns."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None:
        """Make the object visible under its final name (atomically); cleans up itself if that fails."""

    def abort(self) -> None:
        """Drop everything written so far; never raises, never leaves anything behind it can remove."""


def _protocols(fs: Any) -> set[str]:
    protocol = getattr(fs, "protocol", ())
    return {protocol} if isinstance(protocol, str) else set(protocol)


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

    An object appears only when its upload completes: a single PUT for objects smaller than ``block_size``,
    otherwise a multipart upload whose parts stay invisible until ``CompleteMultipartUpload``. fsspec files
    commit on ``close()`` — also from ``__exit__`` and ``__del__``, even after an exception — so this sink
    never uses ``with``: on failure it calls ``discard()`` (s3fs aborts the multipart upload) and marks the
    file closed, so nothing can complete the upload later.
    """

    def __init__(self, fs: Any, path: str, *, block_size: int, content_type: str | None) -> None:
        kwargs: dict[str, Any] = {"block_size": block_size}
        if content_type and _protocols(fs) & _S3_PROTOCOLS:
            kwargs["ContentType"] = content_type
        self._file = fs.open(path, "wb", **kwargs)

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        try:
            self._file.close()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        file = self._file
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
    if _protocols(fs) & OBJECT_STORE_PROTOCOLS:
        return _ObjectStoreSink(fs, path, block_size=block_size, content_type=content_type)
    return _TempRenameSink(fs, path)


def write_bytes_atomic(fs: Any, path: str, data: bytes, *, content_type: str | None = None) -> None:
    """Write a small object (a sidecar) with the same never-half-written guarantee as images."""
    try:
        sink = open_sink(fs, path, content_type=content_type)
    except Exception as err:
        raise DestinationError(f"cannot write {path}: {_describe(err)}") from err
    try:
        sink.write(data)
    except BaseException:
        sink.abort()
        raise
    try:
        sink.commit()
    except Exception as err:
        raise DestinationError(f"cannot write {path}: {_describe(err)}") from err


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


# -- the destination as it is --------------------------------------------------------------------------------
def probe_existing(fs: Any, path: str) -> ExistingObject | None:
    """Describe what is at ``path`` (size, whether it is a complete PNG) with two small ranged reads.

    The filesystem's listing cache is dropped first: an object deleted by someone else since this process
    last looked must not count as present.

    :raises DestinationError: when the path is a directory, or the store cannot be read.
    """
    try:
        fs.invalidate_cache(path)
        try:
            info = fs.info(path)
        except FileNotFoundError:
            return None
        if info.get("type") == "directory":
            raise DestinationError(f"{path} is a directory; file_name must name a file")
        size = int(info.get("size") or 0)
        if size < _MIN_PNG_BYTES:
            return ExistingObject(size=size, complete=False)
        head = bytes(fs.cat_file(path, start=0, end=_HEADER_BYTES))
        tail = bytes(fs.cat_file(path, start=size - len(PNG_IEND), end=size))
    except CopyError:
        raise
    except Exception as err:
        raise DestinationError(f"cannot inspect {path}: {_describe(err)}") from err
    try:
        png = parse_png_header(head)
    except IntegrityError:
        return ExistingObject(size=size, complete=False)
    return ExistingObject(size=size, complete=tail == PNG_IEND, width=png.width, height=png.height)


# -- the stream check ----------------------------------------------------------------------------------------
class _StreamCheck:
    """Verifies a PNG body as it streams past, keeping only the first 24 and the last 12 bytes."""

    def __init__(self, expected_length: int | None, expected_md5: bytes | None) -> None:
        self.expected_length = expected_length
        self.expected_md5 = expected_md5
        self.size = 0
        self._head = b""
        self._tail = b""
        self._md5 = hashlib.md5(usedforsecurity=False) if expected_md5 is not None else None

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < _HEADER_BYTES:
            self._head += chunk[: _HEADER_BYTES - len(self._head)]
            if self._head[:8] != PNG_SIGNATURE[: len(self._head[:8])]:
                raise IntegrityError("the result is not a PNG (bad signature)")
        self._tail = chunk[-len(PNG_IEND) :] if len(chunk) >= len(PNG_IEND) else (self._tail + chunk)[-12:]
        self.size += len(chunk)
        if self._md5 is not None:
            self._md5.update(chunk)
        if self.expected_length is not None and self.size > self.expected_length:
            raise IntegrityError(
                f"the result is longer than its Content-Length ({self.expected_length} bytes)", retryable=True
            )

    def finish(self) -> PngInfo:
        if self.expected_length is not None and self.size != self.expected_length:
            raise IntegrityError(
                f"the download was cut short: {self.size} of {self.expected_length} bytes", retryable=True
            )
        png = parse_png_header(self._head)
        if self._tail != PNG_IEND:
            raise IntegrityError(
                f"the PNG is truncated (no IEND chunk after {self.size} bytes)", retryable=True
            )
        if self._md5 is not None and self._md5.digest() != self.expected_md5:
            raise IntegrityError("the result does not match its Content-MD5", retryable=True)
        return png


# -- the copy ------------------------------------------------------------------------------------------------
def _no_netrc_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Keep requests from adding ~/.netrc credentials to a signed URL (OSS rejects two auth methods)."""
    return request


def _describe(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text[:300]}" if text else type(err).__name__


def _content_length(response: requests.Response) -> int | None:
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    value = response.headers.get("Content-Length")
    if value is None or encoding not in ("", "identity"):
        return None  # a compressed body's length says nothing about the decoded bytes
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def _content_md5(response: requests.Response) -> bytes | None:
    value = response.headers.get("Content-MD5")
    if not value:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return digest if len(digest) == 16 else None


def _raise_for_status(response: requests.Response, where: str) -> None:
    status = response.status_code
    if status == 200:
        return
    body = b""
    if status >= 400:
        try:
            body = response.raw.read(4096, decode_content=True) or b""
        except Exception:  # the body only decorates the message
            body = b""
    code_match, message_match = _OSS_CODE.search(body), _OSS_MESSAGE.search(body)
    code = code_match.group(1).decode("utf-8", "replace") if code_match else None
    message = message_match.group(1).decode("utf-8", "replace") if message_match else None
    said = f" ({code}: {message})" if code or message else ""
    if status == 403:
        raise ResultExpiredError(
            f"the result server {where} answered 403{said}: the signed result URL has expired (they live "
            "24 h after the task ended) or is invalid",
            http_status=status,
            code=code,
        )
    if status in (404, 410):
        raise ResultNotFoundError(
            f"the result server {where} answered {status}{said}: the result no longer exists",
            http_status=status,
            code=code,
        )
    retryable = status in (408, 429) or status >= 500
    raise DownloadError(
        f"the result server {where} answered {status}{said}",
        retryable=retryable,
        http_status=status,
        code=code,
    )


class _RedactQueries(logging.Filter):
    """Strips query strings from urllib3's log arguments: its DEBUG request lines (and retry warnings)
    quote the path with the query, and a result URL's query is its signature."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_strip_query(arg) for arg in record.args)
        return True


def _strip_query(value: object) -> object:
    if isinstance(value, str) and "?" in value:
        return value.split("?", 1)[0] + "?<redacted>"
    return value


@contextmanager
def _urllib3_logs_redacted() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("urllib3.connectionpool", "urllib3.connection")]
    redact = _RedactQueries()
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)


def _iter_body(response: requests.Response, chunk_size: int, where: str) -> Iterator[bytes]:
    """The body in chunks; a broken stream becomes a retryable :class:`DownloadError` (URL-free)."""
    chunks = response.iter_content(chunk_size)
    received = 0
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except (requests.RequestException, OSError) as err:
            raise DownloadError(
                f"the download from {where} was cut short after {received} bytes ({type(err).__name__})"
            ) from None
        received += len(chunk)
        yield chunk


def copy_png(
    url: str,
    fs: Any,
    path: str,
    *,
    session: requests.Session,
    overwrite: OverwritePolicy | bool | str = OverwritePolicy.NEVER,
    timeout: Timeout = (10.0, 60.0),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    block_size: int = DEFAULT_BLOCK_SIZE,
    attempts: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float = DEFAULT_DOWNLOAD_DEADLINE,
    proxy: str | None = None,
) -> CopyResult:
    """Copy the PNG at ``url`` to ``path`` on ``fs``: streamed, verified, atomic, idempotent.

    ``url`` is fetched once per attempt; its status and headers come first, so an existing object of the
    announced size is kept without reading the body. Otherwise the body streams into an atomic sink and is
    committed only after the checks pass; any failure aborts the sink, so nothing is left behind.
    Transient download failures (network, 429/5xx, a body cut short) are retried ``attempts`` times in all
    with exponential ``backoff``; destination failures are not retried here (the caller's retry is).

    When the URL has expired but a complete PNG already sits at ``path`` (a re-run more than 24 h later),
    that object is kept unless ``overwrite`` is ``ALWAYS``: its size can no longer be compared, only its
    structure.

    ``deadline`` bounds the whole image (all attempts, connect to last byte, backoff included): when it
    passes, the download is cut and :class:`DownloadError` says so (the destination is left as it was).
    ``proxy`` is the connection's own proxy (``extra.proxy``); without it ``HTTP(S)_PROXY``/``NO_PROXY``
    decide, exactly as for the API calls.

    :raises CopyError: a subclass saying what failed; the message never contains the signed URL.
    """
    where = result_host(url)
    try:
        proxies = requests_proxies(proxy_for_url(url, proxy))
    except WanxiangValidationError as err:
        raise DownloadError(f"cannot download from {where}: {err}", retryable=False) from None
    job = _Job(
        url=url,
        fs=fs,
        path=path,
        session=session,
        policy=OverwritePolicy.coerce(overwrite),
        existing=probe_existing(fs, path),
        where=where,
        timeout=timeout,
        chunk_size=chunk_size,
        block_size=block_size,
        proxies=proxies,
        ends_at=time.monotonic() + deadline,
        deadline=deadline,
    )
    mount_deadline_adapter(session)
    with _urllib3_logs_redacted():
        return _copy_with_retries(job, attempts, backoff, sleep)


@dataclass(frozen=True)
class _Job:
    """One image to copy (``existing`` is what was at ``path`` before the first attempt)."""

    url: str = field(repr=False)  # a capability: never in a repr or a message
    fs: Any
    path: str
    session: requests.Session
    policy: OverwritePolicy
    existing: ExistingObject | None
    where: str
    timeout: Timeout
    chunk_size: int
    block_size: int
    proxies: dict[str, str] = field(repr=False)  # may hold the proxy's credentials
    ends_at: float  #: time.monotonic() by which the image must be done
    deadline: float


def _copy_with_retries(
    job: _Job, attempts: int, backoff: float, sleep: Callable[[float], None]
) -> CopyResult:
    existing = job.existing
    attempt = 1
    while True:
        try:
            return _copy_once_bounded(job, attempt)
        except ResultExpiredError:
            if existing is not None and existing.complete and job.policy is not OverwritePolicy.ALWAYS:
                log.warning(
                    "%s: the result URL has expired; keeping the complete PNG already at %s (%d bytes)",
                    job.where,
                    job.path,
                    existing.size,
                )
                return CopyResult(CopyAction.KEPT, existing.size, existing.width, existing.height, attempt)
            raise
        except CopyError as err:
            if not err.retryable or attempt >= attempts:
                raise
            delay = backoff * 2 ** (attempt - 1)
            if time.monotonic() + delay >= job.ends_at:
                raise
            log.info(
                "Copy from %s failed (%s); attempt %d of %d in %.1f s",
                job.where,
                err,
                attempt + 1,
                attempts,
                delay,
            )
            sleep(delay)
            attempt += 1


def _copy_once_bounded(job: _Job, attempt: int) -> CopyResult:
    """One attempt within what is left of the image's deadline; a cut download says it was the deadline."""
    remaining = job.ends_at - time.monotonic()
    expired = DownloadError(
        f"the download from {job.where} did not complete within the deadline of {job.deadline:g} s "
        "for one image (download_deadline)",
        retryable=False,
    )
    if remaining <= 0:
        raise expired
    with total_deadline(remaining) as deadline:
        try:
            return _copy_once(job, attempt)
        except (DownloadError, IntegrityError):
            if deadline.expired:
                raise expired from None
            raise


def _copy_once(job: _Job, attempt: int) -> CopyResult:
    path, existing, where = job.path, job.existing, job.where
    try:
        response = job.session.get(
            job.url,
            stream=True,
            timeout=job.timeout,
            headers={"Accept-Encoding": "identity"},
            auth=_no_netrc_auth,
            proxies=job.proxies,
            allow_redirects=False,
        )
    except requests.RequestException as err:
        # The requests message quotes the full (signed) URL: keep only the type.
        raise DownloadError(f"could not download from {where}: {type(err).__name__}") from None
    with response:
        _raise_for_status(response, where)
        expected = _content_length(response)
        if existing is not None and job.policy is not OverwritePolicy.ALWAYS:
            if existing.complete and (expected is None or expected == existing.size):
                return CopyResult(CopyAction.KEPT, existing.size, existing.width, existing.height, attempt)
            if job.policy is OverwritePolicy.NEVER:
                found = "a complete PNG" if existing.complete else "an object that is not a complete PNG"
                raise DestinationExistsError(
                    f"{path} already exists and differs from the result ({found} of {existing.size} bytes, "
                    f"the result has {expected} bytes); set overwrite='if_different' or True to replace it"
                )
        check = _StreamCheck(expected, _content_md5(response))
        try:
            sink = open_sink(job.fs, path, block_size=job.block_size, content_type="image/png")
        except Exception as err:
            raise DestinationError(f"cannot write {path}: {_describe(err)}") from err
        try:
            for chunk in _iter_body(response, job.chunk_size, where):
                check.feed(chunk)
                try:
                    sink.write(chunk)
                except Exception as err:
                    raise DestinationError(f"writing {path} failed: {_describe(err)}") from err
            png = check.finish()
        except BaseException:
            sink.abort()
            raise
        try:
            sink.commit()
        except Exception as err:
            raise DestinationError(f"completing {path} failed: {_describe(err)}") from err
    action = CopyAction.WRITTEN if existing is None else CopyAction.REPLACED
    return CopyResult(action, check.size, png.width, png.height, attempt)
