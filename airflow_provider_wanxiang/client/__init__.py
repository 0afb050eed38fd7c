"""The DashScope wire client for ``wan2.5-i2i-preview`` image editing, free of Airflow.

Layers, each in its own module:

- :mod:`.endpoints` — region / workspace / host → base URL;
- :mod:`.limits`, :mod:`.validation`, :mod:`.images` — every input checked before a paid call;
- :mod:`.models` — typed, immutable request and response values (and the edit's fingerprint);
- :mod:`.protocol` — sans-IO, shared by both transports: the public face of request building
  (``_request_builders``) and response parsing (``_response_parsers``, ``_response_fields``);
- :mod:`.errors` — the error tree (local vs remote); :mod:`.error_codes` — the server ``code`` → error class;
- ``_text``, ``_headers`` — bounding quoted and server text; reading headers and ``Retry-After``;
- :mod:`.retry` — the one retry policy (create is retried only when it cannot have been enqueued);
- :mod:`.proxies` — which forward proxy a URL goes through, decided once for both transports;
- :mod:`.bodies`, :mod:`.deadlines` — answers capped in decoded bytes, and a total deadline per request;
- :mod:`.sync_client` / :mod:`.async_client` — ``requests`` and ``aiohttp`` transports.

Typical use::

    config = ClientConfig.for_region("sk-...", region="ap-southeast-1")
    with WanxiangClient(config) as client:
        created = client.create_task(build_edit_request(prompt="make it blue", images=["photo.png"]))
        task = client.get_task(created.task_id)
"""

from __future__ import annotations

from airflow_provider_wanxiang.client._headers import parse_retry_after
from airflow_provider_wanxiang.client.async_client import AsyncWanxiangClient
from airflow_provider_wanxiang.client.config import DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, ClientConfig
from airflow_provider_wanxiang.client.endpoints import (
    DEFAULT_MODEL,
    DEFAULT_REGION,
    REGIONS,
    console_task_url,
    resolve_base_url,
    validate_region,
    validate_workspace_id,
)
from airflow_provider_wanxiang.client.error_codes import error_from_response, is_retryable_by_resubmit
from airflow_provider_wanxiang.client.errors import (
    AuthenticationError,
    BadRequestError,
    ContentModerationError,
    DeadlineExceededError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
    UnsupportedOperationError,
    WanxiangError,
    WanxiangLocalError,
    WanxiangRemoteError,
    WanxiangValidationError,
    WanxiangWarning,
)
from airflow_provider_wanxiang.client.images import (
    ImageInfo,
    ImageInput,
    bytes_to_data_uri,
    check_image_bytes,
    normalize_image,
    read_image_header,
    read_local_image,
)
from airflow_provider_wanxiang.client.limits import SUPPORTED_MODELS
from airflow_provider_wanxiang.client.models import (
    CreatedTask,
    EditRequest,
    ImageResult,
    ListTasksQuery,
    Task,
    TaskMetrics,
    TaskPage,
    TaskStatus,
    TaskSummary,
    UploadPolicy,
    Usage,
)
from airflow_provider_wanxiang.client.protocol import (
    HttpRequest,
    UploadRequest,
    cancel_task_request,
    create_task_request,
    get_task_request,
    list_tasks_request,
    parse_created,
    parse_task,
    parse_task_page,
    parse_upload_policy,
    upload_policy_request,
)
from airflow_provider_wanxiang.client.proxies import ProxyRoute, proxy_for_url
from airflow_provider_wanxiang.client.retry import RetryPolicy
from airflow_provider_wanxiang.client.sync_client import WanxiangClient
from airflow_provider_wanxiang.client.validation import (
    build_edit_request,
    build_list_query,
    normalize_size,
    validate_task_id,
)

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_REGION",
    "DEFAULT_TIMEOUT",
    "DEFAULT_USER_AGENT",
    "REGIONS",
    "SUPPORTED_MODELS",
    "AsyncWanxiangClient",
    "AuthenticationError",
    "BadRequestError",
    "ClientConfig",
    "ContentModerationError",
    "CreatedTask",
    "DeadlineExceededError",
    "EditRequest",
    "HttpRequest",
    "ImageInfo",
    "ImageInput",
    "ImageResult",
    "ListTasksQuery",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProxyRoute",
    "RateLimitError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "Task",
    "TaskMetrics",
    "TaskPage",
    "TaskStatus",
    "TaskSummary",
    "TransportError",
    "UnsupportedOperationError",
    "UploadPolicy",
    "UploadRequest",
    "Usage",
    "WanxiangClient",
    "WanxiangError",
    "WanxiangLocalError",
    "WanxiangRemoteError",
    "WanxiangValidationError",
    "WanxiangWarning",
    "build_edit_request",
    "build_list_query",
    "bytes_to_data_uri",
    "cancel_task_request",
    "check_image_bytes",
    "console_task_url",
    "create_task_request",
    "error_from_response",
    "get_task_request",
    "is_retryable_by_resubmit",
    "list_tasks_request",
    "normalize_image",
    "normalize_size",
    "parse_created",
    "parse_retry_after",
    "parse_task",
    "parse_task_page",
    "parse_upload_policy",
    "proxy_for_url",
    "read_image_header",
    "read_local_image",
    "resolve_base_url",
    "upload_policy_request",
    "validate_region",
    "validate_task_id",
    "validate_workspace_id",
]
