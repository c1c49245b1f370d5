"""What a step's code fingerprint covers, part by part, and which parts changed.

The cache key covers one hash over the step's code (see ``_hashing``): its normalized
source, the functions, classes and constants of its module it reaches, and its data
contracts. Each step run also records a short hash of every one of those parts, keyed by
what the part is:

- ``step``: the step's own source;
- ``helper NAME``: a function or class of the step's module it uses (transitively);
- ``constant NAME``: a constant of that module it reads;
- ``contract TARGET``: the data contract on an argument or output.

When the key of a step changes with the same inputs and params, :func:`code_changes`
compares the previous step run's record with the current one and names each part that
changed, appeared or went away. Step runs recorded before the record existed have an empty
one, and the decision falls back to saying only that the code changed.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shipyard.pipelines._hashing import _CONSTANTS, _module_helpers, _normalized

#: The record's key of the step's own source.
STEP = "step"
_HELPER, _CONSTANT, _CONTRACT = "helper ", "constant ", "contract "
#: Hex digits of each part's hash that are kept: enough to tell versions of one part apart.
_KEPT = 16


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_KEPT]


def code_parts(fn: Callable[..., Any], contracts: Mapping[str, Any]) -> dict[str, str]:
    """A short hash of each part of ``fn``'s code fingerprint, keyed by what it is (see the
    module docstring); ``contracts`` maps targets to their fingerprints."""
    scope = getattr(fn, "__globals__", {})
    parts = {STEP: _short(_normalized(fn))}
    for name, text in _module_helpers(fn).items():
        kind = _CONSTANT if isinstance(scope.get(name), _CONSTANTS) else _HELPER
        parts[kind + name] = _short(text)
    for target, digest in contracts.items():
        parts[_CONTRACT + target] = _short(str(digest))
    return parts


def source_file(fn: Callable[..., Any]) -> str:
    """The file that defines ``fn``, relative to the working directory when under it."""
    try:
        found = inspect.getsourcefile(fn)
    except TypeError:
        found = None
    if not found:
        return getattr(fn, "__module__", "") or "?"
    path = Path(found).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return os.fspath(path)


def code_changes(before: Mapping[str, str], after: Mapping[str, str], where: str) -> list[str]:
    """Each part of the code that differs between two records, said for a person
    (``code of helper `clean_rows` (`src/proj/util.py`) changed``); empty when either
    record is empty or they are equal."""
    if not before or not after:
        return []
    said = []
    for key in sorted(set(before) | set(after), key=lambda k: (k != STEP, k)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == STEP:
            said.append("the step's own code changed")
        elif key.startswith(_CONTRACT):
            target = key.removeprefix(_CONTRACT)
            state = "changed" if old and new else "added" if new else "removed"
            said.append(f"the contract on {target!r} was {state}")
        else:
            kind, _, name = key.partition(" ")
            what = f"{kind} `{name}` (`{where}`)"
            if old and new:
                said.append(f"code of {what} changed" if kind == "helper" else f"{what} changed")
            else:
                said.append(f"now uses {what}" if new else f"no longer uses {what}")
    return said
