"""Deprecated aliases: a former public name that keeps working and says which name replaced it.

The alias is a thin wrapper, so the old spelling returns exactly what the new one returns; each
call emits a ``DeprecationWarning`` pointing at the caller's line.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def renamed(func: Callable[P, R], old: str, new: str) -> Callable[P, R]:
    """``func`` under its former name ``old`` (e.g. ``"shipyard.load_model"``): every call warns
    that ``new`` (e.g. ``"shipyard.models.load"``) is the name to use, then calls ``func``."""

    @functools.wraps(func)
    def alias(*args: P.args, **kwargs: P.kwargs) -> R:
        warnings.warn(
            f"{old} is deprecated; use {new} (same arguments)", DeprecationWarning, stacklevel=2
        )
        return func(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old.rpartition(".")[2]
    alias.__doc__ = f"Deprecated alias of :func:`{new}` (warns, then calls it)."
    return alias
