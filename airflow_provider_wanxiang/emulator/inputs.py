"""Fetching input images the way the service does: data URIs, http(s) downloads and ``oss://`` temp files.

The real service downloads http(s) inputs itself, so the emulator does too (tests serve images on
loopback): a client that sends an unreachable or private URL gets the same 400 it would get remotely.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

import aiohttp

from airflow_provider_wanxiang.emulator import catalog
from airflow_provider_wanxiang.emulator.catalog import ApiError, invalid
from airflow_provider_wanxiang.emulator.validation import IMAGE_BYTES_MAX

DATA_URI_MIME_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/bmp", "image/webp"})
_DATA_URI = re.compile(r"^data:(?P<mime>[^;,]*)(?P<params>(;[^;,]*)*?);base64,(?P<data>.*)$", re.DOTALL)

OssResolver = Callable[[str], "bytes | None"]


async def load_image(
    ref: str,
    *,
    session: aiohttp.ClientSession,
    download_timeout: float,
    data_uri_max_bytes: int,
    oss_resolve_enabled: bool,
    resolve_oss: OssResolver,
) -> bytes:
    """The raw bytes of one ``input.images`` entry, or the ``ApiError`` the service would answer."""
    if ref.startswith("data:"):
        return decode_data_uri(ref, data_uri_max_bytes)
    lowered = ref.lower()
    if lowered.startswith(("http://", "https://")):
        return await download(ref, session, download_timeout)
    if lowered.startswith("oss://"):
        if not oss_resolve_enabled:
            raise ApiError(400, "InvalidParameter.DataInspection", catalog.DOWNLOAD_UNABLE)
        data = resolve_oss(ref)
        if data is None:
            raise invalid(catalog.DOWNLOAD_FAILED)
        return data
    raise ApiError(400, "InvalidURL", catalog.INVALID_URL)


def decode_data_uri(ref: str, max_bytes: int) -> bytes:
    """``data:{mime};base64,{data}`` with an image MIME type; the item is capped at ``max_bytes``."""
    if len(ref) > max_bytes:
        raise invalid(catalog.DATA_URI_TOO_LARGE.format(limit=max_bytes))
    match = _DATA_URI.match(ref)
    if match is None:
        raise invalid(catalog.FORMAT_UNSUPPORTED)
    if match.group("mime").strip().lower() not in DATA_URI_MIME_TYPES:
        raise invalid(catalog.FORMAT_UNSUPPORTED)
    payload = re.sub(r"\s+", "", match.group("data"))
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(catalog.DECODE_FAILED) from None


async def download(url: str, session: aiohttp.ClientSession, timeout: float) -> bytes:
    """GET an input; 4xx/5xx, network errors and bodies over 10 MB are rejected like the service does."""
    try:
        async with session.get(
            url, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=True
        ) as resp:
            if resp.status in (401, 403):
                raise invalid(catalog.DOWNLOAD_FORBIDDEN)
            if resp.status != 200:
                raise invalid(catalog.DOWNLOAD_FAILED)
            body = bytearray()
            async for chunk in resp.content.iter_chunked(1 << 16):
                body += chunk
                if len(body) > IMAGE_BYTES_MAX:  # stop reading: never buffer an unbounded body
                    raise invalid(catalog.IMAGE_SIZE_UNSUPPORTED)
            return bytes(body)
    except TimeoutError:
        raise invalid(catalog.DOWNLOAD_TIMEOUT) from None
    except (aiohttp.ClientError, ValueError, OSError):
        raise invalid(catalog.DOWNLOAD_FAILED) from None
