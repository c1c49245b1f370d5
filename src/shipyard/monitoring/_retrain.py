"""The closed loop: a retraining policy on a monitor.

When an alert of the monitor **fires** (turns true; not on every run while it holds), the
policy runs the training pipeline (which reads the newest ``dataset@latest``), finds the model
version that run registered, scores that candidate **and** the current champion on the same
recent labelled window (the monitor window's logged inputs joined with the labels that
arrived), records those window metrics on both versions (``window_<metric>``,
``window_labelled``) and promotes the candidate through the registry's gate
``metrics.window_<metric> > champion.metrics.window_<metric> + margin`` (``<`` and ``-`` for a
metric where lower is better). The alias moves only if the gate passes; otherwise the
rejected attempt is in the alias history and the reason in the monitor run.

With ``holdout`` (a share, e.g. 0.5), the comparison uses only the labelled predictions that
:func:`holdout_mask` holds out, a fixed part chosen by a hash of the prediction id; a
training pipeline that adds labelled traffic to its data keeps those rows out (the same
function says which), so the candidate is never scored on rows it was trained on.

The policy is stored in the monitor's options (``options["retrain"]``). Every step is a
lineage edge: ``monitor_run -> pipeline_run -> model_version -> alias_event``. Whatever goes
wrong (too few labels, a cooldown, a failing pipeline, a model that cannot score the window)
is recorded in the run's ``result["retrain"]`` and never fails the monitor run.
"""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shipyard.client import Store
from shipyard.config import Settings
from shipyard.entities import (
    AliasOutcome,
    LineageEdge,
    LineageNode,
    ModelVersion,
    Monitor,
    PipelineRunStatus,
    RetrainOutcome,
    StepStatus,
)
from shipyard.errors import InvalidArgument, NotFound
from shipyard.monitoring._alerts import parse_rule
from shipyard.monitoring._performance import (
    classification_metrics,
    regression_metrics,
    window_ms,
)
from shipyard.serving import INPUT_PREFIX, logged_inputs, read_labels, read_predictions

log = logging.getLogger("shipyard.monitoring")
OPTION = "retrain"
#: Metrics where lower is better (the rest: higher is better).
LOWER_IS_BETTER = ("mae", "rmse", "mape", "calibration_error")
REGRESSION = ("mae", "rmse", "mape")
CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "auc", "calibration_error")


