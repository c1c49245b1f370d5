"""Queries of the model registry: registered models, versions, their manifests, aliases and
the alias audit history.

Like the tracking queries, every function runs in the caller's transaction. Writers that hand
out version numbers or move aliases first lock the model's row (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serializes writers), so concurrent
registrations get distinct consecutive numbers and a promotion's gates are checked against
the aliases as they are when the alias moves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Table, delete, func, select, update

from shipyard.entities import (
    DEFAULT_PROJECT,
    ArtifactInfo,
    LineageEdge,
    LineageNode,
    ModelVersion,
    RegisteredModel,
    manifest_digest,
)
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from shipyard.store._lineage import add_edges
from shipyard.store._models.lineage import LINEAGE_EDGES
from shipyard.store._models.registry import (
    MODEL_ALIASES,
    MODEL_VERSION_FILES,
    MODEL_VERSION_TAGS,
    MODEL_VERSIONS,
    REGISTERED_MODEL_TAGS,
    REGISTERED_MODELS,
)
from shipyard.store._sql import chunks, in_projects, new_id, record, upsert
from shipyard.store._tracking import require_run

VERSION_NODE = "model_version"
LATEST = "latest"


def to_json(value: Any) -> str:
    """A JSON column's text, keys sorted (the registry's JSON columns and alias gates)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _metrics_json(metrics: Mapping[str, float]) -> str:
    return to_json({k: (v if math.isfinite(v) else str(v)) for k, v in metrics.items()})


# ----------------------------------------------------------------------------- models


def model_row(conn: Connection, name: str, *, lock: bool = False) -> Any:
    """A registered model's row (locked for writing with ``lock``), or NotFound."""
    query = select(REGISTERED_MODELS).where(REGISTERED_MODELS.c.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(
            f"no registered model named {name!r}; list them with `shipyard models list`",
            field="name",
        )
    return row


def create_registered_model(
    conn: Connection,
    name: str,
    *,
    description: str,
    owner: str,
    tags: Mapping[str, str],
    now: int,
    project: str = DEFAULT_PROJECT,
) -> RegisteredModel:
    """Insert a model into ``project``; a taken name raises AlreadyExists."""
    model_id = new_id()
    stmt = _insert_model(conn, model_id, name, description, owner, now, project)
    stmt = stmt.returning(REGISTERED_MODELS.c.id)
    if conn.execute(stmt).first() is None:
        raise AlreadyExists(
            f"model {name!r} is already registered; register a new version of it instead",
            field="name",
        )
    _set_tags(conn, REGISTERED_MODEL_TAGS, "model_id", model_id, tags)
    return get_registered_model(conn, name)


def _insert_model(
    conn: Connection,
    model_id: str,
    name: str,
    description: str,
    owner: str,
    now: int,
    project: str,
) -> Any:
    """INSERT of a new model row that does nothing when the name is taken."""
    return (
        upsert(conn, REGISTERED_MODELS)
        .values(
            id=model_id,
            name=name,
            description=description,
            owner=owner,
            last_version=0,
            created_at=now,
            updated_at=now,
            project=project,
        )
        .on_conflict_do_nothing(index_elements=["name"])
    )


def _ensure_model(conn: Connection, name: str, owner: str, now: int, project: str) -> Any:
    """The model's row, locked for writing; created (owned by ``owner``, in ``project``) when
    missing."""
    conn.execute(_insert_model(conn, new_id(), name, "", owner, now, project))
    return model_row(conn, name, lock=True)


def _set_tags(
    conn: Connection, table: Table, owner_column: str, owner_id: str, tags: Mapping[str, str]
) -> None:
    if not tags:
        return
    stmt = upsert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[owner_column, "key"], set_={"value": stmt.excluded.value}
    )
    conn.execute(stmt, [{owner_column: owner_id, "key": k, "value": v} for k, v in tags.items()])


