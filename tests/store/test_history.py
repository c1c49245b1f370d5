"""The reduced metric history in the database (``store/_history.py``): on SQLite it reads
the covering index alone, never a table row, and the migration that made the index keeps
every logged point and the same reduction in both directions, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, inspect

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.entities import MetricPoint, MetricSample
from shipyard.store import HEAD_REVISION, current_revision
from shipyard.store._engine import _MIGRATIONS, upgrade

COVERING = "ix_metrics_run_id_key_step_timestamp_id_value"
BEFORE = "ix_metrics_run_id_key_step"
POINTS = 3_000


def _long_run(store: LocalStore) -> str:
    """A run with a ``loss`` history of POINTS points (a spike, a dip and a NaN in it), its
    timestamps running backwards so the time axis orders differently from the step axis."""
    run = store.create_run(store.get_or_create_experiment("history").id, "long")
    values = [math.sin(step / 40) for step in range(POINTS)]
    values[1_234], values[2_222], values[7] = 80.0, -80.0, math.nan
    store.log_batch(run.id, [MetricPoint("loss", v, s, 50_000 - s) for s, v in enumerate(values)])
    return run.id


def _reduced(store: LocalStore, run_id: str) -> list[MetricSample]:
    return [store.sampled_metric_history(run_id, "loss", 300, axis) for axis in ("step", "time")]


def _same(found: list[MetricSample], expected: list[MetricSample]) -> bool:
    def key(p: MetricPoint) -> tuple[int, int, float | None]:
        return (p.step, p.timestamp, None if math.isnan(p.value) else p.value)

    return all(
        a.total == b.total and [key(p) for p in a.points] == [key(p) for p in b.points]
        for a, b in zip(found, expected, strict=True)
    )


@pytest.fixture
def statements(sqlite_settings: Settings) -> Iterator[tuple[LocalStore, list[tuple[str, Any]]]]:
    """A SQLite store and the statements (with parameters) it runs from now on."""
    store = LocalStore(sqlite_settings)
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", record)
    yield store, seen
    event.remove(store.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("axis", ["step", "time"])
def test_the_reduction_reads_the_history_from_the_covering_index_alone(
    statements: tuple[LocalStore, list[tuple[str, Any]]], axis: str
) -> None:
    store, seen = statements
    run_id = _long_run(store)
    seen.clear()
    sample = store.sampled_metric_history(run_id, "loss", 300, axis)
    assert sample.sampled and {80.0, -80.0} <= {p.value for p in sample.points}
    raw = store.engine.raw_connection()
    try:
        reads = []
        for statement, params in seen:
            if "metrics" not in statement or not statement.lstrip().startswith("SELECT"):
                continue
            plan = [
                row[3] for row in raw.cursor().execute(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
            reads += [step for step in plan if step.startswith(("SEARCH m", "SCAN m"))]
    finally:
        raw.close()
    # the grouping and the picks walk the index; only the kept rows are read by id
    by_index = [step for step in reads if "PRIMARY KEY" not in step]
    assert len(by_index) >= 5, reads
    assert all(f"COVERING INDEX {COVERING}" in step for step in by_index), reads


def _to_revision(engine: Engine, revision: str, *, down: bool) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_the_covering_index_migrates_both_ways_keeping_the_history(settings: Settings) -> None:
    store = LocalStore(settings)
    run_id = _long_run(store)
    expected = _reduced(store, run_id)
    engine = store.engine

    def indexes() -> set[str]:
        return {str(ix["name"]) for ix in inspect(engine).get_indexes("metrics")}

    assert COVERING in indexes() and BEFORE not in indexes()
    _to_revision(engine, "0012", down=True)
    assert current_revision(engine) == "0012"
    assert BEFORE in indexes() and COVERING not in indexes()
    assert _same(_reduced(store, run_id), expected)
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION
    assert COVERING in indexes() and BEFORE not in indexes()
    assert _same(_reduced(store, run_id), expected)
    assert len(store.get_metric_history(run_id, "loss")) == POINTS
