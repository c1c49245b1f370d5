"""The index of each run's artifact tree: path -> content-addressed blob."""

from __future__ import annotations

from sqlalchemy import Connection, select

from shipyard.entities import ArtifactInfo
from shipyard.errors import NotFound
from shipyard.store._models.tracking import RUN_ARTIFACTS
from shipyard.store._sql import upsert


def record_artifacts(conn: Connection, run_id: str, files: list[ArtifactInfo], now: int) -> None:
    """Point paths of a run's tree at blobs (re-logging a path replaces what it points at)."""
    if not files:
        return
    stmt = upsert(conn, RUN_ARTIFACTS)
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
    query = select(RUN_ARTIFACTS.c.path, RUN_ARTIFACTS.c.digest, RUN_ARTIFACTS.c.size).where(
        RUN_ARTIFACTS.c.run_id == run_id
    )
    rows = [ArtifactInfo(*row) for row in conn.execute(query.order_by(RUN_ARTIFACTS.c.path))]
    if not prefix:
        return rows
    folder = prefix.rstrip("/") + "/"
    return [r for r in rows if r.path == prefix or r.path.startswith(folder)]


def get_artifact(conn: Connection, run_id: str, path: str) -> ArtifactInfo:
    """One file of a run's tree, or NotFound."""
    row = conn.execute(
        select(RUN_ARTIFACTS.c.path, RUN_ARTIFACTS.c.digest, RUN_ARTIFACTS.c.size).where(
            RUN_ARTIFACTS.c.run_id == run_id, RUN_ARTIFACTS.c.path == path
        )
    ).first()
    if row is None:
        raise NotFound(f"run {run_id} has no artifact {path!r}", field="path")
    return ArtifactInfo(*row)
