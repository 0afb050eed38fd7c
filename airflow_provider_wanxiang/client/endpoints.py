"""Where requests go: region, workspace and host override → the API base URL.

API keys are region-specific and a key sent to the other region's host is answered with ``401 InvalidApiKey``,
so the region is validated strictly (only the two regions that serve ``wan2.5-i2i-preview``) rather than
letting a typo surface later as a confusing authentication failure.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

from airflow_provider_wanxiang.client.errors import WanxiangValidationError
from airflow_provider_wanxiang.client.limits import SUPPORTED_MODELS

__all__ = [
    "API_PATH",
    "DEFAULT_MODEL",
    "DEFAULT_REGION",
    "REGIONS",
    "console_task_url",
    "resolve_base_url",
    "validate_region",
    "validate_workspace_id",
]

REGIONS: Final = ("ap-southeast-1", "cn-beijing")
"""Regions offering ``wan2.5-i2i-preview`` (Singapore and Beijing); no US availability is documented."""
DEFAULT_REGION: Final = "ap-southeast-1"
DEFAULT_MODEL: Final = SUPPORTED_MODELS[0]
API_PATH: Final = "/api/v1"

_LEGACY_HOSTS: Final = {
    "ap-southeast-1": "dashscope-intl.aliyuncs.com",
    "cn-beijing": "dashscope.aliyuncs.com",
}
_CONSOLE_HOSTS: Final = {
    "ap-southeast-1": "modelstudio.console.alibabacloud.com",
    "cn-beijing": "bailian.console.aliyun.com",
}
_WORKSPACE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def validate_region(region: str) -> str:
    """Return ``region`` if it serves ``wan2.5-i2i-preview``, else raise :class:`WanxiangValidationError`."""
    if region not in REGIONS:
        raise WanxiangValidationError(
            "region",
            region,
            " or ".join(REGIONS),
            f"{region!r} is not a supported region (use {' or '.join(REGIONS)})",
        )
    return region


def validate_workspace_id(workspace_id: str) -> str:
    """Return ``workspace_id`` if it has the shape Model Studio uses (it becomes part of a host name)."""
    if not _WORKSPACE_ID.fullmatch(workspace_id):
        raise WanxiangValidationError(
            "workspace_id",
            workspace_id,
            "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
            f"{workspace_id!r} does not match ^[A-Za-z0-9][A-Za-z0-9_-]{{0,63}}$ "
            "(letters, digits, '_' and '-', at most 64 characters)",
        )
    return workspace_id


def _normalise_host(host: str) -> str:
    text = host.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise WanxiangValidationError(
            "host",
            host,
            "an http(s) base URL without query or fragment",
            f"{host!r} is not a usable base URL (expected e.g. https://gateway.example.com or "
            "http://127.0.0.1:8765/api/v1)",
        )
    path = parts.path.rstrip("/") or API_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def resolve_base_url(
    region: str = DEFAULT_REGION,
    workspace_id: str | None = None,
    host: str | None = None,
) -> str:
    """Return the base URL (ending in ``/api/v1`` unless the host override has its own path).

    Precedence: ``host`` (an emulator, gateway or proxy) wins; then the workspace host
    ``https://{workspace_id}.{region}.maas.aliyuncs.com/api/v1``; else the region's legacy shared host.
    Region and workspace id are validated even when ``host`` overrides them, because they are still
    configuration mistakes that would bite as soon as the override is removed.

    A host with no path gets ``/api/v1``, so ``http://127.0.0.1:8765`` and ``http://127.0.0.1:8765/api/v1``
    name the same endpoint; a host with no scheme gets ``https://``.
    """
    validate_region(region)
    if workspace_id:
        validate_workspace_id(workspace_id)
    if host and host.strip():
        return _normalise_host(host)
    if workspace_id:
        return f"https://{workspace_id}.{region}.maas.aliyuncs.com{API_PATH}"
    return f"https://{_LEGACY_HOSTS[region]}{API_PATH}"


def console_task_url(region: str, task_id: str) -> str:
    """A best-effort link to the Model Studio console of ``region``, for an operator's extra link.

    Approximate by necessity: the console has no documented per-task page for asynchronous image tasks, so
    this opens the region's console and carries the task id as a query parameter, for the reader to search.
    """
    validate_region(region)
    return f"https://{_CONSOLE_HOSTS[region]}/?region={region}&task_id={quote(task_id, safe='')}"