def _models_from_rows(conn: Connection, rows: Sequence[Any]) -> list[RegisteredModel]:
    ids = [row.id for row in rows]
    tags: dict[str, dict[str, str]] = {}
    aliases: dict[str, dict[str, int]] = {}
    latest: dict[str, int] = {}
    for chunk in chunks(ids):
        query = select(
            REGISTERED_MODEL_TAGS.c.model_id,
            REGISTERED_MODEL_TAGS.c.key,
            REGISTERED_MODEL_TAGS.c.value,
        )
        for model_id, key, value in conn.execute(
            query.where(REGISTERED_MODEL_TAGS.c.model_id.in_(chunk))
        ):
            tags.setdefault(model_id, {})[key] = value
        query = (
            select(MODEL_ALIASES.c.model_id, MODEL_ALIASES.c.alias, MODEL_VERSIONS.c.version)
            .join(MODEL_VERSIONS, MODEL_VERSIONS.c.id == MODEL_ALIASES.c.version_id)
            .where(MODEL_ALIASES.c.model_id.in_(chunk))
        )
        for model_id, alias, version in conn.execute(query):
            aliases.setdefault(model_id, {})[alias] = version
        query = (
            select(MODEL_VERSIONS.c.model_id, func.max(MODEL_VERSIONS.c.version))
            .where(MODEL_VERSIONS.c.model_id.in_(chunk))
            .group_by(MODEL_VERSIONS.c.model_id)
        )
        for row in conn.execute(query):
            latest[row[0]] = int(row[1])
    return [
        record(
            RegisteredModel,
            row,
            tags=tags.get(row.id, {}),
            latest_version=latest.get(row.id),
            aliases=dict(sorted(aliases.get(row.id, {}).items())),
        )
        for row in rows
    ]


def get_registered_model(conn: Connection, name: str) -> RegisteredModel:
    """One model with its tags, latest version number and aliases."""
    return _models_from_rows(conn, [model_row(conn, name)])[0]


def list_registered_models(
    conn: Connection,
    name_like: str | None = None,
    limit: int = 1000,
    projects: Sequence[str] | None = None,
) -> list[RegisteredModel]:
    """Models by name; ``name_like`` is a case-insensitive substring, ``projects`` (None:
    all) the projects to list from; both filter before ``limit`` applies."""
    query = select(REGISTERED_MODELS).order_by(REGISTERED_MODELS.c.name).limit(limit)
    query = in_projects(query, REGISTERED_MODELS.c.project, projects)
    if name_like:
        escaped = name_like.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(REGISTERED_MODELS.c.name.ilike(f"%{escaped}%", escape="\\"))
    return _models_from_rows(conn, list(conn.execute(query)))


def update_registered_model(
    conn: Connection,
    name: str,
    *,
    description: str | None,
    tags: Mapping[str, str],
    now: int,
) -> RegisteredModel:
    """Change a model's description and set (add or overwrite) tags."""
    row = model_row(conn, name, lock=True)
    _describe(
        conn, REGISTERED_MODELS, REGISTERED_MODEL_TAGS, "model_id", row.id, description, tags, now
    )
    return get_registered_model(conn, name)


def _describe(
    conn: Connection,
    table: Table,
    tag_table: Table,
    owner_column: str,
    row_id: str,
    description: str | None,
    tags: Mapping[str, str],
    now: int,
) -> None:
    """Set a row's description (when given) and tags, and touch its update time."""
    values: dict[str, Any] = {"updated_at": now}
    if description is not None:
        values["description"] = description
    conn.execute(update(table).where(table.c.id == row_id).values(**values))
    _set_tags(conn, tag_table, owner_column, row_id, tags)


