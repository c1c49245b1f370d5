"""The index of each run's artifact tree: path -> content-addressed blob."""

from __future__ import annotations

from sqlalchemy import Connection, Table, select

from shipyard.entities import ArtifactInfo
from shipyard.errors import NotFound
from shipyard.store._models import RunArtifact
from shipyard.store._tracking import _upsert

ARTIFACTS: Table = RunArtifact.__table__  # type: ignore[assignment]


def record_artifacts(conn: Connection, run_id: str, files: list[ArtifactInfo], now: int) -> None:
    """Point paths of a run's tree at blobs (re-logging a path replaces what it points at)."""
    if not files:
        return
    stmt = _upsert(conn, ARTIFACTS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_id", "path"],
        set_={
            "digest": stmt.excluded.digest,
            "size": stmt.excluded.size,
            "created_at": stmt.excluded.created_at,
        },
    )
    conn.execute(
        stmt,
        [
            {
                "run_id": run_id,
                "path": f.path,
                "digest": f.digest,
                "size": f.size,
                "created_at": now,
            }
            for f in files
        ],
    )


def list_artifacts(conn: Connection, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
    """Files of a run's tree under ``prefix`` (a folder path or an exact file path)."""
    query = select(ARTIFACTS.c.path, ARTIFACTS.c.digest, ARTIFACTS.c.size).where(
        ARTIFACTS.c.run_id == run_id
    )
    rows = [ArtifactInfo(*row) for row in conn.execute(query.order_by(ARTIFACTS.c.path))]
    if not prefix:
        return rows
    folder = prefix.rstrip("/") + "/"
    return [r for r in rows if r.path == prefix or r.path.startswith(folder)]


def get_artifact(conn: Connection, run_id: str, path: str) -> ArtifactInfo:
    """One file of a run's tree, or NotFound."""
    row = conn.execute(
        select(ARTIFACTS.c.path, ARTIFACTS.c.digest, ARTIFACTS.c.size).where(
            ARTIFACTS.c.run_id == run_id, ARTIFACTS.c.path == path
        )
    ).first()
    if row is None:
        raise NotFound(f"run {run_id} has no artifact {path!r}", field="path")
    return ArtifactInfo(*row)
