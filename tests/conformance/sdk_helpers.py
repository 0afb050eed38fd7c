"""Helpers for the SDK conformance tests (a unique module name: no clash with other conftest files)."""

from __future__ import annotations

import io

from PIL import Image


def png_bytes(width: int = 800, height: int = 600, colour: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    image.paste((250, 200, 20), (width // 3, height // 3, width // 2, height // 2))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
