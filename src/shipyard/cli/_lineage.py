"""`shipyard lineage REF --up|--down`: the lineage graph as a tree, JSON or Graphviz DOT."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.tree import Tree

from shipyard.cli._render import console, friendly_errors, safe
from shipyard.cli._store import require_store
from shipyard.cli._ui import print_link
from shipyard.entities import LineageNode

if TYPE_CHECKING:
    from shipyard import lineage

_KIND_STYLE = {
    "dataset_version": "cyan",
    "run": "green",
    "model_version": "magenta",
    "pipeline_run": "blue",
    "step_run": "blue",
    "feature_view": "cyan",
    "deployment": "yellow",
}


def _rich_tree(graph: lineage.LineageGraph) -> Tree:
    def text(node: LineageNode) -> str:
        style = _KIND_STYLE.get(node.kind, "white")
        return f"[{style}]{node.kind}[/] [bold]{safe(graph.label(node))}[/]"

    root = Tree(text(graph.root))
    seen = {graph.root}

    def grow(node: LineageNode, branch: Tree) -> None:
        for edge, child in graph.neighbours(node):
            again = " [dim](seen above)[/]" if child in seen else ""
            sub = branch.add(f"[dim]{edge.relation}[/] {text(child)}{again}")
            if child not in seen:
                seen.add(child)
                grow(child, sub)

    grow(graph.root, root)
    return root


def _answered_by(prediction_id: str, *, quiet: bool) -> str:
    """The node a prediction walks up from: the deployment that answered it (or, logged by
    a server recorded as no deployment, the model version), printed unless ``quiet``."""
    from shipyard.serving import find_prediction
    from shipyard.tracking import get_client

    found = find_prediction(prediction_id)
    version = get_client().store.get_model_version(found["model"], found["version"])
    if not quiet:
        console.print(
            f"prediction [bold]{safe(prediction_id)}[/] answered by "
            f"{safe(found['model'])}/{found['version']} ({found['role']})"
        )
    if found["deployment"]:
        return f"deployment:{found['deployment']}"
    return f"model_version:{version.id}"


def lineage_command(
    ref: str = typer.Argument(
        ...,
        help="dataset@version, kind:id (run:, pipeline_run:, model_version:, deployment: ...), "
        "prediction:ID (--up: the deployment and version that answered) or a run id.",
    ),
    up: bool = typer.Option(False, "--up", help="What REF was made from (default)."),
    down: bool = typer.Option(False, "--down", help="What was made from REF."),
    depth: int = typer.Option(0, "--depth", "-d", help="Levels to walk (0: all)."),
    format: str = typer.Option("tree", "--format", "-f", help="tree, json or dot."),
) -> None:
    """Walk the lineage graph upstream or downstream of a dataset, run or model."""
    if up and down:
        console.print("[bold red]error:[/] choose one of --up and --down")
        raise typer.Exit(2)
    if format not in ("tree", "json", "dot"):
        console.print(f"[bold red]error:[/] --format must be tree, json or dot, not {safe(format)}")
        raise typer.Exit(2)
    from shipyard import lineage

    with friendly_errors():
        require_store()
        prediction = ("prediction", ref.split(":", 1)[1]) if ref.startswith("prediction:") else None
        if ref.startswith("prediction:"):
            ref = _answered_by(ref.removeprefix("prediction:"), quiet=format != "tree")
        graph = lineage.walk(ref, "down" if down else "up", depth or None)
    if format == "json":
        typer.echo(graph.to_json())
    elif format == "dot":
        typer.echo(graph.to_dot(), nl=False)
    else:
        console.print(_rich_tree(graph))
        print_link("lineage", *(prediction or (graph.root.kind, graph.root.id)))
        if not graph.edges:
            console.print(f"[dim]nothing {'downstream' if down else 'upstream'} yet[/]")