def delete_registered_model_tag(conn: Connection, name: str, key: str) -> None:
    """Remove a model tag; a missing tag is NotFound."""
    row = model_row(conn, name, lock=True)
    done = conn.execute(
        delete(REGISTERED_MODEL_TAGS).where(
            REGISTERED_MODEL_TAGS.c.model_id == row.id, REGISTERED_MODEL_TAGS.c.key == key
        )
    )
    if done.rowcount == 0:
        raise NotFound(f"model {name!r} has no tag {key!r}", field="key")


def delete_registered_model(conn: Connection, name: str) -> None:
    """Delete a model with all its versions, aliases and history (blobs stay: they are shared
    by content)."""
    row = model_row(conn, name, lock=True)
    version_ids = list(
        conn.execute(select(MODEL_VERSIONS.c.id).where(MODEL_VERSIONS.c.model_id == row.id))
    )
    conn.execute(delete(MODEL_ALIASES).where(MODEL_ALIASES.c.model_id == row.id))
    _delete_version_edges(conn, [v.id for v in version_ids])
    conn.execute(delete(REGISTERED_MODELS).where(REGISTERED_MODELS.c.id == row.id))


def _delete_version_edges(conn: Connection, version_ids: Sequence[str]) -> None:
    for chunk in chunks(list(version_ids)):
        for kind, node_id in (
            (LINEAGE_EDGES.c.dst_kind, LINEAGE_EDGES.c.dst_id),
            (LINEAGE_EDGES.c.src_kind, LINEAGE_EDGES.c.src_id),
        ):
            conn.execute(delete(LINEAGE_EDGES).where(kind == VERSION_NODE, node_id.in_(chunk)))


# ----------------------------------------------------------------------------- versions


