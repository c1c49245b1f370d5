"""The tracking client: the Store plus buffered metric logging, run heartbeats, the reaping
of dead runs, and friendly argument forms."""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shipyard import _validation as v
from shipyard.client import Store, now_ms, open_store
from shipyard.config import Settings, load_settings
from shipyard.entities import ArtifactInfo, Experiment, MetricPoint, Run, RunPage, RunStatus
from shipyard.errors import InvalidArgument, ShipyardError
from shipyard.tracking._buffer import DROPPED_TAG, MetricBuffer
from shipyard.tracking._liveness import (
    END_REASON_TAG,
    HEARTBEAT_TAG,
    death_reason,
    last_seen,
    this_process,
)

_HEX_ID = re.compile(r"^[0-9a-f]{4,32}$")
MetricLike = MetricPoint | tuple[str, float, int, int] | tuple[str, float, int] | tuple[str, float]


class Client:
    """Low-level access to tracking: every call names its run or experiment explicitly.

    ``shipyard.start_run`` and the module-level ``log_*`` functions are built on a default
    Client; create your own to work against another home or server.
    """

    def __init__(self, settings: Settings | None = None, store: Store | None = None) -> None:
        self.settings = settings or load_settings()
        self.store: Store = store or open_store(self.settings)
        self._buffer: MetricBuffer | None = None
        self._valid_keys: set[str] = set()
        self._owned: dict[str, int] = {}  # run id -> the process keeping its heartbeat
        self._owned_lock = threading.Lock()
        self._last_beat = time.monotonic()

    # ------------------------------------------------------------------ metrics

    @property
    def buffer(self) -> MetricBuffer:
        """The metric buffer (created on first buffered log or owned run)."""
        if self._buffer is None:
            self._buffer = MetricBuffer(
                lambda run_id, points: self.store.log_batch(run_id, points),
                flush_interval=self.settings.flush_interval,
                batch_size=self.settings.batch_size,
                max_pending=self.settings.buffer_max_metrics,
                tick=self._heartbeat,
            )
        return self._buffer

    def _metric_key(self, key: Any) -> str:
        if key not in self._valid_keys:
            v.check_key(key, "metric key")
            if len(self._valid_keys) < 10_000:
                self._valid_keys.add(key)
        return str(key)

    def log_metric(
        self, run_id: str, key: str, value: float, step: int = 0, timestamp: int | None = None
    ) -> None:
        """Record one metric value (buffered unless ``sync_logging`` is set).

        Args:
            run_id: The run.
            key: The metric's name.
            value: A number (NaN and infinities are kept as such; booleans and text are
                refused).
            step: The step the value belongs to (a training epoch, say).
            timestamp: When, in milliseconds since the epoch; now when None.
        """
        key = self._metric_key(key)
        point = MetricPoint(
            key,
            v.check_metric_value(key, value),
            v.check_step(step, key),
            now_ms() if timestamp is None else v.check_timestamp(timestamp, key),
        )
        self._emit(run_id, [point])

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int = 0,
        timestamp: int | None = None,
    ) -> None:
        """Record several metrics at one step."""
        points = [
            MetricPoint(self._metric_key(k), v.check_metric_value(k, val), 0, 0)
            for k, val in metrics.items()
        ]
        keys = [p.key for p in points]
        step = v.check_step(step, keys)
        ts = now_ms() if timestamp is None else v.check_timestamp(timestamp, keys)
        self._emit(run_id, [dataclasses.replace(p, step=step, timestamp=ts) for p in points])

    def _emit(self, run_id: str, points: list[MetricPoint]) -> None:
        if self.settings.sync_logging:
            self.store.log_batch(run_id, points)
        else:
            self.buffer.add(run_id, points)

    def flush(self, run_id: str | None = None) -> None:
        """Write buffered metrics now (for one run or all)."""
        if self._buffer is not None:
            self._buffer.flush(run_id)

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[MetricLike] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Write metrics, params and tags in one transaction, synchronously.

        Metrics may be MetricPoints or tuples ``(key, value[, step[, timestamp_ms]])``.
        """
        now = now_ms()
        points = [_to_point(m, now) for m in metrics]
        self.flush(run_id)  # keep order with anything buffered earlier
        self.store.log_batch(
            run_id,
            points,
            {k: v.param_text(k, val) for k, val in (params or {}).items()},
            {k: v.tag_text(k, val) for k, val in (tags or {}).items()},
        )

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Record params (immutable once logged)."""
        self.store.log_batch(run_id, params={k: v.param_text(k, val) for k, val in params.items()})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set (or overwrite) tags."""
        self.store.log_batch(run_id, tags={k: v.tag_text(k, val) for k, val in tags.items()})

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every value logged for a metric, buffered ones included."""
        self.flush(run_id)
        return self.store.get_metric_history(run_id, key)

    # ------------------------------------------------------------------ runs & experiments

    def get_run(self, run_id: str) -> Run:
        """A run with its params, tags and latest metrics (buffered ones flushed first); a
        RUNNING run whose process is dead is marked KILLED first (see :meth:`reap_runs`)."""
        self.flush(run_id)
        run = self.store.get_run(run_id)
        return self._reap_dead([run]).get(run.id, run)

    def get_experiment(self, name_or_id: str) -> Experiment:
        """An experiment by name, or by id when no experiment has that name."""
        from shipyard.errors import NotFound

        try:
            return self.store.get_experiment_by_name(name_or_id)
        except NotFound:
            try:
                return self.store.get_experiment(name_or_id)
            except NotFound:
                pass
            raise

    def find_run(self, id_or_prefix: str, include_deleted: bool = False) -> Run:
        """A run by its full id or a unique prefix of it (at least 4 characters)."""
        from shipyard.errors import NotFound

        try:
            return self.get_run(id_or_prefix)
        except NotFound:
            if len(id_or_prefix) < 4 or not _HEX_ID.match(id_or_prefix):
                raise
        experiments = self.store.list_experiments(include_deleted=include_deleted)
        page = self.store.search_runs(
            [e.id for e in experiments],
            f"run_id like '{id_or_prefix}%'",
            limit=2,
            include_deleted=include_deleted,
        )
        if len(page.runs) == 1:
            return self._reap_dead(page.runs).get(page.runs[0].id, page.runs[0])
        raise NotFound(
            f"no run with id {id_or_prefix!r}"
            if not page.runs
            else f"run id prefix {id_or_prefix!r} matches several runs; give more characters",
            field="run_id",
        )

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Soft-delete runs and their nested runs (restorable)."""
        for run_id in run_ids:
            if self._buffer is not None:
                self._buffer.discard(run_id)
        self.store.delete_runs(run_ids)

    def search_runs(
        self,
        experiments: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        limit: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunPage:
        """One page of runs matching ``filter`` in the named experiments.

        Args:
            experiments: Experiment names to search; all when None.
            filter: The filter expression (``"metrics.auc > 0.9 and status = 'FINISHED'"``);
                every run when None.
            order_by: Sort keys such as ``"metrics.auc desc"``.
            limit: The most runs in the page.
            page_token: The token of the page to read, from the previous page.
            include_deleted: Include deleted runs.

        Returns:
            The runs and the next page's token (None on the last page). RUNNING runs whose
            process is dead are marked KILLED first (see :meth:`reap_runs`).
        """
        self.flush()
        ids = self._experiment_ids(experiments)
        orders = [order_by] if isinstance(order_by, str) else list(order_by or [])
        page = self.store.search_runs(ids, filter, orders, limit, page_token, include_deleted)
        if self._reap_dead(page.runs):  # statuses changed: the filter may now match others
            page = self.store.search_runs(ids, filter, orders, limit, page_token, include_deleted)
        return page

    def _experiment_ids(self, experiments: str | Sequence[str] | None) -> list[str]:
        if experiments is None:
            return [e.id for e in self.store.list_experiments()]
        names = [experiments] if isinstance(experiments, str) else list(experiments)
        return [self.get_experiment(name).id for name in names]

    # ------------------------------------------------------------------ liveness

    def own_run(self, run_id: str) -> None:
        """Keep a run's heartbeat fresh from this process (until :meth:`finish_run`)."""
        with self._owned_lock:
            self._owned[run_id] = os.getpid()
        self.buffer.start()

    def _heartbeat(self) -> None:
        """Refresh the heartbeat of this process's runs, at most every heartbeat_interval
        (called by the buffer's thread on each wake)."""
        if time.monotonic() - self._last_beat < self.settings.heartbeat_interval:
            return
        self._last_beat = time.monotonic()
        pid = os.getpid()  # a forked child does not keep its parent's runs alive
        with self._owned_lock:
            runs = [run_id for run_id, owner in self._owned.items() if owner == pid]
        beat = str(now_ms())
        for run_id in runs:
            try:
                self.store.log_batch(run_id, tags={HEARTBEAT_TAG: beat})
            except ShipyardError:  # down, or the run was deleted: tried again next time
                continue

    def finish_run(self, run_id: str, status: str, reason: str | None = None) -> None:
        """Write a run's buffered metrics, then its final status and end time.

        A run some of whose points could not be stored counts them in its
        ``shipyard.metrics.dropped`` tag; ``reason`` (why someone other than the code ended
        it, e.g. a signal) goes in ``shipyard.end_reason``. When the store fails to take the
        buffered points (a full disk, a database gone), a run that was to end FINISHED ends
        FAILED instead, with that reason, and the error is raised: a FINISHED run has every
        point it logged.
        """
        lost = 0
        try:
            self.flush(run_id)
        except Exception as exc:
            lost = self._buffer.discard_pending(run_id) if self._buffer is not None else 0
            if lost and status == RunStatus.FINISHED:
                status = RunStatus.FAILED
                reason = reason or f"{lost} buffered metric points could not be written: {exc}"
            raise
        finally:
            with self._owned_lock:
                self._owned.pop(run_id, None)
            tags = {END_REASON_TAG: reason} if reason else {}
            dropped = self._buffer.pop_dropped(run_id) if self._buffer is not None else 0
            if dropped:
                tags[DROPPED_TAG] = str(dropped)
            try:
                if tags:
                    self.store.log_batch(run_id, tags=tags)
            finally:
                self.store.update_run(run_id, status=status, end_time=now_ms())

    def reap_runs(
        self,
        experiments: str | Sequence[str] | None = None,
        *,
        timeout: float | None = None,
        dry_run: bool = False,
    ) -> list[Run]:
        """Mark KILLED every RUNNING run whose process is dead.

        A run started with ``start_run`` records its owner process and refreshes a heartbeat.
        Its process is dead when, on the same machine, it is gone (or its id was reused), or,
        seen from another machine, its heartbeat is older than ``timeout`` seconds. The run's
        end time becomes the last time it was seen alive, and ``shipyard.end_reason`` says why.
        FINISHED and FAILED runs, and runs without an owner, are never touched.

        Args:
            experiments: Experiment names to look in; all when None.
            timeout: Heartbeat timeout in seconds (default: the ``heartbeat_timeout``
                setting; 0 judges by the owner process only).
            dry_run: Only report the runs that would be marked.

        Returns:
            The dead runs found (as stored after marking, unless ``dry_run``).
        """
        if timeout is None:
            timeout = self.settings.heartbeat_timeout
        elif (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not (0 <= timeout < float("inf"))
        ):
            raise InvalidArgument(
                f"timeout must be a number of seconds, 0 or more; got {timeout!r}", field="timeout"
            )
        ids = self._experiment_ids(experiments)
        running: list[Run] = []
        token: str | None = None
        while True:  # collect every page first: marking runs changes what the filter matches
            page = self.store.search_runs(ids, "status = 'RUNNING'", None, 1000, token)
            running += page.runs
            token = page.next_page_token
            if not token:
                break
        now = now_ms()
        dead = [run for run in running if death_reason(run, now, timeout) is not None]
        if dry_run:
            return dead
        marked = [self._mark_killed(run, timeout) for run in dead]
        return [run for run in marked if run.status == RunStatus.KILLED]

    def _reap_dead(self, runs: Sequence[Run]) -> dict[str, Run]:
        """Of ``runs``, those found dead and marked KILLED, by id. A run that cannot be
        marked (a viewer may not write) is left as it is: reading never fails for it."""
        now = now_ms()
        timeout = self.settings.heartbeat_timeout
        marked: dict[str, Run] = {}
        for run in runs:
            if death_reason(run, now, timeout) is None:
                continue
            try:
                marked[run.id] = self._mark_killed(run, timeout)
            except ShipyardError:
                continue
        return {run_id: run for run_id, run in marked.items() if run.status == RunStatus.KILLED}

    def _mark_killed(self, run: Run, timeout: float) -> Run:
        """Mark a dead run KILLED, judging it again on a fresh read (it may have ended since
        it was read); returns the run as stored now."""
        fresh = self.store.get_run(run.id)
        reason = death_reason(fresh, now_ms(), timeout)
        if reason is None:
            return fresh
        me = this_process()
        note = f"marked KILLED by process {me.pid} on {me.host}: {reason}"
        ended = last_seen(fresh)
        self.store.log_batch(run.id, tags={END_REASON_TAG: note})
        self.store.update_run(run.id, status=RunStatus.KILLED, end_time=ended)
        tags = {**fresh.tags, END_REASON_TAG: note}
        return dataclasses.replace(fresh, status=RunStatus.KILLED, end_time=ended, tags=tags)

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        """Store a file or folder in the run's artifact tree (default: under its own name)."""
        path = Path(local_path)
        return self.store.log_artifact(run_id, path, artifact_path or path.name)

    def download_artifact(self, run_id: str, artifact_path: str, dest: str | Path) -> Path:
        """Copy an artifact file or folder to ``dest`` (hash-verified)."""
        return self.store.download_artifact(run_id, artifact_path, Path(dest))

    def close(self) -> None:
        """Flush buffered metrics and stop the flush thread (a later log starts a new one)."""
        if self._buffer is not None:
            buffer, self._buffer = self._buffer, None
            buffer.close()


def _to_point(m: MetricLike, now: int) -> MetricPoint:
    """A MetricPoint from a point or a ``(key, value[, step[, timestamp_ms]])`` tuple.

    Only the shape is checked here: the store checks every point of a batch (key, value,
    step, timestamp) with the same messages, and checking twice cost half of ``log_batch``.
    """
    if isinstance(m, MetricPoint):
        return m
    if not isinstance(m, tuple) or not 2 <= len(m) <= 4:
        raise InvalidArgument(
            f"metric {m!r} must be a MetricPoint or a tuple (key, value[, step[, timestamp_ms]])",
            field="metrics",
        )
    return MetricPoint(m[0], m[1], m[2] if len(m) > 2 else 0, m[3] if len(m) > 3 else now)
