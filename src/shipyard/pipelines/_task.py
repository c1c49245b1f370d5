"""One attempt of one step, as an executor runs it (in this process, a worker process or on
a Ray worker): load the inputs, call the function with its output captured, store what it
returned. Everything crossing a process boundary here is plain picklable data."""

from __future__ import annotations

import importlib
import io
import logging
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from shipyard.client import Store, now_ms, open_store
from shipyard.config import Settings
from shipyard.entities import LineageNode
from shipyard.errors import InvalidArgument
from shipyard.pipelines._step_outputs import OutputTypeError, load_output, save_output
from shipyard.tracking import on_run_start

MAX_LOG_CHARS = 200_000


@dataclass
class StepTask:
    """What an executor needs to run one attempt of a step.

    Attributes:
        node: The step's name in the pipeline.
        step_ref: The step function, as ``module:qualname``.
        step_run_id: The step run this attempt belongs to.
        inputs: Each argument's output reference (or list of them).
        params: The plain arguments.
        settings: The settings of the store the outputs go to.
        dataset_names: The dataset name each output is stored under.
        n_outputs: How many values a tuple-returning step returns (None: one value).
        attempt: The attempt's number, from 1.
        timeout: Seconds after which the attempt is stopped; no limit when None.
        trusted_pickle: The step may store pickles.
        trusted_inputs: Content hashes of the inputs the engine vouches for: only these may be
            unpickled (or loaded as trusted models); see ``_trust``.
        resources: What the Ray executor reserves.
        fn: The step function in memory (left out when the task goes to another process).
        contracts: The step's data contracts in memory (None: imported with the step).
    """

    node: str
    step_run_id: str
    step_ref: str  # module:qualname
    inputs: dict[str, Any]  # arg -> output ref | list of output refs
    params: dict[str, Any]
    settings: Settings
    dataset_names: list[str]
    n_outputs: int | None
    attempt: int = 1
    timeout: float | None = None
    trusted_pickle: bool = False  # the step may store pickles
    #: Content hashes of the inputs the engine vouches for: only these may be unpickled
    #: (or loaded as trusted models); see ``_trust``.
    trusted_inputs: frozenset[str] = frozenset()
    resources: dict[str, Any] = field(default_factory=dict)
    fn: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    contracts: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def portable(self) -> StepTask:
        """The task without the in-memory function and contracts (for another process,
        which imports them with the step: custom checks need not pickle)."""
        from dataclasses import replace

        return replace(self, fn=None, contracts=None)


@dataclass
class StepOutcome:
    """The result of one attempt: outputs on success, the traceback text on failure.

    Attributes:
        node: The step's name in the pipeline.
        attempt: The attempt's number.
        ok: True when the step returned.
        outputs: The materialized outputs, on success.
        logs: What it printed.
        error: The traceback text, on failure.
        retryable: False when another attempt cannot help.
        start_time: When the attempt started (milliseconds since the epoch).
        end_time: When it ended (milliseconds since the epoch).
    """

    node: str
    attempt: int
    ok: bool
    outputs: list[dict[str, Any]] = field(default_factory=list)
    logs: str = ""
    error: str = ""
    retryable: bool = True
    start_time: int = 0
    end_time: int = 0


def resolve_function(ref: str) -> Callable[..., Any]:
    """The step function behind ``module:qualname`` (a Step object yields its function)."""
    target = _resolve(ref)
    return getattr(target, "fn", target)  # type: ignore[no-any-return]


def _contracts_of(task: StepTask, target: Any) -> dict[str, Any]:
    """The step's data contracts: the task's own, or those of the step it imports
    (``target``, what its ``step_ref`` names)."""
    if task.contracts is not None:
        return task.contracts
    found: dict[str, Any] = target.contracts() if hasattr(target, "contracts") else {}
    return found


def _checked(task: StepTask, contracts: dict[str, Any], target: str, value: Any) -> Any:
    """``value`` validated against the contract on ``target`` (unchanged when none)."""
    from shipyard.data import check

    contract = contracts.get(target)
    if contract is None:
        return value
    import pandas as pd

    what = (
        f"input {target!r}"
        if not target.startswith("return")
        else "output" + (f" {target.split('.')[1]}" if "." in target else "")
    )
    if not isinstance(value, pd.DataFrame):
        raise InvalidArgument(
            f"step {task.node!r}: a contract guards {what}, which is a "
            f"{type(value).__name__}; contracts check pandas DataFrames",
            field="contracts",
        )
    return check(value, contract, subject=f"step {task.node!r} {what}")


def _resolve(ref: str) -> Any:
    """The object behind ``module:qualname``: a Step or a plain function."""
    module_name, _, qualname = ref.partition(":")
    if "<locals>" in qualname:
        raise InvalidArgument(
            f"step {ref!r} is defined inside a function, so another process cannot import "
            "it; define steps at module level to use the process or Ray executor or a timeout",
            field="step",
        )
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(
            f"cannot import step {ref!r} ({exc}); make its module importable (on sys.path) "
            "where the step runs",
            field="step",
        ) from None
    return target


def _link_run_to_step(run: Any) -> None:
    """A tracking run started inside a step was produced by that step run."""
    from shipyard.data import current_actors
    from shipyard.entities import LineageEdge

    node = LineageNode("run", run.id)
    steps = [n for n in current_actors() if n.kind == "step_run"]
    if steps:
        run.client.store.add_lineage_edges([LineageEdge(s, node, "produced") for s in steps])


