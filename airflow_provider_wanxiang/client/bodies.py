"""Response bodies read with a size cap on the *decoded* bytes, the same way in both transports.

Neither ``requests`` nor ``aiohttp`` is allowed to decompress for us: either would inflate a whole
compressed chunk at once, so a 64 KB gzip chunk of zeros becomes 64 MB before any check could run. Both
transports instead hand the raw bytes as they arrive to a :class:`BoundedBody`, which inflates with
``zlib``'s ``max_length`` so that it never holds more than the cap (plus one read) and fails as soon as the
cap is passed. Sans-IO: no sockets here, only bytes in and bytes (or an error) out.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from airflow_provider_wanxiang.client._text import server_text
from airflow_provider_wanxiang.client.errors import MalformedResponseError, ResponseTooLargeError
from airflow_provider_wanxiang.client.limits import MAX_RESPONSE_BYTES

__all__ = ["ACCEPT_ENCODING", "READ_CHUNK_BYTES", "BoundedBody"]

ACCEPT_ENCODING = "gzip, deflate"
"""What both transports announce: the encodings :class:`BoundedBody` can inflate within its cap."""
READ_CHUNK_BYTES = 64 * 1024
"""How much raw body a transport reads at a time."""

_IDENTITY = frozenset({"", "identity"})
# 32 + MAX_WBITS: zlib detects a gzip or a zlib header by itself ("deflate" is zlib-wrapped per RFC 9110).
_AUTO_HEADER = 32 + zlib.MAX_WBITS


class BoundedBody:
    """Collects one response body, decoding ``gzip``/``deflate``, and raises once it passes ``limit``.

    :param headers: The response headers (``Content-Encoding`` and ``Content-Length`` are read).
    :param where: What the message names (``GET /tasks/…``), never a URL with a signature.
    :param limit: Most decoded bytes accepted.
    :param http_status: Carried into the error.
    """

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        where: str,
        limit: int = MAX_RESPONSE_BYTES,
        http_status: int | None = None,
    ) -> None:
        self._where = where
        self._limit = limit
        self._http_status = http_status
        self._parts: list[bytes] = []
        self.decoded_bytes = 0
        """Decoded bytes kept so far (at most ``limit`` + one read): what the tests check."""
        lowered = {key.lower(): value for key, value in headers.items()}
        encoding = lowered.get("content-encoding", "").strip().lower()
        if encoding not in _IDENTITY and encoding not in ("gzip", "x-gzip", "deflate"):
            raise MalformedResponseError(
                f"{where}: unsupported Content-Encoding {server_text(encoding, 40)!r} "
                f"(asked for {ACCEPT_ENCODING})",
                http_status=http_status,
            )
        self._inflater = zlib.decompressobj(_AUTO_HEADER) if encoding not in _IDENTITY else None
        announced = lowered.get("content-length", "").strip()
        if self._inflater is None and announced.isdigit() and int(announced) > limit:
            raise ResponseTooLargeError(
                f"{where}: the response announces {int(announced):,} bytes, more than the "
                f"{limit:,}-byte cap for API answers; nothing was read",
                http_status=http_status,
            )

    def feed(self, raw: bytes) -> None:
        """Add raw (still encoded) bytes as they arrive; raises as soon as the decoded size passes the cap."""
        if self._inflater is None:
            self._keep(raw)
            return
        data = raw
        while data:
            try:
                # Never inflate more than what still fits (+1 to detect the overflow).
                out = self._inflater.decompress(data, self._limit - self.decoded_bytes + 1)
            except zlib.error as err:
                raise MalformedResponseError(
                    f"{self._where}: the compressed response is corrupt ({err})",
                    http_status=self._http_status,
                ) from None
            self._keep(out)
            data = self._inflater.unconsumed_tail

    def finish(self) -> bytes:
        """The whole decoded body (call once the transport has read everything)."""
        if self._inflater is not None:
            try:
                self._keep(self._inflater.flush())
            except zlib.error as err:
                raise MalformedResponseError(
                    f"{self._where}: the compressed response is corrupt ({err})",
                    http_status=self._http_status,
                ) from None
        return b"".join(self._parts)

    def _keep(self, data: bytes) -> None:
        if not data:
            return
        self.decoded_bytes += len(data)
        if self.decoded_bytes > self._limit:
            self._parts.clear()
            raise ResponseTooLargeError(
                f"{self._where}: the response is larger than the {self._limit:,}-byte cap for API answers "
                f"(stopped after {self.decoded_bytes:,} decoded bytes)",
                http_status=self._http_status,
            )
        self._parts.append(data)
