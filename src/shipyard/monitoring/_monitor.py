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
from shipyard.entities import LineageNode, ModelVersion, Monitor, MonitorRun
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.monitoring._alerts import check_channel, deliver, evaluate, parse_rule
from shipyard.monitoring._drift import score
from shipyard.monitoring._log import iter_log, read_log
from shipyard.monitoring._performance import compute, window_ms
from shipyard.monitoring._profile import ReferenceProfile, fit_profile, load_profile, save_profile
from shipyard.monitoring._retrain import on_alerts

INPUT = "input."


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
    columns: Sequence[str] | None = None,
    alpha: float = 0.05,
    importances: dict[str, float] | None = None,
    store: Store | None = None,
) -> Monitor:
    """Create (or replace) a monitor on ``model`` (``churn@champion``). ``reference`` is a
    dataset version (``"churn-train@3"``) to profile now instead of the model version's
    training data; ``alerts`` are rules like ``"share_drifted > 0.3"``."""
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
    if not 0 < alpha < 1:
        raise InvalidArgument(f"alpha must be between 0 and 1, got {alpha}", field="alpha")
    options: dict[str, Any] = {"alpha": alpha}
    if columns:
        options["columns"] = list(columns)
    if importances:
        options["importances"] = dict(importances)
    digest = ""
    if reference:
        from shipyard.monitoring._api import fit_reference

        digest = fit_reference(reference, columns=columns, store=store).digest
    return store.put_monitor(
        Monitor(name, model, window, schedule, list(alerts), clean_channels, digest, options)
    )


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


def _reference(store: Store, monitor: Monitor, version: ModelVersion) -> ReferenceProfile:
    if monitor.reference:
        return load_profile(monitor.reference, store)
    by_version = monitor.options.get("references", {})
    key = f"{version.name}/{version.version}"
    if key in by_version:
        return load_profile(by_version[key], store)
    from shipyard import data as datasets

    dataset = store.get_dataset_version_by_id(training_dataset(store, version))
    wanted = monitor.options.get("columns") or _signature_columns(version)
    if wanted:
        wanted = [c for c in wanted if c in dataset.columns] or None
    frame = datasets.load(dataset, columns=wanted, store=store)
    profile = save_profile(fit_profile(frame, source=dataset.ref), store)
    options = {**monitor.options, "references": {**by_version, key: profile.digest}}
    store.put_monitor(Monitor(**{**monitor.to_dict(), "options": options}))
    return profile


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
        status, error = "ok", ""
    except ShipyardError as exc:
        result, status, error = {"metrics": {}}, "failed", str(exc)
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
    reference = _reference(store, monitor, version)
    columns = list(monitor.options.get("columns") or reference.columns)
    model_name = version.name

    def chunks() -> Iterator[Any]:
        wanted = [f"{INPUT}{c}" for c in columns]
        for chunk in iter_log(settings, "predictions", model=model_name, start=start, end=end):
            # columns the log lacks stay missing: scoring names them in a SchemaError
            kept = chunk[[c for c in wanted if c in chunk.columns]]
            yield kept.rename(columns=lambda c: c[len(INPUT) :])

    drift = score(
        reference,
        chunks(),
        columns=columns,
        alpha=float(monitor.options.get("alpha", 0.05)),
        importances=monitor.options.get("importances"),
        tests=monitor.options.get("tests"),
        thresholds=monitor.options.get("thresholds"),
    )
    predictions = read_log(
        settings,
        "predictions",
        model=model_name,
        start=start,
        end=end,
        columns=["prediction_id", "row", "ts", "version", "output"],
    )
    labels = read_log(settings, "labels", columns=["prediction_id", "row", "label"])
    perf = compute(predictions, labels, window=2**62)
    metrics: dict[str, float] = {
        "share_drifted": drift.share_drifted,
        "drifted_columns": float(len(drift.drifted_columns)),
        "rows": float(drift.n_current),
        "labelled": 0.0,
        "unmatched_labels": float(perf.unmatched_labels),
        **perf.latest(),
    }
    for column in drift.columns:
        for test in column.tests:
            metrics[f"drift.{column.column}.{test.test}"] = test.statistic
    return {
        "reference": reference.digest,
        "reference_source": reference.source,
        "drift": drift.to_dict(),
        "performance": perf.to_dict(),
        "metrics": metrics,
    }


def monitor_history(name: str, *, limit: int = 100, store: Store | None = None) -> list[MonitorRun]:
    """A monitor's runs, the newest first."""
    return (store or _client()[0]).list_monitor_runs(name, limit)
