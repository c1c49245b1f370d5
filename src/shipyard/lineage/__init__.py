"""The lineage graph: which data, steps and runs made what, upstream and downstream.

import shipyard

up = shipyard.lineage.upstream("model_version:...")   # or a run, a "dataset@3" ...
print(up.render_tree())
up.of_kind("dataset_version")                        # the data it was built from
open("lineage.dot", "w").write(up.to_dot())
"""

from shipyard.entities import LINEAGE_NODE_KINDS, LineageEdge, LineageNode
from shipyard.lineage._graph import LineageGraph, downstream, upstream, walk
from shipyard.lineage._resolve import label, resolve


def link(src: object, dst: object, relation: str = "consumed") -> LineageEdge:
    """Record an edge by hand: ``dst`` consumed ``src`` (or, with ``relation="produced"``,
    ``src`` produced ``dst``). Both ends take anything :func:`resolve` accepts."""
    from shipyard.tracking import get_client

    store = get_client().store
    edge = LineageEdge(resolve(src, store), resolve(dst, store), relation)
    store.add_lineage_edges([edge])
    return edge


__all__ = [
    "LINEAGE_NODE_KINDS",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "downstream",
    "label",
    "link",
    "resolve",
    "upstream",
    "walk",
]
