"""Every documented limit of ``wan2.5-i2i-preview`` in one place.

The numbers come from the API reference (create-task body schema and input image constraints). Client-side
validation checks against these before anything is sent, because each submitted task costs money and a
server-side rejection arrives only after a round trip (or, for some checks, as a FAILED task later).
"""

from __future__ import annotations

from datetime import timedelta, timezone
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

MAX_RESPONSE_BYTES: Final = 1024 * 1024
"""1 MiB: the largest API answer either transport reads, counted in *decoded* bytes while reading.

The largest real answers are a few tens of KB: a list page of 100 tasks (~0.4 KB each) or a task with four
results, each a ~1 KB signed URL plus a prompt of up to 2,000 characters and its longer extended version.
1 MiB leaves more than 20x headroom, and a 50 MB body or a gzip bomb (a small compressed body that inflates
to hundreds of MB) ends as :class:`~airflow_provider_wanxiang.client.errors.ResponseTooLargeError` after at
most this many decoded bytes, instead of filling a worker's or the triggerer's memory."""

MAX_SERVER_TEXT_CHARS: Final = 500
"""Longest server-sent text (error ``message``/``code``, a task's ``message``, a request id) kept in
exceptions, logs, XCom and trigger events; longer text is cut with a marker (see ``_text.server_text``).
Real messages are one sentence; a gateway's HTML error page is not worth more than this."""

BEIJING: Final = timezone(timedelta(hours=8), "UTC+08:00")
"""The server's clock: task times are Beijing time without a zone marker, and list filters are read so."""
MAX_LIST_WINDOW: Final = timedelta(hours=24)
"""``GET /tasks``: ``end_time`` at most 24 h after ``start_time``."""
LIST_TIME_FORMAT: Final = "%Y%m%d%H%M%S"
"""``GET /tasks``: how ``start_time``/``end_time`` are written (Beijing time)."""
