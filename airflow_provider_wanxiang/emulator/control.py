"""``/_emulator/*``: unauthenticated control endpoints for tests and benchmarks.

They never count as API traffic, are never delayed or faulted, and let a test inspect (stats), steer
(config, faults) and clean (reset) a running emulator over plain HTTP, from any process.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from airflow_provider_wanxiang.emulator.api import CORE
from airflow_provider_wanxiang.emulator.config import ConfigError
from airflow_provider_wanxiang.emulator.faults import parse_fault


def _json(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(payload), content_type="application/json")


async def _body(request: web.Request) -> Any:
    try:
        return json.loads(await request.text() or "{}")
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "body must be JSON"}', content_type="application/json"
        ) from None


async def health(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    return _json({"status": "ok", "url": core.bound_url, "tasks": len(core.tasks.tasks)})


async def stats(request: web.Request) -> web.StreamResponse:
    return _json(request.app[CORE].stats_snapshot())


async def reset(request: web.Request) -> web.StreamResponse:
    request.app[CORE].reset()
    return _json({"status": "reset"})


async def get_config(request: web.Request) -> web.StreamResponse:
    return _json(request.app[CORE].config.live_view())


async def set_config(request: web.Request) -> web.StreamResponse:
    changes = await _body(request)
    if not isinstance(changes, dict):
        return _json({"error": "body must be a JSON object of knobs"}, 400)
    try:
        return _json(request.app[CORE].configure(changes))
    except ConfigError as exc:
        return _json({"error": str(exc)}, 400)


async def add_faults(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    core = request.app[CORE]
    try:
        if not isinstance(body, dict) or not isinstance(body.get("faults"), list):
            raise ValueError('body must be {"route": ..., "faults": [...]}')
        faults = [parse_fault(item) for item in body["faults"]]
        core.faults.push(str(body.get("route", "")), faults)
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"pending": core.faults.pending()})


async def list_faults(request: web.Request) -> web.StreamResponse:
    return _json({"pending": request.app[CORE].faults.pending()})


async def clear_faults(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    core.faults.reset_queues()
    return _json({"pending": core.faults.pending()})
