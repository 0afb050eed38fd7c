"""Overwrite policy: the accepted spellings, and keep / replace / refuse for what is at the destination."""

from __future__ import annotations

import pytest

from airflow_provider_wanxiang.client import WanxiangLocalError, WanxiangValidationError
from airflow_provider_wanxiang.copying import (
    DestinationExistsError,
    ExistingObject,
    OverwritePolicy,
    keeps_existing,
)


@pytest.mark.parametrize(
    ("value", "policy"),
    [
        (False, OverwritePolicy.NEVER),
        (True, OverwritePolicy.ALWAYS),
        ("no", OverwritePolicy.NEVER),
        ("TRUE", OverwritePolicy.ALWAYS),
        ("1", OverwritePolicy.ALWAYS),
        ("IF-DIFFERENT", OverwritePolicy.IF_DIFFERENT),
        ("never", OverwritePolicy.NEVER),
        (OverwritePolicy.ALWAYS, OverwritePolicy.ALWAYS),
    ],
)
def test_accepted_spellings(value: object, policy: OverwritePolicy) -> None:
    assert OverwritePolicy.coerce(value) is policy


@pytest.mark.parametrize("value", ["sometimes", 2, None, ""])
def test_other_values_name_field_value_and_allowed(value: object) -> None:
    with pytest.raises(WanxiangValidationError) as caught:
        OverwritePolicy.coerce(value)
    assert caught.value.field == "overwrite"
    assert "if_different" in caught.value.limit
    assert str(caught.value).startswith("overwrite: ")


COMPLETE = ExistingObject(size=100, complete=True, width=8, height=8)
BROKEN = ExistingObject(size=100, complete=False)


@pytest.mark.parametrize(
    ("existing", "expected_size", "policy", "keeps"),
    [
        (None, 100, OverwritePolicy.NEVER, False),  # nothing there: write
        (COMPLETE, 100, OverwritePolicy.NEVER, True),  # the same image: keep
        (COMPLETE, None, OverwritePolicy.NEVER, True),  # size unknown: a complete PNG is kept
        (COMPLETE, 100, OverwritePolicy.IF_DIFFERENT, True),
        (COMPLETE, 100, OverwritePolicy.ALWAYS, False),
        (COMPLETE, 200, OverwritePolicy.IF_DIFFERENT, False),  # different: replace
        (BROKEN, 100, OverwritePolicy.IF_DIFFERENT, False),
    ],
)
def test_keep_or_replace(
    existing: ExistingObject | None, expected_size: int | None, policy: OverwritePolicy, keeps: bool
) -> None:
    assert keeps_existing(existing, expected_size, policy, "b/x.png") is keeps


@pytest.mark.parametrize(
    ("existing", "found"), [(COMPLETE, "a complete PNG"), (BROKEN, "not a complete PNG")]
)
def test_never_refuses_a_different_object(existing: ExistingObject, found: str) -> None:
    with pytest.raises(DestinationExistsError, match=found) as caught:
        keeps_existing(existing, 200, OverwritePolicy.NEVER, "b/x.png")
    assert isinstance(caught.value, WanxiangLocalError) and not caught.value.retryable
    assert "overwrite='if_different'" in str(caught.value)
