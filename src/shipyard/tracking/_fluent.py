"""The module-level tracking API: ``shipyard.start_run``, ``shipyard.log_metric``, ...

These act on a process-wide default Client and on the innermost run started with
``start_run``, the way MLflow's fluent API does, so a training script needs no plumbing.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import math
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from shipyard import _validation as v
from shipyard.client import now_ms
from shipyard.config import Settings, load_settings
from shipyard.entities import ArtifactInfo, MetricPoint, Run, RunPage, RunStatus
from shipyard.errors import Conflict
from shipyard.tracking._client import Client
from shipyard.tracking._environment import current_user, environment_tags, store_package_set
from shipyard.tracking._liveness import HEARTBEAT_TAG, OWNER_TAG, this_process
from shipyard.tracking._run import ActiveRun, active_stack, end_all, push, starting

if TYPE_CHECKING:
    import pandas as pd

_default: Client | None = None
_default_lock = threading.Lock()


def configure(settings: Settings | None = None, **overrides: Any) -> Client:
    """Point the module-level API at a home, database, artifact store or server.

    Takes a Settings object or any Settings field as a keyword (``home=``, ``db_url=``,
    ``sync_logging=True`` ...); unspecified fields come from env vars, the project file and
    defaults. Returns the new default Client. Buffered metrics of the old client are flushed.
    """
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = Client(settings or load_settings(**overrides))
        return _default


def get_client() -> Client:
    """The process-wide default Client (created from the environment on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Client()
    return _default


def configured_client() -> Client | None:
    """The default Client if one was configured or created already, else None (creating
    nothing: a read-only caller can check first that a store exists)."""
    return _default


def active_run() -> ActiveRun | None:
    """The innermost run started with ``start_run`` and not yet ended, if any."""
    stack = active_stack()
    return stack[-1] if stack else None


def _require_active() -> ActiveRun:
    run = active_run()
    if run is None:
        raise Conflict(
            "no active run: wrap the code in `with shipyard.start_run(experiment=...):` "
            "or call the method on a run object"
        )
    return run


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    nested: bool | None = None,
    run_id: str | None = None,
    description: str | None = None,
) -> ActiveRun:
    """Start (or resume, with ``run_id``) a run; use it as a context manager.

    System facts (git commit and dirty flag, Python, package-set hash, host, user) are
    recorded as ``shipyard.*`` tags; a nested run records its parent's. The run also records
    its owner process and keeps a heartbeat, so a run whose process dies is marked KILLED
    (see :meth:`Client.reap_runs`).

    Args:
        experiment: The experiment's name, created when it does not exist (default:
            ``Default``, or the parent's experiment for a nested run).
        name: The run's name; a generated one (``brave-otter-042``) when None.
        tags: Tags of the run (values are stored as text).
        nested: When a run is active, the new run nests under it unless ``nested=False``,
            which refuses to start while another run is active.
        run_id: Resume this run (set RUNNING again) instead of starting a new one.
        description: A note on the run (the ``shipyard.note`` tag).

    Returns:
        The active run; leaving its ``with`` block ends it (FINISHED, or FAILED on an
        exception).

    Raises:
        Conflict: ``nested=False`` while a run is active.
        NotFound: ``run_id`` names no run.
    """
    client = get_client()
    parent = active_run()
    if parent is not None and nested is False:
        raise Conflict(
            f"run {parent.id} is still active; end it first or pass nested=True", field="nested"
        )
    if run_id is not None:
        run = client.store.get_run(run_id)
        with starting():
            client.store.log_batch(run_id, tags=_owner_tags(now_ms()))
            client.store.update_run(run_id, status=RunStatus.RUNNING)
            return _activate(client, run)
    if experiment is None:
        experiment_id = parent.experiment_id if parent is not None else None
        project = client.settings.project
        exp_id = experiment_id or client.store.get_or_create_experiment("Default", project).id
    else:
        exp_id = client.store.get_or_create_experiment(experiment, client.settings.project).id
    all_tags = {k: v.tag_text(k, val) for k, val in (tags or {}).items()}
    if description:
        all_tags["shipyard.note"] = description
    if client.settings.capture_environment:
        facts = environment_tags() if parent is None else parent.environment
        if parent is None:
            store_package_set(client.store)  # before the run refers to it
        all_tags = {**facts, **all_tags}
    started = now_ms()
    with starting():
        run = client.store.create_run(
            exp_id,
            name or _generated_name(),
            user=current_user(),
            start_time=started,
            parent_run_id=parent.id if parent is not None else None,
            tags={**all_tags, **_owner_tags(started)},
        )
        return _activate(client, run)


