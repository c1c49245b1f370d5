"""Autologging for scikit-learn.

``shipyard.autolog()`` wraps ``fit`` of every scikit-learn estimator. A top-level ``fit``
(not one that a meta-estimator such as a Pipeline or GridSearchCV makes internally) records
the estimator's params, fit time, training score and, when ``validation_data`` is given, the
validation score, plus the fitted model in the registry's safe format (no pickle), with a
signature inferred from the training data and pinned requirements, ready for
``shipyard.register_model("runs:/<run_id>/model", name)``. It
logs into the active run, or into a run of its own when none is active; a second estimator
fitted inside the same run (or one whose params clash with params the run already has) gets a
nested run so params never collide.

Autologging never breaks training: when recording fails (store unreachable, a score that
cannot be computed, a deleted experiment), the fit still completes and the problem is reported
as a warning. An exception raised by ``fit`` itself marks the run autolog started FAILED and
propagates unchanged.
"""

from __future__ import annotations

import functools
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from shipyard._validation import check_key
from shipyard.entities import RunStatus
from shipyard.errors import InvalidArgument
from shipyard.registry._api import log_model
from shipyard.registry._signature import infer_signature
from shipyard.tracking import ActiveRun, active_run, start_run

_ORIGINAL = "__shipyard_original__"
_TAG = "shipyard.autolog.estimator"
_state = threading.local()
_config: dict[str, Any] = {}
_patched: list[tuple[type, Any]] = []


def autolog(
    *,
    validation_data: tuple[Any, Any] | None = None,
    log_models: bool = True,
    experiment: str | None = None,
    disable: bool = False,
) -> None:
    """Turn scikit-learn autologging on (or off with ``disable=True``).

    ``validation_data`` is an ``(X, y)`` pair scored after every fit as ``validation_score``;
    ``experiment`` names where runs go when no run is active.
    """
    if disable:
        _unpatch()
        return
    if validation_data is not None and (
        not isinstance(validation_data, tuple) or len(validation_data) != 2
    ):
        raise InvalidArgument("validation_data must be a tuple (X, y)", field="validation_data")
    _config.update(validation_data=validation_data, log_models=log_models, experiment=experiment)
    if not _patched:
        _patch()


def _patch() -> None:
    from sklearn.utils import all_estimators

    for _name, cls in all_estimators():
        fit = getattr(cls, "fit", None)
        if fit is None:
            continue
        original = getattr(fit, _ORIGINAL, fit)
        _patched.append((cls, cls.__dict__.get("fit")))
        cls.fit = _wrap(original)


def _unpatch() -> None:
    while _patched:
        cls, own = _patched.pop()
        if own is None:
            if "fit" in cls.__dict__:
                delattr(cls, "fit")
        else:
            cls.fit = own  # type: ignore[attr-defined]


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "depth", 0) > 0:
            return original(self, *args, **kwargs)
        _state.depth = 1
        try:
            return _logged_fit(original, self, args, kwargs)
        finally:
            _state.depth = 0

    setattr(fit, _ORIGINAL, original)
    return fit


def _target_run(estimator: Any, params: dict[str, str]) -> tuple[ActiveRun, bool]:
    """The run to log into, and whether autolog started it (so must end it)."""
    current = active_run()
    name = type(estimator).__name__
    if current is None:
        return start_run(experiment=_config.get("experiment"), name=name), True
    info = current.info
    clash = any(info.params.get(k, value) != value for k, value in params.items())
    if _TAG in info.tags or clash:
        return start_run(name=name, nested=True), True
    return current, False


def _warn(estimator: Any, what: str, exc: BaseException, stacklevel: int = 4) -> None:
    """Report a tracking failure at the user's ``fit`` call (``stacklevel`` frames up)."""
    warnings.warn(
        f"shipyard autolog could not {what} for {type(estimator).__name__}.fit: {exc}",
        stacklevel=stacklevel,
    )


def _logged_fit(
    original: Callable[..., Any], estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        params = _params(estimator)
        run, owned = _target_run(estimator, params)
    except Exception as exc:  # never let tracking stop training
        _warn(estimator, "start a run", exc)
        return original(estimator, *args, **kwargs)
    try:
        started = time.perf_counter()
        result = original(estimator, *args, **kwargs)
        fit_time = time.perf_counter() - started
    except BaseException as exc:
        if owned:
            try:
                run.end(
                    RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
                )
            except Exception as end_exc:  # the fit's own error is the one to raise
                _warn(estimator, "end the run", end_exc)
        raise
    try:
        _record(run, estimator, params, args, kwargs, fit_time)
    except Exception as exc:
        _warn(estimator, "record the fit", exc)
    if owned:
        try:
            run.end()
        except Exception as exc:
            _warn(estimator, "end the run", exc)
    return result


def _params(estimator: Any) -> dict[str, str]:
    """The estimator's params as text, leaving out keys a param cannot have (a Pipeline step
    named ``scale/std`` or ``log(x)`` would otherwise reject the whole batch)."""
    params = {k: _param_text(v) for k, v in estimator.get_params(deep=True).items()}
    return {k: v for k, v in params.items() if _valid_key(k)}


def _valid_key(key: str) -> bool:
    try:
        check_key(key, "param key")
    except InvalidArgument:
        return False
    return True


def _score(estimator: Any, X: Any, y: Any, name: str) -> float | None:
    try:
        return float(estimator.score(X, y))
    except Exception as exc:
        _warn(estimator, f"compute {name}", exc, stacklevel=6)
        return None


def _record(
    run: ActiveRun,
    estimator: Any,
    params: dict[str, str],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    fit_time: float,
) -> None:
    cls = type(estimator)
    run.set_tags({_TAG: f"{cls.__module__}.{cls.__qualname__}"})
    run.log_params(params)
    scores: dict[str, float | None] = {}
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if y is not None and hasattr(estimator, "score"):
        scores["training_score"] = _score(estimator, X, y, "training_score")
    validation = _config.get("validation_data")
    if validation is not None and hasattr(estimator, "score"):
        X_val, y_val = validation
        scores["validation_score"] = _score(estimator, X_val, y_val, "validation_score")
    metrics = {"fit_time_s": fit_time, **{k: v for k, v in scores.items() if v is not None}}
    run.log_metrics(metrics)
    if _config.get("log_models", True):
        log_model(estimator, "model", signature=_signature(estimator, X), run_id=run.id)


def _signature(estimator: Any, X: Any) -> Any:
    """The signature of a fit's training data (and the model's output on a few rows), or None
    when it cannot be inferred (sparse input, objects...)."""
    try:
        head = X.iloc[:5] if hasattr(X, "iloc") else X[:5]
        predict = getattr(estimator, "predict", None)
        return infer_signature(X, predict(head) if callable(predict) else None)
    except Exception:
        return None


def _param_text(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 500 else text[:497] + "..."
