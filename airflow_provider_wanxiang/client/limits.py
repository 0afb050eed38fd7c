"""Every documented limit of ``wan2.5-i2i-preview`` in one place.

The numbers come from the API reference (create-task body schema and input image constraints). Client-side
validation checks against these before anything is sent, because each submitted task costs money and a
server-side rejection arrives only after a round trip (or, for some checks, as a FAILED task later).
"""

from __future__ import annotations

from typing import Final

SUPPORTED_MODELS: Final = ("wan2.5-i2i-preview",)
"""Models served by the image2image endpoint with this request shape; others use different bodies."""

MAX_PROMPT_CHARS: Final = 2000
"""Longer prompts are truncated by the server, not rejected."""
MAX_NEGATIVE_PROMPT_CHARS: Final = 500
"""Longer negative prompts are truncated by the server, not rejected."""

MIN_IMAGES: Final = 1
MAX_IMAGES: Final = 3

MIN_N: Final = 1
MAX_N: Final = 4

MIN_SEED: Final = 0
MAX_SEED: Final = 2_147_483_647

MIN_OUTPUT_PIXELS: Final = 768 * 768
"""589,824 pixels: the smallest accepted ``size`` (width * height)."""
MAX_OUTPUT_PIXELS: Final = 1280 * 1280
"""1,638,400 pixels: the largest accepted ``size`` (width * height)."""
MAX_ASPECT_RATIO: Final = 4
"""``size`` must lie between 1:4 and 4:1."""

MIN_IMAGE_SIDE_PX: Final = 384
MAX_IMAGE_SIDE_PX: Final = 5000
MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024
"""10 MB per input image (the same 10,485,760 bytes the gateway uses for data URIs)."""
MAX_DATA_URI_CHARS: Final = 10_485_760
"""The gateway's per-item cap on a ``data:`` URI (documented for other models; assumed here)."""

IMAGE_FORMAT_MIME_TYPES: Final = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "BMP": "image/bmp",
    "WEBP": "image/webp",
}
"""Pillow format name → MIME type, for the formats the API accepts."""

DATA_URI_MIME_TYPES: Final = frozenset(IMAGE_FORMAT_MIME_TYPES.values())
