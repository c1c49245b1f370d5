"""``@step``: a function that a pipeline runs, caches, retries and times out.

Called inside a ``@pipeline`` function while the pipeline is being built, a step does not
run: it records a node and returns a lazy :class:`StepOutput` handle (like a Prefect future),
which other steps take as arguments. The DAG is exactly these data dependencies (plus any
``after=[...]`` ordering). Called anywhere else, a step is its plain function.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, overload

from shipyard.errors import InvalidArgument
from shipyard.pipelines._code_parts import code_parts
from shipyard.pipelines._hashing import check_param, source_hash

P = ParamSpec("P")
R = TypeVar("R")
_RESOURCE_KEYS = ("cpu", "gpu", "memory")
RESERVED = ("after",)


@dataclass(frozen=True)
class StepOptions:
    """How a step runs; see :func:`step`.

    Attributes:
        retries: Extra attempts after a failure.
        retry_delay: Seconds before the first retry.
        backoff: The factor each further retry's wait grows by.
        timeout: Seconds after which the step's process is stopped; no limit when None.
        cache: Reuse the outputs of an earlier successful run with the same code, inputs and
            params.
        resources: What the Ray executor reserves: ``cpu``, ``gpu``, ``memory``.
        trusted_pickle: Let the step store values with pickle.
        outputs: The names of the values of a step that returns a tuple.
        contracts: Data contracts (pandera schemas) by argument name, and ``"return"`` (or
            an output name) for what the step returns; checked around every attempt.
    """

    retries: int = 0
    retry_delay: float = 0.0
    backoff: float = 2.0
    timeout: float | None = None
    cache: bool = True
    resources: dict[str, Any] = field(default_factory=dict)
    trusted_pickle: bool = False
    outputs: tuple[str, ...] | None = None
    contracts: dict[str, Any] = field(default_factory=dict)


class Step(Generic[P, R]):
    """A function wrapped by ``@step``."""

    def __init__(self, fn: Callable[P, R], name: str, options: StepOptions) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = name
        self.options = options
        self.signature = inspect.signature(fn)
        for param in self.signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
                raise InvalidArgument(
                    f"step {name!r}: parameter {param.name!r} is {param.kind.description}; "
                    "steps take named parameters only, so each can be recorded",
                    field=param.name,
                )
            if param.name in RESERVED:
                raise InvalidArgument(
                    f"step {name!r}: the parameter name {param.name!r} is reserved for ordering "
                    "(step(..., after=[other])); rename it",
                    field=param.name,
                )
        self.n_outputs = len(options.outputs) if options.outputs else _tuple_arity(fn)
        self._check_contracts()
        self._code: str | None = None
        self._parts: dict[str, str] | None = None

    def _check_contracts(self) -> None:
        """Each contract guards an argument, ``"return"`` or an output name."""
        allowed = [*self.signature.parameters, *self.output_names()]
        if self.n_outputs is None:
            allowed.append("return")
        for target in self.options.contracts:
            if target not in allowed:
                raise InvalidArgument(
                    f"step {self.name!r}: a contract names {target!r}, which is not one of its "
                    f"arguments or outputs ({', '.join(allowed)})",
                    field="contracts",
                )

    def contracts(self) -> dict[str, Any]:
        """The step's contracts by argument name, with those on outputs keyed ``return``
        (one value) or ``return.<i>`` (the i-th value of a tuple), as a task checks them."""
        names = self.output_names()
        keyed = {}
        for target, contract in self.options.contracts.items():
            if (
                target in names
                and self.n_outputs is not None
                and target not in self.signature.parameters
            ):
                target = f"return.{names.index(target)}"
            keyed[target] = contract
        return keyed

    @property
    def ref(self) -> str:
        """``module:qualname``, how worker processes import the step."""
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    @property
    def code_hash(self) -> str:
        """The hash of the step's normalized source (computed once)."""
        if self._code is None:
            self._code = source_hash(self.fn)
            if self.options.contracts:  # an edited contract re-runs the step
                from shipyard.data import fingerprint

                prints = sorted((t, fingerprint(c)) for t, c in self.options.contracts.items())
                self._code = hashlib.sha256(f"{self._code}{prints}".encode()).hexdigest()
        return self._code

    @property
    def code_parts(self) -> dict[str, str]:
        """A short hash of each part of :attr:`code_hash`, recorded with every step run so
        a changed key can name what changed (computed once; see ``_code_parts``)."""
        if self._parts is None:
            prints: dict[str, str] = {}
            if self.options.contracts:
                from shipyard.data import fingerprint

                prints = {t: fingerprint(c) for t, c in self.options.contracts.items()}
            self._parts = code_parts(self.fn, prints)
        return self._parts

    def output_names(self) -> list[str]:
        if self.options.outputs:
            return list(self.options.outputs)
        return [str(i) for i in range(self.n_outputs or 1)]

    def __repr__(self) -> str:
        return f"<step {self.name}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        builder = _builder.get()
        if builder is None:
            return self.fn(*args, **kwargs)
        after = kwargs.pop("after", None)
        return builder.add(self, args, kwargs, after)  # type: ignore[return-value]


