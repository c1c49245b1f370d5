"""The package-set access check: a blob named by a run's package-set tag may be read by a
viewer of the run's project and by nobody else, found through the partial index of those
tags (not a scan of every run tag)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.entities import PACKAGE_SET_TAG
from shipyard.store._owners import blob_referenced

DIGEST = "ab" * 32


def test_a_package_set_is_readable_only_from_the_project_of_a_run_that_recorded_it(
    settings: Settings,
) -> None:
    store = LocalStore(settings)
    mine = store.create_experiment("mine", project="alpha")
    other = store.create_experiment("other", project="beta")
    store.create_run(mine.id, "r", tags={PACKAGE_SET_TAG: DIGEST})
    store.create_run(other.id, "r", tags={"note": DIGEST})  # the digest, but not a package set
    store.create_run(other.id, "r", tags={PACKAGE_SET_TAG: "cd" * 32})
    with store.engine.connect() as conn:
        assert blob_referenced(conn, DIGEST, ["alpha"])
        assert blob_referenced(conn, DIGEST, None)  # a role on every project
        assert not blob_referenced(conn, DIGEST, ["beta"])
        assert not blob_referenced(conn, DIGEST, [])
        assert not blob_referenced(conn, "ef" * 32, ["alpha", "beta"])


def test_the_check_reads_the_partial_index_of_package_set_tags(sqlite_settings: Settings) -> None:
    store = LocalStore(sqlite_settings)
    store.create_experiment("plans")  # migrates the database
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append((statement, params))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        with store.engine.connect() as conn:
            assert not blob_referenced(conn, DIGEST, ["default"])
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
    (statement, params), *_ = [s for s in sent if "run_tags" in s[0]]
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
    steps = " | ".join(row[-1] for row in plan)
    assert "ix_run_tags_package_set" in steps, steps
