"""Bulk seeding of a migrated Shipyard database for ``bench/scale.py``: runs with their params
and latest metrics, model versions, lineage edges.

Seeding is set-up, not what the bench measures, so it goes around the Store protocol and
writes the store's tables directly through SQLAlchemy Core: ``COPY ... FROM STDIN`` on
PostgreSQL, multi-row ``executemany`` on SQLite. The tables are reflected from the database
(the bench reads no private module of the package). The rows have the shape of
``bench/tracking.py``'s synthetic runs: 5 params ``p0..p4`` with values ``a``-``d`` and 5
metrics ``m0..m4`` uniform in [0, 1), seeded, so every size and backend holds the same data.
Only ``latest_metrics`` is written, not the metric history: search never reads the history.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from shipyard.store import RUN_COLUMNS

PARAMS = 5
METRICS = 5
#: Rows per COPY / executemany batch: memory stays flat at a million runs.
BATCH = 20_000


def tables(engine: sa.Engine) -> dict[str, sa.Table]:
    """The store's tables, reflected from the database."""
    meta = sa.MetaData()
    names = [
        "runs",
        "params",
        "latest_metrics",
        "registered_models",
        "model_versions",
        "lineage_edges",
    ]
    meta.reflect(engine, only=names)
    return {name: meta.tables[name] for name in names}


def run_rows(
    experiment_id: str, start: int, count: int, seed: int
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Runs ``start .. start + count`` of the synthetic set: (run row, param rows, metric rows).

    Run ``i`` is drawn from a hash of ``seed`` and ``i`` (cheaper than a seeded generator per
    run), so it is the same whatever the batch it is made in: growing a store from 10k to
    1M runs keeps its first 10k runs."""
    base_ms = 1_700_000_000_000
    for i in range(start, start + count):
        digest = hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=16 + PARAMS + 4 * METRICS)
        raw = digest.digest()
        run_id = raw[:16].hex()
        started = base_ms + i * 1000
        run = (
            run_id,
            experiment_id,
            f"r{i}",
            "FINISHED",
            started,
            started + 500,
            None,
            "",
            "active",
        )
        params = [(run_id, f"p{j}", "abcd"[raw[16 + j] % 4]) for j in range(PARAMS)]
        offset = 16 + PARAMS
        metrics = [
            (run_id, f"m{j}", _unit(raw[offset + 4 * j : offset + 4 * j + 4]), 0, started)
            for j in range(METRICS)
        ]
        yield run, params, metrics


def _unit(four: bytes) -> float:
    """A float in [0, 1) from four bytes."""
    return int.from_bytes(four, "big") / 2**32


def seed_runs(
    engine: sa.Engine, experiment_id: str, start: int, count: int, seed: int = 1234
) -> float:
    """Add runs ``start .. start + count`` to ``experiment_id``; returns the seconds taken
    (the statistics are refreshed after, as autovacuum would)."""
    began = time.perf_counter()
    t = tables(engine)
    columns = {
        "runs": list(RUN_COLUMNS),
        "params": ["run_id", "key", "value"],
        "latest_metrics": ["run_id", "key", "value", "step", "timestamp"],
    }
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        runs: list[tuple[Any, ...]] = []
        params: list[tuple[Any, ...]] = []
        metrics: list[tuple[Any, ...]] = []
        for run, p, m in run_rows(experiment_id, start + done, size, seed):
            runs.append(run)
            params.extend(p)
            metrics.extend(m)
        with engine.begin() as conn:
            for name, rows in (("runs", runs), ("params", params), ("latest_metrics", metrics)):
                insert_rows(conn, t[name], columns[name], rows)
        done += size
    analyze(engine)
    return time.perf_counter() - began


def insert_rows(
    conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Insert plain tuples into ``table``'s ``columns``: COPY on PostgreSQL, executemany of one
    multi-row statement on SQLite."""
    if conn.dialect.name == "postgresql":
        quoted = ", ".join(f'"{c}"' for c in columns)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    stmt = table.insert()
    conn.execute(stmt, [dict(zip(columns, row, strict=True)) for row in rows])


def analyze(engine: sa.Engine) -> None:
    """Refresh the planner's statistics (``ANALYZE``), as a store in use would have them."""
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))


def seed_model_versions(engine: sa.Engine, model_id: str, start: int, count: int) -> None:
    """Versions ``start + 1 .. start + count`` of the registered model ``model_id``."""
    t = tables(engine)["model_versions"]
    now = int(time.time() * 1000)
    columns = [
        "id",
        "model_id",
        "version",
        "flavor",
        "source",
        "signature",
        "metrics",
        "requirements",
        "python_version",
        "descriptor",
        "manifest_digest",
        "description",
        "created_by",
        "created_at",
        "updated_at",
    ]
    rows = [
        (
            uuid.uuid4().hex,
            model_id,
            v,
            "sklearn",
            "",
            None,
            '{"auc": 0.9}',
            "[]",
            "3.11",
            "{}",
            "0" * 64,
            "",
            "bench",
            now + v,
            now + v,
        )
        for v in range(start + 1, start + count + 1)
    ]
    with engine.begin() as conn:
        for batch in _batches(rows):
            insert_rows(conn, t, columns, batch)
    analyze(engine)


def seed_lineage(engine: sa.Engine, chains: int, depth: int, start: int = 0) -> None:
    """``chains`` chains of ``depth`` edges each: ``dataset_version c-0 -> run c-1 -> ... ``
    (``consumed``), so a walk from a chain's last node upstream visits ``depth`` levels.
    Chains ``start .. start + chains``; ``chains * depth`` edges in all."""
    t = tables(engine)["lineage_edges"]
    columns = ["src_kind", "src_id", "dst_kind", "dst_id", "relation", "created_at"]
    now = int(time.time() * 1000)

    def rows() -> Iterator[tuple[Any, ...]]:
        for c in range(start, start + chains):
            for level in range(depth):
                src_kind = "dataset_version" if level == 0 else "run"
                yield (src_kind, f"c{c}-{level}", "run", f"c{c}-{level + 1}", "consumed", now)

    with engine.begin() as conn:
        for batch in _batches(rows()):
            insert_rows(conn, t, columns, batch)
    analyze(engine)


def chain_end(chain: int, depth: int) -> tuple[str, str]:
    """The (kind, id) of the last node of a chain made by :func:`seed_lineage`."""
    return "run", f"c{chain}-{depth}"


def _batches(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
