"""Who is reading or writing data right now, so lineage edges are recorded automatically.

A dataset loaded inside an active tracking run (``shipyard.start_run``) or a pipeline step
gets a ``consumed`` edge to that run or step; a dataset registered there gets a ``produced``
edge from it. Pipelines announce the running step with :func:`consuming`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from shipyard.client import Store
from shipyard.entities import LineageEdge, LineageNode

_actors: contextvars.ContextVar[tuple[LineageNode, ...]] = contextvars.ContextVar(
    "shipyard_data_actors", default=()
)


@contextmanager
def consuming(node: LineageNode) -> Iterator[None]:
    """Attribute data loaded and registered inside the block to ``node`` (a step run...)."""
    token = _actors.set((*_actors.get(), node))
    try:
        yield
    finally:
        _actors.reset(token)


def current_actors() -> list[LineageNode]:
    """The step runs announced with :func:`consuming` and the active tracking run."""
    from shipyard.tracking import active_run

    nodes = list(_actors.get())
    run = active_run()
    if run is not None:
        nodes.append(LineageNode("run", run.id))
    return nodes


def record(store: Store, dataset_version_id: str, relation: str) -> None:
    """Link a dataset version to whoever is acting now (nothing when nobody is)."""
    actors = current_actors()
    if not actors:
        return
    data = LineageNode("dataset_version", dataset_version_id)
    if relation == "consumed":
        edges = [LineageEdge(data, actor, "consumed") for actor in actors]
    else:
        edges = [LineageEdge(actor, data, "produced") for actor in actors]
    store.add_lineage_edges(edges)
