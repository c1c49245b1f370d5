"""A walked piece of the lineage graph, and its tree, JSON and Graphviz DOT forms."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shipyard.client import Store
from shipyard.entities import LineageEdge, LineageNode
from shipyard.errors import InvalidArgument
from shipyard.lineage._resolve import label, resolve

_SHAPES = {
    "dataset_version": "cylinder",
    "feature_view": "cylinder",
    "run": "box",
    "model_version": "component",
    "pipeline_run": "folder",
    "step_run": "box",
    "deployment": "hexagon",
}


@dataclass(frozen=True)
class LineageGraph:
    """The edges reachable from ``root`` going ``up`` (towards inputs) or ``down``.

    ``labels`` names every node readably (``transactions@3``, ``train (1a2b3c4d, FINISHED)``).
    Edges always point downstream, whatever the direction walked.
    """

    root: LineageNode
    direction: str
    edges: list[LineageEdge]
    labels: dict[LineageNode, str] = field(default_factory=dict)

    @property
    def nodes(self) -> list[LineageNode]:
        """Every node in the graph, the root first."""
        seen = {self.root: None}
        for edge in self.edges:
            seen.setdefault(edge.src, None)
            seen.setdefault(edge.dst, None)
        return list(seen)

    def of_kind(self, kind: str) -> list[LineageNode]:
        """The nodes of one kind (e.g. every ``dataset_version`` upstream of a model)."""
        return [n for n in self.nodes if n.kind == kind and n != self.root]

    def neighbours(self, node: LineageNode) -> list[tuple[LineageEdge, LineageNode]]:
        """The next nodes from ``node`` in the walked direction, with the connecting edge."""
        if self.direction == "up":
            return [(e, e.src) for e in self.edges if e.dst == node]
        return [(e, e.dst) for e in self.edges if e.src == node]

    def label(self, node: LineageNode) -> str:
        return self.labels.get(node, node.id)

    # ------------------------------------------------------------------ exports

    def to_dict(self) -> dict[str, Any]:
        """Nodes (kind, id, label) and edges (src, dst, relation), JSON-friendly."""
        return {
            "root": {"kind": self.root.kind, "id": self.root.id},
            "direction": self.direction,
            "nodes": [{"kind": n.kind, "id": n.id, "label": self.label(n)} for n in self.nodes],
            "edges": [e.to_dict() for e in self.edges],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_dot(self) -> str:
        """The graph in Graphviz DOT (``dot -Tsvg``), left to right, edges downstream; each
        node's label is its kind over its readable name."""
        lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
        for node in self.nodes:
            shape = _SHAPES.get(node.kind, "ellipse")
            style = ", style=bold" if node == self.root else ""
            label = _dot_string(node.kind, self.label(node))
            lines.append(f"  {_dot_string(str(node))} [label={label}, shape={shape}{style}];")
        for edge in self.edges:
            lines.append(
                f"  {_dot_string(str(edge.src))} -> {_dot_string(str(edge.dst))} "
                f"[label={_dot_string(edge.relation)}];"
            )
        lines.append("}")
        return "\n".join(lines) + "\n"

    def render_tree(self) -> str:
        """A plain-text tree from the root (a node reached twice is marked ``(seen above)``)."""
        lines = [f"{self.root.kind} {self.label(self.root)}"]
        seen = {self.root}

        def walk(node: LineageNode, prefix: str) -> None:
            children = self.neighbours(node)
            for index, (edge, child) in enumerate(children):
                last = index == len(children) - 1
                branch, extend = ("└── ", "    ") if last else ("├── ", "│   ")
                again = " (seen above)" if child in seen else ""
                lines.append(
                    f"{prefix}{branch}[{edge.relation}] {child.kind} {self.label(child)}{again}"
                )
                if child not in seen:
                    seen.add(child)
                    walk(child, prefix + extend)

        walk(self.root, "")
        return "\n".join(lines)


def _dot_string(*lines: str) -> str:
    """A quoted DOT string showing ``lines`` one under the other, and each line's text as it
    is: quotes and backslashes are escaped (so a name never reads as a Graphviz escape such
    as ``\\N``), line breaks in the text become spaces, and lines are joined with DOT's own
    ``\\n`` escape, added after the text was escaped."""
    escaped = [
        " ".join(line.splitlines()).replace("\\", "\\\\").replace('"', '\\"') for line in lines
    ]
    return '"' + "\\n".join(escaped) + '"'


def walk(
    ref: Any, direction: str, depth: int | None = None, store: Store | None = None
) -> LineageGraph:
    """The lineage graph from ``ref`` in ``direction`` (``up``/``down``), ``depth`` levels deep
    (all levels when None)."""
    if store is None:
        from shipyard.tracking import get_client

        store = get_client().store
    if direction not in ("up", "down"):
        raise InvalidArgument(
            f"direction must be 'up' or 'down', got {direction!r}", field="direction"
        )
    if depth is not None and depth < 1:
        raise InvalidArgument(f"depth must be at least 1, got {depth}", field="depth")
    root = resolve(ref, store)
    edges = store.get_lineage(root, direction, depth)
    graph = LineageGraph(root, direction, edges)
    labels = {node: label(node, store) for node in graph.nodes}
    return LineageGraph(root, direction, edges, labels)


def upstream(ref: Any, depth: int | None = None) -> LineageGraph:
    """Everything ``ref`` was made from: datasets, steps, runs ... (``depth`` levels)."""
    return walk(ref, "up", depth)


def downstream(ref: Any, depth: int | None = None) -> LineageGraph:
    """Everything made from ``ref`` (``depth`` levels)."""
    return walk(ref, "down", depth)