on_run_start(_link_run_to_step)

_stores: dict[Settings, Store] = {}
_stores_lock = threading.Lock()


def store_for(settings: Settings) -> Store:
    """One store per settings in each process (engines are shared per URL anyway)."""
    with _stores_lock:
        store = _stores.get(settings)
        if store is None:
            store = _stores[settings] = open_store(settings)
        return store


class _Tee(io.TextIOBase):
    def __init__(self, sink: io.StringIO, echo: Any) -> None:
        self._sink = sink
        self._echo = echo

    def write(self, text: str) -> int:
        self._sink.write(text)
        if self._echo is not None:
            self._echo.write(text)
        return len(text)

    def flush(self) -> None:
        if self._echo is not None:
            self._echo.flush()


@contextmanager
def capture_output(echo: bool) -> Iterator[io.StringIO]:
    """Collect what the step prints and logs (echoing it to the terminal when ``echo``)."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = _Tee(sink, old_out if echo else None)
    sys.stderr = _Tee(sink, old_err if echo else None)
    root.addHandler(handler)
    try:
        yield sink
    finally:
        root.removeHandler(handler)
        sys.stdout, sys.stderr = old_out, old_err


def _tail(text: str) -> str:
    if len(text) <= MAX_LOG_CHARS:
        return text
    return f"[... {len(text) - MAX_LOG_CHARS} characters cut ...]\n" + text[-MAX_LOG_CHARS:]


def _load_input(
    spec: Any, store: Store, memory: dict[str, Any] | None, trusted: frozenset[str]
) -> Any:
    if isinstance(spec, list):
        return [_load_input(item, store, memory, trusted) for item in spec]
    if spec.get("type") == "tuple":
        step = spec.get("from", "?")
        items = [{**item, "from": step} for item in spec["items"]]
        return tuple(_load_input(item, store, memory, trusted) for item in items)
    if memory is not None and spec["hash"] in memory:
        return memory[spec["hash"]]
    return load_output(spec, store, trusted=trusted, step=spec.get("from", "?"))


def _store_outputs(
    task: StepTask, result: Any, store: Store, memory: dict[str, Any] | None
) -> list[dict[str, Any]]:
    if task.n_outputs is not None:
        if not isinstance(result, tuple) or len(result) != task.n_outputs:
            raise OutputTypeError(
                f"step {task.node!r} declares {task.n_outputs} outputs but returned "
                f"{type(result).__name__}"
                + (f" of length {len(result)}" if isinstance(result, tuple) else ""),
                field="output",
            )
        values = list(result)
    else:
        values = [result]
    refs = []
    for value, dataset in zip(values, task.dataset_names, strict=True):
        ref = save_output(
            value, store, dataset=dataset, step=task.node, trusted_pickle=task.trusted_pickle
        )
        if memory is not None:
            memory[ref["hash"]] = value
        refs.append(ref)
    return refs


def _checked_result(task: StepTask, contracts: dict[str, Any], result: Any) -> Any:
    """What the step returned, each value checked against the contract on its output."""
    if not contracts:
        return result
    if task.n_outputs is None:
        return _checked(task, contracts, "return", result)
    if not isinstance(result, tuple):
        return result  # _store_outputs names the mismatch
    return tuple(_checked(task, contracts, f"return.{i}", v) for i, v in enumerate(result))


def execute_task(
    task: StepTask,
    store: Store | None = None,
    memory: dict[str, Any] | None = None,
    echo: bool = False,
    on_start: Callable[[], None] | None = None,
) -> StepOutcome:
    """Run one attempt of a step and store its outputs; never raises for a step's failure.

    ``memory`` (the inline executor's) keeps returned objects by content hash, so downstream
    steps in the same process get them without reading them back. ``on_start`` is called
    once the step's module is imported, when its own time (and timeout) starts.
    """
    from shipyard.data import consuming

    store = store or store_for(task.settings)
    trusted = task.trusted_inputs
    started = now_ms()
    outcome = StepOutcome(task.node, task.attempt, ok=False, start_time=started)
    with (
        capture_output(echo) as logs,
        consuming(LineageNode("step_run", task.step_run_id)),
    ):
        try:
            target: Any = None  # the step, imported once for its function and contracts
            if task.fn is None or task.contracts is None:
                target = _resolve(task.step_ref)
            fn: Callable[..., Any] = task.fn or getattr(target, "fn", target)
            if on_start is not None:
                on_start()  # the step's own time starts now (its module is imported)
            contracts = _contracts_of(task, target)
            kwargs = {
                arg: _checked(task, contracts, arg, _load_input(spec, store, memory, trusted))
                for arg, spec in task.inputs.items()
            }
            result = _checked_result(task, contracts, fn(**kwargs, **task.params))
            outcome.outputs = _store_outputs(task, result, store, memory)
            outcome.ok = True
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            outcome.error = "".join(traceback.format_exception(exc)).rstrip()
            # bad outputs and unimportable steps fail the same way every time
            outcome.retryable = not isinstance(exc, (InvalidArgument, SystemExit))
            print(f"step {task.node!r} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    outcome.logs = _tail(logs.getvalue())
    outcome.end_time = now_ms()
    return outcome
