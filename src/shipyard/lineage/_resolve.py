"""Turning what a user types or holds into a lineage node, and nodes into readable labels."""

from __future__ import annotations

import re
from typing import Any

from shipyard.client import Store
from shipyard.entities import (
    LINEAGE_NODE_KINDS,
    DatasetVersion,
    LineageNode,
    PipelineRun,
    Run,
    StepRun,
)
from shipyard.errors import InvalidArgument, NotFound

_HEX = re.compile(r"^[0-9a-f]{4,32}$")
_ALIASES = {"dataset": "dataset_version", "model": "model_version", "pipeline": "pipeline_run"}


def _store() -> Store:
    from shipyard.tracking import get_client

    return get_client().store


def _find_run(run_id: str) -> str:
    from shipyard.tracking import get_client

    return get_client().find_run(run_id, include_deleted=True).id


def _by_kind(kind: str, ident: str, store: Store) -> LineageNode:
    if kind == "dataset_version" and "@" in ident:
        from shipyard.data import parse_ref

        name, version = parse_ref(ident)
        return LineageNode(kind, store.get_dataset_version(name, version).id)
    if kind == "run":
        return LineageNode(kind, _find_run(ident))
    if kind == "pipeline_run":
        return LineageNode(kind, store.get_pipeline_run(ident).id)
    if kind == "model_version" and ("/" in ident or "@" in ident):
        return LineageNode(kind, _model_version_id(ident, store))
    return LineageNode(kind, ident)


def _model_version_id(ident: str, store: Store) -> str:
    """The id of the version a registry reference (``churn/3``, ``churn@champion``) names."""
    from shipyard.registry import parse_ref as parse_model_ref

    ref = parse_model_ref(ident)
    if ref.name is None:
        raise InvalidArgument(
            f"{ident!r} names a run's model, not a registered version; use 'run:<id>' for the run",
            field="ref",
        )
    if ref.alias is not None:
        return store.get_model_version_by_alias(ref.name, ref.alias).id
    return store.get_model_version(ref.name, ref.version or 0).id


def resolve(ref: Any, store: Store | None = None) -> LineageNode:
    """The lineage node ``ref`` names.

    Accepted: a LineageNode; a DatasetVersion, Run, PipelineRun, StepRun or an object with a
    ``lineage_node`` attribute (an active run, a pipeline result); ``"kind:id"`` with a kind
    of :data:`~shipyard.entities.LINEAGE_NODE_KINDS` (``dataset:``, ``model:`` and
    ``pipeline:`` are short forms; ids may be unique prefixes for runs and pipeline runs, and
    a model version may be named ``model:churn/3`` or ``model:churn@champion``);
    a dataset reference ``"name@3"``; or a bare run or pipeline-run id (prefix).
    """
    store = store or _store()
    if isinstance(ref, LineageNode):
        return ref
    node = getattr(ref, "lineage_node", None)
    if isinstance(node, LineageNode):
        return node
    if isinstance(ref, DatasetVersion):
        return LineageNode("dataset_version", ref.id)
    if isinstance(ref, Run):
        return LineageNode("run", ref.id)
    if isinstance(ref, PipelineRun):
        return LineageNode("pipeline_run", ref.id)
    if isinstance(ref, StepRun):
        return LineageNode("step_run", ref.id)
    if type(ref).__name__ == "ActiveRun" and isinstance(getattr(ref, "id", None), str):
        return LineageNode("run", ref.id)
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidArgument(
            f"cannot find a lineage node for {ref!r}; pass 'kind:id', 'dataset@version' or an id",
            field="ref",
        )
    text = ref.strip()
    kind, sep, ident = text.partition(":")
    if sep and _ALIASES.get(kind, kind) in LINEAGE_NODE_KINDS:
        return _by_kind(_ALIASES.get(kind, kind), ident, store)
    if "@" in text:
        return _by_kind("dataset_version", text, store)
    if _HEX.match(text):
        for kind in ("run", "pipeline_run"):
            try:
                return _by_kind(kind, text, store)
            except NotFound:
                continue
        try:
            return LineageNode("step_run", store.get_step_run(text).id)
        except NotFound:
            pass
    raise NotFound(
        f"nothing in the lineage graph is called {text!r}; use 'dataset@version', "
        f"'kind:id' (kinds: {', '.join(LINEAGE_NODE_KINDS)}) or a run id",
        field="ref",
    )


def label(node: LineageNode, store: Store) -> str:
    """A short readable name for a node (its id when the record cannot be found)."""
    try:
        if node.kind == "dataset_version":
            return store.get_dataset_version_by_id(node.id).ref
        if node.kind == "run":
            run = store.get_run(node.id)
            return f"{run.name} ({run.id[:8]}, {run.status}{_commit(run, store)})"
        if node.kind == "model_version":
            version = store.get_model_version_by_id(node.id)
            aliases = "".join(f" @{a}" for a in version.aliases)
            return f"{version.name}/{version.version}{aliases}"
        if node.kind == "pipeline_run":
            prun = store.get_pipeline_run(node.id)
            return f"{prun.pipeline} ({prun.id[:8]}, {prun.status})"
        if node.kind == "step_run":
            step = store.get_step_run(node.id)
            cached = ", cached" if step.cache_hit else ""
            return f"{step.name} ({step.id[:8]}, {step.status}{cached})"
        if node.kind == "deployment":
            found = store.get_deployment(node.id)
            where = f", {found.address}" if found.address else ""
            return f"{found.reference} ({found.id[:8]}, {found.status}{where})"
    except NotFound:
        pass
    return node.id


def _commit(run: Run, store: Store) -> str:
    """``, git 1a2b3c4d`` (``+dirty`` when uncommitted changes ran) for the commit a run, or
    the run it is nested in, ran from; empty when none was recorded."""
    from shipyard.tracking import recorded_environment

    facts, _source = recorded_environment(run, store)
    commit = facts.get("shipyard.git.commit")
    if not commit:
        return ""
    dirty = "+dirty" if facts.get("shipyard.git.dirty") == "true" else ""
    return f", git {commit[:8]}{dirty}"
