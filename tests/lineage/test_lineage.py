"""shipyard.lineage and `shipyard lineage` / `shipyard data` on the command line: walking up and
down at any depth, reading refs, and the tree, JSON and DOT exports."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import shipyard
from shipyard import data, lineage
from shipyard.cli import app
from shipyard.entities import LineageNode
from shipyard.errors import InvalidArgument, NotFound
from shipyard.tracking import Client
from tests.support.cli import Cli


@pytest.fixture
def graph(sdk: Client) -> dict[str, LineageNode]:
    """raw@1 -> run(train) -> model_version:m1 ; raw@1 -> run(eval) ; model -> deployment."""
    raw = data.register("raw", pd.DataFrame({"x": [1, 2, 3]}))
    with shipyard.start_run(experiment="e", name="train") as train:
        data.load("raw@1")
    with shipyard.start_run(experiment="e", name="eval") as evaluate:
        data.load("raw@1")
    nodes = {
        "raw": LineageNode("dataset_version", raw.id),
        "train": LineageNode("run", train.id),
        "eval": LineageNode("run", evaluate.id),
        "model": LineageNode("model_version", "m1"),
        "deploy": LineageNode("deployment", "d1"),
    }
    lineage.link(train, nodes["model"], "produced")
    lineage.link(nodes["model"], "deployment:d1")
    return nodes


def test_upstream_and_downstream_at_any_depth(graph: dict[str, LineageNode]) -> None:
    up = lineage.upstream("deployment:d1")
    assert set(up.nodes) == {graph["deploy"], graph["model"], graph["train"], graph["raw"]}
    assert up.of_kind("dataset_version") == [graph["raw"]]
    assert set(lineage.upstream("deployment:d1", depth=2).nodes) == {
        graph["deploy"],
        graph["model"],
        graph["train"],
    }
    down = lineage.downstream("raw@1")
    assert set(down.of_kind("run")) == {graph["train"], graph["eval"]}
    assert graph["deploy"] in down.nodes
    assert lineage.downstream("raw@latest", depth=1).of_kind("deployment") == []


def test_refs_resolve_from_many_forms(graph: dict[str, LineageNode]) -> None:
    raw, train = graph["raw"], graph["train"]
    assert lineage.resolve("raw@1") == raw
    assert lineage.resolve("dataset:raw@latest") == raw
    assert lineage.resolve(f"dataset_version:{raw.id}") == raw
    assert lineage.resolve(train.id[:8]) == train
    assert lineage.resolve(f"run:{train.id[:8]}") == train
    assert lineage.resolve(data.get("raw@1")) == raw
    assert lineage.resolve(shipyard.get_run(train.id)) == train
    with pytest.raises(NotFound, match="nothing in the lineage graph"):
        lineage.resolve("what-is-this")
    with pytest.raises(NotFound, match="no dataset named"):
        lineage.resolve("ghost@1")
    with pytest.raises(InvalidArgument, match="cannot find a lineage node"):
        lineage.resolve(42)
    with pytest.raises(InvalidArgument, match="depth"):
        lineage.upstream("raw@1", depth=0)
    with pytest.raises(InvalidArgument, match="relation"):
        lineage.link("raw@1", "model_version:m2", "ate")


def test_registered_versions_resolve_by_name_and_alias(sdk: Client) -> None:
    from sklearn.linear_model import LogisticRegression

    raw = data.register("points", pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]}))
    with shipyard.start_run(experiment="e", name="train"):
        frame = data.load("points@1")
        model = LogisticRegression().fit(frame[["x"]], frame["y"])
        version = shipyard.register_model(model, "clf")
    shipyard.set_alias("clf", "champion", version.version)
    node = LineageNode("model_version", version.id)
    assert lineage.resolve("model:clf/1") == node
    assert lineage.resolve("model_version:clf@champion") == node
    assert lineage.resolve(f"model:{version.id}") == node
    up = lineage.upstream("model:clf@champion")
    assert LineageNode("dataset_version", raw.id) in up.nodes
    assert up.label(node) == "clf/1 @champion"  # named readably, not by its id
    with pytest.raises(NotFound):
        lineage.resolve("model:clf/9")
    with pytest.raises(InvalidArgument, match="names a run's model"):
        lineage.resolve("model:runs:/abc/model")


def test_tree_json_and_dot_exports(graph: dict[str, LineageNode]) -> None:
    up = lineage.upstream("deployment:d1")
    tree = up.render_tree()
    assert tree.splitlines()[0] == "deployment d1"
    assert "[consumed] model_version m1" in tree
    assert "[produced] run train (" in tree and "[consumed] dataset_version raw@1" in tree
    exported = json.loads(up.to_json())
    assert exported["root"] == {"kind": "deployment", "id": "d1"}
    assert {n["label"] for n in exported["nodes"]} >= {"raw@1", "m1", "d1"}
    assert len(exported["edges"]) == 3
    dot = up.to_dot()
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}")
    assert f'"dataset_version:{graph["raw"].id}" -> "run:{graph["train"].id}"' in dot
    assert 'label="consumed"' in dot and "shape=cylinder" in dot


def test_lineage_cli_prints_tree_json_and_dot(cli: Cli, graph: dict[str, LineageNode]) -> None:
    out = cli.ok("lineage", "raw@1", "--down")
    assert "dataset_version raw@1" in out and "train" in out and "eval" in out and "d1" in out
    out = cli.ok("lineage", "deployment:d1", "--up", "--depth", "1")
    assert "m1" in out and "raw@1" not in out
    payload = json.loads(cli.ok("lineage", "raw@1", "--down", "--format", "json"))
    assert payload["direction"] == "down" and len(payload["edges"]) == 4
    assert cli.ok("lineage", "raw@1", "-f", "dot").startswith("digraph lineage")
    assert "nothing upstream yet" in cli.ok("lineage", "raw@1")
    assert "no dataset named 'ghost'" in cli.fails("lineage", "ghost@2")
    assert cli.runner.invoke(app, ["lineage", "raw@1", "--up", "--down"]).exit_code == 2
    assert cli.runner.invoke(app, ["lineage", "raw@1", "-f", "svg"]).exit_code == 2


def test_data_cli_register_list_show_diff(cli: Cli, sdk: Client, tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "x"]}).to_csv(csv, index=False)
    assert "t@1" in cli.ok("data", "register", "t", str(csv))
    pd.DataFrame({"a": [1, 2, 30, 40], "c": [1.0, 2.0, 3.0, 4.0]}).to_csv(csv, index=False)
    assert "t@2" in cli.ok("data", "register", "t", str(csv), "-d", "second")
    listing = cli.ok("data", "list")
    assert "t" in listing and "@2" in listing
    versions = cli.ok("data", "show", "t")
    assert "@1" in versions and "@2" in versions
    shown = cli.ok("data", "show", "t@1")
    assert "3 rows" in shown and "x (2)" in shown
    assert json.loads(cli.ok("data", "show", "t@2", "--json"))["description"] == "second"
    diff = cli.ok("data", "diff", "t@1", "t@2")
    assert "rows 3 -> 4 (+1)" in diff and "+ c" in diff and "- b" in diff and "a " in diff
    assert "has no version 9" in cli.fails("data", "show", "t@9")
    assert "no dataset named 'nope'" in cli.fails("data", "diff", "nope@1", "t@1")
    assert "no such file" in cli.fails("data", "register", "t", str(tmp_path / "missing.csv"))


def test_dot_labels_render_on_two_lines_with_graphviz(
    sdk: Client, graph: dict[str, LineageNode]
) -> None:
    dot = shutil.which("dot")
    assert dot, "these tests need Graphviz's dot (apt-get install graphviz)"
    with shipyard.start_run(experiment="e", name='odd \\n "name"') as odd:
        pass
    lineage.link(odd, graph["model"])
    up = lineage.upstream("deployment:d1")
    svg = subprocess.run(
        [dot, "-Tsvg"], input=up.to_dot(), capture_output=True, text=True, check=True
    ).stdout
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    for kind, name in (("dataset_version", "raw@1"), ("model_version", "m1"), ("deployment", "d1")):
        assert texts[texts.index(kind) + 1] == name  # the kind over the name
    assert any(t.startswith("train (") for t in texts)
    assert any(t.startswith('odd \\n "name" (') for t in texts)  # the user's text as it is
    assert not [t for t in texts if "\\n" in t and not t.startswith("odd")]


def test_runs_show_the_git_commit_they_ran_from_nested_ones_too(
    sdk: Client, tmp_path: Path
) -> None:
    subprocess.run(["git", "init", "-q"], check=True)
    (tmp_path / "train.py").write_text("print(1)\n")
    subprocess.run(["git", "add", "train.py"], check=True)
    subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "init"], check=True
    )
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with shipyard.start_run(experiment="e", name="sweep") as sweep:
        with shipyard.start_run(name="fold") as fold:
            pass
        # a run nested before nested runs recorded facts: found through its parent
        legacy = sdk.store.create_run(sweep.experiment_id, "legacy", parent_run_id=sweep.id)
    lineage.link(fold, "model_version:m1", "produced")
    lineage.link(legacy, "model_version:m2", "produced")
    for model, run_name in (("m1", "fold"), ("m2", "legacy")):
        tree = lineage.upstream(f"model_version:{model}").render_tree()
        assert f"[produced] run {run_name} (" in tree and f"git {commit[:8]})" in tree
    facts, source = shipyard.tracking.recorded_environment(legacy, sdk.store)
    assert facts["shipyard.git.commit"] == commit and source.id == sweep.id
