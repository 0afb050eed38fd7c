""":func:`airflow_provider_wanxiang.copying.copy_png` on its own: real HTTP (a result host that can
misbehave), a real S3 API (moto server) through s3fs, real local files, and fsspec's memory filesystem for
the generic path.

The image here is larger than one upload part, so the S3 writes go through a real multipart upload: a
failure half-way must abort it (no object, no pending upload), a success must complete it.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
import requests
from s3fs import S3FileSystem

from airflow_provider_wanxiang.client.retry import RetryPolicy
from airflow_provider_wanxiang.copying import (
    PNG_SIGNATURE,
    CopyAction,
    DestinationExistsError,
    DownloadError,
    IntegrityError,
    ResultExpiredError,
    ResultNotFoundError,
    copy_png,
    probe_existing,
)
from tests.images import noisy_png
from tests.integration.copy.conftest import MotoS3, leftovers
from tests.integration.copy.result_host import ResultHost, Route

pytestmark = pytest.mark.integration

PART = 5 * 1024 * 1024  # the smallest S3 part size: a 12 MB image is three parts


@pytest.fixture(scope="module")
def big_png() -> bytes:
    return noisy_png(2048, 2048)  # ~12.6 MB


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


@pytest.fixture
def s3fs(moto_s3: MotoS3) -> S3FileSystem:
    return S3FileSystem(
        key="testing",
        secret="testing",
        endpoint_url=moto_s3.endpoint,
        client_kwargs={"region_name": "us-east-1"},
        skip_instance_cache=True,
    )


def no_retry(seconds: float) -> None:
    raise AssertionError(f"unexpected retry wait of {seconds} s")


#: Retries allowed, but any wait fails the test (what a download that must succeed first time uses).
NO_RETRY_WAIT = RetryPolicy(max_attempts=3, sleep=no_retry)
ONE_ATTEMPT = RetryPolicy(max_attempts=1)


# -- S3: multipart uploads ----------------------------------------------------------------------------------
def test_s3_multipart_upload_completes_with_exact_bytes(
    result_host: ResultHost,
    session: requests.Session,
    s3fs: S3FileSystem,
    moto_s3: MotoS3,
    bucket: str,
    big_png: bytes,
) -> None:
    url = result_host.serve("/big.png", Route(big_png))

    result = copy_png(
        url, s3fs, f"{bucket}/out/big.png", session=session, block_size=PART, retry=NO_RETRY_WAIT
    )

    assert result.action is CopyAction.WRITTEN and result.size == len(big_png) > 2 * PART
    assert (result.width, result.height) == (2048, 2048)
    body = moto_s3.client.get_object(Bucket=bucket, Key="out/big.png")["Body"].read()
    assert body == big_png
    assert moto_s3.multipart_uploads(bucket) == []


def test_s3_download_cut_mid_multipart_upload_leaves_nothing(
    result_host: ResultHost,
    session: requests.Session,
    s3fs: S3FileSystem,
    moto_s3: MotoS3,
    bucket: str,
    big_png: bytes,
) -> None:
    # Two parts (10 MiB) are uploaded before the body breaks off: the upload exists, then must be aborted.
    url = result_host.serve("/cut.png", Route(big_png, cut_at=2 * PART + 123))
    # The S3 calls as botocore makes them (its public event hooks, unlike s3fs internals such as abort_mpu,
    # which s3fs releases at the fsspec floor do not have): what was created and what was aborted.
    calls: list[tuple[str, str]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, params["Key"]))

    client = s3fs.connect()
    for operation in ("CreateMultipartUpload", "AbortMultipartUpload", "CompleteMultipartUpload"):
        client.meta.events.register(f"before-parameter-build.s3.{operation}", record)

    with pytest.raises(DownloadError, match="cut short") as caught:
        copy_png(url, s3fs, f"{bucket}/out/cut.png", session=session, block_size=PART, retry=ONE_ATTEMPT)

    assert "secret-signature" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no URL-quoting cause
    # a multipart upload was under way, and was aborted, never completed
    assert calls == [("CreateMultipartUpload", "out/cut.png"), ("AbortMultipartUpload", "out/cut.png")]
    assert moto_s3.keys(bucket) == []
    assert moto_s3.multipart_uploads(bucket) == []


def test_s3_bad_md5_is_not_committed(
    result_host: ResultHost, session: requests.Session, s3fs: S3FileSystem, moto_s3: MotoS3, bucket: str
) -> None:
    png = noisy_png(64, 64)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    url = result_host.serve("/md5.png", Route(png, headers={"Content-MD5": wrong}, content_md5=False))

    with pytest.raises(IntegrityError, match="Content-MD5"):
        copy_png(url, s3fs, f"{bucket}/md5.png", session=session, retry=ONE_ATTEMPT)

    assert moto_s3.keys(bucket) == []


def test_s3_policies_cost_one_request_to_find_nothing_and_keep_what_is_there(
    result_host: ResultHost, session: requests.Session, s3fs: S3FileSystem, moto_s3: MotoS3, bucket: str
) -> None:
    png = noisy_png(40, 40)
    url = result_host.serve("/s3p.png", Route(png))
    target = f"{bucket}/out/p.png"
    moto_s3.client.put_object(Bucket=bucket, Key="out/p.png/beside", Body=b"x")  # a prefix of the same name
    calls: list[str] = []
    client = s3fs.connect()
    client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))

    # A first copy: one request finds nothing (no listing to tell a "directory"), one PUT writes.
    assert probe_existing(s3fs, target) is None
    assert calls == ["GetObject"]
    calls.clear()
    assert copy_png(url, s3fs, target, session=session).action is CopyAction.WRITTEN
    assert calls == ["GetObject", "PutObject"]

    existing = probe_existing(s3fs, target)
    assert existing is not None and existing.complete and (existing.width, existing.height) == (40, 40)
    hits = result_host.hits["/s3p.png"]
    assert copy_png(url, s3fs, target, session=session).action is CopyAction.KEPT
    assert result_host.hits["/s3p.png"] == hits + 1  # headers only: the body was not read
    assert moto_s3.client.get_object(Bucket=bucket, Key="out/p.png")["Body"].read() == png

    moto_s3.client.put_object(Bucket=bucket, Key="out/p.png", Body=png[:-12])  # a PNG without its end
    broken = probe_existing(s3fs, target)
    assert broken is not None and not broken.complete and broken.size == len(png) - 12
    with pytest.raises(DestinationExistsError):
        copy_png(url, s3fs, target, session=session)
    moto_s3.client.put_object(Bucket=bucket, Key="out/p.png", Body=b"")  # empty: a range cannot be read
    empty = probe_existing(s3fs, target)
    assert empty is not None and (empty.size, empty.complete) == (0, False)
    replaced = copy_png(url, s3fs, target, session=session, overwrite="if_different")
    assert replaced.action is CopyAction.REPLACED
    assert moto_s3.client.get_object(Bucket=bucket, Key="out/p.png")["Body"].read() == png


# -- local files ----------------------------------------------------------------------------------------
def test_local_reader_never_sees_a_partial_file(
    result_host: ResultHost, session: requests.Session, tmp_path: Path, big_png: bytes
) -> None:
    url = result_host.serve("/slow.png", Route(big_png, chunk_delay=0.002))
    target = tmp_path / "deep" / "dir" / "slow.png"
    seen: list[tuple[bool, int]] = []

    def watch() -> None:
        while not target.exists():
            seen.append((target.exists(), len(leftovers(tmp_path))))
            time.sleep(0.01)
        seen.append((True, target.stat().st_size))

    watcher = threading.Thread(target=watch)
    watcher.start()
    copy_png(url, fsspec.filesystem("file"), str(target), session=session, retry=NO_RETRY_WAIT)
    watcher.join()

    assert any(temps == 1 for _, temps in seen[:-1])  # the temp file was being written meanwhile
    assert seen[-1] == (True, len(big_png))  # the first time the name exists, the file is complete
    assert target.read_bytes() == big_png
    assert leftovers(tmp_path) == []


def test_local_failure_keeps_the_previous_version(
    result_host: ResultHost, session: requests.Session, tmp_path: Path
) -> None:
    old, new = noisy_png(40, 40), noisy_png(50, 50)
    target = tmp_path / "x.png"
    target.write_bytes(old)
    url = result_host.serve("/new.png", Route(new, cut_at=len(new) - 5))

    with pytest.raises(DownloadError):
        copy_png(
            url, fsspec.filesystem("file"), str(target), session=session, overwrite=True, retry=ONE_ATTEMPT
        )

    assert target.read_bytes() == old
    assert leftovers(tmp_path) == []


def test_policies_and_existing_objects(
    result_host: ResultHost, session: requests.Session, tmp_path: Path
) -> None:
    png = noisy_png(40, 40)
    url = result_host.serve("/p.png", Route(png))
    fs = fsspec.filesystem("file")
    target = str(tmp_path / "p.png")

    assert probe_existing(fs, target) is None
    assert copy_png(url, fs, target, session=session).action is CopyAction.WRITTEN
    existing = probe_existing(fs, target)
    assert existing is not None and existing.complete and (existing.width, existing.height) == (40, 40)
    hits = result_host.hits["/p.png"]
    assert copy_png(url, fs, target, session=session).action is CopyAction.KEPT
    assert result_host.hits["/p.png"] == hits + 1  # headers only: the body was not read
    assert copy_png(url, fs, target, session=session, overwrite=True).action is CopyAction.REPLACED

    Path(target).write_bytes(png[:-12])  # a PNG without its end
    broken = probe_existing(fs, target)
    assert broken is not None and not broken.complete
    with pytest.raises(DestinationExistsError):
        copy_png(url, fs, target, session=session)
    assert copy_png(url, fs, target, session=session, overwrite="if_different").action is CopyAction.REPLACED
    assert Path(target).read_bytes() == png


def test_http_errors_and_retries(result_host: ResultHost, session: requests.Session, tmp_path: Path) -> None:
    fs = fsspec.filesystem("file")
    expired = (
        b"<?xml version='1.0'?><Error><Code>AccessDenied</Code>"
        b"<Message>Request has expired.</Message></Error>"
    )
    url = result_host.serve("/expired.png", Route(expired, status=403))
    with pytest.raises(ResultExpiredError, match=r"403 \(AccessDenied: Request has expired.\)") as caught:
        copy_png(url, fs, str(tmp_path / "e.png"), session=session, retry=NO_RETRY_WAIT)
    assert "secret-signature" not in str(caught.value)

    waits: list[float] = []
    url = result_host.serve("/busy.png", Route(b"busy", status=503))
    caps = RetryPolicy(max_attempts=3, base_delay=0.5, sleep=waits.append, jitter=lambda cap: cap)
    with pytest.raises(DownloadError, match="503"):
        copy_png(url, fs, str(tmp_path / "b.png"), session=session, retry=caps)
    assert waits == [0.5, 1.0]  # the client's backoff caps (jitter drawn at the cap here)
    assert result_host.hits["/busy.png"] == 3
    assert list(tmp_path.iterdir()) == []


def test_download_retries_use_the_client_policy_jitter_and_retry_after(
    result_host: ResultHost, session: requests.Session, tmp_path: Path
) -> None:
    """The retry decisions are RetryPolicy's: full jitter below the cap, and the result server's
    Retry-After when it sends one (capped by max_retry_after); 403/404 are never retried."""
    fs = fsspec.filesystem("file")
    waits: list[float] = []
    jittered = RetryPolicy(max_attempts=4, base_delay=8.0, sleep=waits.append)
    url = result_host.serve("/jitter.png", Route(b"busy", status=500))
    with pytest.raises(DownloadError, match="500"):
        copy_png(url, fs, str(tmp_path / "j.png"), session=session, retry=jittered)
    assert result_host.hits["/jitter.png"] == 4 and len(waits) == 3
    assert all(0.0 <= wait <= cap for wait, cap in zip(waits, [8.0, 16.0, 30.0], strict=True))

    waits.clear()
    url = result_host.serve("/later.png", Route(b"slow down", status=429, headers={"Retry-After": "7"}))
    with pytest.raises(DownloadError, match="429") as caught:
        copy_png(url, fs, str(tmp_path / "l.png"), session=session, retry=jittered)
    assert caught.value.retry_after == 7.0
    assert waits == [7.0, 7.0, 7.0]  # what the server asked, not the backoff

    waits.clear()
    url = result_host.serve("/gone.png", Route(b"", status=404))
    with pytest.raises(ResultNotFoundError) as gone:
        copy_png(url, fs, str(tmp_path / "g.png"), session=session, retry=jittered)
    assert not gone.value.retryable
    assert waits == [] and result_host.hits["/gone.png"] == 1
    assert list(tmp_path.iterdir()) == []


# -- any other fsspec filesystem: temp object + rename ---------------------------------------------------
def test_generic_filesystem_uses_a_temp_object(result_host: ResultHost, session: requests.Session) -> None:
    fs = fsspec.filesystem("memory")
    png = noisy_png(30, 30)
    good = result_host.serve("/m.png", Route(png))
    cut = result_host.serve("/mcut.png", Route(png, cut_at=100))

    with pytest.raises(DownloadError):
        copy_png(cut, fs, "/wx-test/cut.png", session=session, retry=ONE_ATTEMPT)
    assert not fs.exists("/wx-test/cut.png") and fs.glob("/wx-test/*.tmp") == []

    assert copy_png(good, fs, "/wx-test/ok.png", session=session).action is CopyAction.WRITTEN
    assert fs.cat_file("/wx-test/ok.png") == png and fs.cat_file("/wx-test/ok.png").startswith(PNG_SIGNATURE)
    assert fs.glob("/wx-test/*.tmp") == []
    fs.rm("/wx-test", recursive=True)
