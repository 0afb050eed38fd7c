"""Input images that live in object storage, read through Airflow's ``ObjectStoragePath``.

The wire client accepts URLs, ``data:`` URIs, local paths and raw bytes; anything with another scheme
(``s3://``, ``gs://``, ``abfs://``, ``oss://conn@bucket`` through a registered filesystem, ...) or an
``ObjectStoragePath`` is read here into bytes, after checking its size, so an oversized object is refused
before it is downloaded and long before any paid call.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.client.limits import MAX_IMAGE_BYTES

#: Strings with these prefixes go to the client as they are (it knows how to validate and send them).
_CLIENT_NATIVE_PREFIXES = ("http://", "https://", "data:", "file://", "oss://dashscope-instant/")

ImageInput = str | bytes | Path


def normalise_image_inputs(images: Any) -> list[ImageInput]:
    """Accept one image or a sequence (as templated fields and XComs deliver them) and read remote ones."""
    if isinstance(images, (str, bytes, Path, ObjectStoragePath)):
        images = [images]
    if not isinstance(images, Sequence):
        raise WanxiangValidationError(
            field="images", value=images, limit="a list of 1-3 images (URL, data URI, path or object storage)"
        )
    return [_one(index, image) for index, image in enumerate(images)]


def _one(index: int, image: Any) -> ImageInput:
    if isinstance(image, ObjectStoragePath):
        return _read_object(index, image)
    if isinstance(image, str) and "://" in image and not image.startswith(_CLIENT_NATIVE_PREFIXES):
        return _read_object(index, ObjectStoragePath(image))
    if isinstance(image, (str, bytes, Path)):
        return image
    raise WanxiangValidationError(
        field=f"images[{index}]", value=image, limit="a URL, data URI, local path, bytes or ObjectStoragePath"
    )


def _read_object(index: int, path: ObjectStoragePath) -> bytes:
    size = path.size()
    if size > MAX_IMAGE_BYTES:
        raise WanxiangValidationError(
            field=f"images[{index}]", value=f"{path} ({size} bytes)", limit=f"at most {MAX_IMAGE_BYTES} bytes"
        )
    return path.read_bytes()
