"""The audit log across a database outage: entries the database did not take are written
with the next batch, not dropped."""

from __future__ import annotations

from typing import Any

from shipyard.client import LocalStore, now_ms
from shipyard.config import Settings
from shipyard.errors import ServiceUnavailable
from shipyard.server._state import AuditWriter


class _DownOnce:
    """A store whose first audit write fails, as during a database restart."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.failed = False

    def record_audit(self, entries: list[dict[str, Any]]) -> None:
        if not self.failed:
            self.failed = True
            raise ServiceUnavailable("the metadata database failed: connection refused")
        self.store.record_audit(entries)

    def prune_audit(self, before: int) -> int:
        return self.store.prune_audit(before)


def _entry(path: str) -> dict[str, Any]:
    return {
        "at": now_ms(),
        "user": "u",
        "method": "POST",
        "route": "/api/v1/runs",
        "path": path,
        "status": 200,
        "project": "default",
        "client": "",
    }


def test_audit_entries_outlive_a_failed_write(sqlite_settings: Settings) -> None:
    store = LocalStore(sqlite_settings)
    down = _DownOnce(store)
    writer = AuditWriter(down, retention_days=30)  # type: ignore[arg-type]
    writer.add(_entry("/during-the-outage"))
    writer.flush()
    assert down.failed and store.list_audit() == []
    writer.add(_entry("/after-it"))
    writer.flush()
    writer.close()
    assert sorted(e.path for e in store.list_audit()) == ["/after-it", "/during-the-outage"]
