"""Input images: recognise each accepted form, check bytes against the API limits, produce wire strings.

The API takes http(s) URLs, ``data:`` URIs and ``oss://`` temporary URLs. Local files (plain paths or
``file://``) and raw bytes (e.g. read by the Airflow layer from object storage) are checked here and sent as
``data:`` URIs. Checks read only the image *header* with Pillow (``Image.open`` without ``load()``): format
and dimensions are in the first bytes, and decoding a 25-megapixel image just to validate it would waste
seconds and hundreds of megabytes. A file cut short keeps its header, so the container structure is checked
too (:mod:`.image_integrity`: PNG chunks to ``IEND``, JPEG segments to ``EOI``, BMP/WEBP declared sizes),
again without decoding pixels.

Images sent inline become ``data:`` URIs, which the gateway caps at 10,485,760 characters (about 7.5 MiB of
image once base64-encoded); a longer URI is refused here, with the ways out in the message.

Reading (:func:`read_local_image`) is kept apart from checking (:func:`check_image_bytes`), so a caller
that already holds the bytes never touches the file system.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias
from urllib.parse import unquote, urlsplit

from PIL import Image, UnidentifiedImageError

from airflow_provider_wanxiang.client._text import shorten
from airflow_provider_wanxiang.client.errors import WanxiangValidationError
from airflow_provider_wanxiang.client.image_integrity import sniff_format, truncation_problem
from airflow_provider_wanxiang.client.limits import (
    DATA_URI_MIME_TYPES,
    IMAGE_FORMAT_MIME_TYPES,
    MAX_DATA_URI_CHARS,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_SIDE_PX,
    MIN_IMAGE_SIDE_PX,
)

__all__ = [
    "ImageInfo",
    "ImageInput",
    "bytes_to_data_uri",
    "check_image_bytes",
    "normalize_image",
    "read_image_header",
    "read_local_image",
]

ImageInput: TypeAlias = str | bytes | bytearray | memoryview | os.PathLike[str]
"""What callers may pass as one image: a URL/URI/path string, a path object, or the image bytes."""

_ALLOWED_FORMATS = ", ".join(IMAGE_FORMAT_MIME_TYPES)
_ALLOWED_FORMS = "an http(s) URL, a data: URI, an oss:// URL, a local path or file:// URL, or bytes"
_SIDES = f"{MIN_IMAGE_SIDE_PX}-{MAX_IMAGE_SIDE_PX} px per side"
_MAX_SIZE = f"{MAX_IMAGE_BYTES:,} bytes (10 MB)"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DATA_URI = re.compile(r"^data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*?);base64,(?P<payload>.*)$", re.DOTALL)
_FORMAT_ALIASES = {"MPO": "JPEG"}
"""Pillow reports many camera JPEGs (multi-picture) as MPO; the bytes are a valid JPEG."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the header of an image says, plus its size in bytes."""

    format: str
    width: int
    height: int
    size_bytes: int

    @property
    def mime_type(self) -> str | None:
        """The MIME type for a ``data:`` URI, or ``None`` when the API does not accept the format."""
        return IMAGE_FORMAT_MIME_TYPES.get(self.format)


