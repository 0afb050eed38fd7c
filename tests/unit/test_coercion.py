"""The coercion rules for rendered template values: each accepted spelling, each rejection, no rounding."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.coercion import (
    is_template,
    to_bool,
    to_images,
    to_int,
    to_optional_int,
    to_optional_str,
    to_required_str,
    to_seconds,
    to_task_id,
    unless_template,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("True", True),
        (" TRUE ", True),
        ("1", True),
        ("yes", True),
        ("Yes\n", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("NO", False),
    ],
)
def test_bool_spellings(value: object, expected: bool) -> None:
    assert to_bool("watermark", value) is expected


@pytest.mark.parametrize("value", ["maybe", "", "None", "on", "2", "tru", 1, 0, None, 1.0, [], "t"])
def test_bool_rejections_name_field_value_and_allowed(value: object) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        to_bool("watermark", value)
    message = str(info.value)
    assert info.value.field == "watermark"
    assert message.startswith(f"watermark: {value!r} is not a boolean")
    assert "true/false/1/0/yes/no" in message
    assert not isinstance(info.value, TypeError)


@pytest.mark.parametrize(("value", "expected"), [(2, 2), ("2", 2), (" 3 ", 3), ("-1", -1), ("+4", 4), (0, 0)])
def test_int_spellings(value: object, expected: int) -> None:
    assert to_int("n", value) == expected


@pytest.mark.parametrize("value", [True, False, 2.5, 2.0, "2.5", "2.0", "abc", "", "1e3", None, "0x10", [2]])
def test_int_rejections_never_round(value: object) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        to_int("n", value)
    assert info.value.field == "n"
    assert "is not an integer (allowed: an integer, or a string of one)" in str(info.value)


def test_int_minimum() -> None:
    assert to_int("download_attempts", "1", minimum=1) == 1
    with pytest.raises(WanxiangValidationError, match="download_attempts: 0 is below the minimum of 1"):
        to_int("download_attempts", "0", minimum=1)


def test_optional_int_none_forms() -> None:
    assert to_optional_int("seed", None) is None
    assert to_optional_int("seed", "None") is None
    assert to_optional_int("seed", " None ") is None
    assert to_optional_int("seed", "42") == 42
    with pytest.raises(WanxiangValidationError, match="seed: True is not an integer"):
        to_optional_int("seed", True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5.0), (0.5, 0.5), ("0.5", 0.5), (" 30 ", 30.0), ("1e1", 10.0), (timedelta(minutes=2), 120.0)],
)
def test_seconds(value: object, expected: float) -> None:
    assert to_seconds("poll_interval", value) == expected


@pytest.mark.parametrize(
    "value", [0, -1, "0", "-0.5", "abc", "", math.inf, math.nan, "inf", "nan", True, None, timedelta(0)]
)
def test_seconds_rejections(value: object) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        to_seconds("timeout", value)
    assert info.value.field == "timeout"
    assert "(allowed: a number of seconds above 0" in str(info.value)


def test_optional_and_required_strings() -> None:
    assert to_optional_str("size", "None") is None
    assert to_optional_str("size", "1024*1024") == "1024*1024"
    assert to_optional_str("negative_prompt", None) is None
    assert to_required_str("prompt", "None of the above, please") == "None of the above, please"
    for value in (None, "None", "  ", ""):
        with pytest.raises(WanxiangValidationError, match=r"^prompt: prompt is required but is"):
            to_required_str("prompt", value)
    assert to_task_id(" abc-123 ") == "abc-123"
    with pytest.raises(WanxiangValidationError, match="wanxiang_task_id is required but is 'None'"):
        to_task_id("None")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("['s3://b/a.png', 's3://b/b.png']", ["s3://b/a.png", "s3://b/b.png"]),
        ('["a.png"]', ["a.png"]),
        (' ["a.png", "b.png"] ', ["a.png", "b.png"]),
        ("('a.png',)", "('a.png',)"),  # not list-looking: left to the input readers as a path
        ("a.png", "a.png"),
        (["a.png"], ["a.png"]),
        (b"\x89PNG", b"\x89PNG"),
    ],
)
def test_images_list_strings_are_parsed(value: object, expected: object) -> None:
    assert to_images(value) == expected


@pytest.mark.parametrize(
    "value", ["['a.png'", "[a.png]", "[1, 2]", "[]x", "[{'a': 1}]", "[__import__('os')]"]
)
def test_images_list_string_that_does_not_parse(value: str) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        to_images(value)
    assert info.value.field == "images"
    assert "looks like a list but is not a JSON or Python list of strings" in str(info.value)
    assert "does not exist" not in str(info.value)


@pytest.mark.parametrize("value", [None, "None"])
def test_images_none(value: object) -> None:
    with pytest.raises(WanxiangValidationError, match="images: images is required"):
        to_images(value)


def test_xcom_args_wait_for_resolution() -> None:
    from airflow.sdk import DAG, task

    with DAG("coercion_xcom_arg", schedule=None):

        @task
        def how_many() -> int:
            return 2

        output = how_many()
    assert is_template(output)
    assert unless_template(output, to_int, "n") is output


def test_templates_wait_for_rendering() -> None:
    assert is_template("{{ params.n }}")
    assert is_template("{% if x %}1{% endif %}")
    assert not is_template("2")
    assert not is_template(2)
    assert unless_template("{{ params.n }}", to_int, "n") == "{{ params.n }}"
    assert unless_template("2", to_int, "n") == 2
    with pytest.raises(WanxiangValidationError, match="n: 'two' is not an integer"):
        unless_template("two", to_int, "n")
