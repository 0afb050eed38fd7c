"""Server-side checks of a create request, in the order the reference suggests (section 11.3).

Pure functions: they take the parsed body or the image bytes and either return a normalised value or raise
``ApiError`` with the code and message the client will see. Image *fetching* lives in ``inputs.py``.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image

from airflow_provider_wanxiang.emulator import catalog
from airflow_provider_wanxiang.emulator.catalog import ApiError, invalid

MODEL = "wan2.5-i2i-preview"
PROMPT_MAX = 2000
NEGATIVE_PROMPT_MAX = 500
IMAGES_MIN, IMAGES_MAX = 1, 3
N_MIN, N_MAX, N_DEFAULT = 1, 4, 4
SEED_MIN, SEED_MAX = 0, 2_147_483_647
PIXELS_MIN, PIXELS_MAX = 768 * 768, 1280 * 1280
RATIO_MIN, RATIO_MAX = 1 / 4, 4.0
SIDE_MIN, SIDE_MAX = 384, 5000
IMAGE_BYTES_MAX = 10 * 1024 * 1024
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "BMP", "WEBP"})

_SIZE = re.compile(r"^(\d{1,5})\*(\d{1,5})$")


@dataclass(frozen=True)
class CreateSpec:
    """A structurally valid create request (images not yet fetched)."""

    model: str
    prompt: str  # truncated to PROMPT_MAX
    full_prompt: str  # as sent: markers are read from it
    negative_prompt: str | None
    images: tuple[str, ...]
    n: int
    seed: int | None
    size: tuple[int, int] | None
    prompt_extend: bool
    watermark: bool


@dataclass(frozen=True)
class ImageInfo:
    """What the server learns from an input image's header."""

    format: str
    width: int
    height: int


def parse_json_body(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or 400 ``BadRequest.IllegalInput``."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "BadRequest.IllegalInput", catalog.ILLEGAL_JSON) from None
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest.IllegalInput", catalog.ILLEGAL_JSON)
    return body


def check_model(body: dict[str, Any]) -> str:
    """``model`` must be present and be wan2.5-i2i-preview (the only model this endpoint emulates)."""
    model = body.get("model")
    if model is None or model == "":
        raise ApiError(400, "BadRequest.EmptyModel", catalog.EMPTY_MODEL)
    if model != MODEL:
        raise invalid(catalog.MODEL_NOT_EXIST)
    return MODEL


def validate_create(body: dict[str, Any]) -> CreateSpec:
    """Every structural check of reference section 3; long prompts are truncated, never rejected."""
    model = check_model(body)
    inputs = body.get("input")
    if not isinstance(inputs, dict) or not inputs:
        raise ApiError(400, "BadRequest.EmptyInput", catalog.EMPTY_INPUT)

    prompt = inputs.get("prompt")
    if prompt is None or prompt == "":
        raise invalid('Required parameter "input.prompt" missing from request.')
    if not isinstance(prompt, str):
        raise invalid('Parameter "input.prompt" must be a string.')
    negative = inputs.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        raise invalid('Parameter "input.negative_prompt" must be a string.')

    images = _check_images(inputs.get("images"))

    params = body.get("parameters", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise invalid(catalog.BODY_INVALID)
    n = _int_param(params, "n", N_MIN, N_MAX, N_DEFAULT)
    seed = _int_param(params, "seed", SEED_MIN, SEED_MAX, None)
    size = parse_size(params.get("size"))
    prompt_extend = _bool_param(params, "prompt_extend", True)
    watermark = _bool_param(params, "watermark", False)
    return CreateSpec(
        model=model,
        prompt=prompt[:PROMPT_MAX],
        full_prompt=prompt,
        negative_prompt=None if negative is None else negative[:NEGATIVE_PROMPT_MAX],
        images=images,
        n=n if n is not None else N_DEFAULT,
        seed=seed,
        size=size,
        prompt_extend=prompt_extend,
        watermark=watermark,
    )


def _check_images(images: Any) -> tuple[str, ...]:
    if images is None or images == []:
        raise invalid('Required parameter "input.images" missing from request.')
    if not isinstance(images, list):
        raise invalid('Parameter "input.images" must be an array of image URLs.')
    if not IMAGES_MIN <= len(images) <= IMAGES_MAX:
        raise invalid(
            f'Parameter "input.images" must contain {IMAGES_MIN} to {IMAGES_MAX} images, got {len(images)}.'
        )
    for index, item in enumerate(images):
        if not isinstance(item, str) or not item.strip():
            raise invalid(f'Parameter "input.images[{index}]" must be a non-empty string.')
    return tuple(images)


def _int_param(params: dict[str, Any], name: str, low: int, high: int, default: int | None) -> int | None:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f'Parameter "parameters.{name}" must be an integer in [{low}, {high}], got {value!r}.')
    return value


def _bool_param(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(f'Parameter "parameters.{name}" must be a boolean, got {value!r}.')
    return value


def parse_size(size: Any) -> tuple[int, int] | None:
    """``"W*H"`` within 768²-1280² total pixels and a 1:4-4:1 aspect ratio, else ``InvalidParameter``."""
    if size is None:
        return None
    match = _SIZE.match(size) if isinstance(size, str) else None
    if match is None:
        raise invalid(f'Parameter "parameters.size" must be "width*height", e.g. "1280*1280", got {size!r}.')
    width, height = int(match.group(1)), int(match.group(2))
    if width == 0 or height == 0 or not PIXELS_MIN <= width * height <= PIXELS_MAX:
        raise invalid(
            f'Parameter "parameters.size" must have a total pixel count in [{PIXELS_MIN}, {PIXELS_MAX}] '
            f"(768*768 to 1280*1280), got {width}*{height} = {width * height}."
        )
    if not RATIO_MIN <= width / height <= RATIO_MAX:
        raise invalid(
            f'Parameter "parameters.size" must have an aspect ratio between 1:4 and 4:1, '
            f"got {width}*{height}."
        )
    return width, height


def inspect_image(data: bytes) -> ImageInfo:
    """Check one input's bytes: ≤ 10 MB, decodable, JPEG/PNG/BMP/WEBP, each side 384-5000 px."""
    if len(data) > IMAGE_BYTES_MAX:
        raise invalid(catalog.IMAGE_SIZE_UNSUPPORTED)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = (image.format or "").upper()
                width, height = image.size
    except Image.DecompressionBombError:
        raise invalid(catalog.IMAGE_SIZE_UNSUPPORTED) from None
    except Exception:
        raise invalid(catalog.DECODE_FAILED) from None
    if fmt not in IMAGE_FORMATS:
        raise invalid(catalog.FORMAT_UNSUPPORTED)
    if not (SIDE_MIN <= width <= SIDE_MAX and SIDE_MIN <= height <= SIDE_MAX):
        raise invalid(catalog.IMAGE_SIZE_UNSUPPORTED)
    return ImageInfo(format=fmt, width=width, height=height)
