"""Monitors: a stored definition (model, window, schedule, alert rules, channels) and runs
that score the latest window of the prediction log against the reference, compute the
performance so far, evaluate the alerts and record everything (queryable history).

The reference defaults to the model version's training data found through lineage
(``dataset_version -> run -> model_version``): profiled once per model version, its digest
kept in the monitor's options so later runs never re-read the data.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from shipyard.client import Store
from shipyard.config import Settings
from shipyard.entities import LineageNode, ModelVersion, Monitor, MonitorRun, MonitorRunStatus
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.monitoring._alerts import check_channel, deliver, evaluate, parse_rule
from shipyard.monitoring._drift import chosen_tests, score, with_column_thresholds
from shipyard.monitoring._options import DriftOptions, monitor_options, stored_drift_options
from shipyard.monitoring._output_drift import OUTPUTS, fit_outputs, output_drift
from shipyard.monitoring._performance import compute, logged_window, window_ms
from shipyard.monitoring._profile import ReferenceProfile, fit_profile, load_profile, save_profile
from shipyard.monitoring._retrain import on_alerts
from shipyard.serving import iter_predictions, logged_inputs


def _client() -> tuple[Store, Settings]:
    from shipyard.tracking import get_client

    client = get_client()
    return client.store, client.settings


def create_monitor(
    name: str,
    model: str,
    *,
    window: str = "1h",
    schedule: str = "",
    alerts: Sequence[str] = (),
    channels: Sequence[dict[str, Any]] = (),
    reference: str | None = None,
    options: DriftOptions | None = None,
    target: str | None = None,
    store: Store | None = None,
    **keywords: Any,
) -> Monitor:
    """Create (or replace) a monitor on ``model``. Unknown tests or columns, bad rules,
    channels or schedules are refused here, naming the valid ones, and nothing is stored.

    Args:
        name: The monitor's name (creating it again replaces it, options included).
        model: The model reference it watches (``"churn@champion"``, ``"churn/3"``).
        window: How much recent traffic a run scores (``"15m"``, ``"1h"``, ``"1d"``).
        schedule: A cron string for ``shipyard scheduler`` (``"*/15 * * * *"``; empty: runs
            only when started).
        alerts: Rules over a run's metrics, like ``"share_drifted > 0.3"``.
        channels: Where alerts go: ``{"type": "log"}`` or ``{"type": "webhook", "url": ...}``.
        reference: A dataset version (``"churn-train@3"``) to profile now instead of the
            model version's training data (found through lineage at the first run).
        options: How each run scores drift (:class:`DriftOptions`: the input columns to
            watch, default every input of the model; their tests, ``{"age": ["psi"]}``;
            thresholds for every column, ``{"psi": 0.25}``, or one, ``{"age.psi": 0.3}``,
            which wins; alpha; importances).
        target: The training data's label column, for target drift (default: the one
            training column that is not a model input).
        store: The store to keep it in (default: the current client's).
        **keywords: Fields of :class:`DriftOptions` given one by one
            (``create_monitor(..., alpha=0.01)``), replacing those of ``options``.
    """
    drift = DriftOptions.merged(options, keywords)
    store = store or _client()[0]
    window_ms(window)
    for rule in alerts:
        parse_rule(rule)
    clean_channels = [check_channel(c) for c in channels]
    if schedule:
        from croniter import croniter

        if not croniter.is_valid(schedule):
            raise InvalidArgument(
                f"schedule {schedule!r} is not a cron string; use five fields, e.g. '*/15 * * * *'",
                field="schedule",
            )
    profile = None
    if reference:
        from shipyard.monitoring._api import fit_reference

        wanted = drift.columns or _model_inputs(store, model, reference)
        profile = fit_reference(reference, columns=wanted, store=store)
    known = list(profile.columns) if profile is not None else _known_columns(store, model)
    stored = monitor_options(drift, target=target, known=known)
    if profile is not None and stored.get("tests"):
        chosen_tests(profile, list(stored["tests"]), stored["tests"])
    digest = profile.digest if profile is not None else ""
    return store.put_monitor(
        Monitor(name, model, window, schedule, list(alerts), clean_channels, digest, stored),
        project=_client()[1].project,
    )


def _model_inputs(store: Store, model: str, reference: str) -> list[str] | None:
    """The model's input columns that the reference dataset has (so the label column and
    other extras are not profiled as features), or None when the model has no signature."""
    from shipyard import data as datasets

    try:
        inputs = _signature_columns(_resolve_model(store, model))
    except ShipyardError:
        return None
    if not inputs:
        return None
    have = set(datasets.get(reference).columns)
    return [c for c in inputs if c in have] or None


def _known_columns(store: Store, model: str) -> list[str] | None:
    """The columns a lineage reference will have (model inputs found in its training data),
    or None when that cannot be known before the first run."""
    try:
        version = _resolve_model(store, model)
        dataset = store.get_dataset_version_by_id(training_dataset(store, version))
    except ShipyardError:
        return None
    inputs = _signature_columns(version)
    return [c for c in dataset.columns if inputs is None or c in inputs]


def _resolve_model(store: Store, ref: str) -> ModelVersion:
    from shipyard.registry import parse_ref

    parsed = parse_ref(ref)
    if parsed.name is None:
        raise InvalidArgument(f"monitor a registered model like 'churn@champion', not {ref!r}")
    if parsed.alias is not None:
        return store.get_model_version_by_alias(parsed.name, parsed.alias)
    if parsed.version is None:
        return store.get_model_version_by_alias(parsed.name, "latest")
    return store.get_model_version(parsed.name, parsed.version)


def training_dataset(store: Store, version: ModelVersion) -> str:
    """The dataset version a model version was trained on, through lineage (the nearest
    upstream dataset version); NotFound when there is none."""
    edges = store.get_lineage(LineageNode("model_version", version.id), "up", max_depth=3)
    found = [e.src.id for e in edges if e.src.kind == "dataset_version"]
    if not found:
        raise NotFound(
            f"{version.name}/{version.version} has no reference: no dataset version is "
            "upstream of it in lineage; load its training data with shipyard.data.load inside "
            "the training run, or create the monitor with reference='dataset@version'",
            field="reference",
        )
    return found[0]


def _reference(
    store: Store, monitor: Monitor, version: ModelVersion
) -> tuple[ReferenceProfile, ReferenceProfile | None, dict[str, str]]:
    """The feature reference, the output reference (prediction and target, see
    :mod:`shipyard.monitoring._output_drift`) and why parts of the latter are missing. Both are
    fitted once per model version from the same training data and their digests kept in the
    monitor's options."""
    key = f"{version.name}/{version.version}"
    by_version = monitor.options.get("references", {})
    outputs = monitor.options.get("outputs", {})
    features = None
    if monitor.reference:
        features = load_profile(monitor.reference, store)
    elif key in by_version:
        features = load_profile(by_version[key], store)
    if features is not None and key in outputs:
        found = outputs[key]
        out = load_profile(found["digest"], store) if found.get("digest") else None
        return features, out, dict(found.get("skipped", {}))
    from shipyard import data as datasets

    if features is not None and monitor.reference:
        if not features.source:
            skipped = dict.fromkeys(OUTPUTS, "the reference was not fitted from a dataset")
            _remember(store, monitor, outputs={**outputs, key: {"skipped": skipped}})
            return features, None, skipped
        dataset = datasets.get(features.source)
    else:
        dataset = store.get_dataset_version_by_id(training_dataset(store, version))
    frame = datasets.load(dataset, store=store)
    inputs = _signature_columns(version)
    wanted = monitor.options.get("columns") or inputs
    if wanted:
        wanted = [c for c in wanted if c in dataset.columns] or None
    if features is None:
        features = save_profile(
            fit_profile(frame if wanted is None else frame[wanted], source=dataset.ref), store
        )
        by_version = {**by_version, key: features.digest}
    out, skipped = fit_outputs(
        store,
        version,
        frame,
        inputs or list(features.columns),
        monitor.options.get("target"),
        dataset.ref,
    )
    record = {"digest": out.digest if out is not None else "", "skipped": skipped}
    _remember(store, monitor, references=by_version, outputs={**outputs, key: record})
    return features, out, skipped


