"""Measured tasks of bench/monitoring.py, one per fresh process (Shipyard's venv or
Evidently's).

Usage: ``python _monitoring_child.py TASK JSON_ARGS``; prints one result line (see
_competitors.emit_line). Peak memory is this process's max RSS (``ru_maxrss``), the same
method for every tool; the imports happen before the clock starts, the Parquet reads after.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import emit_line
from _monitoring_data import CATEGORICAL, NUMERIC

ALPHA = 0.05
# Evidently's stat tests named by their registry key (when forced) that give p-values
_EVIDENTLY_PVALUE_METHODS = {"ks", "chisquare", "z", "fisher_exact", "g_test", "mannw", "t_test"}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- shipyard


def shipyard_drift(a: dict[str, Any]) -> dict[str, Any]:
    """Fit the reference profile from the reference file, then score the current file.
    With ``profile_out`` the fitted profile is written there (for :func:`shipyard_score`)."""
    from shipyard.monitoring import drift, fit_reference

    started = time.perf_counter()
    profile = fit_reference(Path(a["reference"]), save=False)
    fitted = time.perf_counter()
    report = drift(profile, Path(a["current"]))
    ended = time.perf_counter()
    if a.get("profile_out"):
        Path(a["profile_out"]).write_text(json.dumps(profile.to_dict()))
    return {
        "seconds": ended - started,
        "fit_seconds": fitted - started,
        "score_seconds": ended - fitted,
        "peak_mb": _peak_mb(),
        "flagged": report.drifted_columns,
    }


def shipyard_score(a: dict[str, Any]) -> dict[str, Any]:
    """Score the current file against a stored profile (the run of a monitor)."""
    from shipyard.monitoring import ReferenceProfile, drift

    profile = ReferenceProfile.from_dict(json.loads(Path(a["profile"]).read_text()))
    started = time.perf_counter()
    report = drift(profile, Path(a["current"]))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": _peak_mb(), "flagged": report.drifted_columns}


def shipyard_fpr(a: dict[str, Any]) -> dict[str, Any]:
    """Per (reference, current) pair of unshifted files: which columns each p-value test
    and the final verdict flag."""
    from shipyard.monitoring import drift, fit_reference

    runs = []
    for reference, current in a["pairs"]:
        report = drift(fit_reference(Path(reference), save=False), Path(current), alpha=ALPHA)
        tests: dict[str, list[str]] = {"ks": [], "chi2": []}
        for column in report.columns:
            for name in tests:
                result = column.test(name)
                if result is not None and result.p_value is not None and result.p_value < ALPHA:
                    tests[name].append(column.column)
        runs.append({"flagged": report.drifted_columns, **tests})
    return {"runs": runs}


# ----------------------------------------------------------------------------- evidently


def _evidently_flags(reference: Any, current: Any, **preset: Any) -> dict[str, Any]:
    """Run ``DataDriftPreset(**preset)``; the columns it flags and, per column, the
    method and value."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    snapshot = Report([DataDriftPreset(**preset)]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    flagged, methods = [], {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        method, value, threshold = config["method"], metric["value"], config["threshold"]
        # p-value tests flag below their threshold, distances at or above it
        pvalue = "p_value" in method or method in _EVIDENTLY_PVALUE_METHODS
        drifted = value < threshold if pvalue else value >= threshold
        methods[config["column"]] = method
        if drifted:
            flagged.append(config["column"])
    order = {c: i for i, c in enumerate(NUMERIC + CATEGORICAL)}
    return {"flagged": sorted(flagged, key=order.__getitem__), "methods": methods}


def evidently_drift(a: dict[str, Any]) -> dict[str, Any]:
    """Read both files and run the default ``DataDriftPreset``."""
    import evidently  # noqa: F401 - imported before the clock, as Shipyard is
    import pandas as pd

    started = time.perf_counter()
    reference, current = pd.read_parquet(a["reference"]), pd.read_parquet(a["current"])
    found = _evidently_flags(reference, current)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": _peak_mb(), **found}


def evidently_fpr(a: dict[str, Any]) -> dict[str, Any]:
    """Per pair: the default preset's verdict, and the columns its KS and chi-square
    tests flag when forced (``num_method="ks"``, ``cat_method="chisquare"``)."""
    import pandas as pd

    runs = []
    for reference_path, current_path in a["pairs"]:
        reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
        default = _evidently_flags(reference, current)
        forced = _evidently_flags(reference, current, num_method="ks", cat_method="chisquare")
        flagged = forced["flagged"]
        runs.append(
            {
                "flagged": default["flagged"],
                "methods": sorted(set(default["methods"].values())),
                "ks": [c for c in flagged if c in NUMERIC],
                "chi2": [c for c in flagged if c in CATEGORICAL],
            }
        )
    return {"runs": runs}


TASKS = {
    "shipyard_drift": shipyard_drift,
    "shipyard_score": shipyard_score,
    "shipyard_fpr": shipyard_fpr,
    "evidently_drift": evidently_drift,
    "evidently_fpr": evidently_fpr,
}

if __name__ == "__main__":
    task, args = sys.argv[1], json.loads(sys.argv[2])
    if task.startswith("shipyard"):  # imported before the clock, as Evidently's libraries are
        import pyarrow.parquet  # noqa: F401
        import scipy.stats  # noqa: F401

        import shipyard.monitoring  # noqa: F401
    print(emit_line(TASKS[task](args)))
