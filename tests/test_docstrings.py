"""Every public callable with many parameters documents each one (kedro's ``Args:`` style).

"Public" is derived, never listed: the names in ``shipyard.__all__`` and in the ``__all__`` of
every public package and module of ``shipyard``; for a class, its constructor (documented
under ``Args:`` or, for a record, ``Attributes:``) and its public methods, inherited ones
included (a Store implementation's method may take its documentation from the protocol).
So a new public function with more than five parameters fails here until each is documented.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import shipyard

#: More parameters than this and each one needs its line in ``Args:``.
MANY = 5
#: Headings of the sections that document parameters (Google/kedro style).
SECTIONS = ("Args", "Arguments", "Attributes", "Keyword Args")


def public_modules() -> list[str]:
    """``shipyard`` and each of its packages and modules whose name is not private."""
    packages = (info.name for info in pkgutil.iter_modules(shipyard.__path__))
    return ["shipyard", *sorted(f"shipyard.{name}" for name in packages if name[0] != "_")]


def _methods(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The public methods of ``cls``, its own and those it inherits from shipyard's classes."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("shipyard"):
            continue
        for attr, value in vars(klass).items():
            if attr.startswith("_") or attr in seen:
                continue
            if isinstance(value, staticmethod | classmethod) or inspect.isfunction(value):
                seen.add(attr)
                yield attr, getattr(cls, attr)


def public_callables(
    module: str,
) -> Iterator[tuple[str, Callable[..., Any], bool, type | None]]:
    """``(dotted name, callable, is a class, the class of a method)`` for what ``module``
    exports."""
    mod = importlib.import_module(module)
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if inspect.isclass(obj):
            if issubclass(obj, enum.Enum | BaseException):
                continue  # an enum's "parameters" are Enum's; errors take a message
            if not getattr(obj, "_is_protocol", False):
                yield f"{module}.{name}", obj, True, None
            for attr, method in _methods(obj):
                yield f"{module}.{name}.{attr}", method, False, obj
        elif callable(obj):
            yield f"{module}.{name}", obj, False, None


def parameters(func: Callable[..., Any]) -> list[str]:
    """The names a caller can pass (``self``/``cls`` left out)."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [p for p in signature.parameters if p not in ("self", "cls")]


def documented(doc: str) -> set[str]:
    """The parameter names an ``Args:`` (or ``Attributes:``) section of ``doc`` describes:
    lines ``name: ...``, ``name (type): ...``, ``*args: ...`` and ``**kwargs: ...`` indented
    under the heading."""
    names: set[str] = set()
    heading = re.compile(rf"^({'|'.join(SECTIONS)}):\s*$")
    inside, indent = False, 0
    for line in doc.splitlines():
        stripped = line.strip()
        if heading.match(stripped):
            inside, indent = True, len(line) - len(line.lstrip())
            continue
        if not inside or not stripped:
            continue
        depth = len(line) - len(line.lstrip())
        if depth <= indent:
            inside = False
            continue
        match = re.match(r"^\*{0,2}([A-Za-z_]\w*)(\s*\([^)]*\))?:", stripped)
        if match:
            names.add(match.group(1))
    return names


def _docs(func: Callable[..., Any], is_class: bool, owner: type | None) -> str:
    """The docstrings that may document ``func``'s parameters: a class's and its
    ``__init__``'s; a method's and those of the methods it overrides (a Store implementation
    is documented by its protocol)."""
    docs = [inspect.getdoc(func) or ""]
    if is_class:
        init = vars(func).get("__init__")
        docs.append((inspect.getdoc(init) or "") if init is not None else "")
    elif owner is not None:
        name = getattr(func, "__name__", "")
        docs += [inspect.getdoc(vars(k)[name]) or "" for k in owner.__mro__ if name in vars(k)]
    return "\n".join(docs)


def undocumented(func: Callable[..., Any], is_class: bool, owner: type | None = None) -> list[str]:
    """The parameters of ``func`` its docstring's parameter sections leave out (``owner``:
    the class ``func`` is a method of)."""
    params = parameters(func)
    if len(params) <= MANY:
        return []
    known = documented(_docs(func, is_class, owner))
    return [p for p in params if p not in known]


@pytest.mark.parametrize("module", public_modules())
def test_public_callables_with_many_parameters_document_each(module: str) -> None:
    missing = [
        f"{name}: {', '.join(left)}"
        for name, func, is_class, owner in public_callables(module)
        if (left := undocumented(func, is_class, owner))
    ]
    assert missing == []


def test_the_rule_reads_args_and_attributes_and_catches_a_missing_one() -> None:
    def documented_fully(a: int, b: int, c: int, d: int, e: int, *args: int, **kw: int) -> None:
        """Do it.

        Args:
            a: One.
            b (int): Two,
                on two lines.
            c: Three.
            d: Four.
            e: Five.
            *args: More.
            **kw: Named.

        Returns:
            Nothing.
        """

    def one_left_out(a: int, b: int, c: int, d: int, e: int, f: int) -> None:
        """Do it.

        Args:
            a: One. b: not a parameter line.
            b: Two.
            c: Three.
            d: Four.
            e: Five.

        Returns:
            f: not in the Args section.
        """

    assert undocumented(documented_fully, is_class=False) == []
    assert undocumented(one_left_out, is_class=False) == ["f"]

    class Record:
        """A record.

        Attributes:
            a: One.
            b: Two.
            c: Three.
            d: Four.
            e: Five.
        """

        def __init__(self, a: int, b: int, c: int, d: int, e: int, f: int) -> None:
            """Make it.

            Args:
                f: Six.
            """

    assert undocumented(Record, is_class=True) == []


def test_every_public_module_is_read() -> None:
    """The derivation sees the packages a user imports, and what they export."""
    modules = public_modules()
    for name in ("shipyard", "shipyard.monitoring", "shipyard.client", "shipyard.serving"):
        assert name in modules
    names = {name for name, *_ in public_callables("shipyard.monitoring")}
    assert "shipyard.monitoring.drift" in names
    assert "shipyard.monitoring.DriftOptions" in names
