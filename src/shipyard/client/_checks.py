"""Input checks used by more than one area of the Store protocol (tags, text, names, page
sizes), in the form ``@checks`` takes: a value in, the clean value out, or an error naming
the field. Checks of one area live in that area's protocol module."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from shipyard import _validation as v
from shipyard.errors import InvalidArgument

T = TypeVar("T")


def checked_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Tags with valid keys and values (None: no tags)."""
    return {v.check_key(k, "tag key"): v.tag_text(k, val) for k, val in (tags or {}).items()}


def name_of(kind: str) -> Callable[[Any], str]:
    """A check for a name (non-empty text of at most 256 characters); errors name ``kind``."""

    def check_name(name: Any) -> str:
        return v.check_name(name, kind)

    return check_name


def text_of(kind: str, most: int | None = None) -> Callable[[Any], str]:
    """A check for free text of at most ``most`` characters; errors name ``kind``."""

    def check_text(text: Any) -> str:
        return v.check_text(text, kind, most)

    return check_text


def optional(check: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """``check`` for a value that may be None (None passes unchanged)."""

    def check_optional(value: Any) -> T | None:
        return None if value is None else check(value)

    return check_optional


def page_limit(most: int) -> Callable[[Any], int]:
    """A check for a page size: an integer from 1 to ``most``."""

    def check_limit(limit: Any) -> int:
        if isinstance(limit, bool) or not isinstance(limit, numbers.Integral):
            raise InvalidArgument(f"limit must be an integer, got {limit!r}", field="limit")
        if not 1 <= int(limit) <= most:
            raise InvalidArgument(f"limit must be between 1 and {most}, got {limit}", field="limit")
        return int(limit)

    return check_limit


def clamped(least: int, most: int | None = None) -> Callable[[int], int]:
    """A page size brought into ``least..most`` (for listings that never refuse one)."""

    def clamp(limit: int) -> int:
        return max(least, limit if most is None else min(limit, most))

    return clamp


def existing_path(local_path: Path) -> Path:
    """A local file or folder that exists."""
    local_path = Path(local_path)
    if not local_path.exists():
        raise InvalidArgument(f"no such file or folder: {local_path}", field="local_path")
    return local_path


def number_in(value: Any, least: float, most: float, field: str) -> float:
    """``value`` as a float when it is a real number (not a bool) from ``least`` to
    ``most``; else an InvalidArgument naming ``field``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or not least <= float(value) <= most:
        raise InvalidArgument(
            f"{field} must be a number from {least:g} to {most:g}, got {value!r}", field=field
        )
    return float(value)
