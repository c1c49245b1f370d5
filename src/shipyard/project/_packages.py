"""A recorded package set read as pins, and what changed between two sets.

A run records its package set as one ``name==version`` a line (see ``shipyard.tracking``).
Before ``reproduce`` compares or installs one, every line is checked to be exactly a
package name and a version: the set comes from the store, and a line such as
``--index-url ...``, a URL or a path must never reach an installer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from shipyard.errors import InvalidArgument

_PIN = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?)==([A-Za-z0-9.+!_-]{1,100})")


def normalized_name(name: str) -> str:
    """A distribution name as package indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(packages: Iterable[str]) -> dict[str, str]:
    """``{normalized name: version}`` of a recorded package set.

    Raises:
        InvalidArgument: A line is not ``name==version`` (naming it); nothing is installed.
    """
    pins: dict[str, str] = {}
    for line in packages:
        found = _PIN.fullmatch(line.strip())
        if found is None:
            raise InvalidArgument(
                f"the recorded package set holds {line[:120]!r}, which is not "
                "'name==version'; refusing to use it",
                field="packages",
            )
        pins[normalized_name(found[1])] = found[2]
    return pins


def package_changes(recorded: Sequence[str], current: Sequence[str]) -> list[str]:
    """Each package whose version changed (``numpy 1.26.4 -> 2.0.0``), that was added
    (``polars 1.0.0 added``: installed now, not recorded) or removed (``tqdm 4.66.0
    removed``: recorded, not installed now), by name."""
    before, after = parse_pins(recorded), parse_pins(current)
    changes = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is not None and new is not None:
            changes.append(f"{name} {old} -> {new}")
        elif new is not None:
            changes.append(f"{name} {new} added")
        else:
            changes.append(f"{name} {old} removed")
    return changes
