"""Child side of ``bench/registry.py``: one tool, one fresh process, one fresh home.

Usage: ``python _registry_child.py TOOL JSON_ARGS`` with TOOL ``mlflow`` or ``shipyard``. The
JSON holds ``home``, ``repeat`` (timed repetitions after one warm-up), ``loads`` and, for
MLflow, ``requirements``: ``null`` for MLflow's default (it infers pip requirements by loading
the model in a subprocess), or ``"explicit"`` to pass the installed versions of what the
model needs as ``pip_requirements``, as a user who writes them down would.

Both tools get the same model: a 100-tree random forest on scikit-learn's bundled
breast-cancer data (nothing is downloaded). Measured:

- ``log_register``: inside a run, log the model and register it as the next version of
  ``bench-rf`` (MLflow: ``mlflow.sklearn.log_model(..., registered_model_name=...)``;
  Shipyard: ``shipyard.register_model(model, ...)``, which logs it to the run too).
- ``load_alias``: point ``@champion`` at the last version, then load by alias
  (``mlflow.sklearn.load_model("models:/bench-rf@champion")``; Shipyard:
  ``shipyard.models.load("bench-rf@champion")``, every sha256 checked on each load). The first
  load is reported separately (Shipyard fetches into its cache then).

With ``url`` each side talks to its server instead (``mlflow server`` / ``shipyard server``,
started by ``bench/registry.py --remote``): registering and loading then go through HTTP,
artifacts included (Shipyard's verified on both ends). Load timings cover loading only; the
loaded model's predictions are then checked against the original's. Each side creates its
database before the timed calls (MLflow in ``set_experiment``, Shipyard by creating the
experiment). The network guard of ``_tracking_child`` refuses (and counts) any connection off
this machine.
"""

from __future__ import annotations

import atexit
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _tracking_child import RESULT_MARKER, NetworkGuard

MODEL_NAME = "bench-rf"
#: MLflow 3.17 saves scikit-learn models with skops by default and refuses a forest unless its
#: tree type is trusted explicitly (stored node indices are not bounds-checked by predict);
#: Shipyard's format validates those indices on load instead.
SKOPS_TRUSTED = ["sklearn.tree._tree.Tree"]


def _train() -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(X, y)
    return model, X


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float]]:
    """One untimed warm-up call, then ``repeat`` timed calls: (warm-up seconds, timings)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    timings = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - t0)
    return first, timings


def _summary(first: float, timings: list[float]) -> dict[str, Any]:
    return {"first_seconds": first, "median_seconds": statistics.median(timings), "all": timings}


def _measure(
    log_register: Callable[[], Any],
    set_champion: Callable[[], Any],
    load: Callable[[], Any],
    check: Callable[[Any], bool],
    repeat: int,
    loads: int,
) -> dict[str, Any]:
    """Time log+register, point @champion at the last version, time loads, check the model."""
    first, timings = _timed(log_register, repeat)
    set_champion()
    load_first, load_timings = _timed(load, loads)
    assert check(load()), "the loaded model predicts differently"
    return {
        "log_register": _summary(first, timings),
        "load_alias": _summary(load_first, load_timings),
    }


def _explicit_requirements() -> list[str]:
    from importlib.metadata import version

    names = ("mlflow", "scikit-learn", "numpy", "scipy", "cloudpickle", "pandas")
    return [f"{name}=={version(name)}" for name in names]


def run_mlflow(
    home: Path, repeat: int, loads: int, requirements: str | None, url: str | None = None
) -> dict[str, Any]:
    import mlflow
    import mlflow.sklearn

    home.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(url or f"sqlite:///{home / 'mlflow.db'}")
    # A SQLite tracking URI keeps artifacts in ./mlruns by default: keep them in the temp home.
    # Through ``mlflow server``, artifacts go where the server puts them (it proxies them).
    if mlflow.get_experiment_by_name("bench") is None:
        location = None if url else (home / "artifacts").as_uri()
        mlflow.create_experiment("bench", artifact_location=location)
    mlflow.set_experiment("bench")
    model, X = _train()
    expected = model.predict(X)
    client = mlflow.MlflowClient()
    versions: list[str] = []
    pins = _explicit_requirements() if requirements == "explicit" else None

    def log_register() -> None:
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=MODEL_NAME,
                pip_requirements=pins,
                skops_trusted_types=SKOPS_TRUSTED,
            )
        versions.append(str(info.registered_model_version))

    timings = _measure(
        log_register,
        lambda: client.set_registered_model_alias(MODEL_NAME, "champion", versions[-1]),
        lambda: mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@champion"),
        lambda loaded: bool((loaded.predict(X) == expected).all()),
        repeat,
        loads,
    )
    reqs = mlflow.pyfunc.get_model_dependencies(f"models:/{MODEL_NAME}/{versions[-1]}")
    return {
        "version": mlflow.__version__,
        **timings,
        "versions": len(versions),
        "requirements": Path(reqs).read_text().splitlines(),
    }


def run_shipyard(
    home: Path, repeat: int, loads: int, requirements: Any = None, url: str | None = None
) -> dict[str, Any]:
    import shipyard

    shipyard.configure(home=str(home), tracking_uri=url or "")
    shipyard.tracking.get_client().store.get_or_create_experiment("bench")  # creates the DB
    model, X = _train()
    expected = model.predict(X)
    versions: list[int] = []

    def log_register() -> None:
        with shipyard.start_run(experiment="bench"):
            versions.append(shipyard.register_model(model, MODEL_NAME).version)

    timings = _measure(
        log_register,
        lambda: shipyard.set_alias(MODEL_NAME, "champion", versions[-1]),
        lambda: shipyard.models.load(f"{MODEL_NAME}@champion"),
        lambda loaded: bool((loaded.predict(X) == expected).all()),
        repeat,
        loads,
    )
    return {
        "version": shipyard.__version__,
        **timings,
        "versions": len(versions),
        "requirements": shipyard.models.requirements(f"{MODEL_NAME}/{versions[-1]}"),
    }


def main(argv: list[str]) -> None:
    tool, raw = argv
    kwargs: dict[str, Any] = json.loads(raw)
    guard = NetworkGuard()
    guard.install()
    outcome: dict[str, Any] = {"tool": tool}
    atexit.register(
        lambda: print(RESULT_MARKER + json.dumps({**outcome, "network": guard.report()}))
    )
    runner = run_mlflow if tool == "mlflow" else run_shipyard
    outcome["result"] = runner(
        Path(kwargs["home"]),
        kwargs["repeat"],
        kwargs["loads"],
        kwargs.get("requirements"),
        kwargs.get("url"),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
