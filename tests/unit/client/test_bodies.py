"""``client.bodies.BoundedBody``: answers capped in decoded bytes while they are read, gzip included."""

from __future__ import annotations

import gzip
import zlib

import pytest

from airflow_provider_wanxiang.client import MalformedResponseError, ResponseTooLargeError
from airflow_provider_wanxiang.client.bodies import BoundedBody

LIMIT = 10_000


def _read(headers: dict[str, str], raw: bytes, chunk: int = 1000) -> BoundedBody:
    body = BoundedBody(headers, where="GET /tasks", limit=LIMIT, http_status=200)
    for start in range(0, len(raw), chunk):
        body.feed(raw[start : start + chunk])
    return body


def test_an_identity_body_within_the_cap_is_returned_whole() -> None:
    body = _read({}, b"x" * LIMIT)
    assert body.finish() == b"x" * LIMIT


def test_an_identity_body_over_the_cap_fails_while_reading() -> None:
    with pytest.raises(ResponseTooLargeError, match=r"stopped after 10,500 decoded bytes") as caught:
        _read({}, b"x" * 50_000, chunk=1500)
    assert caught.value.http_status == 200 and not caught.value.retryable


def test_an_announced_oversize_body_fails_before_reading() -> None:
    with pytest.raises(ResponseTooLargeError, match="announces 50,000 bytes"):
        BoundedBody({"Content-Length": "50000"}, where="GET /tasks", limit=LIMIT)


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "GZIP"])
def test_gzip_is_decoded(encoding: str) -> None:
    assert (
        _read({"content-encoding": encoding}, gzip.compress(b'{"a": 1}' * 100)).finish() == b'{"a": 1}' * 100
    )


def test_deflate_is_decoded() -> None:
    assert _read({"Content-Encoding": "deflate"}, zlib.compress(b"hello" * 100)).finish() == b"hello" * 100


def test_a_gzip_bomb_inflates_no_further_than_the_cap() -> None:
    """One 100 KB compressed chunk holds 100 MB of zeros; at most LIMIT + 1 bytes are ever inflated."""
    bomb = gzip.compress(bytes(100 * 1024 * 1024), compresslevel=9)
    body = BoundedBody({"Content-Encoding": "gzip"}, where="GET /tasks", limit=LIMIT)
    with pytest.raises(ResponseTooLargeError):
        body.feed(bomb)
    assert body.decoded_bytes == LIMIT + 1


def test_the_announced_length_of_a_compressed_body_says_nothing_about_its_decoded_size() -> None:
    data = gzip.compress(b"y" * 100)
    assert _read({"Content-Encoding": "gzip", "Content-Length": str(len(data))}, data).finish() == b"y" * 100


def test_a_corrupt_compressed_body_is_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="compressed response is corrupt"):
        _read({"Content-Encoding": "gzip"}, b"not gzip at all").finish()


def test_an_unsupported_encoding_is_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="unsupported Content-Encoding 'br'"):
        BoundedBody({"Content-Encoding": "br"}, where="GET /tasks")
