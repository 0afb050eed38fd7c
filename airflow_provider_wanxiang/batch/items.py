"""The catalogue: load the items (a list of dicts or a JSON Lines file), validate every one, rebuild requests.

Why two passes: a catalogue may hold tens of thousands of items whose images are data URIs or object-store
reads of megabytes each. Keeping every validated request in memory would make the batch's memory grow with
its images, so :func:`validate_catalogue` builds each request once (checking every field before anything
is paid for), keeps only the key, the fingerprint and the image count, and :meth:`Catalogue.requests`
rebuilds the requests lazily, one at a time, when the engine is about to submit them.

All invalid items are reported together (key, field, value and limit of each), so a manifest with ten typos
is fixed in one round instead of ten.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_wanxiang.client import EditRequest, WanxiangValidationError, build_edit_request
from airflow_provider_wanxiang.client._text import shorten
from airflow_provider_wanxiang.coercion import (
    to_bool,
    to_images,
    to_int,
    to_optional_int,
    to_optional_str,
    to_required_str,
)

__all__ = [
    "ITEM_FIELDS",
    "KEY_LIMIT",
    "BatchValidationError",
    "Catalogue",
    "ItemPlan",
    "ItemProblem",
    "build_item_request",
    "validate_catalogue",
]

#: Fields an item may have; anything else is a typo worth stopping for (``promt`` would edit with no prompt).
ITEM_FIELDS = frozenset(
    {"key", "prompt", "images", "negative_prompt", "n", "size", "seed", "prompt_extend", "watermark"}
)
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # a URL or data: URI (anything with a scheme)
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
KEY_LIMIT = (
    "a unique string of 1-200 characters from A-Z a-z 0-9 . _ - starting with a letter or digit "
    "(it names the item's output folder)"
)
#: Problems spelled out in the exception message; all of them are in ``BatchValidationError.problems``.
_MAX_LISTED = 50


@dataclass(frozen=True, slots=True)
class ItemProblem:
    """One invalid item: where it is, its key (when it has one) and what is wrong."""

    position: int
    key: str | None
    field: str
    value: object
    limit: str
    problem: str

    def line(self) -> str:
        who = f"item {self.position}" + (f" (key {self.key!r})" if self.key is not None else "")
        return f"{who}: {self.problem}"


class BatchValidationError(WanxiangValidationError):
    """Some items are invalid; nothing was submitted. ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[ItemProblem], total: int) -> None:
        self.problems = list(problems)
        listed = "\n  ".join(p.line() for p in self.problems[:_MAX_LISTED])
        more = len(self.problems) - _MAX_LISTED
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(
            "items",
            f"{len(self.problems)} of {total} items",
            "every item valid",
            f"{len(self.problems)} of {total} items are invalid; nothing was submitted:\n  {listed}{tail}",
        )


@dataclass(frozen=True, slots=True)
class ItemPlan:
    """What the batch keeps of a validated item: its key, request fingerprint and images requested."""

    key: str
    fingerprint: str
    n: int


def build_item_request(raw: object) -> tuple[str, EditRequest]:
    """Type and validate one item (the submit operator's rules, field by field) and return its request.

    Object-storage images are read here (the input readers of the submit operator), so the fingerprint
    covers the input bytes: a changed photo under the same name is a changed item.

    :raises WanxiangValidationError: naming the field (``key``, ``prompt``, ``images[1]``, ...).
    """
    from airflow_provider_wanxiang.inputs import normalise_image_inputs

    if not isinstance(raw, dict):
        raise WanxiangValidationError("item", shorten(raw), "a JSON object (dict) with key, prompt, images")
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise WanxiangValidationError("key", key, KEY_LIMIT, f"{key!r} is not a valid key ({KEY_LIMIT})")
    unknown = sorted(set(raw) - ITEM_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(ITEM_FIELDS))
        raise WanxiangValidationError(
            unknown[0], raw[unknown[0]], allowed, f"unknown field {unknown[0]!r} (allowed: {allowed})"
        )
    images = to_images(raw.get("images"))
    request = build_edit_request(
        prompt=to_required_str("prompt", raw.get("prompt")),
        images=normalise_image_inputs(images),
        negative_prompt=to_optional_str("negative_prompt", raw.get("negative_prompt")),
        n=to_int("n", raw.get("n", 1)),
        size=to_optional_str("size", raw.get("size")),
        seed=to_optional_int("seed", raw.get("seed")),
        prompt_extend=to_bool("prompt_extend", raw.get("prompt_extend", True)),
        watermark=to_bool("watermark", raw.get("watermark", False)),
    )
    return key, request