def _tuple_arity(fn: Callable[..., Any]) -> int | None:
    """N when the return annotation is ``tuple[A, B, ...]`` of fixed length N."""
    try:
        hint = typing.get_type_hints(fn).get("return")
    except Exception:  # unresolvable string annotations: no inference
        return None
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if args and Ellipsis not in args:
            return len(args)
    return None


@overload
def step(fn: Callable[P, R], /) -> Step[P, R]: ...
@overload
def step(
    *,
    name: str | None = ...,
    retries: int = ...,
    retry_delay: float = ...,
    backoff: float = ...,
    timeout: float | None = ...,
    cache: bool = ...,
    resources: dict[str, Any] | None = ...,
    trusted_pickle: bool = ...,
    outputs: int | Sequence[str] | None = ...,
    contracts: dict[str, Any] | None = ...,
) -> Callable[[Callable[P, R]], Step[P, R]]: ...
def step(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    backoff: float = 2.0,
    timeout: float | None = None,
    cache: bool = True,
    resources: dict[str, Any] | None = None,
    trusted_pickle: bool = False,
    outputs: int | Sequence[str] | None = None,
    contracts: dict[str, Any] | None = None,
) -> Step[P, R] | Callable[[Callable[P, R]], Step[P, R]]:
    """Make a function a pipeline step: ``@step`` or ``@step(retries=2, ...)``.

    Args:
        fn: The function (when used as ``@step`` without arguments).
        name: The step's name; the function's name when None.
        retries: Extra attempts after a failure.
        retry_delay: Seconds before the first retry; the n-th waits
            ``retry_delay * backoff ** (n - 1)``.
        backoff: The factor each further retry's wait grows by (at least 1).
        timeout: Seconds after which the step's process is stopped (the step then runs in a
            process of its own); no limit when None.
        cache: Reuse the outputs of an earlier successful run with the same code, inputs
            and params.
        resources: What the Ray executor reserves: ``cpu``, ``gpu``, ``memory``.
        trusted_pickle: Let the step return objects Shipyard would otherwise refuse: they
            are stored with pickle, and unpickled for downstream steps only by the run that
            produced them or reuses them under a valid seal (see docs/pipelines.md).
        outputs: The names (or the number) of the values of a step that returns a tuple,
            so the call can be unpacked.
        contracts: Data contracts (pandera ``DataFrameSchema`` or ``DataFrameModel``) by
            argument name, ``"return"`` or output name: the DataFrames are validated before
            the step's function runs and before its outputs are stored; a failure stops the
            step (no retry) with a report naming the column, the check and failing rows.

    Returns:
        The step, or a decorator making one when ``fn`` is not given.

    Raises:
        InvalidArgument: A negative ``retries`` or ``retry_delay``, a ``backoff`` below 1, a
            ``timeout`` that is not positive, unknown resources, repeated output names, a
            ``trusted_pickle`` that is not a bool, or a contract that is not a pandera schema
            or names no argument or output.
    """
    if retries < 0 or isinstance(retries, bool):
        raise InvalidArgument(f"retries must be 0 or more, got {retries!r}", field="retries")
    if retry_delay < 0:
        raise InvalidArgument(f"retry_delay must be >= 0, got {retry_delay!r}", field="retry_delay")
    if backoff < 1:
        raise InvalidArgument(f"backoff must be >= 1, got {backoff!r}", field="backoff")
    if timeout is not None and timeout <= 0:
        raise InvalidArgument(f"timeout must be > 0 seconds, got {timeout!r}", field="timeout")
    if not isinstance(trusted_pickle, bool):
        raise InvalidArgument(
            f"trusted_pickle must be True or False, got {trusted_pickle!r}", field="trusted_pickle"
        )
    unknown = sorted(set(resources or {}) - set(_RESOURCE_KEYS))
    if unknown:
        raise InvalidArgument(
            f"unknown resources {', '.join(unknown)}; use {', '.join(_RESOURCE_KEYS)}",
            field="resources",
        )
    names: tuple[str, ...] | None = None
    if isinstance(outputs, int) and not isinstance(outputs, bool):
        if outputs < 1:
            raise InvalidArgument("outputs must be at least 1", field="outputs")
        names = tuple(str(i) for i in range(outputs))
    elif outputs is not None and not isinstance(outputs, bool):
        names = tuple(str(o) for o in outputs)
        if not names or len(set(names)) != len(names):
            raise InvalidArgument("outputs must be distinct names", field="outputs")
    options = StepOptions(
        retries=retries,
        retry_delay=float(retry_delay),
        backoff=float(backoff),
        timeout=timeout,
        cache=cache,
        resources=dict(resources or {}),
        trusted_pickle=trusted_pickle,
        outputs=names,
        contracts=_contracts(contracts),
    )

    def wrap(func: Callable[P, R]) -> Step[P, R]:
        return Step(func, name or func.__name__, options)

    return wrap(fn) if fn is not None else wrap


