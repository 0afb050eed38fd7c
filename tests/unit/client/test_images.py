"""Input images: each accepted form, each limit on both sides of its boundary, header-only reading."""

from __future__ import annotations

import base64
import re
import warnings
from pathlib import Path

import pytest

from airflow_provider_wanxiang.client import (
    WanxiangValidationError,
    check_image_bytes,
    normalize_image,
    read_image_header,
)
from tests.images import MIME, data_uri, decode_data_uri, image_bytes, noisy_png, open_image, png_header


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP"])
def test_each_format_becomes_a_data_uri_from_bytes_path_and_file_url(fmt: str, tmp_path: Path) -> None:
    data = image_bytes(fmt, 512, 400)
    path = tmp_path / f"in.{fmt.lower()}"
    path.write_bytes(data)
    for source in (data, bytearray(data), str(path), path, f"file://{path}"):
        mime, payload = decode_data_uri(normalize_image(source, field="images[0]"))
        assert mime == MIME[fmt]
        assert payload == data


def test_header_info() -> None:
    info = check_image_bytes(image_bytes("WEBP", 640, 480), field="images[0]")
    assert (info.format, info.width, info.height, info.mime_type) == ("WEBP", 640, 480, "image/webp")


@pytest.mark.parametrize(
    ("width", "height", "ok"),
    [
        (384, 384, True),
        (383, 384, False),
        (384, 383, False),
        (5000, 384, True),
        (5001, 384, False),
        (384, 5000, True),
        (384, 5001, False),
    ],
)
def test_side_limits(width: int, height: int, ok: bool) -> None:
    data = image_bytes("PNG", width, height, mode="L")
    if ok:
        check_image_bytes(data, field="images[2]")
        return
    with pytest.raises(WanxiangValidationError) as info:
        check_image_bytes(data, field="images[2]")
    err = info.value
    bad = width if width in (383, 5001) else height
    side = "width" if bad == width else "height"
    assert err.field == "images[2]"
    assert err.value == bad
    assert err.limit == "384-5000 px per side"
    assert str(err).startswith(f"images[2]: {side} {bad} px is ")
    assert ("384 px" if bad == 383 else "5000 px") in str(err)


def test_the_documented_example_message() -> None:
    with pytest.raises(
        WanxiangValidationError, match=r"^images\[1\]: width 300 px is below the minimum of 384 px"
    ):
        check_image_bytes(image_bytes("JPEG", 300, 500), field="images[1]")


def test_file_above_10_mb_is_refused_before_reading(tmp_path: Path) -> None:
    # An uncompressed BMP within the pixel limits but 10,830,054 bytes long.
    big = image_bytes("BMP", 1900, 1900)
    assert len(big) > 10 * 1024 * 1024
    path = tmp_path / "big.bmp"
    path.write_bytes(big)
    for source in (str(path), big):
        with pytest.raises(WanxiangValidationError) as info:
            normalize_image(source, field="images[0]")
        assert info.value.limit == "10,485,760 bytes (10 MB)"
        assert f"{len(big):,} bytes is above the maximum of 10,485,760 bytes (10 MB)" in str(info.value)


def test_exactly_10_mb_is_accepted() -> None:
    data = image_bytes("PNG", 400, 400)
    padded = data + b"\0" * (10 * 1024 * 1024 - len(data))  # trailing bytes after IEND are ignored
    assert check_image_bytes(padded, field="images[0]").size_bytes == 10 * 1024 * 1024
    with pytest.raises(WanxiangValidationError):
        check_image_bytes(padded + b"\0", field="images[0]")


def test_truncated_image_is_refused_without_decoding(tmp_path: Path) -> None:
    # Valid header, pixel data cut off: the header read accepts it, the chunk walk refuses it (the server
    # would answer 400 "Failed to decode the image"); pixels are still never decoded.
    whole = noisy_png(800, 600)
    truncated = whole[:1024]
    with open_image(truncated) as image:
        assert image.size == (800, 600)  # the header alone looks fine
    path = tmp_path / "truncated.png"
    path.write_bytes(truncated)
    for source in (truncated, path, data_uri(truncated)):
        with pytest.raises(WanxiangValidationError, match="the PNG image is truncated or corrupt") as info:
            normalize_image(source, field="images[2]")
        assert info.value.field == "images[2]"
        assert "chunk 'IDAT'" in str(info.value)


def test_unsupported_format_names_it() -> None:
    with pytest.raises(WanxiangValidationError) as info:
        check_image_bytes(image_bytes("GIF", 512, 512, mode="L"), field="images[0]")
    assert "format GIF is not supported (allowed formats: JPEG, PNG, BMP, WEBP)" in str(info.value)
    assert info.value.value == "GIF"


def test_not_an_image() -> None:
    with pytest.raises(WanxiangValidationError, match="is not a readable image"):
        check_image_bytes(b"%PDF-1.7 definitely not an image", field="images[0]")


def test_decompression_bomb_header_is_a_validation_error() -> None:
    # A PNG header claiming 40000 x 40000 px (far above Pillow's bomb threshold) is refused, not decoded.
    with pytest.raises(WanxiangValidationError, match="far above the maximum of 384-5000 px per side"):
        read_image_header(png_header(40_000, 40_000), field="images[0]")


def test_header_only_dimensions_above_5000() -> None:
    with pytest.raises(WanxiangValidationError, match="width 6000 px is above the maximum of 5000 px"):
        check_image_bytes(png_header(6000, 1000), field="images[0]")


# -- data URIs -------------------------------------------------------------------------------------------