def _owner_tags(now: int) -> dict[str, str]:
    """The tags that say which process records a run, and that it was alive ``now``."""
    return {OWNER_TAG: this_process().to_tag(), HEARTBEAT_TAG: str(now)}


def _activate(client: Client, run: Run) -> ActiveRun:
    active = ActiveRun(client, run)
    client.own_run(run.id)
    push(active)
    _install_exit_hooks()
    return active


_crashed = False
_hooks_installed = False


def _install_exit_hooks() -> None:
    """End runs left open when the interpreter exits: FAILED after an uncaught exception,
    FINISHED otherwise (buffered metrics are flushed either way)."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        global _crashed
        _crashed = True
        previous(kind, value, tb)

    sys.excepthook = excepthook
    atexit.register(_end_open_runs)


def _end_open_runs() -> None:
    end_all(RunStatus.FAILED if _crashed else RunStatus.FINISHED)


def end_run(status: RunStatus = RunStatus.FINISHED) -> None:
    """End the innermost active run (a no-op when none is active)."""
    run = active_run()
    if run is not None:
        run.end(status)


def reap_runs(
    experiment: str | Sequence[str] | None = None,
    *,
    timeout: float | None = None,
    dry_run: bool = False,
) -> list[Run]:
    """Mark KILLED every RUNNING run whose process is dead (killed outright, crashed, or
    silent for ``timeout`` seconds); see :meth:`Client.reap_runs`. Reading or searching runs
    does this too, for the runs read."""
    return get_client().reap_runs(experiment, timeout=timeout, dry_run=dry_run)


def log_param(key: str, value: Any) -> None:
    """Record a param on the active run."""
    _require_active().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Record params on the active run."""
    _require_active().log_params(params)


def log_metric(key: str, value: float, step: int = 0, timestamp: int | None = None) -> None:
    """Record a metric value on the active run (buffered by default)."""
    _require_active().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int = 0, timestamp: int | None = None) -> None:
    """Record several metric values on the active run at one step."""
    _require_active().log_metrics(metrics, step, timestamp)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _require_active().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set tags on the active run."""
    _require_active().set_tags(tags)


def log_artifact(obj: Any, name: str | None = None) -> list[ArtifactInfo]:
    """Store a file, folder or object (dict, DataFrame, figure) in the active run."""
    return _require_active().log_artifact(obj, name)


def get_run(run_id: str) -> Run:
    """A run with its params, tags and latest metrics."""
    return get_client().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[MetricPoint]:
    """Every value logged for one metric of a run."""
    return get_client().get_metric_history(run_id, key)


def download_artifact(run_id: str, path: str, dest: str | Path) -> Path:
    """Copy a run's artifact (file or folder) to ``dest``, verifying every blob."""
    return get_client().download_artifact(run_id, path, dest)


@overload
def search_runs(
    experiment: str | Sequence[str] | None = ...,
    filter: str | None = ...,
    order_by: Sequence[str] | str | None = ...,
    limit: int = ...,
    page_token: str | None = ...,
    *,
    output: Literal["pandas"] = ...,
    include_deleted: bool = ...,
) -> pd.DataFrame: ...
@overload
def search_runs(
    experiment: str | Sequence[str] | None = ...,
    filter: str | None = ...,
    order_by: Sequence[str] | str | None = ...,
    limit: int = ...,
    page_token: str | None = ...,
    *,
    output: Literal["runs"],
    include_deleted: bool = ...,
) -> RunPage: ...
def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | str | None = None,
    limit: int = 1000,
    page_token: str | None = None,
    *,
    output: Literal["pandas", "runs"] = "pandas",
    include_deleted: bool = False,
) -> pd.DataFrame | RunPage:
    """Find runs with a filter such as
    ``"metrics.auc > 0.9 and params.model = 'rf' and status = 'FINISHED'"``.

    Args:
        experiment: The experiment (or experiments) to search, by name; all when None.
        filter: The filter expression over ``metrics.*``, ``params.*``, ``tags.*`` and run
            fields (``status``, ``start_time``, ``parent_run_id`` ...); every run when None.
        order_by: Sort keys such as ``"metrics.auc desc"`` or ``"start_time"`` (ascending
            unless ``desc``).
        limit: The most runs in one page.
        page_token: The token of the page to read, from the previous page.
        output: ``"pandas"`` for a DataFrame, ``"runs"`` for Run records.
        include_deleted: Include deleted runs.

    Returns:
        A DataFrame (one row per run; columns ``params.*``, ``metrics.*``, ``tags.*``; the
        next page's token in ``df.attrs["next_page_token"]``), or with ``output="runs"`` a
        :class:`RunPage` of Run records and the next page's token.

    Raises:
        FilterSyntaxError: The filter does not parse (the error gives the position).
        InvalidArgument: A bad ``order_by``, ``limit`` or ``page_token``.
        NotFound: A named experiment does not exist.
    """
    page = get_client().search_runs(
        experiment, filter, order_by, limit, page_token, include_deleted
    )
    if output == "runs":
        return page
    return runs_to_frame(page)


