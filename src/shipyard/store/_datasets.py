"""Queries for datasets and their versions.

A version is allocated as the dataset's highest version plus one inside the caller's write
transaction; the unique constraints (dataset, version) and (dataset, digest) make a
concurrent writer fail instead of creating a duplicate, and the caller retries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update

from shipyard.entities import DEFAULT_PROJECT, Dataset, DatasetVersion
from shipyard.errors import NotFound
from shipyard.store._models.datasets import DATASET_VERSIONS, DATASETS
from shipyard.store._sql import in_projects, new_id, record, upsert


def _version_from_row(row: Any) -> DatasetVersion:
    return record(
        DatasetVersion,
        row,
        content_hash=row.digest,
        schema=json.loads(row.schema_json),
        profile=json.loads(row.profile_json),
    )


def find_version(conn: Connection, name: str, digest: str) -> DatasetVersion | None:
    """The version of ``name`` holding exactly this content, if any."""
    row = conn.execute(
        select(DATASET_VERSIONS).where(
            DATASET_VERSIONS.c.dataset == name, DATASET_VERSIONS.c.digest == digest
        )
    ).first()
    return None if row is None else _version_from_row(row)


def create_version(
    conn: Connection,
    name: str,
    *,
    digest: str,
    size: int,
    num_rows: int,
    schema: Sequence[dict[str, Any]],
    profile: dict[str, Any],
    source: str,
    description: str,
    now: int,
    project: str = DEFAULT_PROJECT,
) -> DatasetVersion:
    """Add the next version of ``name`` (creating the dataset in ``project``; an existing
    dataset keeps its project); existing content is returned as it is."""
    conn.execute(
        upsert(conn, DATASETS)
        .values(name=name, description="", created_at=now, updated_at=now, project=project)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    existing = find_version(conn, name, digest)
    if existing is not None:
        return existing
    latest = conn.execute(
        select(func.max(DATASET_VERSIONS.c.version)).where(DATASET_VERSIONS.c.dataset == name)
    ).scalar()
    version_id = new_id()
    conn.execute(
        DATASET_VERSIONS.insert().values(
            id=version_id,
            dataset=name,
            version=(latest or 0) + 1,
            digest=digest,
            size=size,
            num_rows=num_rows,
            schema_json=json.dumps(list(schema)),
            profile_json=json.dumps(profile, default=str),
            source=source,
            description=description,
            created_at=now,
        )
    )
    conn.execute(update(DATASETS).where(DATASETS.c.name == name).values(updated_at=now))
    return get_version_by_id(conn, version_id)


def get_version(conn: Connection, name: str, version: int | None) -> DatasetVersion:
    """Version ``version`` of ``name`` (``None``: the latest), or NotFound naming what exists."""
    query = select(DATASET_VERSIONS).where(DATASET_VERSIONS.c.dataset == name)
    if version is None:
        query = query.order_by(DATASET_VERSIONS.c.version.desc()).limit(1)
    else:
        query = query.where(DATASET_VERSIONS.c.version == version)
    row = conn.execute(query).first()
    if row is not None:
        return _version_from_row(row)
    known = conn.execute(
        select(func.max(DATASET_VERSIONS.c.version)).where(DATASET_VERSIONS.c.dataset == name)
    ).scalar()
    if known is None:
        raise NotFound(
            f"no dataset named {name!r}; register it with shipyard.data.register({name!r}, ...) "
            "or list datasets with `shipyard data list`",
            field="dataset",
        )
    raise NotFound(
        f"dataset {name!r} has no version {version}; its versions are 1..{known}",
        field="version",
    )


def get_version_by_id(conn: Connection, version_id: str) -> DatasetVersion:
    """A version by its id, or NotFound."""
    row = conn.execute(select(DATASET_VERSIONS).where(DATASET_VERSIONS.c.id == version_id)).first()
    if row is None:
        raise NotFound(f"no dataset version with id {version_id!r}", field="id")
    return _version_from_row(row)


def list_datasets(conn: Connection, projects: Sequence[str] | None = None) -> list[Dataset]:
    """Every dataset (of ``projects``; None: all) with its latest version number and
    version count, by name."""
    stats = (
        select(
            DATASET_VERSIONS.c.dataset,
            func.max(DATASET_VERSIONS.c.version).label("latest"),
            func.count().label("n_versions"),
        )
        .group_by(DATASET_VERSIONS.c.dataset)
        .subquery()
    )
    query = (
        select(DATASETS, stats.c.latest, stats.c.n_versions)
        .join(stats, stats.c.dataset == DATASETS.c.name, isouter=True)
        .order_by(DATASETS.c.name)
    )
    query = in_projects(query, DATASETS.c.project, projects)
    return [
        record(
            Dataset,
            row,
            latest_version=int(row.latest or 0),
            version_count=int(row.n_versions or 0),
        )
        for row in conn.execute(query)
    ]


def list_versions(conn: Connection, name: str) -> list[DatasetVersion]:
    """The versions of a dataset, newest first; NotFound for an unknown dataset."""
    if conn.execute(select(DATASETS.c.name).where(DATASETS.c.name == name)).first() is None:
        raise NotFound(
            f"no dataset named {name!r}; list datasets with `shipyard data list`",
            field="dataset",
        )
    query = (
        select(DATASET_VERSIONS)
        .where(DATASET_VERSIONS.c.dataset == name)
        .order_by(DATASET_VERSIONS.c.version.desc())
    )
    return [_version_from_row(row) for row in conn.execute(query)]
