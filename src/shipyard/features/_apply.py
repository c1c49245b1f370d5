"""``plan`` and ``apply``: compare Python definitions with the registry and write the
difference in one transaction, after checking every source against its definition."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.client import Store, spec_digest
from shipyard.config import put_project_on_path
from shipyard.entities import FeatureObject, LineageEdge, LineageNode
from shipyard.errors import InvalidArgument, NotFound
from shipyard.features._definitions import (
    DatasetSource,
    Definition,
    Entity,
    FeatureService,
    FeatureView,
    FileSource,
    OnDemandFeatureView,
    SqlSource,
)
from shipyard.features._offline import connect, source_schema
from shipyard.features._registry import Registry, ViewSpec, forget, make_plan, registry
from shipyard.features._retrieval import _store

_KINDS = (Entity, FeatureView, OnDemandFeatureView, FeatureService)


@dataclass(frozen=True)
class Change:
    """One line of a plan: ``create``, ``update``, ``delete`` or ``unchanged``."""

    action: str
    kind: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"action": self.action, "kind": self.kind, "name": self.name}


def load_definitions(path: str | Path = "features.py") -> list[Definition]:
    """The definitions a Python file declares at module level (imported by its file name,
    with its folder and the project root on ``sys.path`` so on-demand functions can be
    imported back)."""
    file = Path(path)
    if file.is_dir():
        file = file / "features.py"
    if not file.is_file():
        raise NotFound(
            f"no feature definitions file at {file}; write a features.py with Entity, "
            "FeatureView and FeatureService objects",
            field="path",
        )
    put_project_on_path()
    folder = str(file.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(file.stem, file)
    if spec is None or spec.loader is None:
        raise InvalidArgument(f"cannot import {file}", field="path")
    module = importlib.util.module_from_spec(spec)
    sys.modules[file.stem] = module
    spec.loader.exec_module(module)
    return [value for value in vars(module).values() if isinstance(value, _KINDS)]


def _specs(definitions: Iterable[Any], store: Store, *, write: bool) -> list[FeatureObject]:
    """Registry objects for the definitions; a DataFrame source becomes a dataset version
    (registered only when ``write``; a plan looks its content up)."""
    objects: dict[tuple[str, str], FeatureObject] = {}
    for item in definitions:
        if not isinstance(item, _KINDS):
            raise InvalidArgument(
                f"cannot apply {type(item).__name__}: pass Entity, FeatureView, "
                "OnDemandFeatureView and FeatureService objects",
                field="definitions",
            )
        if isinstance(item, FeatureView) and not isinstance(
            item.source, FileSource | DatasetSource | SqlSource
        ):
            spec = item.to_spec(_frame_source(item, store, write=write))
        else:
            spec = item.to_spec()
        key = (item.kind, item.name)
        if key in objects and objects[key].spec != spec:
            raise InvalidArgument(f"two different definitions of {item.kind} {item.name!r}")
        objects[key] = FeatureObject(item.kind, item.name, spec, spec_digest(spec))
    return list(objects.values())


def _frame_source(view: FeatureView, store: Store, *, write: bool) -> dict[str, Any]:
    from shipyard import data
    from shipyard.artifacts import sha256_file

    name = f"features-{view.name}"
    if write:
        version = data.register(name, view.source, store=store, lineage=False)
        return {"type": "dataset", "ref": version.ref}
    with tempfile.TemporaryDirectory(prefix="shipyard-plan-") as tmp:
        written = data.write_canonical(view.source, Path(tmp) / "data.parquet")
        found = store.find_dataset_version(name, sha256_file(written.path).digest)
    return {"type": "dataset", "ref": found.ref if found else f"{name}@(new)"}


def _diff(
    objects: list[FeatureObject], current: Registry, prune: bool
) -> tuple[list[Change], list[FeatureObject], list[tuple[str, str]]]:
    changes, writes = [], []
    for obj in objects:
        old = current.objects.get((obj.kind, obj.name))
        action = "create" if old is None else "unchanged" if old.digest == obj.digest else "update"
        changes.append(Change(action, obj.kind, obj.name))
        if action != "unchanged":
            writes.append(obj)
    wanted = {(o.kind, o.name) for o in objects}
    gone = [key for key in current.objects if key not in wanted] if prune else []
    changes += [Change("delete", kind, name) for kind, name in sorted(gone)]
    return changes, writes, gone


def plan(
    definitions: Iterable[Any], *, prune: bool = False, store: Store | None = None
) -> list[Change]:
    """What ``apply`` would change (nothing is written)."""
    target = _store(store)
    objects = _specs(definitions, target, write=False)
    return _diff(objects, registry(target, fresh=True), prune)[0]


def apply(
    definitions: Iterable[Any], *, prune: bool = False, store: Store | None = None
) -> list[Change]:
    """Store the definitions in the registry (with ``prune``, remove the ones not given).

    Every feature view's source is checked first (columns present, types as declared), and
    every service's features must exist: a bad definition changes nothing.
    """
    target = _store(store)
    items = list(definitions)
    objects = _specs(items, target, write=True)
    current = registry(target, fresh=True)
    changes, writes, gone = _diff(objects, current, prune)
    merged = {k: o for k, o in current.objects.items() if k not in gone}
    merged.update({(o.kind, o.name): o for o in objects})
    after = Registry(merged)
    con = connect()
    try:
        for obj in objects:
            if obj.kind == "feature_view":
                source_schema(con, after.view(obj.name), target)
            elif obj.kind == "service":
                make_plan(obj.spec["features"], after, full_feature_names=True)
            elif obj.kind == "on_demand_view":
                for source in obj.spec["sources"]:
                    after.view(source)
    finally:
        con.close()
    from shipyard.tracking import get_client

    target.apply_feature_objects(writes, delete=gone, project=get_client().settings.project)
    forget(target)
    _link_sources(target, [after.view(o.name) for o in writes if o.kind == "feature_view"])
    return changes


def _link_sources(store: Store, views: list[ViewSpec]) -> None:
    """``consumed`` lineage edges from dataset versions to the views that read them."""
    from shipyard.data import parse_ref

    edges = []
    for view in views:
        if view.source.get("type") == "dataset":
            name, number = parse_ref(view.source["ref"])
            version = store.get_dataset_version(name, number)
            edges.append(
                LineageEdge(
                    LineageNode("dataset_version", version.id),
                    LineageNode("feature_view", view.name),
                    "consumed",
                )
            )
    if edges:
        store.add_lineage_edges(edges)
