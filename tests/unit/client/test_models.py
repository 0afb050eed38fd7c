"""``client.models``: the edit's fingerprint (what a retried task re-attaches by) and the list query value."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from airflow_provider_wanxiang.client import EditRequest, ListTasksQuery, TaskStatus, build_edit_request

FULL = EditRequest(
    model="wan2.5-i2i-preview",
    prompt="make the sky blue, 天空",
    images=("https://example.com/a.png", "oss://dashscope-instant/x/b.png"),
    negative_prompt="blur",
    n=2,
    size="1024*1024",
    seed=42,
    prompt_extend=False,
    watermark=True,
)
MINIMAL = EditRequest(model="wan2.5-i2i-preview", prompt="p", images=("https://example.com/a.png",))


def test_fingerprints_stored_by_the_previous_release_still_match() -> None:
    """Digests computed by 0.x's ``operators.wanxiang._fingerprint`` (SHA-256 of the sorted create body) for
    these two requests; a task state stored before an upgrade must still re-attach after it."""
    assert FULL.fingerprint() == "639c805e2a2db09f1dbd9c8796e69f5de2e31ca6106d5d246e745aaa4db6253e"
    assert MINIMAL.fingerprint() == "f77bbafcf8c9edaa702f04f4d79463ccf1592d65b233c5a8afccc11cfcd60bae"


def test_equal_requests_have_equal_fingerprints() -> None:
    built = build_edit_request(prompt="p", images=["https://example.com/a.png"])
    assert built == MINIMAL and built is not MINIMAL
    assert built.fingerprint() == MINIMAL.fingerprint()
    assert len(MINIMAL.fingerprint()) == 64


CHANGES: list[tuple[str, Any]] = [
    ("model", "wan2.5-i2i-other"),
    ("prompt", "make the sky green, 天空"),
    ("images", ("https://example.com/a.png",)),
    ("images", ("oss://dashscope-instant/x/b.png", "https://example.com/a.png")),  # order is meaning
    ("negative_prompt", None),
    ("n", 3),
    ("size", "1280*720"),
    ("seed", 43),
    ("seed", None),
    ("prompt_extend", True),
    ("watermark", False),
]


@pytest.mark.parametrize(("name", "value"), CHANGES)
def test_any_changed_field_changes_the_fingerprint(name: str, value: Any) -> None:
    changed = dataclasses.replace(FULL, **{name: value})
    assert changed.fingerprint() != FULL.fingerprint()


def test_every_field_of_the_request_is_covered_by_the_change_table() -> None:
    """A field added to EditRequest later must join the fingerprint test above."""
    assert {name for name, _ in CHANGES} == {f.name for f in dataclasses.fields(EditRequest)}


def test_list_query_defaults_are_the_servers_first_page() -> None:
    query = ListTasksQuery()
    assert (query.start_time, query.end_time, query.status, query.page_no, query.page_size) == (
        None,
        None,
        None,
        1,
        10,
    )
    assert dataclasses.replace(query, status=TaskStatus.FAILED) != query
