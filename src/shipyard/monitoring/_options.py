"""A monitor's drift options, checked when the monitor is created so that a typo is a clear
error then, not a failed run every fifteen minutes later.

``tests`` picks the tests per column (``{"age": ["psi", "wasserstein"], "plan": ["chi2"]}``),
``thresholds`` a test's threshold for every column (``{"psi": 0.25}``) or for one column
(``{"age.psi": 0.3}``, which wins over ``psi``), ``alpha`` the p-value tests' level,
``columns`` the columns to watch, ``importances`` the weights of the share of drifted columns
and ``target`` the training data's label column (for target drift). Test names are checked
against the tests that exist, columns against the reference (or, before it is fitted, the
model's signature and its training data's columns, when those are known).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from shipyard.errors import InvalidArgument
from shipyard.monitoring import _tests as t
from shipyard.monitoring._drift import DriftReport, _verdict

TESTS = tuple(dict.fromkeys((*t.NUMERIC_TESTS, *t.CATEGORICAL_TESTS)))
THRESHOLDS = tuple(t.DEFAULT_THRESHOLDS)


def _check_tests(tests: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    clean: dict[str, list[str]] = {}
    for column, picked in tests.items():
        names = [picked] if isinstance(picked, str) else list(picked)
        if not names:
            raise InvalidArgument(
                f"no drift test given for column {column!r}; choose from {', '.join(TESTS)}",
                field="tests",
            )
        bad = [n for n in names if n not in TESTS]
        if bad:
            raise InvalidArgument(
                f"unknown drift test {bad[0]!r} for column {column!r}; valid tests: "
                f"{', '.join(TESTS)}",
                field="tests",
            )
        clean[str(column)] = list(dict.fromkeys(names))
    return clean


def _check_thresholds(thresholds: Mapping[str, float]) -> dict[str, float]:
    clean: dict[str, float] = {}
    for name, value in thresholds.items():
        test = name.rsplit(".", 1)[-1]
        if test not in THRESHOLDS or name.startswith("."):
            raise InvalidArgument(
                f"no threshold named {test!r}; tests with a threshold: {', '.join(THRESHOLDS)} "
                "(p-value tests use alpha), as 'psi' for every column or 'age.psi' for one",
                field="thresholds",
            )
        number = float(value)
        if not math.isfinite(number) or number <= 0:
            raise InvalidArgument(
                f"threshold {name}={value!r} must be a positive number", field="thresholds"
            )
        clean[name] = number
    return clean


def _check_importances(importances: Mapping[str, float]) -> dict[str, float]:
    clean = {str(k): float(v) for k, v in importances.items()}
    if any(not math.isfinite(v) or v < 0 for v in clean.values()):
        raise InvalidArgument(
            "feature importances must be non-negative numbers", field="importances"
        )
    if clean and sum(clean.values()) <= 0:
        raise InvalidArgument(
            "feature importances must give some column a positive weight", field="importances"
        )
    return clean


def drift_options(
    *,
    alpha: float,
    columns: Sequence[str] | None,
    tests: Mapping[str, Sequence[str]] | None,
    thresholds: Mapping[str, float] | None,
    importances: Mapping[str, float] | None,
    target: str | None,
    known: Sequence[str] | None,
) -> dict[str, Any]:
    """The checked options as stored in the monitor (``known``: the columns that exist, or
    None when they cannot be known yet)."""
    if not 0 < alpha < 1:
        raise InvalidArgument(f"alpha must be between 0 and 1, got {alpha}", field="alpha")
    options: dict[str, Any] = {"alpha": float(alpha)}
    picked = _check_tests(tests or {})
    limits = _check_thresholds(thresholds or {})
    weights = _check_importances(importances or {})
    watched = list(dict.fromkeys(columns)) if columns else None
    if known is not None:
        unknown = [c for c in (watched or []) if c not in known]
        if unknown:
            raise InvalidArgument(
                f"column {unknown[0]!r} is not in the reference; known columns: {', '.join(known)}",
                field="columns",
            )
    scope = watched or (list(known) if known is not None else None)
    per_column = {k.rsplit(".", 1)[0]: k for k in limits if "." in k}
    for field_name, given in (
        ("tests", picked),
        ("importances", weights),
        ("thresholds", per_column),
    ):
        outside = [c for c in given if scope is not None and c not in scope]
        if outside:
            raise InvalidArgument(
                f"{field_name} name column {outside[0]!r}, which the monitor does not watch; "
                f"watched columns: {', '.join(scope or [])}",
                field=field_name,
            )
    for key, value in (
        ("columns", watched),
        ("tests", picked),
        ("thresholds", limits),
        ("importances", weights),
        ("target", target),
    ):
        if value:
            options[key] = value
    return options


def split_thresholds(
    thresholds: Mapping[str, float] | None,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Thresholds for every column (``psi``) and per column (``age.psi``)."""
    common: dict[str, float] = {}
    per_column: dict[str, dict[str, float]] = {}
    for key, value in (thresholds or {}).items():
        column, _, test = key.rpartition(".")
        if column:
            per_column.setdefault(column, {})[test] = float(value)
        else:
            common[key] = float(value)
    return common, per_column


def _held_to(result: t.TestResult, limit: float, alpha: float) -> t.TestResult:
    """``result`` judged against another threshold (the rules of :mod:`._tests`)."""
    if result.test == "missing_share":
        flag = result.p_value is not None and result.p_value < alpha
        verdict = flag and abs(result.statistic) >= limit
    elif result.test == "new_categories":
        verdict = result.statistic > limit
    else:
        verdict = result.statistic >= limit
    return replace(result, threshold=limit, verdict=verdict)


def with_column_thresholds(
    report: DriftReport,
    per_column: Mapping[str, Mapping[str, float]],
    importances: Mapping[str, float] | None,
) -> DriftReport:
    """The report with per-column thresholds applied: those columns' tests and verdicts
    judged again, and the (importance-weighted) share of drifted columns recomputed."""
    if not per_column:
        return report
    columns = []
    for column in report.columns:
        limits = per_column.get(column.column, {})
        if not limits:
            columns.append(column)
            continue
        tests = [
            _held_to(r, limits[r.test], report.alpha) if r.test in limits else r
            for r in column.tests
        ]
        columns.append(replace(column, tests=tests, drifted=_verdict(tests)))
    names = [c.column for c in columns]
    weights = {
        n: float((importances or {}).get(n, 1.0 if importances is None else 0.0)) for n in names
    }
    total = sum(weights.values()) or 1.0
    share = sum(weights[c.column] for c in columns if c.drifted) / total
    return replace(
        report, columns=columns, share_drifted=share, drifted=share >= report.share_threshold
    )
