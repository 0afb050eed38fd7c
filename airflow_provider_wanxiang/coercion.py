"""Rendered template values, typed in one place before they reach the strict wire client.

Why this exists: unless a DAG sets ``render_template_as_native_obj=True``, Airflow renders every templated
field to a *string*. ``watermark="{{ params.wm }}"`` with ``wm=False`` arrives as ``"False"``, and
``bool("False")`` is ``True`` — the user would pay for watermarked images. ``int(2.5)`` silently drops the
half, ``int(True)`` is 1. The wire client (:mod:`airflow_provider_wanxiang.client`) therefore accepts only
real types, and every operator and the sensor pass their values through these functions first. Each
function either returns the typed value or raises
:class:`~airflow_provider_wanxiang.client.WanxiangValidationError` naming the field, the value and what is
allowed (never a bare ``ValueError``/``TypeError``), so the task fails before anything is paid for.

The rules (also in docs/waiting.md, "Templated values"):

- **booleans**: ``True``/``False``, or the strings ``true/false/1/0/yes/no`` in any case, surrounding
  whitespace ignored. Anything else (``"maybe"``, ``1``, ``None``) is an error.
- **integers**: ``int`` (not ``bool``) or a string of an integer (``"2"``, ``" -3 "``). ``True``, ``2.5``,
  ``"2.5"`` and ``"abc"`` are errors; nothing is rounded.
- **seconds**: a number or numeric string (``"0.5"``) or a ``timedelta``; finite and greater than 0.
- **"None"**: what a template that produced ``None`` renders to. In an *optional* field (``negative_prompt``,
  ``size``, ``seed``, ``dest_conn_id``) it means "not set"; in a required one it is an error saying so.
- **images**: a string that looks like a list (``"['s3://b/a.png', 's3://b/b.png']"`` from a rendered
  Python list, ``'["a.png"]'`` from ``tojson``) is parsed into that list, as JSON first and then as a Python
  literal; one that looks like a list but does not parse is an error (not "local file ... does not exist").

Values given directly in the DAG file are checked when the operator is constructed (a DAG-parse-time
error); a string holding a Jinja expression (``{{``, ``{%``) or an ``XComArg`` (``upstream.output``) is left
alone until it has been rendered or resolved.
"""

from __future__ import annotations

import ast
import json
import math
import re
from datetime import timedelta
from typing import Any

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.client._text import shorten

__all__ = [
    "BOOL_STRINGS",
    "NONE_STRING",
    "is_template",
    "to_bool",
    "to_images",
    "to_int",
    "to_optional_int",
    "to_optional_str",
    "to_required_str",
    "to_seconds",
    "to_task_id",
    "unless_template",
]

#: What ``str(None)`` renders to: a template whose value was ``None``.
NONE_STRING = "None"
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")
#: The strings accepted as booleans (any case, surrounding whitespace ignored).
BOOL_STRINGS = _TRUE + _FALSE
_BOOL_ALLOWED = "True, False, or one of the strings true/false/1/0/yes/no (any case)"
_INT_TEXT = re.compile(r"[+-]?\d+")
_TEMPLATE_MARKERS = ("{{", "{%", "{#")


def is_template(value: object) -> bool:
    """Whether ``value`` is only known at run time (checked then, after rendering).

    That is a string holding a Jinja expression, or a value Airflow resolves when the task runs: an
    ``XComArg`` (``upstream.output``), a ``dag.param(...)``, a mapped argument. Those share Airflow's
    ``ResolveMixin`` interface (``resolve`` and ``iter_references``), recognised by its methods because the
    class itself is not public.
    """
    if isinstance(value, str):
        return any(marker in value for marker in _TEMPLATE_MARKERS)
    return callable(getattr(value, "resolve", None)) and callable(getattr(value, "iter_references", None))


def unless_template(value: Any, coerce: Any, *args: Any) -> Any:
    """``coerce(*args, value)`` now, unless ``value`` is an unrendered template (then ``value`` unchanged).

    Operators call this in ``__init__`` so a literal mistake fails when the DAG is parsed, while
    ``"{{ params.n }}"`` waits for rendering.
    """
    if is_template(value):
        return value
    return coerce(*args, value)


def _show(value: object) -> str:
    """A value as written in Python (strings quoted), shortened so a data URI never fills a log."""
    return repr(shorten(value)) if isinstance(value, str) else shorten(value)


