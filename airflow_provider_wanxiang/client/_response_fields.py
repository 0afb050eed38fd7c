"""Typed reads of single fields of an API answer: the value the docs promise, or a clear error.

An answer is checked, not trusted: a count that arrives as ``"abc"`` or a list where an object belongs
means the gateway or the service changed under us, and reading it as ``None``/``0`` would turn a broken
answer into a wrong result (an empty image list, a zero bill). Each reader here accepts an absent field
(``None``) wherever the docs make it optional and raises :class:`MalformedResponseError` naming the field,
what arrived and what was expected otherwise. Pure functions, the building blocks of the parsers in
:mod:`~airflow_provider_wanxiang.client._response_parsers` (the reading side of the wire protocol).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from airflow_provider_wanxiang.client._text import shorten
from airflow_provider_wanxiang.client.errors import MalformedResponseError

__all__ = [
    "describe",
    "malformed",
    "optional_count",
    "optional_epoch_ms",
    "optional_list",
    "optional_number",
    "optional_object",
    "optional_str",
    "required_str",
]


def describe(value: object) -> str:
    """A short rendering of an unexpected value with its JSON type, e.g. ``'abc' (a string)``."""
    if value is None:
        kind = "null"
    elif isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, (int, float)):
        kind = "a number"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, Mapping):
        kind = "an object"
    elif isinstance(value, list):
        kind = "an array"
    else:
        kind = type(value).__name__
    return f"{shorten(repr(value) if isinstance(value, str) else value, 60)} ({kind})"


def malformed(where: str, field: str, value: object, expected: str) -> MalformedResponseError:
    """The error for one field: ``"get task: output.results is 'x' (a string), expected an array"``."""
    return MalformedResponseError(f"{where}: {field} is {describe(value)}, expected {expected}")


def optional_str(obj: Mapping[str, Any], key: str, where: str, path: str) -> str | None:
    """A string field; absent, ``null`` and ``""`` read as ``None``."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise malformed(where, f"{path}{key}", value, "a string")
    return value


def required_str(obj: Mapping[str, Any], key: str, where: str, path: str) -> str:
    value = optional_str(obj, key, where, path)
    if value is None:
        raise MalformedResponseError(f"{where}: the response has no {path}{key}")
    return value


def optional_count(obj: Mapping[str, Any], key: str, where: str, path: str) -> int | None:
    """An integer >= 0. Also read: ``3.0`` and the digit string ``"3"`` (DashScope types some numbers as
    strings, and neither can be misread); never a boolean, a fraction, a negative or other text. A digit
    string longer than Python converts (``int()`` refuses > 4,300 digits) is an error naming the field too.
    """
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        try:
            return int(value)
        except ValueError:
            raise malformed(where, f"{path}{key}", value, "an integer >= 0 of at most 4,300 digits") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise malformed(where, f"{path}{key}", value, "an integer >= 0")
    return value


def optional_number(obj: Mapping[str, Any], key: str, where: str, path: str) -> float | None:
    """A finite number, given as a number or as a numeric string (the upload-policy doc types numbers as
    strings)."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    number: float | None = None
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise malformed(where, f"{path}{key}", value, "a number")
    return number


def optional_epoch_ms(obj: Mapping[str, Any], key: str, where: str, path: str) -> float | None:
    """Epoch milliseconds (a JSON number), as the list endpoint reports times."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise malformed(where, f"{path}{key}", value, "epoch milliseconds (a number)")
    return float(value)


def _optional_of(obj: Mapping[str, Any], key: str, where: str, path: str, kind: type, expected: str) -> Any:
    """The field if it is absent (``None``) or an instance of ``kind``; otherwise the error naming it."""
    value = obj.get(key)
    if value is not None and not isinstance(value, kind):
        raise malformed(where, f"{path}{key}", value, expected)
    return value


def optional_object(obj: Mapping[str, Any], key: str, where: str, path: str) -> Mapping[str, Any] | None:
    """A JSON object field."""
    result: Mapping[str, Any] | None = _optional_of(obj, key, where, path, Mapping, "an object")
    return result


def optional_list(obj: Mapping[str, Any], key: str, where: str, path: str) -> list[Any] | None:
    """A JSON array field."""
    result: list[Any] | None = _optional_of(obj, key, where, path, list, "an array")
    return result