def test_data_uri_is_checked_and_normalised() -> None:
    data = image_bytes("JPEG", 500, 500)
    b64 = base64.b64encode(data).decode()
    wrapped = "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    mime, payload = decode_data_uri(normalize_image(f"data:image/jpeg;base64,{wrapped}", field="images[0]"))
    assert (mime, payload) == ("image/jpeg", data)
    # A mislabelled URI is relabelled with the type the bytes actually have.
    mime, _ = decode_data_uri(normalize_image(f"data:image/png;base64,{b64}", field="images[0]"))
    assert mime == "image/jpeg"


def test_data_uri_with_too_small_image() -> None:
    uri = data_uri(image_bytes("PNG", 100, 100))
    with pytest.raises(
        WanxiangValidationError, match=r"images\[0\]: width 100 px is below the minimum of 384 px"
    ):
        normalize_image(uri, field="images[0]")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("data:image/gif;base64,R0lGOD", "MIME type 'image/gif' is not supported"),
        ("data:image/jpg;base64,AAAA", "MIME type 'image/jpg' is not supported"),
        ("data:;base64,AAAA", "MIME type '(empty)' is not supported"),
        ("data:image/png,rawbytes", "is not a base64 data URI"),
        ("data:image/png;base64,@@@not-base64@@@", "is not valid base64"),
    ],
)
def test_bad_data_uris(uri: str, message: str) -> None:
    with pytest.raises(WanxiangValidationError, match=re.escape(message)) as info:
        normalize_image(uri, field="images[1]")
    assert info.value.field == "images[1]"


def test_data_uri_too_large_is_refused_without_decoding() -> None:
    uri = "data:image/png;base64," + "A" * (15 * 1024 * 1024)
    with pytest.raises(WanxiangValidationError, match="above the maximum of 10,485,760 bytes") as info:
        normalize_image(uri, field="images[0]")
    assert len(str(info.value)) < 300


@pytest.mark.parametrize("as_data_uri", [False, True])
def test_data_uri_above_the_gateway_cap_is_an_error_with_the_way_out(
    as_data_uri: bool, tmp_path: Path
) -> None:
    data = noisy_png(1500, 1500)  # ~6.8 MB of incompressible pixels
    data += b"\0" * (8 * 1024 * 1024 - len(data))  # 8 MiB (under the 10 MB image limit) → ~11.2 M chars
    path = tmp_path / "big.png"
    path.write_bytes(data)
    sources: list[object] = [data, path, str(path), f"file://{path}"]
    if as_data_uri:
        sources = [data_uri(data)]
    for source in sources:
        with pytest.raises(WanxiangValidationError) as info:
            normalize_image(source, field="images[1]")
        message = str(info.value)
        assert message.startswith(
            "images[1]: as a data: URI this 8,388,608-byte image is 11,184,834 characters"
        )
        assert "above the gateway's cap of 10,485,760" in message
        for way_out in ("smaller image", "http(s) URL", "upload_file()", "oss://"):
            assert way_out in message


def test_data_uri_just_under_the_gateway_cap_is_sent() -> None:
    data = image_bytes("PNG", 400, 400)
    prefix = len("data:image/png;base64,")
    fits = (10_485_760 - prefix) // 4 * 3  # the most bytes whose data URI is within the cap
    for size, ok in ((fits, True), (fits + 1, False)):
        padded = data + b"\0" * (size - len(data))
        if ok:
            assert len(normalize_image(padded, field="images[0]")) <= 10_485_760
        else:
            with pytest.raises(WanxiangValidationError, match="above the gateway's cap"):
                normalize_image(padded, field="images[0]")


# -- URLs, oss://, paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://img.alicdn.com/imgextra/i2/O1CN01vHOj4h28jOxUJPwY8_!!6000000007968-49-tps-1344-896.webp",
        "http://127.0.0.1:8000/a.png?sig=1",
    ],
)
def test_http_urls_pass_through_unchanged(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert normalize_image(url, field="images[0]") == url


@pytest.mark.parametrize("url", ["https://", "http:///path", "https://exa mple.com/a.png"])
def test_malformed_http_urls(url: str) -> None:
    with pytest.raises(WanxiangValidationError, match="is not a well-formed http"):
        normalize_image(url, field="images[0]")


def test_oss_urls_pass_through() -> None:
    url = "oss://dashscope-instant/xxx/2024-07-18/xxxx/cat.png"
    assert normalize_image(url, field="images[0]") == url
    with pytest.raises(WanxiangValidationError, match="names no object"):
        normalize_image("oss://", field="images[0]")


def test_missing_local_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    for source in (str(missing), missing, f"file://{missing}"):
        with pytest.raises(WanxiangValidationError, match="does not exist") as info:
            normalize_image(source, field="images[2]")
        assert str(missing) in str(info.value)
    with pytest.raises(WanxiangValidationError, match="is a directory"):
        normalize_image(str(tmp_path), field="images[0]")


def test_percent_encoded_file_url(tmp_path: Path) -> None:
    path = tmp_path / "with space.png"
    path.write_bytes(image_bytes("PNG", 400, 400))
    assert normalize_image(f"file://{tmp_path}/with%20space.png", field="images[0]").startswith(
        "data:image/png"
    )


def test_object_storage_schemes_are_left_to_the_airflow_layer() -> None:
    with pytest.raises(WanxiangValidationError, match=r"s3:// is not supported here"):
        normalize_image("s3://bucket/key.png", field="images[0]")


@pytest.mark.parametrize("source", ["", "   ", 42, None])
def test_nonsense_sources(source: object) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        normalize_image(source, field="images[0]")  # type: ignore[arg-type]
    assert "http(s) URL" in str(info.value)