def read_image_header(data: bytes, *, field: str) -> ImageInfo:
    """Identify the image format and dimensions from the header only (pixel data is never decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format = _FORMAT_ALIASES.get(image.format or "", image.format or "unknown")
                width, height = image.size
    except Image.DecompressionBombError as err:
        raise WanxiangValidationError(
            field, data, _SIDES, f"image dimensions are far above the maximum of {_SIDES} ({err})"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        # Some readers (WEBP) need the whole file to read the header: say "truncated" when that is why.
        _check_complete(data, sniff_format(data), field=field)
        raise WanxiangValidationError(
            field,
            data,
            _ALLOWED_FORMATS,
            f"{shorten(data)} is not a readable image "
            f"(allowed formats: {_ALLOWED_FORMATS}; {type(err).__name__})",
        ) from None
    return ImageInfo(format=image_format, width=width, height=height, size_bytes=len(data))


def _check_size_bytes(size_bytes: int, *, field: str, value: object) -> None:
    if size_bytes > MAX_IMAGE_BYTES:
        raise WanxiangValidationError(
            field, value, _MAX_SIZE, f"{size_bytes:,} bytes is above the maximum of {_MAX_SIZE}"
        )


def check_image_bytes(data: bytes, *, field: str) -> ImageInfo:
    """Check image bytes against the API limits: format, complete file, 384-5000 px per side, at most 10 MB.

    :param field: Name used in errors, e.g. ``images[1]``.
    :raises WanxiangValidationError: naming the field, the value and the limit that was broken.
    """
    _check_size_bytes(len(data), field=field, value=data)
    info = read_image_header(data, field=field)
    if info.mime_type is None:
        raise WanxiangValidationError(
            field,
            info.format,
            _ALLOWED_FORMATS,
            f"format {info.format} is not supported (allowed formats: {_ALLOWED_FORMATS})",
        )
    for side, pixels in (("width", info.width), ("height", info.height)):
        if pixels < MIN_IMAGE_SIDE_PX:
            raise WanxiangValidationError(
                field,
                pixels,
                _SIDES,
                f"{side} {pixels} px is below the minimum of {MIN_IMAGE_SIDE_PX} px (allowed: {_SIDES})",
            )
        if pixels > MAX_IMAGE_SIDE_PX:
            raise WanxiangValidationError(
                field,
                pixels,
                _SIDES,
                f"{side} {pixels} px is above the maximum of {MAX_IMAGE_SIDE_PX} px (allowed: {_SIDES})",
            )
    _check_complete(data, info.format, field=field)
    return info


def _check_complete(data: bytes, image_format: str | None, *, field: str) -> None:
    """Refuse a file cut short (its header may be intact): the server answers "Failed to decode"."""
    problem = None if image_format is None else truncation_problem(data, image_format)
    if problem is not None:
        raise WanxiangValidationError(
            field,
            data,
            "a complete image file",
            f"the {image_format} image is truncated or corrupt ({problem}); the server would refuse it "
            "with 'Failed to decode the image'",
        )


def bytes_to_data_uri(data: bytes, *, field: str) -> str:
    """Check image bytes and return them as a ``data:{mime};base64,...`` URI with the detected MIME type.

    :raises WanxiangValidationError: also when the URI would exceed the gateway's cap for data URIs
        (checked before encoding), naming the ways out.
    """
    info = check_image_bytes(data, field=field)
    prefix = f"data:{info.mime_type};base64,"
    length = len(prefix) + 4 * math.ceil(len(data) / 3)
    if length > MAX_DATA_URI_CHARS:
        limit = f"a data: URI of at most {MAX_DATA_URI_CHARS:,} characters"
        raise WanxiangValidationError(
            field,
            data,
            limit,
            f"as a data: URI this {len(data):,}-byte image is {length:,} characters, above the gateway's "
            f"cap of {MAX_DATA_URI_CHARS:,} (about {MAX_DATA_URI_CHARS * 3 // 4:,} bytes of image). Use a "
            "smaller image (e.g. JPEG instead of PNG, or fewer pixels), pass an http(s) URL the service can "
            "fetch, or upload it first with the client's upload_file() (temporary storage, 48 h) and pass "
            "the oss:// URL it returns",
        )
    return prefix + base64.b64encode(data).decode("ascii")


def read_local_image(path: str | os.PathLike[str], *, field: str) -> bytes:
    """Read a local image file, refusing missing files and files above 10 MB before reading them."""
    file_path = Path(path).expanduser()
    if not file_path.is_file():
        problem = "is a directory, not an image file" if file_path.is_dir() else "does not exist"
        raise WanxiangValidationError(
            field, str(path), "an existing local image file", f"local file {str(path)!r} {problem}"
        )
    _check_size_bytes(file_path.stat().st_size, field=field, value=str(path))
    return file_path.read_bytes()


def _file_url_path(url: str) -> str:
    """The local path inside a ``file://`` URL (absolute ``file:///a/b`` or relative ``file://a/b``)."""
    path = url[len("file://") :]
    if path.startswith("localhost/"):
        path = path[len("localhost") :]
    if not Path(path).expanduser().exists() and "%" in path:
        path = unquote(path)
    return path