def create_model_version(
    conn: Connection,
    name: str,
    files: Sequence[ArtifactInfo],
    *,
    flavor: str,
    source: str,
    run_id: str | None,
    signature: Mapping[str, Any] | None,
    metrics: Mapping[str, float],
    requirements: Sequence[str],
    python_version: str,
    metadata: Mapping[str, Any],
    description: str,
    tags: Mapping[str, str],
    created_by: str,
    now: int,
    project: str = DEFAULT_PROJECT,
) -> ModelVersion:
    """Register the next version of ``name`` (creating the model in ``project`` on its first
    version).

    The number is ``last_version + 1`` taken under the model row's lock, the manifest, tags
    and the lineage edge run -> version are written in the same transaction.
    """
    if not files:
        raise InvalidArgument("a model version needs at least one file", field="files")
    if run_id is not None:
        require_run(conn, run_id)
    model = _ensure_model(conn, name, created_by, now, project)
    number = model.last_version + 1
    conn.execute(
        update(REGISTERED_MODELS)
        .where(REGISTERED_MODELS.c.id == model.id)
        .values(last_version=number, updated_at=now)
    )
    version_id = new_id()
    conn.execute(
        MODEL_VERSIONS.insert().values(
            id=version_id,
            model_id=model.id,
            version=number,
            flavor=flavor,
            source=source,
            signature=None if signature is None else to_json(signature),
            metrics=_metrics_json(metrics),
            requirements=to_json(list(requirements)),
            python_version=python_version,
            descriptor=to_json(metadata),
            manifest_digest=manifest_digest(files),
            description=description,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
    )
    rows = [
        {"version_id": version_id, "path": f.path, "digest": f.digest, "size": f.size}
        for f in files
    ]
    for chunk in chunks(rows):
        conn.execute(MODEL_VERSION_FILES.insert(), list(chunk))
    _set_tags(conn, MODEL_VERSION_TAGS, "version_id", version_id, tags)
    if run_id is not None:
        edge = LineageEdge(
            LineageNode("run", run_id), LineageNode(VERSION_NODE, version_id), "produced"
        )
        add_edges(conn, [edge], now)
    return _versions(conn, name, [version_row(conn, model.id, name, number)])[0]


def version_row(conn: Connection, model_id: str, name: str, version: int) -> Any:
    """The row of version ``version`` of the model ``model_id`` (named ``name``), or NotFound."""
    row = conn.execute(
        select(MODEL_VERSIONS).where(
            MODEL_VERSIONS.c.model_id == model_id, MODEL_VERSIONS.c.version == version
        )
    ).first()
    if row is None:
        raise NotFound(
            f"model {name!r} has no version {version}; list them with "
            f"`shipyard models versions {name}`",
            field="version",
        )
    return row


def _versions(conn: Connection, name: str, rows: Sequence[Any]) -> list[ModelVersion]:
    """Full ModelVersion records (tags, files, aliases, source run) for version rows."""
    ids = [row.id for row in rows]
    tags: dict[str, dict[str, str]] = {}
    files: dict[str, list[ArtifactInfo]] = {}
    aliases: dict[str, list[str]] = {}
    runs: dict[str, str] = {}
    for chunk in chunks(ids):
        query = select(MODEL_VERSION_TAGS).where(MODEL_VERSION_TAGS.c.version_id.in_(chunk))
        for row in conn.execute(query):
            tags.setdefault(row.version_id, {})[row.key] = row.value
        query = (
            select(MODEL_VERSION_FILES)
            .where(MODEL_VERSION_FILES.c.version_id.in_(chunk))
            .order_by(MODEL_VERSION_FILES.c.path)
        )
        for row in conn.execute(query):
            files.setdefault(row.version_id, []).append(
                ArtifactInfo(row.path, row.digest, row.size)
            )
        query = select(MODEL_ALIASES.c.version_id, MODEL_ALIASES.c.alias).where(
            MODEL_ALIASES.c.version_id.in_(chunk)
        )
        for version_id, alias in conn.execute(query.order_by(MODEL_ALIASES.c.alias)):
            aliases.setdefault(version_id, []).append(alias)
        query = select(LINEAGE_EDGES.c.dst_id, LINEAGE_EDGES.c.src_id).where(
            LINEAGE_EDGES.c.dst_kind == VERSION_NODE,
            LINEAGE_EDGES.c.dst_id.in_(chunk),
            LINEAGE_EDGES.c.src_kind == "run",
            LINEAGE_EDGES.c.relation == "produced",
        )
        runs.update({dst: src for dst, src in conn.execute(query)})
    return [
        record(
            ModelVersion,
            row,
            name=name,
            run_id=runs.get(row.id),
            signature=None if row.signature is None else orjson.loads(row.signature),
            metrics={k: float(v) for k, v in orjson.loads(row.metrics).items()},
            requirements=orjson.loads(row.requirements),
            metadata=orjson.loads(row.descriptor),
            tags=tags.get(row.id, {}),
            aliases=aliases.get(row.id, []),
            files=files.get(row.id, []),
        )
        for row in rows
    ]


def get_model_version(conn: Connection, name: str, version: int) -> ModelVersion:
    """One version of a model, or NotFound."""
    model = model_row(conn, name)
    return _versions(conn, name, [version_row(conn, model.id, name, version)])[0]


def get_model_version_by_id(conn: Connection, version_id: str) -> ModelVersion:
    """The model version with this id (the id lineage and the prediction log name it by)."""
    query = (
        select(MODEL_VERSIONS, REGISTERED_MODELS.c.name.label("model_name"))
        .join(REGISTERED_MODELS, REGISTERED_MODELS.c.id == MODEL_VERSIONS.c.model_id)
        .where(MODEL_VERSIONS.c.id == version_id)
    )
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(
            f"no model version has id {version_id!r}; find versions with "
            "`shipyard models versions NAME`",
            field="version_id",
        )
    return _versions(conn, row.model_name, [row])[0]


def alias_version_row(conn: Connection, model: Any, name: str, alias: str) -> Any | None:
    """The version row an alias points at (``latest``: the highest version), or None."""
    if alias == LATEST:
        query = (
            select(MODEL_VERSIONS)
            .where(MODEL_VERSIONS.c.model_id == model.id)
            .order_by(MODEL_VERSIONS.c.version.desc())
            .limit(1)
        )
    else:
        query = (
            select(MODEL_VERSIONS)
            .join(MODEL_ALIASES, MODEL_ALIASES.c.version_id == MODEL_VERSIONS.c.id)
            .where(MODEL_ALIASES.c.model_id == model.id, MODEL_ALIASES.c.alias == alias)
        )
    return conn.execute(query).first()


def get_model_version_by_alias(conn: Connection, name: str, alias: str) -> ModelVersion:
    """The version an alias points at (``latest`` is the highest version), or NotFound."""
    model = model_row(conn, name)
    row = alias_version_row(conn, model, name, alias)
    if row is None:
        if alias == LATEST:
            raise NotFound(f"model {name!r} has no versions yet", field="version")
        known = sorted(
            conn.execute(
                select(MODEL_ALIASES.c.alias).where(MODEL_ALIASES.c.model_id == model.id)
            ).scalars()
        )
        raise NotFound(
            f"model {name!r} has no alias {alias!r}; its aliases are: "
            f"{', '.join(known) or 'none'} (plus 'latest')",
            field="alias",
        )
    return _versions(conn, name, [row])[0]


def list_model_versions(conn: Connection, name: str) -> list[ModelVersion]:
    """Every version of a model, newest first."""
    model = model_row(conn, name)
    query = select(MODEL_VERSIONS).where(MODEL_VERSIONS.c.model_id == model.id)
    return _versions(
        conn, name, list(conn.execute(query.order_by(MODEL_VERSIONS.c.version.desc())))
    )


def update_model_version(
    conn: Connection,
    name: str,
    version: int,
    *,
    description: str | None,
    tags: Mapping[str, str],
    now: int,
    metrics: Mapping[str, float] | None = None,
) -> ModelVersion:
    """Change a version's description, set tags and record evaluation ``metrics`` (merged
    into its metric snapshot, so promotion gates can compare them; its files and metadata
    never change)."""
    model = model_row(conn, name, lock=True)
    row = version_row(conn, model.id, name, version)
    _describe(
        conn, MODEL_VERSIONS, MODEL_VERSION_TAGS, "version_id", row.id, description, tags, now
    )
    if metrics:
        merged = {**orjson.loads(row.metrics), **{k: float(x) for k, x in metrics.items()}}
        conn.execute(
            update(MODEL_VERSIONS)
            .where(MODEL_VERSIONS.c.id == row.id)
            .values(metrics=_metrics_json(merged))
        )
    return get_model_version(conn, name, version)


def delete_model_version_tag(conn: Connection, name: str, version: int, key: str) -> None:
    """Remove a version tag; a missing tag is NotFound."""
    model = model_row(conn, name, lock=True)
    row = version_row(conn, model.id, name, version)
    done = conn.execute(
        delete(MODEL_VERSION_TAGS).where(
            MODEL_VERSION_TAGS.c.version_id == row.id, MODEL_VERSION_TAGS.c.key == key
        )
    )
    if done.rowcount == 0:
        raise NotFound(f"{name}/{version} has no tag {key!r}", field="key")


def delete_model_version(conn: Connection, name: str, version: int) -> None:
    """Delete one version; refused while an alias points at it. Its number is not reused."""
    model = model_row(conn, name, lock=True)
    row = version_row(conn, model.id, name, version)
    held = sorted(
        conn.execute(
            select(MODEL_ALIASES.c.alias).where(MODEL_ALIASES.c.version_id == row.id)
        ).scalars()
    )
    if held:
        raise Conflict(
            f"{name}/{version} is {', '.join('@' + a for a in held)}; move or delete "
            f"{'that alias' if len(held) == 1 else 'those aliases'} first",
            field="version",
        )
    _delete_version_edges(conn, [row.id])
    conn.execute(delete(MODEL_VERSIONS).where(MODEL_VERSIONS.c.id == row.id))
