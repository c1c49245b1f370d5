"""What a running server holds: its LocalStore backend, settings, and small caches.

The caches only hold facts that never change (which project a record named by an id is in:
runs, pipeline runs, step runs and versions never move; records named by a name are looked
up each time, since a name can be deleted and taken again in another project) and, for a few
seconds, which user an API token belongs to, so the hot path (a metric batch every few
milliseconds) does not pay a token look-up per request. Revoking a token or changing a role
through this server clears that cache at once; done elsewhere (another worker, the CLI on the
database) it takes effect within ``PRINCIPAL_TTL_S``.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from typing import Any

from shipyard.client import LocalStore, now_ms
from shipyard.entities import User
from shipyard.errors import ServiceUnavailable
from shipyard.server._feature_metrics import MaterializationTimes

log = logging.getLogger("shipyard.server")

PRINCIPAL_TTL_S = 5.0
AUDIT_DELAY_S = 0.25
AUDIT_BATCH = 1000
AUDIT_KEEP = 10 * AUDIT_BATCH
AUDIT_PRUNE_EVERY_S = 3600.0
_CACHE_LIMIT = 100_000
#: The kinds whose records are named by an id that is never reused: their project is cached.
_ID_KINDS = frozenset(
    {
        "experiment",
        "run",
        "model_version",
        "alias_event",
        "dataset_version",
        "pipeline_run",
        "step_run",
        "monitor_run",
        "deployment",
    }
)
#: The caller when the server runs without authentication (bound to loopback).
ANONYMOUS = User("anonymous", 0, {"*": "admin"})


class AuditWriter:
    """Writes audit entries from a background thread, in batches, and keeps the log to its
    retention.

    Requests only enqueue (so auditing adds no database round trip to a request); the thread
    writes what queued up over a quarter of a second in one transaction. ``flush`` waits
    until everything queued so far is written; a crash can lose the entries of the last
    quarter second. Entries the database did not take (it is down) are written with the next
    batch, up to ``AUDIT_KEEP`` of them; beyond that the oldest are dropped, with an error in
    the log. At most once per ``AUDIT_PRUNE_EVERY_S`` it deletes entries older than
    ``retention_days``, so the table does not grow without bound.
    """

    def __init__(self, store: LocalStore, retention_days: int = 365) -> None:
        self._store = store
        self._retention_ms = retention_days * 86_400_000
        self._pruned_at = float("-inf")
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._unwritten: list[dict[str, Any]] = []  # kept from batches that failed

    def add(self, entry: dict[str, Any]) -> None:
        """Queue one entry (the columns of ``audit_log``)."""
        self._queue.put(entry)
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    thread = threading.Thread(target=self._loop, name="shipyard-audit", daemon=True)
                    thread.start()
                    self._thread = thread

    def flush(self, timeout: float = 10.0) -> None:
        """Return once every entry queued before the call is in the database."""
        if self._thread is None:
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(10.0)

    def _loop(self) -> None:
        while True:
            items = self._gather()
            entries = [*self._unwritten, *(i for i in items if isinstance(i, dict))]
            self._unwritten = []
            try:
                self._store.record_audit(entries)
            except Exception as exc:  # never take the server down over the audit log
                self._keep(entries, exc)
            else:
                try:
                    self._prune_if_due()
                except Exception:
                    log.exception("could not prune the audit log")
            for item in items:
                if isinstance(item, threading.Event):
                    item.set()
            if any(item is None for item in items):
                if self._unwritten:
                    log.error("%d audit entries were never written", len(self._unwritten))
                return

    def _keep(self, entries: list[dict[str, Any]], error: Exception) -> None:
        """Keep entries the database did not take for the next batch (the newest
        ``AUDIT_KEEP``), logging what this drops: a database outage by its message (it
        names the database and the reason), anything else with its traceback."""
        lost = len(entries) - AUDIT_KEEP
        outage = isinstance(error, ServiceUnavailable)
        log.log(
            logging.WARNING if outage else logging.ERROR,
            "could not write %d audit entries; they are written with the next batch%s: %s",
            len(entries),
            f" except the {lost} oldest, dropped" if lost > 0 else "",
            error,
            exc_info=not outage,
        )
        self._unwritten = entries[-AUDIT_KEEP:]

    def _prune_if_due(self) -> None:
        if time.monotonic() - self._pruned_at < AUDIT_PRUNE_EVERY_S:
            return
        self._pruned_at = time.monotonic()
        gone = self._store.prune_audit(now_ms() - self._retention_ms)
        if gone:
            log.info("pruned %d audit entries older than the retention", gone)

    def _gather(self) -> list[Any]:
        """Wait for an entry, then collect what arrives within ``AUDIT_DELAY_S`` (or until a
        flush or stop): one transaction per batch, not one per request."""
        items = [self._queue.get()]
        deadline = time.monotonic() + AUDIT_DELAY_S
        while len(items) < AUDIT_BATCH and isinstance(items[-1], dict):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                items.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return items


class Backend:
    """The store a server serves, how it is configured, and its caches."""

    def __init__(self, store: LocalStore, *, auth: bool, max_upload_bytes: int) -> None:
        self.store = store
        self.auth = auth
        self.max_upload_bytes = max_upload_bytes
        self.audit = AuditWriter(store, store.settings.audit_retention_days)
        #: The materialization times ``/metrics`` exports, read from this store (cached).
        self.feature_metrics = MaterializationTimes(store.list_feature_view_freshness)
        self._projects: dict[tuple[str, str], str] = {}
        self._principals: dict[str, tuple[float, User]] = {}

    @classmethod
    def from_settings(cls, store: LocalStore) -> Backend:
        """A backend configured by its store's settings."""
        s = store.settings
        return cls(store, auth=s.server_auth, max_upload_bytes=s.max_upload_bytes)

    def project_of(self, kind: str, ident: str) -> str:
        """The project owning the ``kind`` record ``ident`` (NotFound if there is none);
        cached for the kinds named by an id, which never change project."""
        key = (kind, ident)
        project = self._projects.get(key)
        if project is None:
            project = self.store.project_of(kind, ident)
            if kind in _ID_KINDS:
                if len(self._projects) >= _CACHE_LIMIT:
                    self._projects.clear()
                self._projects[key] = project
        return project

    def cached_user(self, token: str) -> User | None:
        """The user behind an API token if it was checked in the last few seconds."""
        hit = self._principals.get(_token_key(token))
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def authenticate(self, token: str) -> User:
        """The user behind an API token (checked in the database, then cached)."""
        user = self.store.authenticate(token)
        if len(self._principals) >= _CACHE_LIMIT:
            self._principals.clear()
        self._principals[_token_key(token)] = (time.monotonic() + PRINCIPAL_TTL_S, user)
        return user

    def forget_principals(self) -> None:
        """Drop cached token look-ups (after a token is revoked or a role changes)."""
        self._principals.clear()

    def close(self) -> None:
        """Write pending audit entries and stop background work."""
        self.audit.close()


def _token_key(token: str) -> str:
    """What the cache is keyed by: a hash, so a memory dump does not show tokens."""
    return hashlib.sha256(token.encode()).hexdigest()
