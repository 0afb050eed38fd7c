"""Small, real test images made with Pillow (no binary fixtures in the repository).

The one place tests make images: solid/banded pictures in any format, incompressible ones (to reach byte
limits), header-only PNGs (to claim sizes without the pixels), and data-URI encoding/decoding.
"""

from __future__ import annotations

import base64
import io
import os
import struct
import zlib

from PIL import Image

#: The MIME type of each format Pillow names.
MIME = {fmt: f"image/{fmt.lower()}" for fmt in ("PNG", "JPEG", "WEBP", "BMP", "GIF")}


def png_bytes(width: int = 640, height: int = 480, color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """A solid-colour PNG with a gradient band, so outputs derived from it are visibly different."""
    image = Image.new("RGB", (width, height), color)
    for x in range(0, width, max(1, width // 16)):
        image.paste((x * 255 // max(1, width), 120, 200), (x, 0, min(width, x + 4), height))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_data_uri(width: int, height: int, color: tuple[int, int, int] = (200, 80, 40)) -> str:
    return data_uri(png_bytes(width, height, color))


def image_bytes(fmt: str, width: int, height: int, *, mode: str = "RGB", **save_options: object) -> bytes:
    """The same picture as :func:`png_bytes` in another format (``JPEG``, ``BMP``, ``WEBP``, ``GIF``, ...).

    ``mode`` converts it first (e.g. ``"L"`` for greyscale, ``"RGBA"``) to reach format/mode combinations.
    """
    with Image.open(io.BytesIO(png_bytes(width, height))) as image:
        buffer = io.BytesIO()
        image.convert(mode).save(buffer, format=fmt, **save_options)
    return buffer.getvalue()


def noisy_png(width: int, height: int) -> bytes:
    """Random pixels: PNG cannot compress them, so the file size grows with the area (for byte limits)."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` and stops where the pixel data starts.

    For limits a real image of that size would be too slow or too big to make (e.g. a decompression bomb).
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    signature = b"\x89PNG\r\n\x1a\n"
    header = signature + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return header + struct.pack(">I", 1 << 20) + b"IDAT" + b"\x78\x9c"


def data_uri(data: bytes, mime: str = "image/png") -> str:
    """``data:<mime>;base64,...`` of ``data`` (the mime is not checked: tests also send lying ones)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def decode_data_uri(uri: str) -> tuple[str, bytes]:
    """``(mime, bytes)`` of a base64 data URI, asserting it is one."""
    head, _, payload = uri.partition(",")
    assert head.startswith("data:") and head.endswith(";base64"), head
    return head[5 : -len(";base64")], base64.b64decode(payload)


def open_image(data: bytes, fmt: str = "PNG") -> Image.Image:
    """Decode ``data`` with Pillow, asserting it is a ``fmt`` image."""
    image = Image.open(io.BytesIO(data))
    assert image.format == fmt, image.format
    return image
