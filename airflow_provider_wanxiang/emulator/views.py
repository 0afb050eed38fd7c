"""Wire shapes of task answers: get-task ``output`` per state, list items, result URLs.

Field names and presence rules follow reference section 4 (e.g. ``usage`` only when SUCCEEDED,
``actual_prompt`` only with prompt_extend, UNKNOWN with nothing but id and status).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from airflow_provider_wanxiang.emulator import catalog, signing
from airflow_provider_wanxiang.emulator.state import (
    CANCELED,
    FAILED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    UNKNOWN,
    Task,
)
from airflow_provider_wanxiang.emulator.timefmt import beijing_string, epoch_ms

_EXTEND_SUFFIX = (
    " Keep the identity, composition and perspective of the input image; natural lighting, coherent "
    "shadows and fine, realistic detail."
)


def actual_prompt(prompt: str) -> str:
    """A stand-in for the service's LLM prompt rewrite (deterministic, visibly different)."""
    return prompt.rstrip() + _EXTEND_SUFFIX


def result_url(base: str, secret: bytes, task_id: str, index: int, expires: int) -> str:
    signature = signing.sign(secret, "result", task_id, str(index), str(expires))
    return (
        f"{base}/results/{task_id}/{index}.png?Expires={expires}"
        f"&OSSAccessKeyId={signing.ACCESS_KEY_ID}&Signature={signature}"
    )


def unknown_output(task_id: str) -> dict[str, Any]:
    return {"task_id": task_id, "task_status": UNKNOWN}


def task_output(task: Task, status: str, base: str, secret: bytes, result_ttl: float) -> dict[str, Any]:
    """The ``output`` object of GET /tasks/{id} for a visible task in ``status``."""
    if status == UNKNOWN:
        return unknown_output(task.task_id)
    out: dict[str, Any] = {
        "task_id": task.task_id,
        "task_status": status,
        "submit_time": beijing_string(task.created),
    }
    metrics = {"TOTAL": task.n, "SUCCEEDED": 0, "FAILED": 0}
    if status in (RUNNING, SUCCEEDED, FAILED):
        out["scheduled_time"] = beijing_string(task.start)
    if status in (SUCCEEDED, FAILED):
        out["end_time"] = beijing_string(task.end)
    if status == SUCCEEDED:
        succeeded = task.succeeded_images()
        expires = math.ceil(task.end + result_ttl)
        results: list[dict[str, Any]] = []
        for index in range(succeeded):
            entry: dict[str, Any] = {"orig_prompt": task.spec.prompt}
            if task.spec.prompt_extend:
                entry["actual_prompt"] = actual_prompt(task.spec.prompt)
            entry["url"] = result_url(base, secret, task.task_id, index, expires)
            results.append(entry)
        for _ in range(task.failed_images):
            results.append({"code": "DataInspectionFailed", "message": catalog.OUTPUT_INSPECTION})
        out["results"] = results
        metrics = {"TOTAL": task.n, "SUCCEEDED": succeeded, "FAILED": task.failed_images}
    elif status == FAILED:
        code = task.fail_code or "DataInspectionFailed"
        out["code"] = code
        out["message"] = catalog.message_for(code)
        metrics = {"TOTAL": task.n, "SUCCEEDED": 0, "FAILED": task.n}
    out["task_metrics"] = metrics
    return out


def usage(task: Task, status: str) -> dict[str, int] | None:
    """``usage`` is present only on SUCCEEDED answers and counts successful (billed) images."""
    return {"image_count": task.succeeded_images()} if status == SUCCEEDED else None


def numeric_id(*parts: str, digits: int = 16) -> str:
    """A stable numeric id (like the service's uid / api_key_id) derived from a secret-free label."""
    value = int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:8], "big")
    return str(value % 10**digits).rjust(digits, "1")


def api_key_id(api_key: str) -> str:
    """The numeric id the list endpoint shows for a key (and that its ``api_key_id`` filter matches)."""
    return numeric_id("key", api_key, digits=6)


def list_item(task: Task, status: str, region: str) -> dict[str, Any]:
    """One ``data[]`` entry of GET /tasks: epoch-ms times, ``status`` (not ``task_status``)."""
    item: dict[str, Any] = {
        "api_key_id": api_key_id(task.api_key),
        "caller_parent_id": numeric_id("parent", task.account),
        "caller_uid": numeric_id("uid", task.account),
        "gmt_create": epoch_ms(task.created),
        "model_name": task.spec.model,
        "region": region,
        "request_id": task.request_id,
        "status": status,
        "task_id": task.task_id,
        "user_api_unique_key": f"apikey:v1:aigc:image2image:image-synthesis:{task.spec.model}",
    }
    if status not in (PENDING, CANCELED):
        item["start_time"] = epoch_ms(task.start)
    if status in (SUCCEEDED, FAILED):
        item["end_time"] = epoch_ms(task.end)
    if status == CANCELED and task.canceled_at is not None:
        item["end_time"] = epoch_ms(task.canceled_at)
    return item