def _contracts(contracts: dict[str, Any] | None) -> dict[str, Any]:
    """The contracts as pandera schemas (checked to be schemas)."""
    if contracts is None:
        return {}
    if not isinstance(contracts, dict):
        raise InvalidArgument(
            "contracts maps argument or output names to pandera schemas", field="contracts"
        )
    from shipyard.data import as_schema

    return {str(target): as_schema(c) for target, c in contracts.items()}


# ----------------------------------------------------------------------------- building


@dataclass(frozen=True)
class StepOutput:
    """A value a step will produce: pass it to other steps inside the pipeline function."""

    node: str
    index: int | None
    n_outputs: int | None

    def __iter__(self) -> Iterator[StepOutput]:
        if self.index is not None or self.n_outputs is None:
            raise TypeError(
                f"the output of step {self.node!r} cannot be unpacked: declare "
                "@step(outputs=('a', 'b')) or annotate the return as tuple[A, B]"
            )
        return iter([StepOutput(self.node, i, None) for i in range(self.n_outputs)])

    def __getitem__(self, index: int) -> StepOutput:
        if self.n_outputs is None or not 0 <= index < self.n_outputs:
            raise IndexError(f"step {self.node!r} has no output {index}")
        return StepOutput(self.node, index, None)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"the output of step {self.node!r} is not computed while the pipeline is being "
            f"built, so it has no .{name}; pass it to another step and use it there"
        )

    def __bool__(self) -> bool:
        raise TypeError(
            f"the output of step {self.node!r} has no truth value while the pipeline is "
            "being built; branch on pipeline parameters, or inside a step"
        )


@dataclass
class Node:
    """One step call in a pipeline: its arguments (outputs, datasets, params) and order."""

    name: str
    step: Step[Any, Any]
    outputs: dict[str, Any]  # arg -> ("output", node, index) | ("list", [...]) | DatasetRef
    params: dict[str, Any]
    after: list[str]

    @property
    def upstream(self) -> list[str]:
        names: list[str] = []
        for spec in self.outputs.values():
            if isinstance(spec, tuple) and spec[0] == "output":
                names.append(spec[1])
            elif isinstance(spec, tuple) and spec[0] == "list":
                names.extend(item[0] for item in spec[1])
        return list(dict.fromkeys([*names, *self.after]))


class DagBuilder:
    """Collects the step calls of one pipeline function call."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}

    def add(
        self,
        step_obj: Step[Any, Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        after: Any,
    ) -> StepOutput:
        from shipyard.data import DatasetRef

        try:
            bound = step_obj.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidArgument(f"step {step_obj.name!r}: {exc}", field=step_obj.name) from None
        bound.apply_defaults()
        name = step_obj.name
        count = 1
        while name in self.nodes:
            count += 1
            name = f"{step_obj.name}_{count}"
        inputs: dict[str, Any] = {}
        params: dict[str, Any] = {}
        for arg, value in bound.arguments.items():
            if isinstance(value, StepOutput):
                inputs[arg] = ("output", value.node, value.index)
            elif isinstance(value, DatasetRef):
                inputs[arg] = value
            elif (
                isinstance(value, (list, tuple))
                and value
                and all(isinstance(v, StepOutput) for v in value)
            ):
                inputs[arg] = ("list", [(v.node, v.index) for v in value])
            else:
                _refuse_nested_handles(name, arg, value)
                params[arg] = check_param(name, arg, value)
        order = [] if after is None else (after if isinstance(after, (list, tuple)) else [after])
        after_names = [a.node if isinstance(a, StepOutput) else str(a) for a in order]
        self.nodes[name] = Node(name, step_obj, inputs, params, after_names)
        return StepOutput(name, None, step_obj.n_outputs)


def _refuse_nested_handles(node: str, arg: str, value: Any) -> None:
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, (list, tuple, dict)) and any(isinstance(v, StepOutput) for v in items):
        raise InvalidArgument(
            f"step {node!r} argument {arg!r} mixes step outputs with other values; pass "
            "outputs directly or as a list of outputs only",
            field=arg,
        )


_builder: contextvars.ContextVar[DagBuilder | None] = contextvars.ContextVar(
    "shipyard_dag_builder", default=None
)


def building() -> contextvars.ContextVar[DagBuilder | None]:
    """The context variable that makes step calls record nodes instead of running."""
    return _builder
