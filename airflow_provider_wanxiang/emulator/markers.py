"""Test triggers written into the prompt, e.g. ``"make it red [fail:InternalError.Algo]"``.

The prompt is the one field every client passes through unchanged, so markers there let any test (unit,
DAG, SDK) steer a task's fate without emulator-specific plumbing. The syntax is a fixed contract:
``[fail:CODE]``, ``[partial:K]``, ``[reject:CODE]``, ``[seconds:S]``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_MARKER = re.compile(r"\[(fail|partial|reject|seconds):([^\]\s]+)\]")


@dataclass(frozen=True)
class Markers:
    """What the prompt asks the emulator to do; ``None`` fields mean "behave normally"."""

    fail: str | None = None
    partial: int | None = None
    reject: str | None = None
    seconds: float | None = None


def parse_markers(prompt: str) -> Markers:
    """Read markers from the whole (untruncated) prompt; the last occurrence of a kind wins.

    Malformed values (``[partial:x]``, ``[seconds:-1]``) are ignored rather than rejected: a real prompt
    may contain brackets, and the real service would not reject it for that.
    """
    fail: str | None = None
    partial: int | None = None
    reject: str | None = None
    seconds: float | None = None
    for kind, value in _MARKER.findall(prompt):
        if kind == "fail":
            fail = value
        elif kind == "reject":
            reject = value
        elif kind == "partial":
            if value.isdigit():
                partial = int(value)
        else:
            try:
                parsed = float(value)
            except ValueError:
                continue
            if math.isfinite(parsed) and parsed >= 0:
                seconds = parsed
    return Markers(fail=fail, partial=partial, reject=reject, seconds=seconds)
