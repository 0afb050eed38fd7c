"""Copy one result image from its signed URL to a destination path: streamed, verified, atomic, idempotent.

- **memory stays bounded** whatever the image size: the body streams in ``chunk_size`` pieces straight into
  an atomic sink (:mod:`.sinks`; object stores buffer at most one upload part, ``block_size``);
- **every image is verified** before it counts as written (:class:`~.png.StreamCheck`);
- **a re-run does not duplicate work**: an existing complete PNG of the right size is kept
  (:mod:`.policy`), and the headers alone decide that, without reading the body;
- **retries are the client's**: whether and how long to wait after a failed attempt comes from the one
  :class:`~airflow_provider_wanxiang.client.retry.RetryPolicy` (full jitter, ``Retry-After``), as for every
  API call; a download is an idempotent read;
- **no image can hang a worker**: each image has a total deadline (``deadline``, default
  :data:`DEFAULT_DOWNLOAD_DEADLINE`) covering every attempt from connect to the last byte, backoff included,
  enforced even against a server that trickles one byte a second
  (:mod:`airflow_provider_wanxiang.client.deadlines`);
- **the same proxy as every other route**: from
  :func:`~airflow_provider_wanxiang.client.proxies.proxy_for_url` (``HTTP(S)_PROXY``/``NO_PROXY``, or the
  connection's ``extra.proxy``), never from requests' own environment or ``~/.netrc`` lookups.

Free of Airflow: it takes an fsspec filesystem and a path (what ``ObjectStoragePath.fs`` / ``.path`` give),
so it can be unit-tested and benchmarked on its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

import requests

from airflow_provider_wanxiang.client.deadlines import mount_deadline_adapter, total_deadline
from airflow_provider_wanxiang.client.errors import WanxiangValidationError
from airflow_provider_wanxiang.client.proxies import proxy_for_url, requests_proxies
from airflow_provider_wanxiang.client.retry import IDEMPOTENT_READ, RetryPolicy
from airflow_provider_wanxiang.copying.errors import (
    CopyError,
    DownloadError,
    IntegrityError,
    ResultExpiredError,
)
from airflow_provider_wanxiang.copying.http import (
    content_length,
    content_md5,
    iter_body,
    no_netrc_auth,
    raise_for_status,
    result_host,
    urllib3_logs_redacted,
)
from airflow_provider_wanxiang.copying.png import StreamCheck
from airflow_provider_wanxiang.copying.policy import (
    ExistingObject,
    OverwritePolicy,
    keeps_existing,
    probe_existing,
)
from airflow_provider_wanxiang.copying.sinks import DEFAULT_BLOCK_SIZE, is_object_store, write_atomically

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_DOWNLOAD_DEADLINE",
    "DEFAULT_DOWNLOAD_RETRY",
    "CopyAction",
    "CopyResult",
    "Timeout",
    "copy_png",
]

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE: Final = 256 * 1024
#: Seconds one image may take in all (every attempt, connect to last byte). Generous: a result PNG is a few
#: MB, which even a slow 100 KB/s link moves in under a minute; the bound is there for a stalled server.
DEFAULT_DOWNLOAD_DEADLINE: Final = 600.0
#: Three tries per image, 1 s then 2 s backoff caps (full jitter), ``Retry-After`` honoured up to 60 s.
DEFAULT_DOWNLOAD_RETRY: Final = RetryPolicy(max_attempts=3, base_delay=1.0)

Timeout = float | tuple[float, float]


class CopyAction(str, Enum):
    """What :func:`copy_png` did."""

    WRITTEN = "written"  #: nothing was there; the image was written
    REPLACED = "replaced"  #: a different object was there and was atomically replaced
    KEPT = "kept"  #: a complete PNG of the right size was already there (nothing downloaded)


@dataclass(frozen=True, slots=True)
class CopyResult:
    action: CopyAction
    size: int
    width: int | None
    height: int | None
    attempts: int


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
    retry: RetryPolicy = DEFAULT_DOWNLOAD_RETRY,
    deadline: float = DEFAULT_DOWNLOAD_DEADLINE,
    proxy: str | None = None,
) -> CopyResult:
    """Copy the PNG at ``url`` to ``path`` on ``fs``: streamed, verified, atomic, idempotent.

    ``url`` is fetched once per attempt; its status and headers come first, so an existing object of the
    announced size is kept without reading the body. Otherwise the body streams into an atomic sink and is
    committed only after the checks pass; any failure aborts the sink, so nothing is left behind.
    Retryable download failures (network, 429/5xx, a body cut short) are retried as ``retry`` decides
    (its ``max_attempts``, jittered backoff and ``Retry-After``, waiting with its ``sleep``); destination
    failures are not retried here (the caller's retry is).

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
    mount_deadline_adapter(session)
    with urllib3_logs_redacted(), ThreadPoolExecutor(1, thread_name_prefix="wanxiang-probe") as probes:
        job = _Job(
            url=url,
            fs=fs,
            path=path,
            session=session,
            policy=OverwritePolicy.coerce(overwrite),
            existing=_Existing(probes, fs, path),
            where=where,
            timeout=timeout,
            chunk_size=chunk_size,
            block_size=block_size,
            proxies=proxies,
            ends_at=time.monotonic() + deadline,
            deadline=deadline,
        )
        return _copy_with_retries(job, retry)


class _Existing:
    """What was at the destination before the first attempt, looked up while that attempt's request runs.

    On an object store the lookup is a network round trip or three; started beside the download's first
    request (in a thread: fsspec's sync calls may be made from any thread), it costs nothing whenever the
    result server takes as long to send its first byte, which OSS, far from the bucket, always does.
    Nothing is written before the answer is read: the headers' size is compared with it first. A local
    disk answers at once, in this thread.
    """

    def __init__(self, probes: ThreadPoolExecutor, fs: Any, path: str) -> None:
        self._future: Future[ExistingObject | None] | None = None
        self._value: ExistingObject | None = None
        if is_object_store(fs):
            self._future = probes.submit(probe_existing, fs, path)
        else:
            self._value = probe_existing(fs, path)

    def get(self) -> ExistingObject | None:
        """The answer, waiting for it if need be; :class:`DestinationError` if the store could not say."""
        return self._value if self._future is None else self._future.result()


@dataclass(frozen=True)
class _Job:
    """One image to copy (``existing`` says what was at ``path`` before the first attempt)."""

    url: str = field(repr=False)  # a capability: never in a repr or a message
    fs: Any
    path: str
    session: requests.Session
    policy: OverwritePolicy
    existing: _Existing
    where: str
    timeout: Timeout
    chunk_size: int
    block_size: int
    proxies: dict[str, str] = field(repr=False)  # may hold the proxy's credentials
    ends_at: float  #: time.monotonic() by which the image must be done
    deadline: float


def _copy_with_retries(job: _Job, retry: RetryPolicy) -> CopyResult:
    attempt = 1
    while True:
        try:
            return _copy_once_bounded(job, attempt)
        except ResultExpiredError:
            existing = job.existing.get()
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
            delay = retry.next_delay(err, IDEMPOTENT_READ, attempt)
            if delay is None or time.monotonic() + delay >= job.ends_at:
                raise
            log.info(
                "Copy from %s failed (%s); attempt %d of %d in %.1f s",
                job.where,
                err,
                attempt + 1,
                retry.max_attempts,
                delay,
            )
            retry.sleep(delay)
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
    where = job.where
    try:
        response = job.session.get(
            job.url,
            stream=True,
            timeout=job.timeout,
            headers={"Accept-Encoding": "identity"},
            auth=no_netrc_auth,
            proxies=job.proxies,
            allow_redirects=False,
        )
    except requests.RequestException as err:
        # The requests message quotes the full (signed) URL: keep only the type.
        raise DownloadError(f"could not download from {where}: {type(err).__name__}") from None
    with response:
        raise_for_status(response, where)
        expected = content_length(response)
        existing = job.existing.get()
        if keeps_existing(existing, expected, job.policy, job.path):
            assert existing is not None
            return CopyResult(CopyAction.KEPT, existing.size, existing.width, existing.height, attempt)
        check = StreamCheck(expected, content_md5(response))
        body = _checked(iter_body(response, job.chunk_size, where), check)
        png = write_atomically(
            job.fs, job.path, body, check.finish, block_size=job.block_size, content_type="image/png"
        )
    action = CopyAction.WRITTEN if existing is None else CopyAction.REPLACED
    return CopyResult(action, check.size, png.width, png.height, attempt)


def _checked(chunks: Iterator[bytes], check: StreamCheck) -> Iterator[bytes]:
    """Pass ``chunks`` on after ``check`` saw each one (a bad signature stops the stream at once)."""
    for chunk in chunks:
        check.feed(chunk)
        yield chunk