def runs_to_frame(page: RunPage) -> pd.DataFrame:
    """A DataFrame with one row per run, like MLflow's ``search_runs`` output.

    Built column by column (one list per column, typed once), not from one dict per run:
    the run fields, then ``metrics.*``, ``params.*`` and ``tags.*`` in the order their keys
    first appear; a run without a key has NaN there."""
    import numpy as np
    import pandas as pd

    runs = page.runs
    if not runs:
        frame = pd.DataFrame(columns=["run_id", "experiment_id", "name", "status", "start_time"])
        frame.attrs["next_page_token"] = page.next_page_token
        return frame
    ends = [run.end_time for run in runs]
    durations = [
        None if end is None else end - run.start_time for run, end in zip(runs, ends, strict=True)
    ]
    columns: dict[str, Any] = {
        "run_id": _text([run.id for run in runs]),
        "experiment_id": _text([run.experiment_id for run in runs]),
        "name": _text([run.name for run in runs]),
        "status": _text([str(run.status) for run in runs]),
        "start_time": _timestamps([run.start_time for run in runs]),
        "end_time": _timestamps(ends),
        "duration_s": (
            durations  # all running: a column of None, as before
            if all(d is None for d in durations)
            else np.array([np.nan if d is None else d / 1000 for d in durations])
        ),
        "user": _text([run.user for run in runs]),
        "parent_run_id": [run.parent_run_id for run in runs],
    }
    for prefix, values in (
        ("metrics.", [run.metrics for run in runs]),
        ("params.", [run.params for run in runs]),
        ("tags.", [run.tags for run in runs]),
    ):
        keys = dict.fromkeys(itertools.chain.from_iterable(values))  # first-seen order
        for key in keys:
            column = [held.get(key) for held in values]
            # metric values are numbers: one float64 array, no per-value type inference
            columns[prefix + key] = (
                np.array(column, dtype=np.float64) if prefix == "metrics." else _text(column)
            )
    frame = pd.DataFrame(columns)
    frame.attrs["next_page_token"] = page.next_page_token
    return frame


def _text(values: list[Any]) -> Any:
    """A column of text (None: missing) in the dtype pandas would infer for it, built in one
    step when that dtype is Arrow-backed (pandas 3's ``str``): pandas converting a list of
    Python strings column by column was a third of the frame's time."""
    arrow = _arrow_text()
    if arrow is None:
        return [value if value is not None else math.nan for value in values]
    import pyarrow as pa

    dtype, kind = arrow
    return dtype.construct_array_type()(
        pa.chunked_array([pa.array(values, type=kind)]), dtype=dtype
    )


@functools.cache
def _arrow_text() -> tuple[Any, Any] | None:
    """The dtype pandas infers for text and its Arrow type, when it is Arrow-backed."""
    import pandas as pd
    import pyarrow as pa

    dtype: Any = pd.Series(["text"]).dtype
    if getattr(dtype, "storage", None) != "pyarrow":
        return None
    return dtype, pa.array(pd.array(["text"], dtype=dtype)).type


def _timestamps(millis: list[int | None]) -> Any:
    """Epoch milliseconds (None: NaT) as one UTC datetime column."""
    import numpy as np
    import pandas as pd

    nat = np.iinfo(np.int64).min  # NaT's integer
    raw = np.array([nat if ms is None else ms for ms in millis], dtype=np.int64)
    return pd.DatetimeIndex(raw.view("datetime64[ms]").astype("datetime64[us]"), tz="UTC")


_ADJECTIVES = ("brave", "calm", "eager", "keen", "bold", "swift", "quiet", "bright", "steady")
_NOUNS = ("heron", "otter", "falcon", "lynx", "orca", "wren", "badger", "ibis", "marten")


def _generated_name() -> str:
    import secrets

    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(1000):03d}"
