"""Truncated images are caught by their container structure, per format, without decoding pixels."""

from __future__ import annotations

import struct

import pytest

from airflow_provider_wanxiang.client import WanxiangValidationError, check_image_bytes
from airflow_provider_wanxiang.client.image_integrity import truncation_problem
from tests.images import image_bytes, open_image

FORMATS = ["PNG", "JPEG", "BMP", "WEBP"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_complete_images_pass(fmt: str) -> None:
    data = image_bytes(fmt, 640, 480)
    assert truncation_problem(data, fmt) is None
    assert check_image_bytes(data, field="images[0]").format == fmt


def test_progressive_jpeg_and_trailing_bytes_pass() -> None:
    progressive = image_bytes("JPEG", 640, 480, progressive=True, quality=90)
    assert truncation_problem(progressive, "JPEG") is None
    # Bytes after the end marker (camera trailers, MPO's further pictures) are not a truncation.
    assert truncation_problem(image_bytes("JPEG", 640, 480) + b"trailer", "JPEG") is None
    assert truncation_problem(image_bytes("PNG", 640, 480) + b"\0" * 100, "PNG") is None


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("keep", [0.5, 0.9, -2])
def test_truncated_images_are_refused_naming_the_field(fmt: str, keep: float) -> None:
    whole = image_bytes(fmt, 640, 480)
    cut = whole[: int(len(whole) * keep)] if keep > 0 else whole[: int(keep)]
    if fmt != "WEBP":  # Pillow needs a whole WEBP file even for its header
        with open_image(cut, fmt) as image:
            assert image.size == (640, 480)  # the header is intact: a header-only check would accept it
    assert truncation_problem(cut, fmt) is not None
    with pytest.raises(WanxiangValidationError) as info:
        check_image_bytes(cut, field="images[1]")
    assert info.value.field == "images[1]"
    assert f"images[1]: the {fmt} image is truncated or corrupt" in str(info.value)
    assert "Failed to decode the image" in str(info.value)


def test_png_without_iend() -> None:
    whole = image_bytes("PNG", 640, 480)
    without_end = whole[: whole.rindex(b"IEND") - 4]  # every chunk complete, the end chunk missing
    assert truncation_problem(without_end, "PNG") == (
        f"the PNG ends after {len(without_end):,} bytes without its IEND chunk"
    )


def test_jpeg_missing_only_its_end_marker() -> None:
    whole = image_bytes("JPEG", 640, 480)
    assert whole.endswith(b"\xff\xd9")
    problem = truncation_problem(whole[:-2], "JPEG")
    assert problem is not None and "end-of-image marker (FFD9)" in problem


def test_bmp_and_webp_name_the_sizes() -> None:
    bmp = image_bytes("BMP", 640, 480)
    assert truncation_problem(bmp[:-1], "BMP") == (
        f"the BMP needs {len(bmp):,} bytes for its pixels, the file has {len(bmp) - 1:,}"
    )
    webp = image_bytes("WEBP", 640, 480)
    (riff,) = struct.unpack_from("<I", webp, 4)
    assert riff + 8 == len(webp)
    assert truncation_problem(webp[:-1], "WEBP") == (
        f"the WEBP declares {len(webp):,} bytes, the file has {len(webp) - 1:,}"
    )


def test_pixels_are_not_decoded() -> None:
    # A flipped byte inside the compressed data keeps the structure (and is left to the server); the
    # check must not decode pixels to notice, or it would cost seconds on a 25-megapixel input.
    whole = bytearray(image_bytes("PNG", 640, 480))
    idat = whole.index(b"IDAT") + 20
    whole[idat] ^= 0xFF
    assert truncation_problem(bytes(whole), "PNG") is None
