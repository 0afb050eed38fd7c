"""Is the image file complete? Cheap structural checks per accepted format, without decoding pixels.

A file cut short (an interrupted download, a half-written upload) keeps an intact header, so Pillow's
header read accepts it; the server then answers 400 "Failed to decode the image" — after the round trip,
or as a FAILED task. Decoding every input fully would catch it but costs seconds and hundreds of MB for a
25-megapixel image, so each format's *container* is checked instead, in time linear in the file's
structure and with no extra memory:

- **PNG**: walk the chunk list (length, type, CRC) from the signature to ``IEND``; every chunk must fit.
- **JPEG**: walk the marker segments (their lengths) and the entropy-coded scans (to the next real marker)
  up to the ``EOI`` marker; bytes after ``EOI`` (camera trailers, MPO's further pictures) are allowed.
- **BMP**: the pixel array must fit: ``bfOffBits`` plus the rows (uncompressed) or ``biSizeImage`` /
  ``bfSize`` (compressed) must not exceed the length.
- **WEBP**: the RIFF size in the header must not exceed the length.

What this does not catch: corruption *inside* compressed data of the right length (a bit flip). That needs
a full decode and is left to the server.
"""

from __future__ import annotations

import struct

__all__ = ["sniff_format", "truncation_problem"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0-7 carry no length
_SOS, _EOI = 0xDA, 0xD9


def sniff_format(data: bytes) -> str | None:
    """The accepted format ``data`` starts like, from its magic bytes (for files Pillow cannot even open)."""
    if data.startswith(_PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"BM"):
        return "BMP"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def truncation_problem(data: bytes, image_format: str) -> str | None:
    """Why ``data`` (already identified as ``image_format`` by its header) is incomplete, or ``None``."""
    check = _CHECKS.get(image_format)
    return None if check is None else check(data)


def _png(data: bytes) -> str | None:
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, chunk_type = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length  # length, type, data, CRC
        if end > len(data):
            return (
                f"PNG chunk {chunk_type.decode('latin-1')!r} at byte {pos:,} needs {end:,} bytes, "
                f"the file has {len(data):,}"
            )
        if chunk_type == b"IEND":
            return None
        pos = end
    return f"the PNG ends after {len(data):,} bytes without its IEND chunk"


def _jpeg(data: bytes) -> str | None:
    size = len(data)
    pos = 2  # after SOI
    while pos < size:
        if data[pos] != 0xFF:
            return f"the JPEG has no marker at byte {pos:,} (the structure is broken)"
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            break
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            return None
        if marker in _JPEG_STANDALONE:
            continue
        if pos + 2 > size:
            break
        (length,) = struct.unpack_from(">H", data, pos)
        pos += length
        if pos > size:
            break
        if marker == _SOS:
            pos = _end_of_scan(data, pos)
    return f"the JPEG ends after {size:,} bytes without its end-of-image marker (FFD9)"


def _end_of_scan(data: bytes, pos: int) -> int:
    """The position of the first real marker after entropy-coded data (``FF00`` and ``RSTn`` belong to it)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data)
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def _bmp(data: bytes) -> str | None:
    if len(data) < 30:
        return f"the BMP has only {len(data):,} bytes"
    file_size, pixel_offset, header_size = struct.unpack_from("<I4xII", data, 2)
    if header_size == 12:  # OS/2 BITMAPCOREHEADER: never compressed
        width, height, _, bits = struct.unpack_from("<hhHH", data, 18)
        compression, image_size = 0, 0
    elif len(data) >= 38:
        width, height, _, bits, compression, image_size = struct.unpack_from("<iiHHII", data, 18)
    else:
        return f"the BMP has only {len(data):,} bytes"
    if compression in (0, 3, 6):  # BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS: rows of a fixed size
        needed = pixel_offset + (bits * abs(width) + 31) // 32 * 4 * abs(height)
    else:  # RLE and embedded JPEG/PNG: the declared sizes are all there is (writers may leave them 0)
        needed = pixel_offset + image_size if image_size else file_size
    if needed > len(data):
        return f"the BMP needs {needed:,} bytes for its pixels, the file has {len(data):,}"
    return None


def _webp(data: bytes) -> str | None:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 > len(data):
        return f"the WEBP declares {riff_size + 8:,} bytes, the file has {len(data):,}"
    return None


_CHECKS = {"PNG": _png, "JPEG": _jpeg, "BMP": _bmp, "WEBP": _webp}
