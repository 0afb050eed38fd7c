"""The OSS side: the form-upload endpoint behind ``upload_host`` and the signed result-image URLs.

These answer like Alibaba OSS, not like DashScope: no Authorization, XML error documents, 403 for an
expired or tampered signature, 200 with an empty body for ``success_action_status=200``.
"""

from __future__ import annotations

import base64
import hashlib

from aiohttp import web

from airflow_provider_wanxiang.emulator import signing
from airflow_provider_wanxiang.emulator.api import CORE
from airflow_provider_wanxiang.emulator.responses import iso_utc, oss_error_response, oss_request_id
from airflow_provider_wanxiang.emulator.uploads import UploadError


async def form_upload(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        return oss_error_response(
            request, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
        )
    except ValueError:
        return oss_error_response(
            request,
            400,
            "MalformedPOSTRequest",
            "The body of your POST request is not well-formed multipart/form-data.",
        )
    fields: dict[str, str] = {}
    data: bytes | None = None
    for name, value in form.items():
        if isinstance(value, web.FileField):
            if name == "file":
                data = value.file.read()
        elif isinstance(value, str):
            fields[name] = value
        else:  # bytes field (no filename): aiohttp yields bytearray/bytes for some encodings
            if name == "file":
                data = bytes(value)
    try:
        core.uploads.accept(core.secret, fields, data, core.now())
    except UploadError as exc:
        return oss_error_response(request, exc.status, exc.code, exc.message)
    core.stats.uploads += 1
    status = fields.get("success_action_status", "")
    headers = {"x-oss-request-id": oss_request_id(request)}
    if status == "200":
        return web.Response(status=200, headers=headers)
    return web.Response(status=204, headers=headers)


async def result_image(request: web.Request) -> web.StreamResponse:
    """``GET /results/{task_id}/{index}.png?Expires=..&OSSAccessKeyId=..&Signature=..``"""
    core = request.app[CORE]
    task_id = request.match_info["task_id"]
    index_text = request.match_info["index"]
    expires_text = request.query.get("Expires", "")
    signature = request.query.get("Signature", "")
    if not index_text.isdigit() or not expires_text.isdigit() or not signature:
        return oss_error_response(
            request, 403, "AccessDenied", "Anonymous access is forbidden for this operation."
        )
    index, expires = int(index_text), int(expires_text)
    if not signing.verify(core.secret, signature, "result", task_id, str(index), str(expires)):
        return oss_error_response(
            request,
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    now = core.now()
    task = core.tasks.tasks.get(task_id)
    # A live ``result_ttl`` change applies to URLs already handed out, so tests can expire them.
    deadline = min(expires, task.end + core.config.result_ttl) if task is not None else expires
    if now >= deadline:
        return oss_error_response(
            request,
            403,
            "AccessDenied",
            "Request has expired.",
            {"Expires": iso_utc(expires), "ServerTime": iso_utc(now)},
        )
    if task is None or index >= task.succeeded_images() or now < task.end or task.canceled_at is not None:
        return oss_error_response(request, 404, "NoSuchKey", "The specified key does not exist.")
    png = await core.render(task, index)
    core.stats.result_downloads += 1
    md5 = hashlib.md5(png).digest()
    return web.Response(
        body=png,
        content_type="image/png",
        headers={
            "ETag": f'"{md5.hex().upper()}"',
            "Content-MD5": base64.b64encode(md5).decode("ascii"),
            "x-oss-request-id": oss_request_id(request),
            "Cache-Control": "no-cache",
        },
    )
