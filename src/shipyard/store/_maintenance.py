"""The queries behind ``shipyard fsck`` and ``shipyard gc``: which blobs the records
reference, which versions are half-registered, and dropping those.

Two views of "referenced":

- :func:`blob_references` lists each reference with its owner (``run <id> artifact <path>``,
  ``model churn v3 file <path>``, ``dataset sales@2``...), from the columns and JSON keys
  that are known to hold blob digests: what fsck checks.
- :func:`protected_digests` is a superset for garbage collection: every 64-hex string in any
  text column of any table. A digest kept somewhere fsck does not know about is still never
  collected; keeping a few stray blobs is the price.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, Text, delete, func, select

from shipyard.entities import ArtifactInfo, manifest_digest
from shipyard.store._models import METADATA
from shipyard.store._models.datasets import DATASET_VERSIONS, DATASETS
from shipyard.store._models.monitoring import MONITORS
from shipyard.store._models.pipelines import STEP_RUNS
from shipyard.store._models.registry import (
    MODEL_ALIASES,
    MODEL_VERSION_FILES,
    MODEL_VERSION_TAGS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
)
from shipyard.store._models.tracking import RUN_ARTIFACTS

_DIGEST = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_EXACT_DIGEST = re.compile(r"[0-9a-f]{64}")
#: JSON keys whose 64-hex values are blob digests (step outputs, monitor references).
_DIGEST_KEYS = frozenset({"digest", "reference", "output_reference"})
_BATCH = 1000


@dataclass(frozen=True)
class BlobReference:
    """One record pointing at a blob; ``size`` is the size the record expects, if it has one."""

    digest: str
    owner: str
    size: int | None = None


@dataclass(frozen=True)
class HalfRegistration:
    """A version (or dataset) whose registration did not complete: ``kind`` is
    ``model_version`` or ``dataset``, ``key`` its database id, ``name`` how users call it."""

    kind: str
    key: str
    name: str
    problem: str


def blob_references(conn: Connection) -> Iterator[BlobReference]:
    """Every known reference to a blob, with its owner, streamed."""
    artifacts = select(
        RUN_ARTIFACTS.c.run_id, RUN_ARTIFACTS.c.path, RUN_ARTIFACTS.c.digest, RUN_ARTIFACTS.c.size
    )
    for run_id, path, digest, size in conn.execute(artifacts.execution_options(yield_per=_BATCH)):
        yield BlobReference(digest, f"run {run_id} artifact {path}", size)
    datasets = select(
        DATASET_VERSIONS.c.dataset,
        DATASET_VERSIONS.c.version,
        DATASET_VERSIONS.c.digest,
        DATASET_VERSIONS.c.size,
    )
    for name, version, digest, size in conn.execute(datasets):
        yield BlobReference(digest, f"dataset {name}@{version}", size)
    model_files = (
        select(
            REGISTERED_MODELS.c.name,
            MODEL_VERSIONS.c.version,
            MODEL_VERSION_FILES.c.path,
            MODEL_VERSION_FILES.c.digest,
            MODEL_VERSION_FILES.c.size,
        )
        .join(MODEL_VERSIONS, MODEL_VERSIONS.c.id == MODEL_VERSION_FILES.c.version_id)
        .join(REGISTERED_MODELS, REGISTERED_MODELS.c.id == MODEL_VERSIONS.c.model_id)
    )
    for model, number, file, digest, size in conn.execute(
        model_files.execution_options(yield_per=_BATCH)
    ):
        yield BlobReference(digest, f"model {model} v{number} file {file}", size)
    steps = select(STEP_RUNS.c.id, STEP_RUNS.c.name, STEP_RUNS.c.outputs_json)
    for step_id, step, outputs in conn.execute(steps.execution_options(yield_per=_BATCH)):
        for digest in _json_digests(outputs):
            yield BlobReference(digest, f"step run {step_id} ({step}) output")
    for monitor, spec in conn.execute(select(MONITORS.c.name, MONITORS.c.spec)):
        for digest in _json_digests(spec):
            yield BlobReference(digest, f"monitor {monitor} reference profile")


def _json_digests(text: str | None) -> set[str]:
    """The digests under the known digest keys anywhere in a JSON document."""
    try:
        document = json.loads(text or "null")
    except ValueError:
        return set()
    found: set[str] = set()
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if (
                    key in _DIGEST_KEYS
                    and isinstance(value, str)
                    and _EXACT_DIGEST.fullmatch(value)
                ):
                    found.add(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _is_digest(value: Any) -> bool:
    return isinstance(value, str) and _EXACT_DIGEST.fullmatch(value) is not None


def protected_digests(conn: Connection) -> set[str]:
    """Every 64-hex string held in any text column of any table (see the module docstring)."""
    found: set[str] = set()
    for table in METADATA.sorted_tables:
        columns = [
            column
            for column in table.columns
            if isinstance(column.type, Text)
            or (isinstance(column.type, String) and (column.type.length or 64) >= 64)
        ]
        if not columns:
            continue
        rows = conn.execute(select(*columns).execution_options(yield_per=_BATCH))
        for row in rows:
            for value in row:
                if isinstance(value, str) and len(value) >= 64:
                    found.update(_DIGEST.findall(value))
    return found


def half_registrations(conn: Connection) -> list[HalfRegistration]:
    """Model versions whose file list does not add up to their manifest (or is empty), and
    datasets without a single version."""
    found: list[HalfRegistration] = []
    files: dict[str, list[ArtifactInfo]] = {}
    for version_id, path, digest, size in conn.execute(
        select(MODEL_VERSION_FILES.c.version_id, MODEL_VERSION_FILES.c.path,
               MODEL_VERSION_FILES.c.digest, MODEL_VERSION_FILES.c.size)
    ):  # fmt: skip
        files.setdefault(version_id, []).append(ArtifactInfo(path, digest, size))
    versions = conn.execute(
        select(MODEL_VERSIONS.c.id, REGISTERED_MODELS.c.name, MODEL_VERSIONS.c.version,
               MODEL_VERSIONS.c.manifest_digest)
        .join(REGISTERED_MODELS, REGISTERED_MODELS.c.id == MODEL_VERSIONS.c.model_id)
    )  # fmt: skip
    for version_id, name, version, manifest in versions:
        listed = files.get(version_id, [])
        if not listed:
            problem = "has no files"
        elif manifest_digest(listed) != manifest:
            problem = f"lists {len(listed)} files that do not match its manifest"
        else:
            continue
        found.append(HalfRegistration("model_version", version_id, f"{name} v{version}", problem))
    empty = conn.execute(
        select(DATASETS.c.name)
        .outerjoin(DATASET_VERSIONS, DATASET_VERSIONS.c.dataset == DATASETS.c.name)
        .group_by(DATASETS.c.name)
        .having(func.count(DATASET_VERSIONS.c.id) == 0)
    )
    for (name,) in empty:
        found.append(HalfRegistration("dataset", name, name, "has no versions"))
    return found


def drop_half_registration(conn: Connection, item: HalfRegistration) -> None:
    """Delete a half-registered model version (its files and tags go with it; aliases that
    pointed at it are removed) or an empty dataset."""
    if item.kind == "model_version":
        conn.execute(delete(MODEL_ALIASES).where(MODEL_ALIASES.c.version_id == item.key))
        for table in (MODEL_VERSION_FILES, MODEL_VERSION_TAGS):
            conn.execute(delete(table).where(table.c.version_id == item.key))
        conn.execute(delete(MODEL_VERSIONS).where(MODEL_VERSIONS.c.id == item.key))
    elif item.kind == "dataset":
        conn.execute(delete(DATASETS).where(DATASETS.c.name == item.key))
    else:
        raise ValueError(f"unknown half-registration kind {item.kind!r}")


__all__ = [
    "BlobReference",
    "HalfRegistration",
    "blob_references",
    "drop_half_registration",
    "half_registrations",
    "protected_digests",
]
