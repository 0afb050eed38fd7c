"""Validation before money: every input the client sends is checked here before it is sent.

Each task is billed per output image and a rejected request costs a round trip (or, for some checks, a
FAILED task discovered minutes later), so every documented limit is enforced here, with an error that names
the field, the value and the limit. Things the server *accepts but changes* (prompts beyond 2000 characters
are truncated) raise a :class:`~airflow_provider_wanxiang.client.errors.WanxiangWarning` instead.

The one home of input checks (the request builders in :mod:`~airflow_provider_wanxiang.client.protocol`
call these and only format): the edit's fields (:func:`build_edit_request`), task ids, the list filters
(:func:`build_list_query`), upload file names and sizes, and the size of an object-storage input before
it is downloaded. Image bytes and URIs are checked by :mod:`~airflow_provider_wanxiang.client.images`,
which :func:`build_edit_request` calls.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta

from airflow_provider_wanxiang.client._text import shorten
from airflow_provider_wanxiang.client.endpoints import DEFAULT_MODEL
from airflow_provider_wanxiang.client.errors import WanxiangValidationError, WanxiangWarning
from airflow_provider_wanxiang.client.images import ImageInput, normalize_image
from airflow_provider_wanxiang.client.limits import (
    BEIJING,
    LIST_TIME_FORMAT,
    MAX_ASPECT_RATIO,
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    MAX_LIST_WINDOW,
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
from airflow_provider_wanxiang.client.models import EditRequest, ListTasksQuery, TaskStatus

__all__ = [
    "build_edit_request",
    "build_list_query",
    "check_object_size",
    "check_upload_size",
    "normalize_size",
    "validate_filename",
    "validate_model",
    "validate_n",
    "validate_negative_prompt",
    "validate_prompt",
    "validate_seed",
    "validate_task_id",
    "validate_upload_model",
]

_SIZE = re.compile(r"\s*(\d+)\s*[*xX\u00d7]\s*(\d+)\s*")
"""``W*H``; ``WxH`` and the multiplication sign (U+00D7) are accepted and normalised to ``*``."""
_PIXELS = f"{MIN_OUTPUT_PIXELS:,}-{MAX_OUTPUT_PIXELS:,} pixels (768*768 to 1280*1280)"
_RATIO = f"aspect ratio between 1:{MAX_ASPECT_RATIO} and {MAX_ASPECT_RATIO}:1"
_UNSAFE_TASK_ID = re.compile(r"[/\\?#%\s\x00-\x1f\x7f]")


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


# -- the other calls: task ids, list filters, uploads, object-storage inputs --------------------------------


def validate_task_id(task_id: object) -> str:
    """Refuse ids that would change the request path (``/``, ``?``, ``#``, ``..``) before they reach a URL."""
    limit = "a non-empty id without '/', '\\', '?', '#', '%', '..' or whitespace"
    if (
        not isinstance(task_id, str)
        or not task_id
        or task_id in (".", "..")
        or _UNSAFE_TASK_ID.search(task_id)
    ):
        raise WanxiangValidationError(
            "task_id", task_id, limit, f"{shorten(task_id)!r} is not a task id ({limit})"
        )
    return task_id


def _list_time(name: str, value: object) -> datetime | None:
    """An aware datetime from an aware datetime or a Beijing-time ``YYYYMMDDhhmmss`` string."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return datetime.strptime(value, LIST_TIME_FORMAT).replace(tzinfo=BEIJING)
        except ValueError:
            raise WanxiangValidationError(
                name, value, "YYYYMMDDhhmmss", f"{value!r} is not YYYYMMDDhhmmss (Beijing time)"
            ) from None
    if not isinstance(value, datetime):
        limit = "a timezone-aware datetime or a YYYYMMDDhhmmss string"
        raise WanxiangValidationError(name, value, limit, f"{shorten(value)} is not {limit}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise WanxiangValidationError(
            name, value.isoformat(), "a timezone-aware datetime", f"{value.isoformat()} has no timezone"
        )
    return value


def _list_status(status: object) -> TaskStatus | None:
    if status is None:
        return None
    try:
        return TaskStatus(status)
    except ValueError:
        allowed = ", ".join(member.value for member in TaskStatus)
        raise WanxiangValidationError(
            "status", status, allowed, f"{status!r} is not one of {allowed}"
        ) from None


def _page_number(name: str, number: object) -> int:
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise WanxiangValidationError(name, number, "an integer >= 1", f"{number!r} is not an integer >= 1")
    return number


def build_list_query(
    *,
    start_time: datetime | str | None = None,
    end_time: datetime | str | None = None,
    status: TaskStatus | str | None = None,
    page_no: int = 1,
    page_size: int = 10,
    model_name: str | None = None,
) -> ListTasksQuery:
    """Check the filters of ``GET /tasks`` and return them as one :class:`ListTasksQuery`.

    The one place the list parameters are spelled out: both clients' ``list_tasks`` and
    ``list_tasks_request`` take a query or these keywords.

    :param start_time: An aware datetime, or a Beijing-time ``YYYYMMDDhhmmss`` string.
    :param end_time: As ``start_time``; at most 24 h after it when both are given.
    :raises WanxiangValidationError: naming the field, the value and the limit.
    """
    start = _list_time("start_time", start_time)
    end = _list_time("end_time", end_time)
    if start is not None and end is not None and not timedelta(0) <= end - start <= MAX_LIST_WINDOW:
        raise WanxiangValidationError(
            "end_time",
            f"{end - start}",
            "0-24 h after start_time",
            f"the window {start.isoformat()} .. {end.isoformat()} is not 0-24 h long",
        )
    if model_name is not None and not isinstance(model_name, str):
        raise WanxiangValidationError(
            "model_name", model_name, "a model name or None", f"{shorten(model_name)} is not a string"
        )
    return ListTasksQuery(
        start_time=start,
        end_time=end,
        status=_list_status(status),
        page_no=_page_number("page_no", page_no),
        page_size=_page_number("page_size", page_size),
        model_name=model_name or None,
    )


def validate_upload_model(model: object) -> str:
    """The model a temporary upload is bound to: any non-empty name (the server knows which it serves)."""
    if not model or not isinstance(model, str):
        raise WanxiangValidationError("model", model, "a model name", "a model name is required")
    return model


def validate_filename(filename: object) -> str:
    """An upload's file name: a plain name, never a path that would leave the policy's upload directory."""
    if (
        not isinstance(filename, str)
        or not filename
        or filename in (".", "..")
        or "/" in filename
        or "\\" in filename
    ):
        raise WanxiangValidationError(
            "filename",
            filename,
            "a plain file name",
            f"{filename!r} is not a plain file name (no directories)",
        )
    return filename


def check_upload_size(data: bytes, max_file_size_mb: float | None) -> None:
    """Refuse an upload above the upload policy's size limit (``None``: the policy set none)."""
    if max_file_size_mb is not None and len(data) > max_file_size_mb * 1024 * 1024:
        limit = f"{max_file_size_mb:g} MB"
        raise WanxiangValidationError(
            "data", data, limit, f"{len(data):,} bytes is above the upload policy's maximum of {limit}"
        )


def check_object_size(field: str, location: str, size_bytes: int) -> None:
    """Refuse an input object by its listed size, before a byte of it is downloaded.

    :param location: Where the object is (a URL), quoted in the error.
    """
    if size_bytes > MAX_IMAGE_BYTES:
        maximum = f"{MAX_IMAGE_BYTES} bytes (10 MB)"
        raise WanxiangValidationError(
            field,
            f"{location} ({size_bytes} bytes)",
            f"at most {maximum}",
            f"{shorten(location)} is {size_bytes} bytes, above the maximum of {maximum}",
        )