def _remember(store: Store, monitor: Monitor, **options: Any) -> None:
    """Keep fitted reference digests in the monitor's options (re-read first, so a change
    made to the monitor meanwhile is kept)."""
    try:
        current = store.get_monitor(monitor.name)
    except NotFound:
        return
    merged = {**current.options, **options}
    store.put_monitor(Monitor(**{**current.to_dict(), "options": merged}))


def _signature_columns(version: ModelVersion) -> list[str] | None:
    inputs = (version.signature or {}).get("inputs") or {}
    columns = inputs.get("columns") if isinstance(inputs, dict) else None
    return [c["name"] for c in columns] if columns else None


def run_monitor(
    name: str,
    *,
    now: int | None = None,
    store: Store | None = None,
    settings: Settings | None = None,
) -> MonitorRun:
    """Run a monitor now over ``[now - window, now)``, record the run and return it. A run
    that cannot score (no reference, an empty window, missing columns) is recorded as
    ``failed`` with the reason; it never raises for those."""
    if store is None or settings is None:
        default_store, default_settings = _client()
        store, settings = store or default_store, settings or default_settings
    monitor = store.get_monitor(name)
    end = int(time.time() * 1000) if now is None else int(now)
    start = end - window_ms(monitor.window)
    started = int(time.time() * 1000)
    version_number = 0
    try:
        version = _resolve_model(store, monitor.model)
        version_number = version.version
        result = _score(store, settings, monitor, version, start, end)
        status, error = MonitorRunStatus.OK, ""
    except ShipyardError as exc:
        result, status, error = {"metrics": {}}, MonitorRunStatus.FAILED, str(exc)
    previous = store.list_monitor_runs(name, limit=1)
    before = previous[0].result.get("alerts", {}) if previous else {}
    states, events = evaluate(monitor.alerts, result["metrics"], before, end)
    payload = {"monitor": name, "model": monitor.model, "window_start": start, "window_end": end}
    result["alerts"] = states
    result["notifications"] = deliver(monitor.channels, events, payload)
    run_id = uuid.uuid4().hex
    result.update(on_alerts(store, settings, monitor, events, run_id, start, end))
    run = MonitorRun(
        run_id,
        name,
        started,
        int(time.time() * 1000),
        start,
        end,
        version_number,
        status,
        result,
        error,
    )
    return store.add_monitor_run(run)