class Catalogue:
    """The items of one batch, from a list of dicts or a JSON Lines file (read streamed, line by line).

    :param source: a list of dicts, a JSON list rendered to a string, or the path of a ``.jsonl`` file
        (absolute local path, ``file://``, or ``scheme://[conn_id@]bucket/key`` / ``ObjectStoragePath``).
    """

    def __init__(self, source: Any) -> None:
        if isinstance(source, str) and source.strip().startswith("["):
            source = _parse_list(source)
        if isinstance(source, tuple):
            source = list(source)
        self.source = source

    @property
    def is_file(self) -> bool:
        return not isinstance(self.source, list)

    def raw_items(self) -> Iterator[tuple[int, object]]:
        """``(position, item)`` in order; position is 0-based (the line number minus one for a file)."""
        if not self.is_file:
            yield from enumerate(self.source)
            return
        yield from _read_jsonl(self.source)

    def requests(self, keys: set[str]) -> Iterator[tuple[str, EditRequest | WanxiangValidationError]]:
        """Rebuild the requests of ``keys`` in catalogue order, one at a time (memory stays flat).

        An item that no longer validates (its input object was deleted since the batch started) comes back as
        the error instead of a request, so only that item fails.
        """
        for _, raw in self.raw_items():
            key = raw.get("key") if isinstance(raw, dict) else None
            if not isinstance(key, str) or key not in keys:
                continue
            try:
                yield key, build_item_request(raw)[1]
            except WanxiangValidationError as err:
                yield key, err


def validate_catalogue(catalogue: Catalogue) -> list[ItemPlan]:
    """Validate every item before anything is paid for; return the plan of each, in order.

    :raises BatchValidationError: listing every invalid item (and every duplicate key) at once.
    """
    plans: list[ItemPlan] = []
    problems: list[ItemProblem] = []
    seen: dict[str, int] = {}
    total = 0
    for position, raw in catalogue.raw_items():
        total += 1
        key = raw.get("key") if isinstance(raw, dict) else None
        shown_key = key if isinstance(key, str) else None
        try:
            key, request = build_item_request(raw)
        except WanxiangValidationError as err:
            problems.append(_problem(position, shown_key, err))
            continue
        if key in seen:
            problems.append(
                ItemProblem(
                    position,
                    key,
                    "key",
                    key,
                    KEY_LIMIT,
                    f"key {key!r} repeats item {seen[key]} (keys are unique)",
                )
            )
            continue
        seen[key] = position
        plans.append(ItemPlan(key, request.fingerprint(), request.n))
    if total == 0:
        raise WanxiangValidationError("items", "[]", "at least one item", "items is empty: nothing to edit")
    if problems:
        raise BatchValidationError(problems, total)
    return plans


def _problem(position: int, key: str | None, err: WanxiangValidationError) -> ItemProblem:
    return ItemProblem(position, key, err.field, err.value, err.limit, str(err))


def _parse_list(text: str) -> list[Any]:
    """A list rendered to a string by a template (JSON first, then a Python literal; never ``eval``)."""
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            parsed = None
    if not isinstance(parsed, list):
        raise WanxiangValidationError(
            "items",
            text,
            "a list of dicts or the path of a JSON Lines file",
            "items looks like a list but is not a JSON or Python list",
        )
    return parsed


def _read_jsonl(source: Any) -> Iterator[tuple[int, object]]:
    """Stream the lines of a JSON Lines file from any Airflow object storage (blank lines are skipped)."""
    from airflow_provider_wanxiang.copying.destination import destination_root

    try:
        location = destination_root(source, None)
    except WanxiangValidationError as err:
        raise WanxiangValidationError(
            "items", source, "a list of dicts or the path of a JSON Lines file", str(err)
        ) from err
    try:
        handle = location.fs.open(location.path, "rb")
    except (FileNotFoundError, IsADirectoryError) as err:
        raise WanxiangValidationError(
            "items", source, "an existing JSON Lines file", f"cannot read items from {location.uri}: {err}"
        ) from err
    base = str(source).rstrip("/").rpartition("/")[0]
    with handle:
        for number, line in enumerate(handle):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as err:
                yield number, _Unparsable(f"line {number + 1} is not JSON ({err})")
                continue
            yield number, _resolve_relative_images(item, base)


def _resolve_relative_images(item: Any, base: str) -> Any:
    """A relative image path in a manifest means "next to the manifest" (same store, same connection)."""
    if not isinstance(item, dict) or not isinstance(item.get("images"), list):
        return item
    images = [
        f"{base}/{image}"
        if isinstance(image, str) and image and not _ABSOLUTE.match(image) and not image.startswith("/")
        else image
        for image in item["images"]
    ]
    return {**item, "images": images}


class _Unparsable(str):
    """A line that is not JSON: validation reports it like any other invalid item."""