def _check_http_url(url: str, *, field: str) -> str:
    parts = urlsplit(url)
    if not parts.netloc or not parts.hostname or any(char.isspace() for char in url):
        raise WanxiangValidationError(
            field, url, "a well-formed http(s) URL", f"{shorten(url)!r} is not a well-formed http(s) URL"
        )
    return url


def _data_uri_to_data_uri(uri: str, *, field: str) -> str:
    match = _DATA_URI.match(uri)
    if not match:
        raise WanxiangValidationError(
            field,
            uri,
            "data:{mime};base64,{data}",
            f"{shorten(uri)!r} is not a base64 data URI (expected data:{{mime}};base64,{{data}})",
        )
    mime = match["mime"].strip().lower()
    if mime not in DATA_URI_MIME_TYPES:
        allowed = ", ".join(sorted(DATA_URI_MIME_TYPES))
        raise WanxiangValidationError(
            field,
            mime,
            allowed,
            f"data URI MIME type {mime or '(empty)'!r} is not supported (allowed: {allowed})",
        )
    payload = "".join(match["payload"].split())
    if len(payload) // 4 * 3 > MAX_IMAGE_BYTES + 2:
        raise WanxiangValidationError(
            field,
            uri,
            _MAX_SIZE,
            f"data URI holds about {len(payload) // 4 * 3:,} bytes, above the maximum of {_MAX_SIZE}",
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise WanxiangValidationError(
            field, uri, "valid base64", f"the payload of data URI {shorten(uri)!r} is not valid base64"
        ) from None
    # Re-encoding normalises whitespace and labels the URI with the MIME type the bytes actually have.
    return bytes_to_data_uri(data, field=field)


def normalize_image(source: ImageInput, *, field: str) -> str:
    """Check one input image and return the string to send.

    - http(s) URL: syntax only (fetching is the server's job, and may need credentials we don't have);
    - ``data:`` URI: MIME type in the allowed set, payload decodes, then the same checks as bytes;
    - ``oss://`` URL: passed through (a temporary upload; the create call asks the server to resolve it);
    - local path or ``file://`` URL: must exist, then read and checked as bytes;
    - bytes: checked (format, 384-5000 px per side, at most 10 MB) and sent as a ``data:`` URI.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes_to_data_uri(bytes(source), field=field)
    if isinstance(source, os.PathLike):
        return bytes_to_data_uri(read_local_image(source, field=field), field=field)
    if not isinstance(source, str):
        raise WanxiangValidationError(
            field, type(source).__name__, _ALLOWED_FORMS, f"{type(source).__name__} is not {_ALLOWED_FORMS}"
        )
    text = source.strip()
    if not text:
        raise WanxiangValidationError(
            field, source, _ALLOWED_FORMS, f"an empty string is not {_ALLOWED_FORMS}"
        )
    if text[:5].lower() == "data:":
        return _data_uri_to_data_uri(text, field=field)
    scheme_match = _SCHEME.match(text)
    scheme = scheme_match.group(1).lower() if scheme_match else None
    if scheme in ("http", "https"):
        return _check_http_url(text, field=field)
    if scheme == "oss":
        if len(text) <= len("oss://"):
            raise WanxiangValidationError(field, source, "oss://bucket/key", f"{text!r} names no object")
        return text
    if scheme == "file":
        return bytes_to_data_uri(read_local_image(_file_url_path(text), field=field), field=field)
    if scheme is not None:
        raise WanxiangValidationError(
            field,
            text,
            _ALLOWED_FORMS,
            f"URL scheme {scheme}:// is not supported here (use {_ALLOWED_FORMS}; object storage such as "
            "s3:// is read by the Airflow operator and passed in as bytes)",
        )
    return bytes_to_data_uri(read_local_image(text, field=field), field=field)
