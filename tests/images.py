"""Small, real test images made with Pillow (no binary fixtures in the repository)."""

from __future__ import annotations

import base64
import io

from PIL import Image


def png_bytes(width: int, height: int, color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """A solid-colour PNG with a gradient band, so outputs derived from it are visibly different."""
    image = Image.new("RGB", (width, height), color)
    for x in range(0, width, max(1, width // 16)):
        image.paste((x * 255 // max(1, width), 120, 200), (x, 0, min(width, x + 4), height))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_data_uri(width: int, height: int) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(width, height)).decode()


def image_bytes(fmt: str, width: int, height: int, **save_options: object) -> bytes:
    """The same picture as :func:`png_bytes` in another format (``JPEG``, ``BMP``, ``WEBP``, ``PNG``)."""
    with Image.open(io.BytesIO(png_bytes(width, height))) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format=fmt, **save_options)
    return buffer.getvalue()
