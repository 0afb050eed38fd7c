"""Validation before money: every field of an edit is checked against the API limits before it is sent.

Each task is billed per output image and a rejected request costs a round trip (or, for some checks, a
FAILED task discovered minutes later), so every documented limit is enforced here, with an error that names
the field, the value and the limit. Things the server *accepts but changes* (prompts beyond 2000 characters
are truncated) raise a :class:`~airflow_provider_wanxiang.client.errors.WanxiangWarning` instead.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

from airflow_provider_wanxiang.client.endpoints import DEFAULT_MODEL
from airflow_provider_wanxiang.client.errors import WanxiangValidationError, WanxiangWarning, shorten
from airflow_provider_wanxiang.client.images import ImageInput, normalize_image
from airflow_provider_wanxiang.client.limits import (
    MAX_ASPECT_RATIO,
    MAX_IMAGES,
    MAX_N,
    MAX_NEGATIVE_PROMPT_CHARS,
    MAX_OUTPUT_PIXELS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MIN_IMAGES,
    MIN_N,
    MIN_OUTPUT_PIXELS,
    MIN_SEED,
    SUPPORTED_MODELS,
)
from airflow_provider_wanxiang.client.models import EditRequest

__all__ = [
    "build_edit_request",
    "normalize_size",
    "validate_model",
    "validate_n",
    "validate_negative_prompt",
    "validate_prompt",
    "validate_seed",
]

_SIZE = re.compile(r"\s*(\d+)\s*[*xX\u00d7]\s*(\d+)\s*")
"""``W*H``; ``WxH`` and the multiplication sign (U+00D7) are accepted and normalised to ``*``."""
_PIXELS = f"{MIN_OUTPUT_PIXELS:,}-{MAX_OUTPUT_PIXELS:,} pixels (768*768 to 1280*1280)"
_RATIO = f"aspect ratio between 1:{MAX_ASPECT_RATIO} and {MAX_ASPECT_RATIO}:1"


def _check_int(name: str, value: object, low: int, high: int) -> int:
    limit = f"an integer from {low} to {high}"
    # bool is an int subclass; n=True would silently mean n=1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise WanxiangValidationError(name, value, limit, f"{value!r} is not an integer (allowed: {limit})")
    if value < low:
        raise WanxiangValidationError(name, value, limit, f"{value} is below the minimum of {low} ({limit})")
    if value > high:
        raise WanxiangValidationError(name, value, limit, f"{value} is above the maximum of {high} ({limit})")
    return value


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise WanxiangValidationError(
            name, value, "True or False", f"{value!r} is not a bool (allowed: True or False)"
        )
    return value


def validate_model(model: object) -> str:
    """Return ``model`` if this client knows how to call it (other models use other request shapes)."""
    if model not in SUPPORTED_MODELS:
        allowed = ", ".join(SUPPORTED_MODELS)
        raise WanxiangValidationError(
            "model", model, allowed, f"{model!r} is not supported by this endpoint (allowed: {allowed})"
        )
    return str(model)


def validate_prompt(prompt: object) -> str:
    """Require a non-blank prompt; warn (not fail) when the server will truncate it."""
    limit = f"a non-blank string (at most {MAX_PROMPT_CHARS} characters are used)"
    if not isinstance(prompt, str):
        raise WanxiangValidationError("prompt", prompt, limit, f"{shorten(prompt)} is not a string ({limit})")
    if not prompt.strip():
        raise WanxiangValidationError("prompt", prompt, limit, f"{prompt!r} is blank; a prompt is required")
    _warn_if_truncated("prompt", prompt, MAX_PROMPT_CHARS)
    return prompt


def validate_negative_prompt(negative_prompt: object) -> str | None:
    """Accept ``None`` or a string; blank means "none"; warn when the server will truncate it."""
    if negative_prompt is None:
        return None
    if not isinstance(negative_prompt, str):
        raise WanxiangValidationError(
            "negative_prompt",
            negative_prompt,
            "a string or None",
            f"{shorten(negative_prompt)} is not a string",
        )
    if not negative_prompt.strip():
        return None
    _warn_if_truncated("negative_prompt", negative_prompt, MAX_NEGATIVE_PROMPT_CHARS)
    return negative_prompt


def _warn_if_truncated(name: str, text: str, max_chars: int) -> None:
    if len(text) > max_chars:
        warnings.warn(
            f"{name}: {len(text):,} characters is above the maximum of {max_chars:,}; "
            f"the server will truncate it to the first {max_chars:,}",
            WanxiangWarning,
            stacklevel=4,
        )


def validate_n(n: object) -> int:
    """Number of output images, 1-4 (each successful one is billed)."""
    return _check_int("n", n, MIN_N, MAX_N)


def validate_seed(seed: object) -> int | None:
    """``None`` (random) or an integer in [0, 2147483647]."""
    if seed is None:
        return None
    return _check_int("seed", seed, MIN_SEED, MAX_SEED)


def normalize_size(size: object) -> str | None:
    """Return ``size`` as the wire's ``"W*H"`` (``x`` and U+00D7 are accepted as separators), or ``None``.

    Total pixels must be within 768*768-1280*1280 and the aspect ratio within 1:4-4:1.
    """
    if size is None:
        return None
    limit = f"'W*H' with {_PIXELS} and {_RATIO}"
    match = _SIZE.fullmatch(size) if isinstance(size, str) else None
    if match is None:
        raise WanxiangValidationError(
            "size", size, limit, f"{size!r} is not of the form 'W*H' (allowed: {limit})"
        )
    width, height = int(match.group(1)), int(match.group(2))
    pixels = width * height
    if pixels < MIN_OUTPUT_PIXELS:
        raise WanxiangValidationError(
            "size",
            size,
            _PIXELS,
            f"{size!r} has {pixels:,} pixels, below the minimum of {MIN_OUTPUT_PIXELS:,} ({_PIXELS})",
        )
    if pixels > MAX_OUTPUT_PIXELS:
        raise WanxiangValidationError(
            "size",
            size,
            _PIXELS,
            f"{size!r} has {pixels:,} pixels, above the maximum of {MAX_OUTPUT_PIXELS:,} ({_PIXELS})",
        )
    if width > MAX_ASPECT_RATIO * height or height > MAX_ASPECT_RATIO * width:
        raise WanxiangValidationError(
            "size", size, _RATIO, f"{size!r} has aspect ratio {width}:{height}, outside the allowed {_RATIO}"
        )
    return f"{width}*{height}"


def _normalize_images(images: object) -> tuple[str, ...]:
    limit = f"{MIN_IMAGES}-{MAX_IMAGES} images"
    if isinstance(images, (str, bytes, bytearray, memoryview)) or not isinstance(images, Sequence):
        # A lone string or bytes is a common slip; a str is also a Sequence, so check it first.
        raise WanxiangValidationError(
            "images", images, limit, f"{shorten(images)} is not a list of images (allowed: {limit})"
        )
    count = len(images)
    if not MIN_IMAGES <= count <= MAX_IMAGES:
        raise WanxiangValidationError("images", count, limit, f"{count} images given; allowed: {limit}")
    return tuple(normalize_image(image, field=f"images[{index}]") for index, image in enumerate(images))


def build_edit_request(
    *,
    prompt: str,
    images: Sequence[ImageInput],
    negative_prompt: str | None = None,
    n: int = 1,
    size: str | None = None,
    seed: int | None = None,
    prompt_extend: bool = True,
    watermark: bool = False,
    model: str = DEFAULT_MODEL,
) -> EditRequest:
    """Validate every field of an edit and return the request to send.

    Cheap scalar checks run first, so a typo in ``n`` is reported before any image file is read.
    ``n`` defaults to 1 (the API's own default is 4, and each image is billed).

    :param images: 1-3 of: http(s) URL, ``data:`` URI, ``oss://`` URL, local path / ``file://`` URL, or bytes.
    :raises WanxiangValidationError: naming the field, the value and the limit.
    """
    checked_model = validate_model(model)
    checked_prompt = validate_prompt(prompt)
    checked_negative = validate_negative_prompt(negative_prompt)
    checked_n = validate_n(n)
    checked_size = normalize_size(size)
    checked_seed = validate_seed(seed)
    checked_extend = _check_bool("prompt_extend", prompt_extend)
    checked_watermark = _check_bool("watermark", watermark)
    return EditRequest(
        model=checked_model,
        prompt=checked_prompt,
        images=_normalize_images(images),
        negative_prompt=checked_negative,
        n=checked_n,
        size=checked_size,
        seed=checked_seed,
        prompt_extend=checked_extend,
        watermark=checked_watermark,
    )
