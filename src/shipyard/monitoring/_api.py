"""The monitoring SDK entry points for references and drift."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from shipyard.client import Store
from shipyard.config import Settings
from shipyard.entities import DatasetVersion
from shipyard.monitoring._drift import DEFAULT_CHUNK_ROWS, DriftReport, score
from shipyard.monitoring._log import checked_log_labels, read_log
from shipyard.monitoring._performance import PerformanceReport, compute
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
    with :func:`load_reference`, and scoring never re-reads the reference data."""
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
    *,
    columns: Sequence[str] | None = None,
    tests: Mapping[str, Sequence[str]] | None = None,
    thresholds: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    importances: Mapping[str, float] | None = None,
    share_threshold: float = 0.5,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    sample_size: int = DEFAULT_SAMPLE,
    seed: int = 0,
) -> DriftReport:
    """Test ``current`` (a DataFrame, a Parquet path, or an iterable of DataFrame chunks)
    against a reference profile (or data to fit one from, not saved). See
    :mod:`shipyard.monitoring._drift` for the verdict rule."""
    profile = (
        reference
        if isinstance(reference, ReferenceProfile)
        else fit_reference(reference, columns=columns, sample_size=sample_size, save=False)
    )
    return score(
        profile,
        current,
        columns=columns,
        tests=tests,
        thresholds=thresholds,
        alpha=alpha,
        importances=importances,
        share_threshold=share_threshold,
        chunk_rows=chunk_rows,
        sample_size=sample_size,
        seed=seed,
    )


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
    """Metrics of ``model``'s logged predictions per ``window`` and version, joined with
    the labels logged so far (``since``/``until``: epoch ms bounds on prediction time), and
    CBPE estimates where the output is a probability. See
    :mod:`shipyard.monitoring._performance`."""
    from shipyard.tracking import get_client

    settings = settings or get_client().settings
    wanted = ["prediction_id", "row", "ts", "version", "output"]
    predictions = read_log(
        settings,
        "predictions",
        model=model,
        start=since,
        end=until,
        columns=wanted,
        log_uri=log_uri,
    )
    labels = read_log(
        settings, "labels", columns=["prediction_id", "row", "label"], log_uri=log_uri
    )
    return compute(predictions, labels, window=window, task=task, threshold=threshold)


def log_labels(
    ids: Sequence[str],
    labels: Sequence[Any],
    *,
    rows: Sequence[int] | None = None,
    model: str | None = None,
    check: bool = False,
    settings: Settings | None = None,
    log_uri: str | None = None,
) -> int:
    """Record ground truth for earlier predictions: ``labels[i]`` is the true value of the
    prediction ``ids[i]`` (row ``rows[i]`` of that request, 0 by default). With
    ``check=True``, ids (and rows) not in the prediction log (of ``model``, or any model) are
    refused with NotFound and nothing is written; it is off by default because the server
    writes its log asynchronously (labels may come before the log is flushed). Labels that
    match no prediction are counted as ``unmatched_labels`` by :func:`performance` and monitor
    runs. Returns the number of labels written."""
    if check:
        return checked_log_labels(
            ids, labels, rows=rows, model=model, settings=settings, log_uri=log_uri
        )
    from shipyard.serving import log_labels as unchecked

    return unchecked(ids, labels, rows=rows, settings=settings, log_uri=log_uri)
