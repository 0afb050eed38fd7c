"""Every item validated before anything is paid for; every invalid item reported in one error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_wanxiang.batch.items import BatchValidationError, Catalogue, validate_catalogue
from airflow_provider_wanxiang.client import WanxiangValidationError
from tests.images import png_data_uri

IMAGE = png_data_uri(480, 400)


def item(key: object, **fields: object) -> dict[str, object]:
    return {"key": key, "prompt": "Make it white", "images": [IMAGE], **fields}


def test_all_invalid_items_are_reported_together_with_field_value_and_limit() -> None:
    items = [
        item("ok-1"),
        item("bad/key"),
        item("too-many", n=7),
        item("ok-1"),  # duplicate
        {"key": "no-prompt", "images": [IMAGE]},
        item("typo", promt="x"),
        item("size", size="10*10"),
        "not an object",
        item("ok-2"),
    ]

    with pytest.raises(BatchValidationError) as raised:
        validate_catalogue(Catalogue(items))

    problems = {(p.position, p.field) for p in raised.value.problems}
    assert problems == {
        (1, "key"),
        (2, "n"),
        (3, "key"),
        (4, "prompt"),
        (5, "promt"),
        (6, "size"),
        (7, "item"),
    }
    message = str(raised.value)
    assert message.startswith("items: 7 of 9 items are invalid; nothing was submitted")
    assert "item 2 (key 'too-many'): n: 7 is above the maximum of 4" in message
    assert "key 'ok-1' repeats item 0" in message
    assert isinstance(raised.value, WanxiangValidationError) and raised.value.field == "items"


def test_valid_items_give_key_fingerprint_and_images_requested() -> None:
    plans = validate_catalogue(Catalogue([item("a", n=2), item("b", prompt="Make it blue")]))

    assert [(p.key, p.n) for p in plans] == [("a", 2), ("b", 1)]
    assert plans[0].fingerprint != plans[1].fingerprint
    # The same edit gives the same fingerprint (what makes an incremental run skip it).
    assert validate_catalogue(Catalogue([item("a", n=2)]))[0].fingerprint == plans[0].fingerprint


def test_a_jsonl_file_is_streamed_and_bad_lines_are_reported(tmp_path: Path) -> None:
    manifest = tmp_path / "items.jsonl"
    manifest.write_text(json.dumps(item("a")) + "\n\n{not json\n" + json.dumps(item("b")) + "\n")

    with pytest.raises(BatchValidationError) as raised:
        validate_catalogue(Catalogue(str(manifest)))

    (problem,) = raised.value.problems
    assert problem.position == 2 and "line 3 is not JSON" in str(problem.value)


def test_a_template_rendered_list_is_parsed_back() -> None:
    rendered = str([item("a")])  # what "{{ ti.xcom_pull(...) }}" renders a list of dicts to

    assert [p.key for p in validate_catalogue(Catalogue(rendered))] == ["a"]


def test_requests_are_rebuilt_lazily_for_the_wanted_keys_only() -> None:
    catalogue = Catalogue([item("a"), item("b"), item("c")])

    rebuilt = list(catalogue.requests({"c", "a"}))

    assert [key for key, _ in rebuilt] == ["a", "c"]


@pytest.mark.parametrize("items", [[], "[]"])
def test_no_items_is_an_error(items: object, tmp_path: Path) -> None:
    with pytest.raises(WanxiangValidationError, match="items is empty"):
        validate_catalogue(Catalogue(items))


def test_a_missing_manifest_names_items(tmp_path: Path) -> None:
    with pytest.raises(WanxiangValidationError) as raised:
        validate_catalogue(Catalogue(str(tmp_path / "missing.jsonl")))
    assert raised.value.field == "items"
