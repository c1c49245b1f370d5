"""The feature materialization metrics of ``/metrics``, read from the store at scrape time.

``shipyard_feature_view_materialized_timestamp_seconds{project, feature_view}`` is when each
feature view's latest materialization was recorded (after its values were written); a view
never materialized has no series. ``shipyard_feature_view_materialized_scrape_ok`` is 1 when
the last read of those times succeeded and 0 when the store failed it.

The times are read with one grouped query, at most once per ``ttl`` seconds however often
Prometheus (or several of them) scrape: concurrent scrapes wait for the one read in flight
and share its answer. A failed read is cached for the same time, so a database that is down
is not asked again on every scrape; it is logged, the other metrics of the scrape are
unaffected, and the last times read successfully stay exported (no materialization can be
recorded while the store is down, so they are still the latest known).

Each scrape sees only the views of the projects its caller may read (every project without
authentication), like any listing of the API.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from shipyard.entities import FeatureViewFreshness

log = logging.getLogger("shipyard.server")

MATERIALIZED = "shipyard_feature_view_materialized_timestamp_seconds"
SCRAPE_OK = "shipyard_feature_view_materialized_scrape_ok"
#: Seconds a read of the materialization times serves scrapes before the next read.
FRESHNESS_TTL_S = 10.0

ReadFreshness = Callable[[], Sequence[FeatureViewFreshness]]


class MaterializationTimes:
    """Each feature view's last materialization time, read through ``read`` (one query for
    every project) at most once per ``ttl`` seconds of ``clock``."""

    def __init__(
        self,
        read: ReadFreshness,
        ttl: float = FRESHNESS_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._views: tuple[FeatureViewFreshness, ...] = ()
        self._ok = False

    def current(self) -> tuple[tuple[FeatureViewFreshness, ...], bool]:
        """The views' times and whether the last read succeeded (reading again once the
        previous read is ``ttl`` old)."""
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._ttl:
                self._read_at = now
                try:
                    self._views = tuple(self._read())
                    self._ok = True
                except Exception:
                    log.exception("reading feature materialization times for /metrics failed")
                    self._ok = False
            return self._views, self._ok

    def registry(self, projects: Sequence[str] | None = None) -> CollectorRegistry:
        """A registry exporting the times of the views of ``projects`` (None: every
        project), for one scrape."""
        views, ok = self.current()
        if projects is not None:
            readable = set(projects)
            views = tuple(v for v in views if v.project in readable)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Snapshot(views, ok))
        return registry


class _Snapshot(Collector):
    """The two families of one scrape."""

    def __init__(self, views: Sequence[FeatureViewFreshness], ok: bool) -> None:
        self.views = views
        self.ok = ok

    def collect(self) -> Iterator[Metric]:
        materialized = GaugeMetricFamily(
            MATERIALIZED,
            "When each feature view's latest materialization was recorded (Unix seconds).",
            labels=["project", "feature_view"],
        )
        for view in self.views:
            materialized.add_metric([view.project, view.view], view.materialized_at / 1000)
        yield materialized
        yield GaugeMetricFamily(
            SCRAPE_OK,
            "1 when the last read of feature materialization times succeeded, 0 when the "
            "store failed it.",
            value=1.0 if self.ok else 0.0,
        )