def _score(
    store: Store, settings: Settings, monitor: Monitor, version: ModelVersion, start: int, end: int
) -> dict[str, Any]:
    reference, outputs, skipped = _reference(store, monitor, version)
    columns = list(monitor.options.get("columns") or reference.columns)
    model_name = version.name
    options, per_column = stored_drift_options(monitor.options, columns)

    def chunks() -> Iterator[Any]:
        for chunk in iter_predictions(model_name, start, end, settings=settings):
            # columns the log lacks stay missing: scoring names them in a SchemaError
            yield logged_inputs(chunk, columns)

    drift = score(reference, chunks(), options)
    drift = with_column_thresholds(drift, per_column, options.importances)
    predictions, labels = logged_window(model_name, start, end, settings)
    perf = compute(predictions, labels, window=2**62)
    output_results, output_metrics = output_drift(outputs, skipped, predictions, labels, options)
    metrics: dict[str, float] = {
        "share_drifted": drift.share_drifted,
        "drifted_columns": float(len(drift.drifted_columns)),
        "rows": float(drift.n_current),
        "labelled": 0.0,
        "unmatched_labels": float(perf.unmatched_labels),
        **perf.latest(),
        **output_metrics,
    }
    for column in drift.columns:
        for test in column.tests:
            metrics[f"drift.{column.column}.{test.test}"] = test.statistic
    return {
        "reference": reference.digest,
        "reference_source": reference.source,
        "output_reference": outputs.digest if outputs is not None else "",
        "drift": drift.to_dict(),
        **output_results,
        "performance": perf.to_dict(),
        "metrics": metrics,
    }


def monitor_history(name: str, *, limit: int = 100, store: Store | None = None) -> list[MonitorRun]:
    """A monitor's runs, the newest first."""
    return (store or _client()[0]).list_monitor_runs(name, limit)
