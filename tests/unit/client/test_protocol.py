"""``client.protocol``, the public face of the sans-IO wire layer: it re-exports both private sides (as h11
does), and a request built on one side is read on the other the same way on every route."""

from __future__ import annotations

import json
from typing import Any

import pytest

import airflow_provider_wanxiang.client as client_package
from airflow_provider_wanxiang.client import (
    _request_builders,
    _response_parsers,
    cancel_task_request,
    get_task_request,
    list_tasks_request,
    protocol,
    upload_policy_request,
    validation,
)
from airflow_provider_wanxiang.client.protocol import HttpRequest, decode_response

GET = get_task_request("t")


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


PUBLIC_NAMES = [
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
"""Everything ``client.protocol`` exported before the split: the import path stays."""


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_every_earlier_export_is_still_importable_and_is_the_one_definition(name: str) -> None:
    assert name in protocol.__all__
    value = getattr(protocol, name)
    homes = [
        module
        for module in (_request_builders, _response_parsers, validation)
        if getattr(module, name, None) is value and name in getattr(module, "__all__", ())
    ]
    assert len(homes) == 1 or name == "BEIJING", f"{name} must be defined in exactly one module"


def test_the_sides_do_not_reach_into_each_other() -> None:
    """Writers never parse and readers never build: the split is in the module contents, not only names."""
    assert not set(_request_builders.__all__) & set(_response_parsers.__all__)
    assert all(name.startswith(("parse_", "decode_", "check_")) for name in _response_parsers.__all__)
    assert client_package.protocol is protocol


def test_http_request_is_immutable() -> None:
    with pytest.raises(AttributeError):
        GET.path = "/other"  # type: ignore[misc]
    assert isinstance(GET, HttpRequest)


def test_decode_business_error_on_any_route() -> None:
    body = {"code": "Throttling", "message": "Requests throttling triggered.", "request_id": "r"}
    for request in (GET, list_tasks_request(), upload_policy_request("m"), cancel_task_request("t")):
        with pytest.raises(Exception) as info:
            decode_response(request, 200, {}, raw(body))
        assert type(info.value).__name__ == "RateLimitError"
    assert decode_response(cancel_task_request("t"), 200, {}, raw({"request_id": "r"})) == {"request_id": "r"}
