"""Drift options: how a window is scored against a reference (:class:`DriftOptions`, taken by
:func:`~shipyard.monitoring.drift` and by every monitor run), and a monitor's drift options,
checked when the monitor is created so that a typo is a clear error then, not a failed run
every fifteen minutes later.

``tests`` picks the tests per column (``{"age": ["psi", "wasserstein"], "plan": ["chi2"]}``),
``thresholds`` a test's threshold for every column (``{"psi": 0.25}``) or, in a monitor, for
one column (``{"age.psi": 0.3}``, which wins over ``psi``), ``alpha`` the p-value tests'
level, ``columns`` the columns to watch, ``importances`` the weights of the share of drifted
columns and, in a monitor, ``target`` the training data's label column (for target drift).
A monitor's test names are checked against the tests that exist, its columns against the
reference (or, before it is fitted, the model's signature and its training data's columns,
when those are known).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from shipyard.errors import InvalidArgument
from shipyard.monitoring import _stat_tests as t
from shipyard.monitoring._profile import DEFAULT_SAMPLE

DEFAULT_CHUNK_ROWS = 100_000
#: The scalar fields of :class:`DriftOptions` a monitor keeps besides alpha.
_SCALARS = ("share_threshold", "chunk_rows", "sample_size", "seed")
THRESHOLDS = tuple(t.DEFAULT_THRESHOLDS)


@dataclass(frozen=True)
class DriftOptions:
    """How a current window is scored against a reference profile.

    Attributes:
        columns: The columns to score (default: every column of the reference).
        tests: The tests of a column, overriding its type's (``{"age": ["psi"]}``).
        thresholds: A test's threshold for every column (``{"psi": 0.25}``); the effect
            sizes ``wasserstein``, ``jensen_shannon``, ``psi``, ``missing_share`` and
            ``new_categories`` have one, the p-value tests use ``alpha``.
        alpha: The level of the p-value tests (``ks``, ``chi2``, ``missing_share``).
        importances: Weights of the columns in the share of drifted columns (a column not
            named weighs 0); default: every column weighs 1.
        share_threshold: The dataset is drifted when the share of drifted columns reaches it.
        chunk_rows: Rows per chunk when the window is a DataFrame or a Parquet file.
        sample_size: The size of the current window's reservoir (and, when the reference is
            fitted from data, of the reference's sample).
        seed: The seed of the reservoir's random draw.
    """

    columns: Sequence[str] | None = None
    tests: Mapping[str, Sequence[str]] | None = None
    thresholds: Mapping[str, float] | None = None
    alpha: float = 0.05
    importances: Mapping[str, float] | None = None
    share_threshold: float = 0.5
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    sample_size: int = DEFAULT_SAMPLE
    seed: int = 0

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        if self.chunk_rows < 1:
            raise InvalidArgument(
                f"chunk_rows must be at least 1, got {self.chunk_rows}", field="chunk_rows"
            )

    @classmethod
    def merged(cls, options: DriftOptions | None, keywords: Mapping[str, Any]) -> DriftOptions:
        """``options`` (or the defaults) with the fields named in ``keywords`` replaced: how
        the keyword form of ``drift(..., alpha=0.01)`` becomes an options object. An unknown
        keyword is a TypeError naming it, as for any function."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(keywords) - set(names))
        if unknown:
            raise TypeError(
                f"unknown drift option(s) {', '.join(unknown)}; DriftOptions has {', '.join(names)}"
            )
        return replace(options or cls(), **keywords)


def check_alpha(alpha: float) -> None:
    """InvalidArgument unless ``0 < alpha < 1``."""
    if not 0 < alpha < 1:
        raise InvalidArgument(f"alpha must be between 0 and 1, got {alpha}", field="alpha")


def _check_tests(tests: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    clean: dict[str, list[str]] = {}
    for column, picked in tests.items():
        names = [picked] if isinstance(picked, str) else list(picked)
        if not names:
            raise InvalidArgument(
                f"no drift test given for column {column!r}; choose from {', '.join(t.TESTS)}",
                field="tests",
            )
        t.check_tests(str(column), names)
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


def monitor_options(
    drift: DriftOptions, *, target: str | None, known: Sequence[str] | None
) -> dict[str, Any]:
    """A monitor's drift options (those of ``drift`` a monitor keeps, and ``target``),
    checked, as stored in the monitor (``known``: the columns that exist, or None when they
    cannot be known yet)."""
    options: dict[str, Any] = {"alpha": float(drift.alpha)}
    picked = _check_tests(drift.tests or {})
    limits = _check_thresholds(drift.thresholds or {})
    weights = _check_importances(drift.importances or {})
    watched = list(dict.fromkeys(drift.columns)) if drift.columns else None
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
    defaults = DriftOptions()
    for key in _SCALARS:  # kept only when changed, so older monitors read the same
        if getattr(drift, key) != getattr(defaults, key):
            options[key] = getattr(drift, key)
    return options


def stored_drift_options(
    stored: Mapping[str, Any], columns: Sequence[str]
) -> tuple[DriftOptions, dict[str, dict[str, float]]]:
    """A monitor run's options from the monitor's stored ones, scoring ``columns``, and the
    per-column thresholds (``age.psi``), applied to the report afterwards."""
    common, per_column = _split_thresholds(stored.get("thresholds"))
    options = DriftOptions(
        columns=list(columns),
        tests=stored.get("tests"),
        thresholds=common,
        alpha=float(stored.get("alpha", 0.05)),
        importances=stored.get("importances"),
        **{key: stored[key] for key in _SCALARS if key in stored},
    )
    return options, per_column


def _split_thresholds(
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
