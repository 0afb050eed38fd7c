"""The DashScope wire protocol without I/O: the one public face of building requests and reading answers.

Both transports (``requests`` for workers, ``aiohttp`` for triggers) only move bytes. What to send and
how to read the answer is decided by pure functions, once, so the two can never disagree about a header, a
path or the meaning of a status code. As in h11, the two directions live in private modules and are
re-exported here, the import path to use:

- writing (:mod:`~airflow_provider_wanxiang.client._request_builders`): :class:`HttpRequest` /
  :class:`UploadRequest` and one builder per API call, carrying no credentials until :func:`send_headers`;
- reading (:mod:`~airflow_provider_wanxiang.client._response_parsers`, with the typed field readers of
  :mod:`~airflow_provider_wanxiang.client._response_fields`): :func:`decode_response` and one parser per
  answer, raising :class:`~airflow_provider_wanxiang.client.errors.MalformedResponseError` for an answer
  that is not the documented shape.

Input checks are not here: the builders call :mod:`~airflow_provider_wanxiang.client.validation`
(``validate_task_id`` stays importable from this module, where it used to live).
"""

from __future__ import annotations

from airflow_provider_wanxiang.client._request_builders import (
    CREATE_PATH,
    HttpRequest,
    RequestKind,
    UploadRequest,
    cancel_task_request,
    create_task_request,
    edit_request_body,
    encode_json,
    get_task_request,
    list_tasks_request,
    send_headers,
    upload_file_request,
    upload_policy_request,
)
from airflow_provider_wanxiang.client._response_parsers import (
    check_upload_response,
    decode_response,
    parse_created,
    parse_server_time,
    parse_task,
    parse_task_page,
    parse_upload_policy,
)
from airflow_provider_wanxiang.client.limits import BEIJING
from airflow_provider_wanxiang.client.validation import validate_task_id

__all__ = [
    "BEIJING",
    "CREATE_PATH",
    "HttpRequest",
    "RequestKind",
    "UploadRequest",
    "cancel_task_request",
    "check_upload_response",
    "create_task_request",
    "decode_response",
    "edit_request_body",
    "encode_json",
    "get_task_request",
    "list_tasks_request",
    "parse_created",
    "parse_server_time",
    "parse_task",
    "parse_task_page",
    "parse_upload_policy",
    "send_headers",
    "upload_file_request",
    "upload_policy_request",
    "validate_task_id",
]
