"""The monitoring SDK entry points for references, drift and performance."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from shipyard.client import Store
from shipyard.config import Settings
from shipyard.entities import DatasetVersion
from shipyard.monitoring._drift import DriftReport, score
from shipyard.monitoring._options import DriftOptions
from shipyard.monitoring._performance import PerformanceReport, compute, logged_window
from shipyard.monitoring._profile import (
    DEFAULT_BINS,
    DEFAULT_SAMPLE,
    ReferenceProfile,
    fit_profile,
    load_profile,
    save_profile,
)


def _store(store: Store | None) -> Store:
    from shipyard.tracking import get_client

    return store or get_client().store


def fit_reference(
    data: pd.DataFrame | Path | str | DatasetVersion,
    *,
    columns: Sequence[str] | None = None,
    categorical: Iterable[str] = (),
    bins: int = DEFAULT_BINS,
    sample_size: int = DEFAULT_SAMPLE,
    save: bool = True,
    store: Store | None = None,
) -> ReferenceProfile:
    """Fit a reference profile from a DataFrame, a Parquet file (a :class:`~pathlib.Path`,
    read column by column) or a dataset version (``"churn@3"``) once,
    and (``save=True``) store it as a small JSON blob: ``profile.digest`` finds it again
    with :func:`load_reference`, and scoring never re-reads the reference data.

    Args:
        data: A DataFrame, a Parquet file's path (read column by column) or a dataset version
            (``"churn@3"``).
        columns: The columns to profile (default: every column).
        categorical: Columns treated as categories even when they hold numbers.
        bins: The number of quantile bins of a numeric column.
        sample_size: The most values kept per numeric column for the KS test and the Wasserstein
            distance.
        save: Store the profile as a blob (found again by ``profile.digest``).
        store: The store to read the dataset from and save to (default: the client's).
    """
    source = ""
    frame: pd.DataFrame | Path
    if isinstance(data, pd.DataFrame | Path):
        frame = data
    else:
        from shipyard import data as datasets

        target = _store(store)
        version = data if isinstance(data, DatasetVersion) else datasets.get(data)
        source = version.ref
        wanted = None if columns is None else list(columns)
        frame = datasets.load(version, columns=wanted, store=target)
    profile = fit_profile(
        frame,
        columns=columns,
        categorical=categorical,
        bins=bins,
        sample_size=sample_size,
        source=source,
    )
    return save_profile(profile, _store(store)) if save else profile


def load_reference(digest: str, *, store: Store | None = None) -> ReferenceProfile:
    """A stored reference profile by its digest."""
    return load_profile(digest, _store(store))


def drift(
    reference: ReferenceProfile | pd.DataFrame | str,
    current: Any,
    options: DriftOptions | None = None,
    **keywords: Any,
) -> DriftReport:
    """Test ``current`` against a reference profile, column by column, and give a verdict
    per column and for the dataset (the rule is in :mod:`shipyard.monitoring._drift`).

    Args:
        reference: A reference profile (:func:`fit_reference`), or data to fit one from
            (a DataFrame or a dataset version like ``"churn@3"``; not saved).
        current: The window to test: a DataFrame, a Parquet file's path (read one row group
            at a time) or an iterable of DataFrame chunks.
        options: How to score: the columns, tests, thresholds, alpha, importances...
            (:class:`DriftOptions`; default: every column, its type's tests, alpha 0.05).
        **keywords: Fields of :class:`DriftOptions` given one by one
            (``drift(ref, cur, alpha=0.01)``), replacing those of ``options``; kept for
            existing calls, ``options`` is the way to pass them.
    """
    chosen = DriftOptions.merged(options, keywords)
    profile = (
        reference
        if isinstance(reference, ReferenceProfile)
        else fit_reference(
            reference, columns=chosen.columns, sample_size=chosen.sample_size, save=False
        )
    )
    return score(profile, current, chosen)


def performance(
    model: str,
    *,
    window: str | int = "1h",
    since: int | None = None,
    until: int | None = None,
    task: str = "auto",
    threshold: float = 0.5,
    settings: Settings | None = None,
    log_uri: str | None = None,
) -> PerformanceReport:
    """Metrics of ``model``'s logged predictions per time window and version, joined with
    the labels logged so far, and CBPE estimates where the output is a probability (see
    :mod:`shipyard.monitoring._performance`).

    Args:
        model: The registered model whose prediction log to read.
        window: The length of each time window (``"15m"``, ``"1h"``, ``"1d"``, or ms).
        since: Only predictions made at or after this time (epoch ms).
        until: Only predictions made before this time (epoch ms).
        task: ``classification``, ``regression`` or ``auto`` (from the outputs).
        threshold: The score at or above which a prediction counts as the positive class.
        settings: Whose prediction log (default: the current client's settings).
        log_uri: The log's location when it is not ``<artifacts_uri>/prediction-log``.
    """
    predictions, labels = logged_window(model, since, until, settings, log_uri)
    return compute(predictions, labels, window=window, task=task, threshold=threshold)
