"""The aiohttp application: routes, and one middleware for request ids, latency, faults and errors.

Route *names* double as fault-injection routes (``create``, ``get``, ...), so the scripted-fault control
endpoint and the router agree on vocabulary by construction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from airflow_provider_wanxiang.emulator import api, control, oss
from airflow_provider_wanxiang.emulator.api import AFTER_ENQUEUE_FAULT, CORE, DropConnection
from airflow_provider_wanxiang.emulator.catalog import ApiError
from airflow_provider_wanxiang.emulator.config import EmulatorConfig
from airflow_provider_wanxiang.emulator.core import EmulatorCore
from airflow_provider_wanxiang.emulator.faults import Fault
from airflow_provider_wanxiang.emulator.responses import error_response, new_request_id, oss_error_response

API = "/api/v1"
CREATE_PATH = f"{API}/services/aigc/image2image/image-synthesis"
T2I_PATH = f"{API}/services/aigc/text2image/image-synthesis"
#: Three 10 MB data URIs plus JSON, or one 100 MB temp upload, must fit.
CLIENT_MAX_SIZE = 110 * 1024 * 1024

#: Router name → fault route. Control endpoints are absent: never faulted, delayed or counted.
FAULT_ROUTES = {
    "create": "create",
    "text2image": "create",
    "create_method": "create",
    "get": "get",
    "cancel": "cancel",
    "list": "list",
    "list_slash": "list",
    "upload_policy": "upload_policy",
    "upload": "upload",
    "result": "result",
    "unknown_api": "",
}
OSS_ROUTES = frozenset({"upload", "result"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def emulate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Everything the routes share: ids, counting, latency, injected faults, error envelopes."""
    new_request_id()
    AFTER_ENQUEUE_FAULT.set(None)  # keep-alive requests may share one task (and context)
    route_name = request.match_info.route.name or ""
    core = request.app[CORE]
    if route_name not in FAULT_ROUTES:
        core.stats.other_requests += 1
        return await handler(request)
    core.stats.requests += 1
    core.stats.saw_connection(request.transport)
    fault_route = FAULT_ROUTES[route_name]
    is_oss = route_name in OSS_ROUTES
    fault = _pick_fault(core, fault_route) if fault_route else None
    if fault is not None and fault.delay:
        if not fault.answers:
            core.stats.slowed_by_route[fault_route] += 1
        await asyncio.sleep(fault.delay)
    if core.config.latency:
        await asyncio.sleep(core.config.latency)
    if fault is not None and fault.cut:
        core.stats.faults_injected += 1
        core.stats.faults_by_route[fault_route] += 1
        return await _cut_answer(request, await handler(request))
    if fault is not None and fault.answers:
        if fault.after_enqueue and fault_route == "create":
            AFTER_ENQUEUE_FAULT.set(fault)
        else:
            core.stats.faults_injected += 1
            core.stats.faults_by_route[fault_route] += 1
            return _fault_answer(request, fault, is_oss)
    try:
        return await handler(request)
    except DropConnection:
        return _drop(request)
    except ApiError as exc:
        core.stats.rejected[exc.code] += 1
        return error_response(request, exc.status, exc.code, exc.message, exc.headers)


def _pick_fault(core: EmulatorCore, route: str) -> Fault | None:
    scripted = core.faults.next_scripted(route)
    if scripted is not None:
        return scripted
    config = core.config
    return core.faults.random_fault(
        route,
        config.fault_rate,
        config.retry_after,
        slow_seconds=config.fault_slow_seconds,
        download_rate=config.download_fault_rate,
    )


async def _cut_answer(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Send ``response``'s status, headers and the first half of its body, then reset the connection.

    What a transfer cut by the network looks like to the client: a ``Content-Length`` it never receives in
    full. An answer without a body (an error) is sent whole: there is nothing to cut.
    """
    body = response.body if isinstance(response, web.Response) else None
    if not isinstance(body, bytes) or len(body) < 2:
        return response
    partial = web.StreamResponse(status=response.status, headers=response.headers)
    partial.content_length = len(body)
    await partial.prepare(request)
    await partial.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.close()
    return partial


def _fault_answer(request: web.Request, fault: Fault, is_oss: bool) -> web.StreamResponse:
    if fault.drop:
        return _drop(request)
    assert fault.status is not None
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    if is_oss:
        response = oss_error_response(request, fault.status, fault.error_code(), fault.error_message())
        response.headers.update(headers)
        return response
    return error_response(request, fault.status, fault.error_code(), fault.error_message(), headers)


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the socket with no answer at all (the client sees a reset / disconnect)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)  # never reaches the client: the transport is closed


async def _open_session(app: web.Application) -> None:
    app[CORE].session = aiohttp.ClientSession(headers={"User-Agent": "wanxiang-emulator/1 (input fetcher)"})


async def _close_session(app: web.Application) -> None:
    session = app[CORE].session
    if session is not None:
        await session.close()


def build_app(config: EmulatorConfig | None = None, core: EmulatorCore | None = None) -> web.Application:
    """The emulator as an ``aiohttp.web.Application`` (``core`` lets a caller keep a handle on state)."""
    core = core or EmulatorCore(config or EmulatorConfig())
    app = web.Application(middlewares=[emulate], client_max_size=CLIENT_MAX_SIZE)
    app[CORE] = core
    app.on_startup.append(_open_session)
    app.on_cleanup.append(_close_session)
    router = app.router
    router.add_post(CREATE_PATH, api.create_task, name="create")
    router.add_route("*", CREATE_PATH, api.method_not_supported, name="create_method")
    router.add_post(T2I_PATH, api.text2image_misuse, name="text2image")
    router.add_get(f"{API}/tasks", api.list_tasks, name="list")
    router.add_get(f"{API}/tasks/", api.list_tasks, name="list_slash")
    router.add_get(f"{API}/tasks/{{task_id}}", api.get_task, name="get")
    router.add_post(f"{API}/tasks/{{task_id}}/cancel", api.cancel_task, name="cancel")
    router.add_get(f"{API}/uploads", api.upload_policy, name="upload_policy")
    router.add_route("*", f"{API}/{{tail:.*}}", api.unknown_api_path, name="unknown_api")
    router.add_post("/_oss/upload", oss.form_upload, name="upload")
    router.add_get(r"/results/{task_id}/{index:\d+}.png", oss.result_image, name="result")
    router.add_get("/_emulator/health", control.health)
    router.add_get("/_emulator/stats", control.stats)
    router.add_post("/_emulator/reset", control.reset)
    router.add_get("/_emulator/config", control.get_config)
    router.add_post("/_emulator/config", control.set_config)
    router.add_get("/_emulator/faults", control.list_faults)
    router.add_post("/_emulator/faults", control.add_faults)
    router.add_delete("/_emulator/faults", control.clear_faults)
    return app
