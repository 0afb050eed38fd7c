"""PNG checks that need only the first 24 and the last 12 bytes, so a multi-megabyte image streams past.

An image counts as complete when it starts with the PNG signature and an IHDR chunk (which gives its size)
and ends with the zero-length IEND chunk. :class:`StreamCheck` verifies that, plus the byte count against
``Content-Length`` and the MD5 against ``Content-MD5``, while the body is being written elsewhere.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Final

from airflow_provider_wanxiang.copying.errors import IntegrityError

__all__ = [
    "HEADER_BYTES",
    "MIN_PNG_BYTES",
    "PNG_IEND",
    "PNG_SIGNATURE",
    "PngInfo",
    "StreamCheck",
    "parse_png_header",
]

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
#: The last 12 bytes of every complete PNG: a zero-length IEND chunk and its CRC.
PNG_IEND: Final = b"\x00\x00\x00\x00IEND\xaeB`\x82"
#: Signature (8) + IHDR length (4) + type (4) + width (4) + height (4): enough to know the size.
HEADER_BYTES: Final = 24
MIN_PNG_BYTES: Final = 8 + 25 + 12  # signature + IHDR chunk + IEND chunk


@dataclass(frozen=True, slots=True)
class PngInfo:
    width: int
    height: int


def parse_png_header(head: bytes) -> PngInfo:
    """Width and height from the first 24 bytes of a PNG.

    :raises IntegrityError: when the bytes do not start with the PNG signature and an IHDR chunk.
    """
    if len(head) < 8 or head[:8] != PNG_SIGNATURE:
        raise IntegrityError("the content is not a PNG (bad signature)")
    if len(head) < HEADER_BYTES or head[12:16] != b"IHDR":
        raise IntegrityError("the content is not a valid PNG (no IHDR header)")
    width, height = struct.unpack(">II", head[16:24])
    return PngInfo(width=width, height=height)


class StreamCheck:
    """Verifies a PNG body as it streams past, keeping only the first 24 and the last 12 bytes.

    :meth:`feed` fails early (a bad signature in the first chunk, more bytes than announced) so a wrong body
    is not written out in full; :meth:`finish` runs the checks that need the end. Failures a new download
    may fix (cut short, truncated, wrong MD5) are retryable.
    """

    def __init__(self, expected_length: int | None, expected_md5: bytes | None) -> None:
        self.expected_length = expected_length
        self.expected_md5 = expected_md5
        self.size = 0
        self._head = b""
        self._tail = b""
        self._md5 = hashlib.md5(usedforsecurity=False) if expected_md5 is not None else None

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < HEADER_BYTES:
            self._head += chunk[: HEADER_BYTES - len(self._head)]
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
