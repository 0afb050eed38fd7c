"""DashScope API handlers under ``/api/v1``: create, get, cancel, list, upload policy.

Each handler raises ``ApiError`` for an error answer; the middleware in ``app.py`` turns it into the flat
JSON envelope and counts it. Checks run in the order of reference section 11.3: auth → async header →
JSON → model → input → parameters → images → moderation → rate limit → concurrency.
"""

from __future__ import annotations

import contextvars
import math
import uuid
from typing import Any

from aiohttp import web

from airflow_provider_wanxiang.emulator import catalog, imaging, views
from airflow_provider_wanxiang.emulator.catalog import ApiError, invalid
from airflow_provider_wanxiang.emulator.core import EmulatorCore
from airflow_provider_wanxiang.emulator.faults import Fault
from airflow_provider_wanxiang.emulator.inputs import load_image
from airflow_provider_wanxiang.emulator.markers import Markers, parse_markers
from airflow_provider_wanxiang.emulator.responses import json_response, request_id
from airflow_provider_wanxiang.emulator.state import PENDING, TASK_STATUSES, UNKNOWN, Task, plan_task
from airflow_provider_wanxiang.emulator.timefmt import parse_list_time
from airflow_provider_wanxiang.emulator.validation import (
    MODEL,
    CreateSpec,
    check_model,
    inspect_image,
    parse_json_body,
    validate_create,
)

CORE: web.AppKey[EmulatorCore] = web.AppKey("wanxiang_core", EmulatorCore)
#: Set by the fault middleware on a create request whose scripted fault fires after enqueueing.
AFTER_ENQUEUE_FAULT: contextvars.ContextVar[Fault | None] = contextvars.ContextVar(
    "wanxiang_after_enqueue_fault", default=None
)
LIST_WINDOW_SECONDS = 24 * 3600
LIST_PAGE_SIZE_MAX = 100


class DropConnection(Exception):
    """Raised to close the client's socket without any answer."""


def authenticate(request: web.Request) -> tuple[str, str]:
    """``(api_key, account)`` for a known bearer key, else 401 ``InvalidApiKey``."""
    core = request.app[CORE]
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise ApiError(401, "InvalidApiKey", catalog.NO_API_KEY)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        raise ApiError(401, "InvalidApiKey", catalog.INVALID_API_KEY)
    if not token:
        raise ApiError(401, "InvalidApiKey", catalog.NO_API_KEY)
    if token not in core.config.api_keys:
        raise ApiError(401, "InvalidApiKey", catalog.INVALID_API_KEY)
    return token, core.config.account_of(token)


def _throttle(core: EmulatorCore, code: str, message: str) -> ApiError:
    headers = {}
    if core.config.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(core.config.retry_after)))
    return ApiError(429, code, message, headers)


def _check_query_rate(core: EmulatorCore, account: str, bucket: str) -> None:
    if not core.limits.allow(account, bucket, core.now(), core.config.query_qps):
        raise _throttle(core, "Throttling.RateQuota", catalog.RATE_LIMITED)


def _require_async(request: web.Request) -> None:
    if request.headers.get("X-DashScope-Async", "").strip().lower() != "enable":
        raise ApiError(403, "AccessDenied", catalog.SYNC_NOT_SUPPORTED)


