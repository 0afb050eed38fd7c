"""A misbehaving HTTP server on loopback: drips, floods, gzip bombs, and (optionally) forwards the rest.

Written on raw asyncio streams rather than aiohttp.web because one mode must trickle the *headers* (the
status line, then one header byte at a time), which no HTTP server framework lets a handler do. It runs on
its own event loop in a daemon thread so that sync clients, async clients and Airflow code can all use it.

Modes (``server.mode``), applied to every request unless ``only`` restricts them to matching requests
(the others are forwarded to ``upstream``, e.g. the emulator):

- ``drip_body``: a 200 with ``Content-Length: 100000``, then one body byte every ``interval`` seconds;
- ``drip_headers``: ``HTTP/1.1 200 OK``, then one byte of a never-ending header every ``interval`` seconds;
- ``big``: a 200 JSON-ish body of ``big_bytes`` bytes, with ``Content-Length`` when ``announce`` is set,
  else until the connection closes;
- ``gzip_bomb``: ``Content-Encoding: gzip`` whose ``bomb_bytes`` of zeros compress to a few hundred KB;
- ``json``: ``status`` with ``payload`` as JSON (e.g. an error whose message is 100 KB long), gzipped
  when ``compress`` is set;
- ``forward``: relay to ``upstream`` untouched.

It counts requests (``requests``: (method, path) pairs) and body bytes it managed to write
(``bytes_sent``), so tests can assert how far a client let a misbehaving answer get.
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import json
import re
import threading
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

_MAX_DRIPS = 600  # a safety net: no test waits this long


@functools.lru_cache(maxsize=2)
def gzip_bomb(decoded_bytes: int) -> bytes:
    """``decoded_bytes`` zeros, gzip-compressed chunk by chunk (never all in memory at once)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(decoded_bytes // len(chunk))]
    parts.append(compressor.flush())
    return b"".join(parts)


class HostileServer:
    def __init__(self) -> None:
        self.mode = "json"
        self.only: Callable[[str, str], bool] | None = None
        self.interval = 0.5
        self.big_bytes = 50 * 1024 * 1024
        self.announce = False
        self.bomb_bytes = 300 * 1024 * 1024
        self.status = 200
        self.payload: Any = {"output": {}}
        self.compress = False
        self.upstream: str | None = None
        self.requests: list[tuple[str, str]] = []
        self.bytes_sent = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        assert self._server is not None
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.url + "/api/v1"

    def reset(self, mode: str = "json", **settings: Any) -> None:
        self.mode, self.only = mode, None
        self.requests.clear()
        self.bytes_sent = 0
        for name, value in settings.items():
            setattr(self, name, value)

    def close(self) -> None:
        def stop() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.call_later(0.1, self._loop.stop)

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(5)

    # -- the server -------------------------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, limit=1 << 20)
        )
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                path = urlsplit(target).path
                self.requests.append((method, path))
                hostile = self.only is None or self.only(method, path)
                mode = self.mode if hostile else "forward"
                if not await self._respond(mode, method, target, headers, body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # close() cancels handlers still dripping: end them quietly
            pass
        finally:
            writer.close()

    async def _write(self, writer: asyncio.StreamWriter, data: bytes, *, body: bool = True) -> None:
        writer.write(data)
        await writer.drain()
        if body:
            self.bytes_sent += len(data)

    async def _respond(
        self,
        mode: str,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Answer one request; whether the connection may serve another."""
        if mode == "drip_body":
            await self._write(
                writer,
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
                body=False,
            )
            await self._drip(writer, b"{" + b" " * 99_999)
            return False
        if mode == "drip_headers":
            await self._write(writer, b"HTTP/1.1 200 OK\r\nX-Slow: ", body=False)
            await self._drip(writer, b"a" * _MAX_DRIPS, body=False)
            return False
        if mode == "big":
            head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            head += f"Content-Length: {self.big_bytes}\r\n" if self.announce else "Connection: close\r\n"
            await self._write(writer, head.encode() + b"\r\n", body=False)
            chunk = b'{"x": "' + b"a" * (1024 * 1024 - 7)
            sent = 0
            while sent < self.big_bytes:
                piece = chunk[: self.big_bytes - sent]
                await self._write(writer, piece)
                sent += len(piece)
            return False
        if mode == "gzip_bomb":
            data = gzip_bomb(self.bomb_bytes)
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                f"Content-Length: {len(data)}\r\n\r\n"
            )
            await self._write(writer, head.encode(), body=False)
            await self._write(writer, data)
            return True
        if mode == "json":
            data = json.dumps(self.payload).encode()
            answer_headers = {"Content-Type": "application/json"}
            if self.compress:
                compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
                data = compressor.compress(data) + compressor.flush()
                answer_headers["Content-Encoding"] = "gzip"
            await self._send(writer, self.status, "OK", answer_headers, data)
            return True
        return await self._forward(method, target, headers, body, writer)

    async def _drip(self, writer: asyncio.StreamWriter, data: bytes, *, body: bool = True) -> None:
        for index in range(min(len(data), _MAX_DRIPS)):
            await self._write(writer, data[index : index + 1], body=body)
            await asyncio.sleep(self.interval)

    async def _send(
        self, writer: asyncio.StreamWriter, status: int, reason: str, headers: dict[str, str], data: bytes
    ) -> None:
        head = f"HTTP/1.1 {status} {reason}\r\n"
        for name, value in headers.items():
            head += f"{name}: {value}\r\n"
        head += f"Content-Length: {len(data)}\r\n\r\n"
        await self._write(writer, head.encode("latin-1"), body=False)
        await self._write(writer, data)

    async def _forward(
        self, method: str, target: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        assert self.upstream, "forward mode needs an upstream"
        path = urlsplit(target)._replace(scheme="", netloc="").geturl()
        upstream = urlsplit(self.upstream)

        def call() -> tuple[int, str, list[tuple[str, str]], bytes]:
            connection = http.client.HTTPConnection(upstream.hostname or "", upstream.port, timeout=30)
            try:
                skip = {"host", "connection", "content-length", "proxy-authorization"}
                sent = {name: value for name, value in headers.items() if name not in skip}
                connection.request(method, path, body=body or None, headers=sent)
                response = connection.getresponse()
                return response.status, response.reason, response.getheaders(), response.read()
            finally:
                connection.close()

        status, reason, answer_headers, data = await asyncio.to_thread(call)
        drop = re.compile(r"(?i)^(content-length|transfer-encoding|connection)$")
        relayed = {name: value for name, value in answer_headers if not drop.match(name)}
        await self._send(writer, status, reason, relayed, data)
        return True
