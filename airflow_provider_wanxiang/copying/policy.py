"""What is already at the destination, and whether a copy keeps it, replaces it or refuses.

Re-runs must be cheap and must never clobber someone else's file: an existing complete PNG of the announced
size is kept without reading the result body; anything else is replaced or refused per
:class:`OverwritePolicy`. The probe costs two small ranged reads whatever the object's size; on an object
store, an absent object (every first copy) costs one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_provider_wanxiang.client.errors import WanxiangValidationError
from airflow_provider_wanxiang.coercion import BOOL_STRINGS, to_bool
from airflow_provider_wanxiang.copying.errors import (
    CopyError,
    DestinationError,
    DestinationExistsError,
    IntegrityError,
)
from airflow_provider_wanxiang.copying.png import HEADER_BYTES, MIN_PNG_BYTES, PNG_IEND, parse_png_header
from airflow_provider_wanxiang.copying.sinks import describe, is_object_store

__all__ = ["ExistingObject", "OverwritePolicy", "keeps_existing", "probe_existing"]

_OVERWRITE_ALLOWED = "True, False (or true/false/1/0/yes/no), 'if_different', 'never' or 'always'"


class OverwritePolicy(str, Enum):
    """What to do when the destination object already exists.

    Whatever the policy, an existing object is only ever replaced atomically (a reader sees the old or the
    new image, never a mix).
    """

    #: Keep an existing complete PNG of the announced size; refuse (``DestinationExistsError``) to replace a
    #: different one. The default: re-runs are cheap and never clobber someone else's file.
    NEVER = "never"
    #: Keep an existing complete PNG of the announced size; replace anything else.
    IF_DIFFERENT = "if_different"
    #: Always download and replace.
    ALWAYS = "always"

    @classmethod
    def coerce(cls, value: object) -> OverwritePolicy:
        """The policy for ``overwrite`` as operators pass it: a boolean in any accepted spelling
        (``False``/``"no"`` is :attr:`NEVER`, ``True``/``"yes"`` :attr:`ALWAYS`), ``"if_different"`` or a
        member value (``-`` and case do not matter).

        :raises WanxiangValidationError: naming ``overwrite``, the value and the allowed values.
        """
        if isinstance(value, OverwritePolicy):
            return value
        if isinstance(value, str) and value.strip().lower() in BOOL_STRINGS:
            value = to_bool("overwrite", value)
        if isinstance(value, bool):
            return cls.ALWAYS if value else cls.NEVER
        if isinstance(value, str):
            text = value.strip().lower().replace("-", "_")
            for member in cls:
                if text == member.value:
                    return member
        raise WanxiangValidationError(
            "overwrite",
            value,
            _OVERWRITE_ALLOWED,
            f"{value!r} is not an overwrite policy (allowed: {_OVERWRITE_ALLOWED})",
        )


@dataclass(frozen=True, slots=True)
class ExistingObject:
    """What is already at a destination path.

    :param complete: it starts with the PNG signature and an IHDR chunk and ends with the IEND chunk.
    """

    size: int
    complete: bool
    width: int | None = None
    height: int | None = None


def probe_existing(fs: Any, path: str) -> ExistingObject | None:
    """Describe what is at ``path`` (size, whether it is a complete PNG) with two small ranged reads.

    The filesystem's listing cache is dropped first: an object deleted by someone else since this process
    last looked must not count as present.

    On object stores the header is read first, so an absent object costs one request: ``fs.info`` would
    add a listing (s3fs lists the prefix to tell an absent key from a "directory") to every first copy,
    ~8 ms against moto on loopback where the ranged read takes 3-5 ms, of a 4 MiB copy's ~40 ms. A prefix
    of the same name is no obstacle there: a key and a prefix coexist.

    :raises DestinationError: when the path is a directory, or the store cannot be read.
    """
    try:
        fs.invalidate_cache(path)
        head: bytes | None = None
        if is_object_store(fs):
            try:
                head = bytes(fs.cat_file(path, start=0, end=HEADER_BYTES))
            except FileNotFoundError:
                return None
            except Exception:  # e.g. a range on an empty object (416); fs.info below tells what is there
                head = None
        try:
            info = fs.info(path)
        except FileNotFoundError:
            return None
        if info.get("type") == "directory":
            raise DestinationError(f"{path} is a directory; file_name must name a file")
        size = int(info.get("size") or 0)
        if size < MIN_PNG_BYTES:
            return ExistingObject(size=size, complete=False)
        if head is None:
            head = bytes(fs.cat_file(path, start=0, end=HEADER_BYTES))
        tail = bytes(fs.cat_file(path, start=size - len(PNG_IEND), end=size))
    except CopyError:
        raise
    except Exception as err:
        raise DestinationError(f"cannot inspect {path}: {describe(err)}") from err
    try:
        png = parse_png_header(head)
    except IntegrityError:
        return ExistingObject(size=size, complete=False)
    return ExistingObject(size=size, complete=tail == PNG_IEND, width=png.width, height=png.height)


def keeps_existing(
    existing: ExistingObject | None, expected_size: int | None, policy: OverwritePolicy, path: str
) -> bool:
    """Whether the object already at ``path`` stays as it is (``True``) or the result is written over it.

    ``expected_size`` is the result's announced length (``None`` when the server did not say): a complete
    PNG of that size is kept unless the policy is :attr:`OverwritePolicy.ALWAYS`.

    :raises DestinationExistsError: a different object is there and the policy is ``NEVER``.
    """
    if existing is None or policy is OverwritePolicy.ALWAYS:
        return False
    if existing.complete and (expected_size is None or expected_size == existing.size):
        return True
    if policy is OverwritePolicy.NEVER:
        found = "a complete PNG" if existing.complete else "an object that is not a complete PNG"
        raise DestinationExistsError(
            f"{path} already exists and differs from the result ({found} of {existing.size} bytes, "
            f"the result has {expected_size} bytes); set overwrite='if_different' or True to replace it"
        )
    return False