def _is_none_string(value: object) -> bool:
    return isinstance(value, str) and value.strip() == NONE_STRING


def to_bool(field: str, value: object) -> bool:
    """``True``/``False`` or ``true/false/1/0/yes/no`` (any case); anything else is an error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise WanxiangValidationError(
        field, value, _BOOL_ALLOWED, f"{_show(value)} is not a boolean (allowed: {_BOOL_ALLOWED})"
    )


def to_int(field: str, value: object, *, minimum: int | None = None) -> int:
    """An ``int`` or a string of one; bools, floats and other strings are errors (nothing is rounded)."""
    allowed = "an integer, or a string of one" + (f", at least {minimum}" if minimum is not None else "")
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None:
        raise WanxiangValidationError(
            field, value, allowed, f"{_show(value)} is not an integer (allowed: {allowed})"
        )
    if minimum is not None and number < minimum:
        raise WanxiangValidationError(
            field, value, allowed, f"{number} is below the minimum of {minimum} (allowed: {allowed})"
        )
    return number


def to_optional_int(field: str, value: object) -> int | None:
    """``None`` or ``"None"`` mean "not set"; anything else follows :func:`to_int`."""
    if value is None or _is_none_string(value):
        return None
    return to_int(field, value)


def to_seconds(field: str, value: object) -> float:
    """A duration in seconds: a number, a numeric string or a ``timedelta``; finite and above 0."""
    allowed = "a number of seconds above 0 (int, float, numeric string or timedelta)"
    seconds: float | None = None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = None
    if seconds is None or not math.isfinite(seconds):
        raise WanxiangValidationError(
            field,
            value,
            allowed,
            f"{_show(value)} is not a finite number of seconds (allowed: {allowed})",
        )
    if seconds <= 0:
        raise WanxiangValidationError(
            field, value, allowed, f"{seconds:g} seconds is not above 0 (allowed: {allowed})"
        )
    return seconds


def to_optional_str(field: str, value: object) -> Any:
    """``"None"`` (a rendered ``None``) becomes ``None``; other values are returned for the client to check.

    Only the "None" convention lives here; the field's own rules (``size`` syntax, lengths) stay in the
    wire client's validation.
    """
    if _is_none_string(value):
        return None
    return value


def to_required_str(field: str, value: object) -> Any:
    """Refuse ``None``, ``"None"`` (a template that rendered ``None``) and blank text in a required field."""
    if value is None or _is_none_string(value):
        raise WanxiangValidationError(
            field,
            value,
            "a non-empty value",
            f"{field} is required but is {value!r} (a template that rendered None, e.g. an XCom that was "
            "never pushed, gives the string 'None')",
        )
    if isinstance(value, str) and not value.strip():
        raise WanxiangValidationError(
            field, value, "a non-empty value", f"{field} is required but is blank ({value!r})"
        )
    return value


def to_task_id(value: object) -> str:
    """A remote task id (sensor, copy operator): required, never the ``"None"`` of an XCom not pushed."""
    return str(to_required_str("wanxiang_task_id", value)).strip()


def to_images(value: Any) -> Any:
    """Turn a list rendered to a string back into the list; leave every other form to the input readers.

    A templated ``images="{{ params.images }}"`` renders a Python list as ``"['a.png', 'b.png']"``, and
    ``{{ params.images | tojson }}`` as ``'["a.png", "b.png"]'``. Both are parsed (JSON first, then a Python
    literal, never ``eval``); a string that starts with ``[`` but parses to no list of images is an error
    naming ``images``, instead of being read as the local file ``['a.png']``.
    """
    if value is None or _is_none_string(value):
        raise WanxiangValidationError(
            "images",
            value,
            "1-3 images",
            f"images is required but is {value!r} (a template that rendered None gives the string 'None')",
        )
    if not isinstance(value, str) or not value.strip().startswith("["):
        return value
    text = value.strip()
    allowed = "a list of image strings, e.g. ['s3://bucket/a.png'] or [\"https://host/a.png\"]"
    parsed: Any = None
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            parsed = None
    if not isinstance(parsed, (list, tuple)) or not all(isinstance(item, str) for item in parsed):
        raise WanxiangValidationError(
            "images",
            value,
            allowed,
            f"{_show(value)} looks like a list but is not a JSON or Python list of strings "
            f"(allowed: {allowed})",
        )
    return list(parsed)
