"""Input checks declared once, on the Store protocol, and applied to every implementation.

A protocol method declares its checks with :func:`checks`: per parameter, a function that
takes the value and returns the clean value (or raises InvalidArgument / NotFound naming the
field), and optionally whole-call checks that look at several parameters together::

    @checks(name=check_model_name, tags=checked_tags)
    def create_registered_model(self, name: str, tags: Mapping[str, str] | None = None): ...

:func:`checked` turns an implementing method into one that runs those checks first and
passes the clean values on. ``CheckedStore`` (in ``_protocol``) calls it for every
implementing method when LocalStore and RestStore are created, so a translation cannot skip
a check, and both run the same ones: the client before a round trip, the server's LocalStore
on what it receives. A method only one implementation has (the server's side of a call)
declares its checks with the same decorator where it is defined.

The wrapper is cheap: parameter positions and clean defaults are worked out once, when the
class is created, never per call (binding a signature per call cost ~28 us).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from shipyard.errors import ShipyardError

F = TypeVar("F", bound=Callable[..., Any])
Check = Callable[[Any], Any]
#: Where a declaration is kept on a protocol method, and on the wrapper that applies it.
DECLARED = "__store_checks__"
APPLIED = "__store_checks_applied__"
_IMMUTABLE = (type(None), bool, int, float, str, bytes, frozenset)


@dataclass(frozen=True)
class Declared:
    """The checks of one method: per parameter (in the order they run) and whole-call ones
    (each called with the clean values of the parameters it names, after the others)."""

    params: Mapping[str, Check]
    calls: tuple[Callable[..., None], ...] = ()


def checks(*calls: Callable[..., None], **params: Check) -> Callable[[F], F]:
    """Declare the input checks of a Store method (see the module docstring).

    Args:
        *calls: whole-call checks; each takes some of the method's parameters by name and
            raises when their combination is bad.
        **params: per parameter, a check returning the clean value. A ``**values``
            parameter's check gets and returns the dict of those keyword arguments. A
            default value is checked too.
    """

    def declare(method: F) -> F:
        names = inspect.signature(method).parameters
        wanted = [*params, *(n for call in calls for n in inspect.signature(call).parameters)]
        unknown = [name for name in wanted if name not in names]
        if unknown:
            raise TypeError(f"{method.__qualname__} has no parameter {', '.join(unknown)}")
        setattr(method, DECLARED, Declared(dict(params), calls))
        return method

    return declare


def declared(method: Any) -> Declared | None:
    """The checks declared on a method (None when it declares none)."""
    found = getattr(method, DECLARED, None)
    return found if isinstance(found, Declared) else None


def applied(method: Any) -> Declared | None:
    """The checks a wrapper made by :func:`checked` applies (None for a plain method)."""
    found = getattr(method, APPLIED, None)
    return found if isinstance(found, Declared) else None


@dataclass(frozen=True, slots=True)
class _Step:
    """How to find and check one parameter: its position (None when keyword-only), and its
    default, checked once here when the clean value cannot be changed by its user."""

    name: str
    position: int | None
    check: Check
    has_default: bool
    default: Any
    clean_default: Any
    fixed: bool  # clean_default can be reused: the check of the default is not run per call


def _step(name: str, position: int | None, check: Check, param: inspect.Parameter) -> _Step:
    if param.default is inspect.Parameter.empty:
        return _Step(name, position, check, False, None, None, False)
    try:
        clean = check(param.default)
    except ShipyardError:  # a default its own check refuses: refused at the call, as given
        return _Step(name, position, check, True, param.default, None, False)
    fixed = isinstance(clean, _IMMUTABLE) or (
        isinstance(clean, tuple) and all(isinstance(x, _IMMUTABLE) for x in clean)
    )
    return _Step(name, position, check, True, param.default, clean, fixed)


def checked(impl: F, rules: Declared, doc: str | None = None) -> F:
    """``impl`` (a method) running the ``rules`` first, on its arguments as given
    (positionally or by keyword) and on the defaults of those left out; ``doc`` is its
    docstring when ``impl`` has none (the protocol method's)."""
    signature = inspect.signature(impl)
    params = list(signature.parameters.values())[1:]  # after self
    positional = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    by_name = {p.name: p for p in params}
    var_kw = next((p.name for p in params if p.kind is inspect.Parameter.VAR_KEYWORD), None)
    missing = [n for n in rules.params if n not in by_name]
    if missing:
        raise TypeError(f"{impl.__qualname__} has no parameter {', '.join(missing)} to check")
    steps = tuple(
        _step(n, positional.index(n) if n in positional else None, check, by_name[n])
        for n, check in rules.params.items()
        if n != var_kw
    )
    var_check = rules.params.get(var_kw) if var_kw is not None else None
    named = frozenset(by_name) - {var_kw}
    whole = tuple((call, tuple(inspect.signature(call).parameters)) for call in rules.calls)
    position_of = {n: i for i, n in enumerate(positional)}

    def value(args: list[Any], kwargs: dict[str, Any], name: str) -> Any:
        index = position_of.get(name)
        if index is not None and index < len(args):
            return args[index]
        if name in kwargs:
            return kwargs[name]
        if by_name[name].default is inspect.Parameter.empty:
            raise TypeError(f"{impl.__qualname__}() missing required argument: {name!r}")
        return by_name[name].default

    @functools.wraps(impl)
    def wrapper(self: Any, *given: Any, **kwargs: Any) -> Any:
        args = list(given)
        for step in steps:
            if step.position is not None and step.position < len(args):
                args[step.position] = step.check(args[step.position])
            elif step.name in kwargs:
                kwargs[step.name] = step.check(kwargs[step.name])
            elif step.has_default:
                kwargs[step.name] = step.clean_default if step.fixed else step.check(step.default)
            # else: a required argument is missing; the call below says so
        if var_check is not None:
            extra = {k: kwargs.pop(k) for k in [k for k in kwargs if k not in named]}
            kwargs.update(var_check(extra))
        for call, names in whole:
            call(**{n: value(args, kwargs, n) for n in names})
        return impl(self, *args, **kwargs)

    if wrapper.__doc__ is None:
        wrapper.__doc__ = doc
    setattr(wrapper, APPLIED, rules)
    return wrapper  # type: ignore[return-value]
