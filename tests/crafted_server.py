"""A tiny DashScope look-alike on loopback that answers exactly the JSON a test hands it.

The emulator only ever answers well-formed bodies; proving that the clients check answers instead of
trusting them needs a server that says what a broken gateway would say (an answer about another task, a
``results`` string, ``usage: "lots"``). Real HTTP on 127.0.0.1 in a daemon thread with its own event loop,
so the blocking client, the async client and a trigger can all talk to it; it counts requests per route.
"""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

#: What a route answers: a JSON body, or a function of the request (path, query) giving one.
Answer = Any | Callable[[web.Request], Any]


def route_of(request: web.Request) -> str:
    path = request.path
    if path.endswith("/image-synthesis"):
        return "create"
    if path.rstrip("/") == "/api/v1/tasks":
        return "list"
    if path.startswith("/api/v1/tasks/"):
        return "cancel" if path.endswith("/cancel") else "get"
    if path.startswith("/api/v1/uploads"):
        return "upload_policy"
    return "other"


class CraftedServer:
    """Answers ``answers[route]`` with HTTP 200 (an unknown route: 404); use it as a context manager."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: collections.Counter[str] = collections.Counter()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.base_url = self.url + "/api/v1"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        route = route_of(request)
        self.requests[route] += 1
        if route not in self.answers:
            return web.json_response({"code": "InvalidURL", "message": "no such route"}, status=404)
        answer = self.answers[route]
        body = answer(request) if callable(answer) else answer
        if isinstance(body, dict):
            body = {"request_id": str(uuid.uuid4()), **body}
        return web.Response(text=json.dumps(body), content_type="application/json")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    def __enter__(self) -> CraftedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
