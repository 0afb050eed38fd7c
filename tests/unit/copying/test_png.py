"""PNG stream checks: what counts as a complete image, from the first 24 and the last 12 bytes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from airflow_provider_wanxiang.copying import IntegrityError, StreamCheck, parse_png_header
from tests.images import png_bytes


def feed_all(check: StreamCheck, data: bytes, chunk: int) -> None:
    for start in range(0, len(data), chunk):
        check.feed(data[start : start + chunk])


def test_header_gives_the_size_and_rejects_other_formats() -> None:
    png = png_bytes(40, 30)
    info = parse_png_header(png[:24])
    assert (info.width, info.height) == (40, 30)
    with pytest.raises(IntegrityError, match="bad signature"):
        parse_png_header(b"GIF89a" + bytes(18))
    with pytest.raises(IntegrityError, match="no IHDR"):
        parse_png_header(png[:8] + bytes(16))


@pytest.mark.parametrize("chunk", [1, 5, 13, 4096])
def test_a_complete_png_passes_in_chunks_of_any_size(chunk: int) -> None:
    png = png_bytes(64, 48)
    check = StreamCheck(len(png), hashlib.md5(png).digest())
    feed_all(check, png, chunk)
    info = check.finish()
    assert (info.width, info.height, check.size) == (64, 48, len(png))


def test_a_bad_signature_fails_on_the_first_chunk() -> None:
    check = StreamCheck(None, None)
    with pytest.raises(IntegrityError, match="not a PNG") as caught:
        check.feed(b"<html>")
    assert not caught.value.retryable  # the same URL would send the same page


@pytest.mark.parametrize(
    ("mutate", "expected_length", "message"),
    [
        (lambda png: png[:-12], None, "truncated"),  # no IEND chunk
        (lambda png: png[:-5], "full", "cut short"),  # fewer bytes than announced
        (lambda png: png + b"x", "full-minus", "longer than its Content-Length"),
    ],
)
def test_incomplete_bodies_fail_as_retryable(
    mutate: object, expected_length: str | None, message: str
) -> None:
    png = png_bytes(32, 32)
    body = mutate(png)  # type: ignore[operator]
    length = {None: None, "full": len(png), "full-minus": len(png)}[expected_length]
    check = StreamCheck(length, None)
    with pytest.raises(IntegrityError, match=message) as caught:
        feed_all(check, body, 7)
        check.finish()
    assert caught.value.retryable  # a new download may get the whole image


def test_a_wrong_md5_fails() -> None:
    png = png_bytes(16, 16)
    wrong = base64.b64decode(base64.b64encode(hashlib.md5(b"other").digest()))
    check = StreamCheck(len(png), wrong)
    feed_all(check, png, 100)
    with pytest.raises(IntegrityError, match="Content-MD5"):
        check.finish()