@dataclass(frozen=True)
class RetrainPolicy:
    """What to do when an alert of a monitor fires: retrain, compare the candidate with the
    champion on the labelled window, and promote it only if it wins.

    Attributes:
        pipeline: The training pipeline (``module:function``, or the name of a registered
            pipeline).
        params: Its parameters.
        metric: The metric compared on the labelled window (``auc``, ``accuracy``, ``f1``...
            or ``rmse``, ``mae``, ``mape``).
        direction: ``max`` or ``min``; empty: from the metric.
        min_labelled: The fewest labelled rows the comparison needs.
        margin: How much the candidate must beat the champion by.
        cooldown: The least time between two retrainings (``"1h"``).
        on: The alert rules that trigger it (empty: any).
        alias: The alias to promote (empty: the monitored reference's alias, or champion).
        holdout: The share of labelled predictions kept for the comparison (0: all of the
            window); see :func:`holdout_mask`.
    """

    pipeline: str
    params: dict[str, Any] = field(default_factory=dict)
    metric: str = "auc"
    direction: str = ""
    min_labelled: int = 50
    margin: float = 0.0
    cooldown: str = "1h"
    on: list[str] = field(default_factory=list)
    alias: str = ""
    holdout: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.pipeline, str) or not self.pipeline.strip():
            raise InvalidArgument(
                "a retraining policy needs a pipeline: 'module:function' or a registered "
                "pipeline's name",
                field="pipeline",
            )
        if self.metric not in (*CLASSIFICATION, *REGRESSION):
            known = ", ".join((*CLASSIFICATION, *REGRESSION))
            raise InvalidArgument(
                f"metric {self.metric!r} is not one the policy can compare; use one of {known}",
                field="metric",
            )
        if self.direction not in ("", "max", "min"):
            raise InvalidArgument(
                f"direction must be max or min, got {self.direction!r}", field="direction"
            )
        if int(self.min_labelled) < 1:
            raise InvalidArgument(
                f"min_labelled must be at least 1, got {self.min_labelled}", field="min_labelled"
            )
        if not 0 <= float(self.holdout) < 1:
            raise InvalidArgument(
                f"holdout must be a share in [0, 1), got {self.holdout}", field="holdout"
            )
        if not float(self.margin) >= 0:
            raise InvalidArgument(f"margin must be >= 0, got {self.margin}", field="margin")
        try:
            window_ms(self.cooldown)
        except InvalidArgument:
            raise InvalidArgument(
                f"cooldown {self.cooldown!r} is not a duration; use e.g. 30m, 1h, 1d",
                field="cooldown",
            ) from None
        for rule in self.on:
            parse_rule(rule)
        if not isinstance(self.params, dict):
            raise InvalidArgument("params must be a mapping of name to value", field="params")

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger value of the metric is better."""
        if self.direction:
            return self.direction == "max"
        return self.metric not in LOWER_IS_BETTER

    @property
    def key(self) -> str:
        """The version metric the gate compares: ``window_<metric>``."""
        return f"window_{self.metric}"

    def gate(self, alias: str) -> str:
        """The promotion rule: the candidate beats ``alias`` by more than the margin."""
        if self.higher_is_better:
            return f"metrics.{self.key} > {alias}.metrics.{self.key} + {float(self.margin)!r}"
        return f"metrics.{self.key} < {alias}.metrics.{self.key} - {float(self.margin)!r}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetrainPolicy:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def _client() -> Store:
    from shipyard.tracking import get_client

    return get_client().store


def set_retrain_policy(
    monitor: str,
    pipeline: str,
    *,
    params: Mapping[str, Any] | None = None,
    metric: str = "auc",
    direction: str = "",
    min_labelled: int = 50,
    margin: float = 0.0,
    cooldown: str = "1h",
    on: Sequence[str] = (),
    alias: str = "",
    holdout: float = 0.0,
    store: Store | None = None,
) -> RetrainPolicy:
    """Attach a retraining policy to ``monitor``, replacing any earlier one (see
    :class:`RetrainPolicy` and the module docstring for what it does when an alert fires).

    Args:
        monitor: The monitor's name.
        pipeline: The training pipeline: ``module:function`` or a registered pipeline's name.
        params: The pipeline's parameters.
        metric: What candidate and champion are compared on over the labelled window
            (``auc``, ``accuracy``, ``f1``... or ``rmse``, ``mae``, ``mape``).
        direction: ``max`` or ``min`` (default: from the metric).
        min_labelled: The fewest labelled rows in the window for a retraining to run.
        margin: How much the candidate must beat the champion by to be promoted.
        cooldown: The least time between two retrainings (``"1h"``).
        on: The alert rules that trigger it; each must be an alert of the monitor (empty:
            any of them).
        alias: The alias to promote (empty: the monitored reference's alias, or champion).
        holdout: The share of labelled predictions kept for the comparison (0: the whole
            window); see :func:`holdout_mask`.
        store: The store holding the monitor (default: the current client's).
    """
    store = store or _client()
    found = store.get_monitor(monitor)
    policy = RetrainPolicy(
        pipeline.strip() if isinstance(pipeline, str) else pipeline,
        dict(params or {}),
        metric,
        direction,
        int(min_labelled),
        float(margin),
        cooldown,
        list(on),
        alias,
        float(holdout),
    )
    unknown = [rule for rule in policy.on if rule not in found.alerts]
    if unknown:
        raise InvalidArgument(
            f"monitor {monitor!r} has no alert {unknown[0]!r}; its alerts: "
            f"{', '.join(found.alerts) or 'none'}",
            field="on",
        )
    options = {**found.options, OPTION: policy.to_dict()}
    store.put_monitor(Monitor(**{**found.to_dict(), "options": options}))
    return policy


def get_retrain_policy(
    monitor: str | Monitor, *, store: Store | None = None
) -> RetrainPolicy | None:
    """The retraining policy of a monitor (None when it has none)."""
    found = monitor if isinstance(monitor, Monitor) else (store or _client()).get_monitor(monitor)
    raw = found.options.get(OPTION)
    return RetrainPolicy.from_dict(raw) if raw else None


def remove_retrain_policy(monitor: str, *, store: Store | None = None) -> None:
    """Detach the retraining policy from a monitor (nothing happens when it has none)."""
    store = store or _client()
    found = store.get_monitor(monitor)
    if OPTION in found.options:
        options = {k: x for k, x in found.options.items() if k != OPTION}
        store.put_monitor(Monitor(**{**found.to_dict(), "options": options}))


# ----------------------------------------------------------------------------- the hook


def on_alerts(
    store: Store,
    settings: Settings,
    monitor: Monitor,
    events: Sequence[Mapping[str, Any]],
    run_id: str,
    start: int,
    end: int,
) -> dict[str, Any]:
    """Called by a monitor run after its alerts are evaluated: ``{"retrain": outcome}`` when
    an alert that triggers the policy fired, else ``{}``. Never raises."""
    if not monitor.options.get(OPTION):
        return {}
    try:
        policy = RetrainPolicy.from_dict(monitor.options[OPTION])
    except Exception as exc:  # a policy stored by hand: recorded, the run goes on
        if not any(e.get("event") == "firing" for e in events):
            return {}
        return {
            "retrain": {
                "outcome": RetrainOutcome.FAILED,
                "reason": f"invalid retraining policy: {exc}",
            }
        }
    fired = [
        str(e["rule"])
        for e in events
        if e.get("event") == "firing" and (not policy.on or e["rule"] in policy.on)
    ]
    if not fired:
        return {}
    outcome: dict[str, Any] = {
        "trigger": fired,
        "pipeline": policy.pipeline,
        "metric": policy.key,
        "started_at": int(time.time() * 1000),
        "at": end,
    }
    try:
        outcome.update(_retrain(store, settings, monitor, policy, run_id, start, end))
    except Exception as exc:  # a policy must never take the monitor run down with it
        log.warning("monitor %s: retraining failed: %s", monitor.name, exc)
        outcome.update(outcome=RetrainOutcome.FAILED, reason=f"{type(exc).__name__}: {exc}")
    outcome["finished_at"] = int(time.time() * 1000)
    return {"retrain": outcome}


def _retrain(
    store: Store,
    settings: Settings,
    monitor: Monitor,
    policy: RetrainPolicy,
    run_id: str,
    start: int,
    end: int,
) -> dict[str, Any]:
    waited = _cooldown_left(store, monitor.name, policy, end)
    if waited:
        return {"outcome": RetrainOutcome.SKIPPED, "reason": waited}
    name, alias = _target(monitor, policy)
    window = labelled_window(settings, name, start, end)
    if policy.holdout and not window.empty:
        window = window[holdout_mask(window["prediction_id"], policy.holdout)]
    if len(window) < policy.min_labelled:
        kept = " held-out" if policy.holdout else ""
        return {
            "outcome": RetrainOutcome.SKIPPED,
            "labelled": len(window),
            "reason": f"only {len(window)}{kept} labelled rows in the window; the policy needs "
            f"{policy.min_labelled} (labels arrive with log_labels)",
        }
    champion = _champion(store, name, alias)
    pipeline_run, candidate = _train(store, policy, name)
    done: dict[str, Any] = {"pipeline_run": pipeline_run, "labelled": len(window)}
    edges = [_edge("monitor_run", run_id, "pipeline_run", pipeline_run)]
    if candidate is None:
        store.add_lineage_edges(edges)
        return {
            **done,
            "outcome": RetrainOutcome.FAILED,
            "reason": _no_candidate(store, pipeline_run, name),
        }
    edges.append(_edge("pipeline_run", pipeline_run, "model_version", candidate.id))
    done["candidate"] = candidate.version
    features, labels = _split(window)
    scores = {candidate.version: _score(candidate, features, labels, policy)}
    if champion is not None and champion.version != candidate.version:
        scores[champion.version] = _score(champion, features, labels, policy)
    for version, value in scores.items():
        store.update_model_version(
            name, version, metrics={policy.key: value, "window_labelled": float(len(window))}
        )
    done["candidate_score"] = scores[candidate.version]
    if champion is not None:
        done["champion"] = champion.version
        done["champion_score"] = scores[champion.version]
    event = _promote(name, alias, candidate.version, policy, done)
    edges.append(_edge("model_version", candidate.id, "alias_event", str(event.id), "consumed"))
    if champion is not None:
        edges.append(_edge("model_version", champion.id, "alias_event", str(event.id), "consumed"))
    store.add_lineage_edges(edges)
    done.update(
        outcome=RetrainOutcome.PROMOTED
        if event.outcome == AliasOutcome.MOVED
        else RetrainOutcome.REJECTED,
        event=event.id,
        gates=[g.to_dict() for g in event.gates],
    )
    if event.outcome != AliasOutcome.MOVED:
        failed = next((g for g in event.gates if not g.passed), None)
        done["reason"] = (
            f"the candidate {name}/{candidate.version} did not beat @{alias}: "
            f"{failed.rule} ({failed.detail})"
            if failed
            else f"the promotion was {event.outcome}"
        )
    else:
        done["reason"] = f"{name}/{candidate.version} beat @{alias} on the labelled window"
    return done


def _edge(
    src_kind: str, src: str, dst_kind: str, dst: str, relation: str = "produced"
) -> LineageEdge:
    return LineageEdge(LineageNode(src_kind, src), LineageNode(dst_kind, dst), relation)


def _cooldown_left(store: Store, name: str, policy: RetrainPolicy, end: int) -> str:
    """Why the policy must wait (empty when it need not): the last retraining that ran a
    pipeline is less than ``cooldown`` before ``end``."""
    for run in store.list_monitor_runs(name, limit=100):
        last = run.result.get(OPTION) or {}
        if last.get("pipeline_run"):
            at = int(last.get("at", run.window_end))
            if end - at < window_ms(policy.cooldown):
                minutes = (at + window_ms(policy.cooldown) - end) / 60_000
                return (
                    f"cooldown: the last retraining ran {(end - at) / 60_000:.0f} min ago "
                    f"(pipeline run {last['pipeline_run'][:12]}); next one allowed in "
                    f"{minutes:.0f} min"
                )
            return ""
    return ""


def _target(monitor: Monitor, policy: RetrainPolicy) -> tuple[str, str]:
    """The model name and the alias the policy promotes."""
    from shipyard.registry import parse_ref

    parsed = parse_ref(monitor.model)
    if parsed.name is None:
        raise InvalidArgument(f"monitor {monitor.name!r} does not watch a registered model")
    return parsed.name, policy.alias or parsed.alias or "champion"


def _champion(store: Store, name: str, alias: str) -> ModelVersion | None:
    try:
        return store.get_model_version_by_alias(name, alias)
    except NotFound:
        return None


def holdout_mask(prediction_ids: Sequence[str] | pd.Series, share: float) -> np.ndarray:
    """Which predictions belong to the held-out ``share`` (True) for a retraining policy's
    comparison: fixed for an id (a hash of it, not a random draw), so the training data can
    leave out exactly the rows the policy will score."""
    cut = round(share * 10_000)

    def held(prediction_id: object) -> bool:
        digest = hashlib.blake2b(str(prediction_id).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % 10_000 < cut

    return np.fromiter(map(held, prediction_ids), dtype=bool, count=len(prediction_ids))


def labelled_window(settings: Settings, model: str, start: int, end: int) -> pd.DataFrame:
    """The logged inputs of ``model``'s predictions in ``[start, end)`` that have a label
    (the last label per prediction and row wins), with ``prediction_id`` and ``label``
    columns."""
    predictions = read_predictions(model, start=start, end=end, settings=settings)
    labels = read_labels(columns=["prediction_id", "row", "label"], settings=settings)
    if predictions.empty or labels.empty:
        return pd.DataFrame()
    keys = ["prediction_id", "row"]
    labels = labels.drop_duplicates(keys, keep="last")[[*keys, "label"]]
    inputs = [c for c in predictions.columns if c.startswith(INPUT_PREFIX)]
    joined = predictions[[*keys, *inputs]].merge(labels, on=keys, how="inner")
    return joined.drop(columns=["row"]).reset_index(drop=True)


def _split(window: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    return logged_inputs(window), window["label"].to_numpy()


def _train(store: Store, policy: RetrainPolicy, name: str) -> tuple[str, ModelVersion | None]:
    """Run the pipeline; its run id and the version of ``name`` it registered (None if
    none)."""
    from shipyard.pipelines import load_pipeline

    ref = policy.pipeline if ":" in policy.pipeline else store.get_pipeline(policy.pipeline).ref
    before = (
        {v.version for v in store.list_model_versions(name)} if _has_model(store, name) else set()
    )
    result = load_pipeline(ref).run(raise_on_failure=False, **policy.params)
    if not result.ok:
        return result.id, None
    down = store.get_lineage(result.lineage_node, "down", max_depth=6)
    ids = {e.dst.id for e in down if e.dst.kind == "model_version"}
    versions = store.list_model_versions(name) if _has_model(store, name) else []
    new = [v for v in versions if v.version not in before]
    found = [v for v in new if v.id in ids] or new
    return result.id, max(found, key=lambda v: v.version) if found else None


def _has_model(store: Store, name: str) -> bool:
    try:
        store.get_registered_model(name)
    except NotFound:
        return False
    return True


def _no_candidate(store: Store, pipeline_run: str, name: str) -> str:
    run = store.get_pipeline_run(pipeline_run)
    if run.status != PipelineRunStatus.FINISHED:
        failed = [s for s in store.list_step_runs(pipeline_run) if s.status == StepStatus.FAILED]
        where = f" in step {failed[0].name}: {failed[0].error}" if failed else ""
        return f"the training pipeline {run.pipeline} {run.status.lower()}{where}"
    return f"the training pipeline {run.pipeline} registered no new version of {name}"


def _score(
    version: ModelVersion, features: pd.DataFrame, labels: np.ndarray, policy: RetrainPolicy
) -> float:
    """``policy.metric`` of ``version`` on the labelled window."""
    from shipyard import models

    model = models.load(f"{version.name}/{version.version}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the log may hold columns the signature drops
        predicted = np.asarray(model.predict(features))
        if policy.metric in REGRESSION:
            metrics = regression_metrics(labels.astype("float64"), predicted.astype("float64"))
        else:
            scores = None
            if predicted.ndim == 1 and len(set(labels.tolist()) | set(predicted.tolist())) <= 2:
                try:
                    proba = np.asarray(model.predict_proba(features))
                    scores = proba[:, 1] if proba.ndim == 2 and proba.shape[1] == 2 else None
                except AttributeError:
                    scores = None
            if predicted.dtype != labels.dtype:
                predicted = predicted.astype(labels.dtype)
            metrics = classification_metrics(labels, predicted, scores)
    if policy.metric not in metrics:
        raise InvalidArgument(
            f"{version.name}/{version.version} has no {policy.metric} on the window (a "
            "probability is needed for auc, and both classes among the labels)",
            field="metric",
        )
    return float(metrics[policy.metric])


def _promote(
    name: str, alias: str, version: int, policy: RetrainPolicy, done: Mapping[str, Any]
) -> Any:
    from shipyard.registry import promote

    score = done["candidate_score"]
    versus = f" vs {done['champion_score']:.4f}" if "champion_score" in done else ""
    return promote(
        name,
        version,
        to=alias,
        require=[policy.gate(alias)],
        reason=f"retraining policy: {policy.key} {score:.4f}{versus} on "
        f"{done['labelled']} labelled rows",
        raise_on_reject=False,
    )
