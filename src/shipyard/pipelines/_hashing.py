"""Cache keys: a step's normalized source, its inputs' content hashes and its params.

The source is parsed and unparsed without decorators and docstring, so editing a comment,
the formatting, the docstring or the ``@step(...)`` options (retries, timeout) keeps the
cache, while any change to what the function does invalidates it. Functions whose source is
not available (typed into a REPL) fall back to a hash of their compiled code.

The helpers a step reaches are part of its code: functions and classes defined in the step's
own module that it refers to by name (followed transitively), and that module's constants
(numbers, strings, tuples) it reads. Code imported from other modules is not: a library or
another module of the project can change without invalidating the cache.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import math
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

from shipyard.errors import InvalidArgument


def _strip(node: ast.AST) -> ast.AST:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        node.decorator_list = []
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return node


def _code_fingerprint(code: Any) -> str:
    parts = [code.co_code.hex(), repr(code.co_names), repr(code.co_varnames)]
    for const in code.co_consts:
        parts.append(_code_fingerprint(const) if inspect.iscode(const) else repr(const))
    return "|".join(parts)


def _normalized(obj: Any) -> str:
    """A function's or class's source without decorators and docstring (or, when there is
    no source, a fingerprint of its compiled code, or its name)."""
    try:
        source = textwrap.dedent(inspect.getsource(obj))
        tree = ast.parse(source)
        return ast.unparse(_strip(tree.body[0])) if tree.body else source
    except (OSError, TypeError, SyntaxError, IndexError):
        code = getattr(obj, "__code__", None)
        return _code_fingerprint(code) if code is not None else obj.__qualname__


def _names(code: Any) -> set[str]:
    """The global and attribute names a code object (and the code nested in it) uses."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names(const)
    return names


_CONSTANTS = (bool, int, float, complex, str, bytes, tuple, frozenset)


def _module_helpers(fn: Callable[..., Any]) -> dict[str, str]:
    """The normalized source of the functions and classes of ``fn``'s module that it reaches
    by name (transitively), and the repr of the module constants it reads."""
    module = getattr(fn, "__module__", None)
    found: dict[str, str] = {}
    pending: list[Any] = [fn]
    while pending:
        current = pending.pop()
        code = getattr(current, "__code__", None)
        scope = getattr(current, "__globals__", None)
        if code is None or scope is None:
            continue
        for name in sorted(_names(code)):
            value = scope.get(name)
            if value is None or name.startswith("__") or name in found:
                continue
            if isinstance(value, _CONSTANTS):
                found[name] = repr(value)
            elif (
                (inspect.isfunction(value) or inspect.isclass(value))
                and value.__module__ == module
                and value is not fn
            ):
                found[name] = _normalized(value)
                methods = vars(value).values() if inspect.isclass(value) else ()
                pending.extend([value, *(m for m in methods if inspect.isfunction(m))])
    return found


def source_hash(fn: Callable[..., Any]) -> str:
    """sha256 of the function's normalized source and of the helpers of its module that it
    reaches (see the module docstring)."""
    parts = [_normalized(fn)]
    parts += [f"{name}={text}" for name, text in sorted(_module_helpers(fn).items())]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    """Numpy scalars to Python ones; anything else unchanged."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        return item()
    raise TypeError(type(value).__name__)


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces); NaN and infinities are kept as such."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_jsonable)


def check_param(step: str, name: str, value: Any) -> Any:
    """A plain argument must be JSON-serializable: it is recorded and hashed into the key."""
    try:
        canonical_json(value)
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"step {step!r} argument {name!r} is a {type(value).__name__}, which cannot be "
            "recorded: pass JSON values (numbers, strings, lists, dicts), the output of "
            "another step, or a dataset with shipyard.data.ref('name@version')",
            field=name,
        ) from None
    if isinstance(value, float) and not math.isfinite(value):
        return value
    return value


def cache_key(
    code: str, inputs: Mapping[str, Any], params: Mapping[str, Any], outputs: int | None
) -> str:
    """The key a successful step run is found under: same code, inputs and params."""
    document = canonical_json(
        {"code": code, "inputs": inputs, "params": params, "outputs": outputs}
    )
    return hashlib.sha256(document.encode()).hexdigest()
