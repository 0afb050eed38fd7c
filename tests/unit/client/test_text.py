"""``client._text``: ``server_text``, the one bound on server-sent text in exceptions, logs and events, and
``shorten``, the bound on values quoted in errors."""

from __future__ import annotations

from airflow_provider_wanxiang.client import errors
from airflow_provider_wanxiang.client._text import server_text, shorten
from airflow_provider_wanxiang.client.error_codes import error_from_response
from airflow_provider_wanxiang.client.limits import MAX_SERVER_TEXT_CHARS


def test_short_text_is_kept_and_whitespace_collapsed() -> None:
    assert server_text("  Task\\n failed:\n\t bad  input ") == "Task\\n failed: bad input"


def test_empty_and_none_are_none() -> None:
    assert server_text(None) is None and server_text("") is None and server_text("  \n ") is None


def test_long_text_is_cut_with_its_length() -> None:
    text = server_text("word " * 100_000)
    assert text is not None and len(text) <= MAX_SERVER_TEXT_CHARS
    assert text.endswith("<499,999 chars>")


def test_error_from_response_bounds_message_code_and_request_id() -> None:
    error = error_from_response(
        500, {"code": "C" * 5000, "message": "m" * 100_000, "request_id": "r" * 5000}, {}
    )
    assert len(error.message) <= MAX_SERVER_TEXT_CHARS
    assert error.code is not None and len(error.code) <= 100
    assert error.request_id is not None and len(error.request_id) <= 100


def test_a_non_json_error_page_is_bounded() -> None:
    error = error_from_response(502, "<html>" + "gateway " * 50_000 + "</html>", {})
    assert len(error.message) <= 300


def test_a_407_names_the_proxy_settings() -> None:
    error = error_from_response(407, "", {})
    assert error.http_status == 407 and not error.retryable
    assert "HTTP_PROXY" in error.message and "extra.proxy" in error.message


def test_shorten_cuts_long_strings_and_summarises_bytes() -> None:
    assert shorten("abc") == "abc"
    assert shorten(5) == "5"
    assert shorten(b"\x00" * 2048) == "<2,048 bytes>"
    long = shorten("data:image/png;base64," + "A" * 10_000)
    assert len(long) <= 80 and long.endswith("<10,022 chars>")


def test_the_earlier_import_path_from_errors_still_works() -> None:
    assert errors.shorten is shorten and errors.server_text is server_text
