"""``@pipeline``: a function composing steps; building its DAG and importing it by reference."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from shipyard.config import put_project_on_path
from shipyard.errors import InvalidArgument, NotFound
from shipyard.pipelines._hashing import check_param
from shipyard.pipelines._step import DagBuilder, Node, building

if TYPE_CHECKING:
    from shipyard.pipelines._engine import PipelineRunResult
    from shipyard.pipelines._executors import Executor


@dataclass
class Plan:
    """A built pipeline: its nodes in a valid execution order, and the params used."""

    nodes: dict[str, Node]
    order: list[str]
    params: dict[str, Any]

    def downstream(self, name: str) -> list[str]:
        """Every node that depends on ``name``, directly or not."""
        found: list[str] = []
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for other in self.order:
                if current in self.nodes[other].upstream and other not in found:
                    found.append(other)
                    frontier.append(other)
        return found

    def dag(self) -> list[dict[str, Any]]:
        """The JSON form recorded on the pipeline run."""
        return [
            {
                "name": name,
                "step": self.nodes[name].step.ref,
                "upstream": self.nodes[name].upstream,
            }
            for name in self.order
        ]


def _find_cycle(nodes: dict[str, Node]) -> list[str]:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for up in nodes[name].upstream:
            if state.get(up) == 1:
                return [*path[path.index(up) :], up]
            if up not in state:
                cycle = visit(up)
                if cycle:
                    return cycle
        state[name] = 2
        path.pop()
        return []

    for name in nodes:
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return []


def topological_order(pipeline: str, nodes: dict[str, Node]) -> list[str]:
    """Nodes ordered so each comes after its upstream nodes; a cycle is an error."""
    for node in nodes.values():
        for up in node.after:
            if up not in nodes:
                raise InvalidArgument(
                    f"step {node.name!r} in pipeline {pipeline!r} waits for {up!r}, which is "
                    f"not a step of it; steps: {', '.join(nodes)}",
                    field="after",
                )
    cycle = _find_cycle(nodes)
    if cycle:
        raise InvalidArgument(
            f"pipeline {pipeline!r} has a cycle: {' -> '.join(reversed(cycle))}; a step cannot "
            "wait for its own outputs",
            field="after",
        )
    order: list[str] = []
    placed: set[str] = set()
    remaining = list(nodes)
    while remaining:
        for name in remaining:
            if all(up in placed for up in nodes[name].upstream):
                order.append(name)
                placed.add(name)
                remaining.remove(name)
                break
    return order


class Pipeline:
    """A function wrapped by ``@pipeline``: calling it runs the pipeline."""

    def __init__(
        self, fn: Callable[..., Any], name: str, description: str, trusted_pickle: bool = False
    ) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = name
        self.description = description
        self.trusted_pickle = trusted_pickle
        self.signature = inspect.signature(fn)

    @property
    def ref(self) -> str:
        """``module:qualname``: how the CLI and the scheduler import this pipeline."""
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"

    def bind(self, params: dict[str, Any]) -> dict[str, Any]:
        """The full parameter set (defaults applied) for ``params``; unknown ones are errors."""
        unknown = sorted(set(params) - set(self.signature.parameters))
        if unknown:
            known = ", ".join(self.signature.parameters) or "none"
            raise InvalidArgument(
                f"pipeline {self.name!r} has no parameter {', '.join(unknown)}; its "
                f"parameters: {known}",
                field=unknown[0],
            )
        try:
            bound = self.signature.bind(**params)
        except TypeError as exc:
            raise InvalidArgument(f"pipeline {self.name!r}: {exc}", field="params") from None
        bound.apply_defaults()
        return {k: check_param(self.name, k, v) for k, v in bound.arguments.items()}

    def build(self, **params: Any) -> Plan:
        """Call the pipeline function in build mode and return its DAG (nothing runs)."""
        values = self.bind(params)
        builder = DagBuilder()
        token = building().set(builder)
        try:
            self.fn(**values)
        finally:
            building().reset(token)
        if not builder.nodes:
            raise InvalidArgument(
                f"pipeline {self.name!r} calls no steps; call @step functions inside it",
                field="pipeline",
            )
        return Plan(builder.nodes, topological_order(self.name, builder.nodes), values)

    def run(
        self,
        *,
        executor: str | Executor = "inline",
        cache: bool = True,
        raise_on_failure: bool = True,
        on_event: Callable[[str, str, dict[str, Any]], None] | None = None,
        **params: Any,
    ) -> PipelineRunResult:
        """Run the pipeline with ``params``.

        Args:
            executor: ``"inline"`` (default), ``"process"``, ``"ray"`` or an Executor.
            cache: False runs every step even when an identical earlier run exists.
            raise_on_failure: Raise :class:`~shipyard.errors.PipelineFailed` when a step
                fails; False returns the failed run.
            on_event: Called as ``on_event(step, status, info)`` when a step changes state.
            **params: The pipeline function's arguments.

        Returns:
            The run with its step runs (by step name).

        Raises:
            PipelineFailed: A step failed, unless ``raise_on_failure`` is False.
        """
        from shipyard.pipelines._engine import run_pipeline

        return run_pipeline(
            self,
            params,
            executor=executor,
            cache=cache,
            raise_on_failure=raise_on_failure,
            on_event=on_event,
        )

    def resume(
        self,
        run_id: str,
        *,
        executor: str | Executor = "inline",
        raise_on_failure: bool = True,
        on_event: Callable[[str, str, dict[str, Any]], None] | None = None,
    ) -> PipelineRunResult:
        """Run again what did not succeed in run ``run_id`` (finished steps are reused)."""
        from shipyard.pipelines._engine import resume_run

        return resume_run(
            run_id,
            pipeline=self,
            executor=executor,
            raise_on_failure=raise_on_failure,
            on_event=on_event,
        )

    def __call__(self, **params: Any) -> PipelineRunResult:
        return self.run(**params)


@overload
def pipeline(fn: Callable[..., Any], /) -> Pipeline: ...
@overload
def pipeline(
    *, name: str | None = ..., description: str = ..., trusted_pickle: bool = ...
) -> Callable[[Callable[..., Any]], Pipeline]: ...
def pipeline(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str = "",
    trusted_pickle: bool = False,
) -> Pipeline | Callable[[Callable[..., Any]], Pipeline]:
    """Make a function a pipeline: the steps it calls, wired by the values they pass, form
    the DAG. Its parameters are the pipeline's parameters (JSON values).

    ``trusted_pickle=True`` lets every step of it store values Shipyard has no safe format
    for with pickle, as ``@step(trusted_pickle=True)`` does for one step; such outputs are
    unpickled only by the run that produced them, or by a later run of this pipeline that
    reuses them under a valid seal (see docs/pipelines.md).
    """
    if not isinstance(trusted_pickle, bool):
        raise InvalidArgument(
            f"trusted_pickle must be True or False, got {trusted_pickle!r}", field="trusted_pickle"
        )

    def wrap(func: Callable[..., Any]) -> Pipeline:
        doc = description or (inspect.getdoc(func) or "").split("\n\n")[0]
        return Pipeline(func, name or func.__name__, doc, trusted_pickle)

    return wrap(fn) if fn is not None else wrap


def load_pipeline(ref: str) -> Pipeline:
    """The pipeline at ``module:function`` or ``path/to/file.py:function``.

    The project root (the folder of ``shipyard.toml``, else the working directory) is put on
    ``sys.path`` first, as every command that imports user code does.
    """
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidArgument(
            f"pipeline reference {ref!r} must look like 'package.module:function' or "
            "'file.py:function'",
            field="ref",
        )
    if module_name == "__main__":
        raise InvalidArgument(
            f"pipeline {ref!r} was defined in a script run directly, which cannot be imported "
            "again; move it into a module and refer to it as 'module:function'",
            field="ref",
        )
    put_project_on_path()
    try:
        if module_name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(
                os.path.splitext(os.path.basename(module_name))[0], module_name
            )
            if spec is None or spec.loader is None or not os.path.isfile(module_name):
                raise ImportError(f"no such file: {module_name}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
        target: Any = module
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise NotFound(f"cannot import pipeline {ref!r}: {exc}", field="ref") from None
    if not isinstance(target, Pipeline):
        raise InvalidArgument(
            f"{ref!r} is a {type(target).__name__}, not a @pipeline function", field="ref"
        )
    return target
