"""Every input is validated before anything is sent, with errors naming field, value and limit: the edit's
fields, task ids, the list filters, upload names and sizes, and object-storage inputs by their size."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wanxiang.client import (
    EditRequest,
    ListTasksQuery,
    TaskStatus,
    WanxiangValidationError,
    WanxiangWarning,
    build_edit_request,
    build_list_query,
    normalize_size,
    validate_task_id,
)
from airflow_provider_wanxiang.client.limits import BEIJING, MAX_IMAGE_BYTES
from airflow_provider_wanxiang.client.validation import (
    check_object_size,
    check_upload_size,
    validate_filename,
    validate_upload_model,
)
from tests.images import png_bytes

URL = "https://example.com/a.png"


def build(**overrides: Any) -> EditRequest:
    return build_edit_request(**{"prompt": "make it blue", "images": [URL], **overrides})


def rejected(**overrides: Any) -> WanxiangValidationError:
    with pytest.raises(WanxiangValidationError) as info:
        build(**overrides)
    return info.value


def test_defaults() -> None:
    req = build()
    assert req == EditRequest(
        model="wan2.5-i2i-preview",
        prompt="make it blue",
        images=(URL,),
        negative_prompt=None,
        n=1,  # not the API's 4: every image is billed
        size=None,
        seed=None,
        prompt_extend=True,
        watermark=False,
    )
    assert not req.needs_oss_resolve


def test_mixed_inputs_are_normalised_in_order(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(400, 400))
    req = build(images=[URL, png_bytes(500, 500), str(path)])
    assert req.images[0] == URL
    assert req.images[1].startswith("data:image/png;base64,")
    assert req.images[2].startswith("data:image/png;base64,")
    assert build(images=("oss://dashscope-instant/a/b.png",)).needs_oss_resolve


# -- prompt -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["", "   \n\t"])
def test_prompt_is_required(prompt: str) -> None:
    err = rejected(prompt=prompt)
    assert err.field == "prompt"
    assert str(err).startswith("prompt: ") and "required" in str(err)


def test_prompt_must_be_a_string() -> None:
    assert rejected(prompt=None).field == "prompt"


def test_prompt_at_2000_is_silent_and_above_warns() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(build(prompt="x" * 2000).prompt) == 2000
    with pytest.warns(
        WanxiangWarning, match=r"prompt: 2,001 characters is above the maximum of 2,000"
    ) as record:
        req = build(prompt="x" * 2001)
    assert len(req.prompt) == 2001  # not truncated client-side: the server does it
    assert record[0].filename == __file__  # points at the caller, not at library internals


def test_negative_prompt_at_500_is_silent_and_above_warns() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert build(negative_prompt="y" * 500).negative_prompt == "y" * 500
    with pytest.warns(WanxiangWarning, match=r"negative_prompt: 501 characters is above the maximum of 500"):
        build(negative_prompt="y" * 501)


def test_blank_negative_prompt_means_none() -> None:
    assert build(negative_prompt="  ").negative_prompt is None
    assert rejected(negative_prompt=3).field == "negative_prompt"


# -- images -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3])
def test_one_to_three_images(count: int) -> None:
    assert len(build(images=[URL] * count).images) == count


@pytest.mark.parametrize("count", [0, 4])
def test_image_count_limits(count: int) -> None:
    err = rejected(images=[URL] * count)
    assert (err.field, err.value, err.limit) == ("images", count, "1-3 images")
    assert str(err) == f"images: {count} images given; allowed: 1-3 images"


@pytest.mark.parametrize("images", [URL, png_bytes(400, 400), None])
def test_a_lone_image_is_not_a_list(images: object) -> None:
    assert "is not a list of images" in str(rejected(images=images))


def test_image_errors_name_their_position() -> None:
    err = rejected(images=[URL, png_bytes(400, 400), png_bytes(400, 300)])
    assert err.field == "images[2]"
    assert str(err).startswith("images[2]: height 300 px is below the minimum of 384 px")


# -- n, seed, booleans, model -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 4])
def test_n_bounds_accepted(n: int) -> None:
    assert build(n=n).n == n


@pytest.mark.parametrize(("n", "words"), [(0, "below the minimum of 1"), (5, "above the maximum of 4")])
def test_n_bounds_rejected(n: int, words: str) -> None:
    err = rejected(n=n)
    assert (err.field, err.value, err.limit) == ("n", n, "an integer from 1 to 4")
    assert str(err) == f"n: {n} is {words} (an integer from 1 to 4)"


@pytest.mark.parametrize("n", [True, 2.0, "2"])
def test_n_must_be_a_real_integer(n: object) -> None:
    assert rejected(n=n).field == "n"


@pytest.mark.parametrize("seed", [0, 2147483647, None])
def test_seed_bounds_accepted(seed: int | None) -> None:
    assert build(seed=seed).seed == seed


@pytest.mark.parametrize("seed", [-1, 2147483648])
def test_seed_bounds_rejected(seed: int) -> None:
    err = rejected(seed=seed)
    assert (err.field, err.value) == ("seed", seed)
    assert str(seed) in str(err) and "0 to 2147483647" in str(err)


@pytest.mark.parametrize("name", ["prompt_extend", "watermark"])
def test_flags_must_be_bools(name: str) -> None:
    assert build(**{name: False}).__getattribute__(name) is False
    err = rejected(**{name: "yes"})
    assert (err.field, err.limit) == (name, "True or False")
    assert "'yes'" in str(err)


@pytest.mark.parametrize("model", ["wan2.6-image", "wan2.5-i2i", "wanx2.1-imageedit", ""])
def test_only_the_supported_model(model: str) -> None:
    err = rejected(model=model)
    assert (err.field, err.value, err.limit) == ("model", model, "wan2.5-i2i-preview")
    assert repr(model) in str(err)


def test_scalar_errors_come_before_reading_images(tmp_path: Path) -> None:
    # A bad n is reported without touching the (missing) file.
    err = rejected(n=9, images=[str(tmp_path / "missing.png")])
    assert err.field == "n"


# -- size ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "wire"),
    [
        ("1280*1280", "1280*1280"),
        ("1024x1024", "1024*1024"),
        ("1024X768", "1024*768"),
        ("1200\u00d7800", "1200*800"),
        (" 768 * 768 ", "768*768"),
        ("1344*576", "1344*576"),
        (None, None),
    ],
)
def test_size_forms(size: str | None, wire: str | None) -> None:
    assert normalize_size(size) == wire
    assert build(size=size).size == wire


@pytest.mark.parametrize(
    ("size", "ok"),
    [
        ("768*768", True),  # exactly 589,824
        ("767*768", False),  # 589,056
        ("1280*1280", True),  # exactly 1,638,400
        ("1281*1280", False),
        ("1536*384", True),  # 4:1 exactly, 589,824 px
        ("384*1536", True),  # 1:4 exactly
        ("1544*384", False),  # just beyond 4:1, pixels in range
        ("384*1544", False),
    ],
)
def test_size_pixel_and_ratio_boundaries(size: str, ok: bool) -> None:
    if ok:
        assert normalize_size(size) == size
        return
    with pytest.raises(WanxiangValidationError) as info:
        normalize_size(size)
    err = info.value
    assert err.field == "size" and err.value == size
    assert repr(size) in str(err)
    assert err.limit in str(err)


def test_size_messages() -> None:
    with pytest.raises(
        WanxiangValidationError, match=re.escape("has 589,056 pixels, below the minimum of 589,824")
    ):
        normalize_size("767*768")
    with pytest.raises(
        WanxiangValidationError, match=re.escape("has 1,639,680 pixels, above the maximum of 1,638,400")
    ):
        normalize_size("1281*1280")
    with pytest.raises(
        WanxiangValidationError, match=re.escape("aspect ratio 1544:384, outside the allowed")
    ):
        normalize_size("1544*384")


@pytest.mark.parametrize("size", ["1280", "1280*", "big", "1280*1280*1", "-768*768", "1e3*1e3", 1024])
def test_size_syntax(size: object) -> None:
    with pytest.raises(WanxiangValidationError, match="is not of the form 'W\\*H'"):
        normalize_size(size)


# -- the other calls: task ids, list filters, uploads, object-storage inputs --------------------------------

UTC = UTC


@pytest.mark.parametrize("task_id", ["", "a/b", "../x", "..", "a?b", "a#b", "a b", "a\nb", "a%2Fb", None, 5])
def test_task_ids_cannot_change_the_path(task_id: object) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        validate_task_id(task_id)
    assert info.value.field == "task_id"


def test_a_plain_task_id_is_returned() -> None:
    assert validate_task_id("86ecf553-d340-4e21-af6e-a1b2c3") == "86ecf553-d340-4e21-af6e-a1b2c3"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start_time": datetime(2025, 1, 1)}, "start_time"),  # naive: which timezone?
        ({"end_time": "2025-01-01"}, "end_time"),
        ({"start_time": 20250101}, "start_time"),
        (
            {
                "start_time": datetime(2025, 1, 1, tzinfo=UTC),
                "end_time": datetime(2025, 1, 2, 0, 0, 1, tzinfo=UTC),
            },
            "end_time",
        ),
        (
            {"start_time": datetime(2025, 1, 2, tzinfo=UTC), "end_time": datetime(2025, 1, 1, tzinfo=UTC)},
            "end_time",
        ),
        ({"status": "DONE"}, "status"),
        ({"page_no": 0}, "page_no"),
        ({"page_size": True}, "page_size"),
        ({"page_size": "10"}, "page_size"),
        ({"model_name": 5}, "model_name"),
    ],
)
def test_list_filters_are_checked(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        build_list_query(**kwargs)
    assert info.value.field == field


def test_list_query_normalises_the_looser_forms() -> None:
    query = build_list_query(
        start_time="20250425120000", end_time="20250426120000", status="FAILED", model_name=""
    )
    assert query == ListTasksQuery(
        start_time=datetime(2025, 4, 25, 12, tzinfo=BEIJING),
        end_time=datetime(2025, 4, 26, 12, tzinfo=BEIJING),
        status=TaskStatus.FAILED,
    )
    assert query.end_time is not None and query.start_time is not None
    assert query.end_time - query.start_time == timedelta(hours=24)  # exactly 24 h is allowed
    assert build_list_query() == ListTasksQuery()
    with pytest.raises(AttributeError):
        query.page_size = 0  # type: ignore[misc]


def test_list_query_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        build_list_query(datetime(2025, 1, 1, tzinfo=UTC))  # type: ignore[misc]


@pytest.mark.parametrize("filename", ["", "a/b.png", "..", "c:\\x.png", None])
def test_upload_filename_must_be_plain(filename: object) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        validate_filename(filename)
    assert info.value.field == "filename"


def test_upload_respects_the_policy_size_limit() -> None:
    check_upload_size(b"x" * 1024 * 1024, 1)
    check_upload_size(b"x" * 10, None)
    with pytest.raises(WanxiangValidationError, match="above the upload policy's maximum of 1 MB") as info:
        check_upload_size(b"x" * (1024 * 1024 + 1), 1)
    assert info.value.field == "data"


@pytest.mark.parametrize("model", ["", None, 3])
def test_upload_needs_a_model_name(model: object) -> None:
    with pytest.raises(WanxiangValidationError, match="a model name is required"):
        validate_upload_model(model)


def test_object_storage_input_is_refused_by_its_size_naming_where_and_the_limit() -> None:
    check_object_size("images[0]", "s3://bucket/ok.png", MAX_IMAGE_BYTES)
    with pytest.raises(WanxiangValidationError) as info:
        check_object_size("images[1]", "s3://bucket/huge.png", MAX_IMAGE_BYTES + 1)
    error = info.value
    assert error.field == "images[1]" and error.limit == f"at most {MAX_IMAGE_BYTES} bytes (10 MB)"
    assert "s3://bucket/huge.png is 10485761 bytes, above the maximum of 10485760 bytes" in str(error)