async def _read_json(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(400, "BadRequest.TooLarge", catalog.PAYLOAD_TOO_LARGE) from None
    return parse_json_body(raw)


# --- create ----------------------------------------------------------------------------------------
async def create_task(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    api_key, account = authenticate(request)
    _require_async(request)
    spec = validate_create(await _read_json(request))
    markers = parse_markers(spec.full_prompt)
    input_ids, sizes = await _load_inputs(request, core, spec, account)
    if markers.reject is not None:
        code = markers.reject
        raise ApiError(catalog.status_for(code), code, catalog.message_for(code, reject=True))

    now = core.now()
    config = core.config
    if not core.limits.allow(account, "submit", now, config.submit_rps):
        raise _throttle(core, "Throttling.RateQuota", catalog.RATE_LIMITED)
    queue = config.over_concurrency == "queue"
    if not queue and core.tasks.at_capacity(account, now, config.max_concurrent):
        raise _throttle(core, "Throttling", catalog.THROTTLED)

    task = _new_task(request, core, spec, markers, api_key, account, input_ids, sizes[-1], now)
    core.tasks.add(task, now, config.max_concurrent, queue)
    core.stats.tasks_created += 1

    late = AFTER_ENQUEUE_FAULT.get()
    if late is None:
        late = core.faults.random_after_enqueue(config.create_fault_after_enqueue_rate)
    if late is not None:
        core.stats.faults_injected += 1
        core.stats.faults_by_route["create"] += 1
        if late.drop:
            raise DropConnection()
        status = late.status or 500
        raise ApiError(status, late.error_code(), late.error_message())
    return json_response(request, {"output": {"task_status": PENDING, "task_id": task.task_id}})


async def _load_inputs(
    request: web.Request, core: EmulatorCore, spec: CreateSpec, account: str
) -> tuple[tuple[str, ...], list[tuple[int, int]]]:
    """Fetch, check and store every input; returns their ids and original dimensions."""
    assert core.session is not None
    oss_enabled = request.headers.get("X-DashScope-OssResourceResolve", "").strip().lower() == "enable"
    now = core.now()
    ids: list[str] = []
    sizes: list[tuple[int, int]] = []
    for ref in spec.images:
        data = await load_image(
            ref,
            session=core.session,
            download_timeout=core.config.download_timeout,
            data_uri_max_bytes=core.config.data_uri_max_bytes,
            oss_resolve_enabled=oss_enabled,
            resolve_oss=lambda url: core.uploads.resolve(
                url, account, spec.model, now, core.config.upload_ttl
            ),
        )
        info = inspect_image(data)
        ids.append(await core.prepare_input(data))
        sizes.append((info.width, info.height))
    return tuple(ids), sizes


def _new_task(
    request: web.Request,
    core: EmulatorCore,
    spec: CreateSpec,
    markers: Markers,
    api_key: str,
    account: str,
    input_ids: tuple[str, ...],
    last_input_size: tuple[int, int],
    now: float,
) -> Task:
    config = core.config
    seq = core.tasks.take_seq()
    plan = plan_task(
        config.seed,
        seq,
        spec,
        markers,
        config.task_seconds,
        config.task_seconds_spread,
        config.pending_fraction,
    )
    ready_at = now + plan.pending_seconds
    return Task(
        task_id=str(uuid.uuid4()),
        account=account,
        api_key=api_key,
        request_id=request_id(request),
        seq=seq,
        spec=spec,
        input_ids=input_ids,
        output_size=spec.size or imaging.default_output_size(last_input_size),
        seed=plan.seed,
        created=now,
        ready_at=ready_at,
        run_seconds=plan.total_seconds - plan.pending_seconds,
        start=ready_at,
        fail_code=markers.fail,
        failed_images=min(markers.partial or 0, spec.n),
    )


async def text2image_misuse(request: web.Request) -> web.StreamResponse:
    """wan2.5-i2i-preview sent to the text-to-image path: what old SDKs did (reference section 3.4)."""
    authenticate(request)
    _require_async(request)
    body = await _read_json(request)
    if body.get("model") == MODEL:
        raise invalid(catalog.URL_ERROR)
    check_model(body)  # EmptyModel, else "Model not exist.": no text-to-image model is emulated
    raise invalid(catalog.MODEL_NOT_EXIST)


async def method_not_supported(request: web.Request) -> web.StreamResponse:
    raise invalid(catalog.METHOD_NOT_SUPPORTED.format(method=request.method))


# --- get / cancel / list ---------------------------------------------------------------------------
async def get_task(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    _, account = authenticate(request)
    core.stats.task_queries += 1
    _check_query_rate(core, account, "get")
    task_id = request.match_info["task_id"]
    task = core.tasks.visible(task_id, account)
    status = UNKNOWN if task is None else task.status_at(core.now(), core.config.task_ttl)
    if task is None or status == UNKNOWN:
        return json_response(request, {"output": views.unknown_output(task_id)})
    base = core.base_url(request.host)
    payload: dict[str, Any] = {
        "output": views.task_output(task, status, base, core.secret, core.config.result_ttl),
    }
    usage = views.usage(task, status)
    if usage is not None:
        payload["usage"] = usage
    return json_response(request, payload)


async def cancel_task(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    _, account = authenticate(request)
    core.stats.cancels += 1
    _check_query_rate(core, account, "cancel")
    now = core.now()
    task = core.tasks.visible(request.match_info["task_id"], account)
    if task is None or task.status_at(now, core.config.task_ttl) != PENDING:
        raise ApiError(400, "UnsupportedOperation", catalog.CANCEL_NOT_PENDING)
    core.tasks.cancel(task, now, core.config.max_concurrent, core.config.over_concurrency == "queue")
    return json_response(request, {})


async def list_tasks(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    _, account = authenticate(request)
    core.stats.lists += 1
    _check_query_rate(core, account, "list")
    query = request.query
    now = core.now()
    start, end = _list_window(query.get("start_time"), query.get("end_time"), now)
    page_no = _positive_int(query.get("page_no"), "page_no", 1, None)
    page_size = _positive_int(query.get("page_size"), "page_size", 10, LIST_PAGE_SIZE_MAX)
    model_name = query.get("model_name") or None
    wanted_status = _list_status(query.get("status"))
    # The official SDK sends these two filters too (reference 4.5); a task matches when its list row shows
    # the same value, so a key's or a region's tasks can be singled out as on the service.
    wanted_key_id = query.get("api_key_id") or None
    wanted_region = query.get("region") or None

    rows: list[dict[str, Any]] = []
    tasks = sorted(core.tasks.by_account.get(account, ()), key=lambda t: t.created, reverse=True)
    if wanted_region is not None and wanted_region != core.config.region:
        tasks = []  # every task of this emulator lives in its one configured region
    for task in tasks:
        if not start <= task.created <= end:
            continue
        if model_name is not None and task.spec.model != model_name:
            continue
        if wanted_key_id is not None and views.api_key_id(task.api_key) != wanted_key_id:
            continue
        status = task.status_at(now, core.config.task_ttl)
        if status == UNKNOWN or (wanted_status is not None and status != wanted_status):
            continue
        rows.append(views.list_item(task, status, core.config.region))
    total = len(rows)
    page = rows[(page_no - 1) * page_size : page_no * page_size]
    return json_response(
        request,
        {
            "total": total,
            "data": page,
            "total_page": max(1, math.ceil(total / page_size)) if total else 0,
            "page_no": page_no,
            "page_size": page_size,
        },
    )


def _list_status(text: str | None) -> str | None:
    """The ``status`` filter, or 400 ``InvalidParameter`` for a status the API does not have.

    An unknown status (a typo, or ``SUSPENDED`` from the SDK's enum) is an error, not an empty page that
    would read as "no such tasks". Lower case is accepted, as before (the reference does not say).
    """
    if not text:
        return None
    wanted = text.upper()
    if wanted not in TASK_STATUSES:
        raise invalid(
            f'Parameter "status" must be one of {", ".join(TASK_STATUSES)}, got {text!r}.'  # approx
        )
    return wanted


def _list_window(start_text: str | None, end_text: str | None, now: float) -> tuple[float, float]:
    """``[start, end]`` in epoch seconds: defaults to the last 24 h; a wider window is rejected."""
    try:
        end = parse_list_time(end_text) if end_text else now
        start = parse_list_time(start_text) if start_text else end - LIST_WINDOW_SECONDS
    except ValueError:
        raise invalid(
            'Parameters "start_time" and "end_time" must be formatted as YYYYMMDDhhmmss.'  # approx
        ) from None
    if end < start or end - start > LIST_WINDOW_SECONDS:
        raise invalid(catalog.LIST_WINDOW)
    return start, end


def _positive_int(text: str | None, name: str, default: int, maximum: int | None) -> int:
    if text is None or text == "":
        return default
    if not text.isdigit() or int(text) < 1 or (maximum is not None and int(text) > maximum):
        limit = f"[1, {maximum}]" if maximum else ">= 1"
        raise invalid(f'Parameter "{name}" must be an integer {limit}, got {text!r}.')  # approx
    return int(text)


# --- temp upload policy ------------------------------------------------------------------------------
async def upload_policy(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    _, account = authenticate(request)
    if request.query.get("action") != "getPolicy":
        raise invalid('Parameter "action" must be "getPolicy".')  # approx
    model = request.query.get("model", "")
    if not model:
        raise ApiError(400, "BadRequest.EmptyModel", catalog.EMPTY_MODEL)
    core.stats.upload_policies += 1
    upload_host = core.base_url(request.host) + "/_oss/upload"
    data = core.uploads.issue_policy(
        core.secret, account, model, core.now(), core.config.upload_policy_ttl, upload_host
    )
    return json_response(request, {"data": data})


async def unknown_api_path(request: web.Request) -> web.StreamResponse:
    raise ApiError(400, "InvalidURL", "Required URL is missing or invalid, please check the request URL.")
