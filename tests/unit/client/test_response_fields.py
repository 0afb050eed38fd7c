"""``client._response_fields``: the typed field readers under every parser; absent is ``None``, present with
the wrong type is a ``MalformedResponseError`` naming the field, what arrived and what was expected."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_wanxiang.client import MalformedResponseError
from airflow_provider_wanxiang.client._response_fields import (
    describe,
    optional_count,
    optional_epoch_ms,
    optional_list,
    optional_number,
    optional_object,
    optional_str,
    required_str,
)

Reader = Callable[[dict[str, Any], str, str, str], object]


@pytest.mark.parametrize(
    ("reader", "value", "expected"),
    [
        (optional_str, "abc", "abc"),
        (optional_str, "", None),
        (optional_count, 3, 3),
        (optional_count, 3.0, 3),
        (optional_count, "3", 3),
        (optional_number, "1.5", 1.5),
        (optional_number, 2, 2.0),
        (optional_epoch_ms, 1_700_000_000_000, 1.7e12),
        (optional_object, {"a": 1}, {"a": 1}),
        (optional_list, [1], [1]),
    ],
)
def test_documented_forms_are_read(reader: Reader, value: Any, expected: object) -> None:
    assert reader({"k": value}, "k", "get task", "output.") == expected
    assert reader({}, "k", "get task", "output.") is None


@pytest.mark.parametrize(
    ("reader", "value", "expected"),
    [
        (optional_str, 5, "a string"),
        (optional_count, True, "an integer >= 0"),
        (optional_count, -1, "an integer >= 0"),
        (optional_count, 1.5, "an integer >= 0"),
        (optional_count, "three", "an integer >= 0"),
        (optional_number, "abc", "a number"),
        (optional_number, math.inf, "a number"),
        (optional_epoch_ms, "1700000000000", "epoch milliseconds"),
        (optional_object, [1], "an object"),
        (optional_list, {"a": 1}, "an array"),
    ],
)
def test_wrong_types_name_field_value_and_expectation(reader: Reader, value: Any, expected: str) -> None:
    with pytest.raises(MalformedResponseError) as info:
        reader({"k": value}, "k", "get task", "output.")
    message = str(info.value)
    assert message.startswith("get task: output.k is ") and f"expected {expected}" in message


def test_required_string_missing_is_named() -> None:
    with pytest.raises(MalformedResponseError, match=r"create: the response has no output\.task_id"):
        required_str({"task_id": ""}, "task_id", "create", "output.")


def test_describe_bounds_long_values_and_names_the_json_type() -> None:
    assert describe("abc") == "'abc' (a string)"
    assert describe(None) == "None (null)"
    long = describe("x" * 10_000)
    assert len(long) < 100 and long.endswith("(a string)")
