"""Input images that live in object storage, read through Airflow's ``ObjectStoragePath``.

The wire client accepts URLs, ``data:`` URIs, local paths and raw bytes; anything with another scheme
(``s3://``, ``gs://``, ``abfs://``, ``oss://conn@bucket`` through a registered filesystem, ...) or an
``ObjectStoragePath`` is read here into bytes, after checking its size, so an oversized object is refused
before it is downloaded and long before any paid call.

Which schemes go to object storage is decided by asking Airflow, not by a list kept here: a scheme is
readable when Airflow object storage can give a filesystem for it — one registered by an installed provider
(``s3`` with ``apache-airflow-providers-amazon[s3fs]``, ``gs``, ``abfs``, ``file``, ...) or one attached with
``airflow.sdk.io.attach(protocol=..., fs=...)``, and whose library is importable. Any other scheme
(``ftp://``, ``gopher://``, ``oss://bucket/key`` without an ``oss`` filesystem) is refused with a
:class:`~airflow_provider_wanxiang.client.WanxiangValidationError` naming ``images[i]`` and the supported
forms, before any network call. (``oss://dashscope-instant/...``, the service's own temporary uploads, goes
to the client as it is.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.client.validation import check_object_size

#: Strings with these prefixes go to the client as they are (it knows how to validate and send them).
_CLIENT_NATIVE_PREFIXES = ("http://", "https://", "data:", "file://", "oss://dashscope-instant/")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
SUPPORTED_FORMS = (
    "an http(s) URL, a data: URI, a local path or file:// URL, bytes, an ObjectStoragePath, the oss:// URL "
    "of a temporary upload, or scheme://[conn_id@]bucket/key for a scheme Airflow object storage has a "
    "filesystem for here (e.g. s3:// with apache-airflow-providers-amazon[s3fs])"
)

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
    if isinstance(image, str):
        text = image.strip()
        match = _SCHEME.match(text)
        if match and not text.lower().startswith(_CLIENT_NATIVE_PREFIXES):
            return _read_object(index, _object_path(index, text, match.group(1).lower()))
    if isinstance(image, (str, bytes, Path)):
        return image
    raise WanxiangValidationError(
        f"images[{index}]",
        type(image).__name__,
        SUPPORTED_FORMS,
        f"a {type(image).__name__} is not an image input (supported: {SUPPORTED_FORMS})",
    )


def _object_path(index: int, url: str, scheme: str) -> ObjectStoragePath:
    """The object at ``url`` if Airflow object storage can open its scheme here; an error naming the field
    otherwise. Resolving the filesystem reads the connection but makes no network call."""
    try:
        path = ObjectStoragePath(url)
        path.fs  # noqa: B018 - resolving the filesystem is the check
    except (ValueError, ImportError) as err:
        raise WanxiangValidationError(
            f"images[{index}]",
            url,
            SUPPORTED_FORMS,
            f"{scheme}:// is not supported: Airflow object storage has no usable filesystem for it "
            f"({type(err).__name__}: {err}). Supported: {SUPPORTED_FORMS}",
        ) from None
    return path


def _read_object(index: int, path: ObjectStoragePath) -> bytes:
    check_object_size(f"images[{index}]", str(path), path.size())
    return path.read_bytes()
