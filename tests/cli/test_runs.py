"""The `shipyard` command line as a user drives it: commands, their output and their errors.

Runs are created through the SDK (the ``sdk`` fixture binds the module-level default client,
which is the one the CLI uses), then inspected through the CLI.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from rich.console import Console

import shipyard
from shipyard.cli import _render
from shipyard.tracking import Client
from tests.support.cli import Cli

# ---------------------------------------------------------------------------- experiments


def test_experiments_create_list_rename_delete_restore_round_trip(cli: Cli, sdk: Client) -> None:
    out = cli.ok("experiments", "create", "churn", "-d", "monthly churn model")
    assert "created experiment churn" in out
    assert sdk.get_experiment("churn").description == "monthly churn model"  # same store

    exp_id, name, _created, state, description = cli.cells(
        cli.row(cli.ok("experiments", "list"), "churn")
    )
    assert (name, state, description) == ("churn", "active", "monthly churn model")
    assert exp_id == sdk.get_experiment("churn").id[:12]

    assert "renamed churn to churn-v2" in cli.ok("experiments", "rename", "churn", "churn-v2")
    assert cli.names_in(cli.ok("experiments", "list"), ["churn", "churn-v2"]) == {"churn-v2"}

    assert "deleted experiment churn-v2" in cli.ok("experiments", "delete", "churn-v2")
    assert cli.names_in(cli.ok("experiments", "list"), ["churn-v2"]) == set()
    assert cli.cells(cli.row(cli.ok("experiments", "list", "--all"), "churn-v2"))[3] == "deleted"

    assert "restored experiment churn-v2" in cli.ok("experiments", "restore", "churn-v2")
    assert cli.cells(cli.row(cli.ok("experiments", "list"), "churn-v2"))[3] == "active"


def test_duplicate_experiment_is_a_one_line_error_without_traceback(cli: Cli, sdk: Client) -> None:
    cli.ok("experiments", "create", "churn")
    line = cli.fails("experiments", "create", "churn")
    assert "experiment 'churn' already exists" in line
    assert len(sdk.store.list_experiments()) == 1


def test_unknown_experiment_is_a_clean_error(cli: Cli, sdk: Client) -> None:
    for args in (
        ("experiments", "rename", "nope", "other"),
        ("experiments", "delete", "nope"),
        ("runs", "list", "-e", "nope"),
    ):
        assert "no experiment named 'nope'" in cli.fails(*args)


def test_error_headline_is_red_on_a_terminal(
    cli: Cli, sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    colour = Console(stderr=True, force_terminal=True, color_system="standard")
    monkeypatch.setattr(_render, "err_console", colour)
    cli.ok("experiments", "create", "churn")
    result = cli.invoke("experiments", "create", "churn")
    assert result.exit_code == 1
    assert result.stderr.startswith("\x1b[1;31merror:")  # bold red


def test_long_error_stays_on_one_line_in_a_narrow_terminal(
    cli: Cli, sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_render.err_console, "_width", 40)
    result = cli.invoke("runs", "search", "nonsense > 1")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert len(result.stderr) > 40


# ---------------------------------------------------------------------------- runs


def _make_run(
    experiment: str, name: str, params: dict[str, object], metrics: dict[str, float]
) -> str:
    with shipyard.start_run(experiment=experiment, name=name) as run:
        shipyard.log_params(params)
        shipyard.log_metrics(metrics)
    return run.id


def test_runs_list_shows_the_runs_of_an_experiment(cli: Cli, sdk: Client) -> None:
    _make_run("churn", "rf-small", {"depth": 4}, {"auc": 0.91})
    _make_run("churn", "rf-big", {"depth": 8}, {"auc": 0.95})
    _make_run("fraud", "xgb", {"depth": 6}, {"auc": 0.88})

    out = cli.ok("runs", "list", "-e", "churn")
    assert cli.names_in(out, ["rf-small", "rf-big", "xgb"]) == {"rf-small", "rf-big"}
    assert "auc" in cli.cells(cli.row(out, "run id"))  # metric columns
    line = cli.cells(cli.row(out, "rf-big"))
    assert "FINISHED" in line and "0.95" in line
    # newest first
    assert out.index("rf-big") < out.index("rf-small")

    everything = cli.ok("runs", "list")
    assert cli.names_in(everything, ["rf-small", "rf-big", "xgb"]) == {"rf-small", "rf-big", "xgb"}


def test_runs_list_limit_says_more_runs_match(cli: Cli, sdk: Client) -> None:
    for i in range(3):
        _make_run("churn", f"run-{i}", {}, {"auc": i / 10})
    out = cli.ok("runs", "list", "-e", "churn", "-n", "2")
    assert cli.names_in(out, ["run-0", "run-1", "run-2"]) == {"run-1", "run-2"}
    assert "more runs match" in out


def test_runs_show_by_id_prefix_shows_params_metrics_tags_and_artifacts(
    cli: Cli, sdk: Client, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("trained on March data")
    with shipyard.start_run(experiment="churn", name="baseline", tags={"team": "growth"}) as run:
        shipyard.log_params({"model": "rf", "depth": 8})
        shipyard.log_metrics({"auc": 0.9123, "loss": 0.25})
        shipyard.log_artifact(notes)
        shipyard.log_artifact({"rows": 1000}, "summary")

    out = cli.ok("runs", "show", run.id[:8])
    assert out.splitlines()[0].split() == ["baseline", run.id, "FINISHED"]
    assert cli.row(out, "model").split() == ["model", "│", "rf"]
    assert cli.row(out, "depth").split() == ["depth", "│", "8"]
    assert cli.row(out, "auc").split() == ["auc", "│", "0.9123"]
    assert cli.row(out, "loss").split() == ["loss", "│", "0.25"]
    assert cli.row(out, "team").split() == ["team", "│", "growth"]
    assert "notes.txt" in cli.row(out, "notes.txt")
    assert "summary.json" in out
    size = f"{notes.stat().st_size:,}"
    assert size in cli.row(out, "notes.txt").split()

    assert out == cli.ok("runs", "show", run.id)  # the full id shows the same


def test_runs_show_names_the_parent_the_children_and_inherited_facts(cli: Cli, sdk: Client) -> None:
    with shipyard.start_run(experiment="sweep", name="grid") as parent:
        for depth in (2, 4):
            with shipyard.start_run(name=f"depth-{depth}"):
                pass
        legacy = sdk.store.create_run(parent.experiment_id, "legacy", parent_run_id=parent.id)
    out = cli.ok("runs", "show", parent.id)
    assert "Child runs" in out and "depth-2" in out and "depth-4" in out and "legacy" in out
    assert "parent run" not in out
    out = cli.ok("runs", "show", legacy.id)
    assert cli.row(out, "parent run").split()[2:4] == ["grid", parent.id]
    python = sdk.get_run(parent.id).tags["shipyard.python"]
    row = cli.row(out, "shipyard.python")  # recorded on the parent only: shown as its
    assert python in row and f"(from run {parent.id[:8]})" in row
    assert "Child runs" not in out


def test_runs_reap_marks_the_runs_of_dead_processes(cli: Cli, sdk: Client) -> None:
    experiment = sdk.store.get_or_create_experiment("churn")
    owner = '{"host": "another-machine", "pid": 4242}'
    silent = sdk.store.create_run(
        experiment.id,
        "silent",
        start_time=1_000,
        tags={"shipyard.owner": owner, "shipyard.heartbeat": "2000"},
    )
    alive = _make_run("churn", "alive", {}, {})
    out = cli.ok("runs", "reap", "--dry-run")
    assert "would mark 1 run(s) KILLED" in out and "silent" in out and "alive" not in out
    assert sdk.store.get_run(silent.id).status == "RUNNING"
    assert "marked 1 run(s) KILLED" in cli.ok("runs", "reap", "-e", "churn")
    assert sdk.store.get_run(silent.id).status == "KILLED"
    assert sdk.store.get_run(alive).status == "FINISHED"
    assert "no dead runs" in cli.ok("runs", "reap")
    assert cli.invoke("runs", "reap", "--timeout", "-1").exit_code == 2


def test_ambiguous_run_prefix_asks_for_more_characters(
    cli: Cli, sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard.store import _tracking

    sdk.store.get_or_create_experiment("churn")
    monkeypatch.setattr(_tracking, "new_id", lambda: "abcd" + uuid.uuid4().hex[4:])
    first = _make_run("churn", "one", {}, {})
    _make_run("churn", "two", {}, {})

    line = cli.fails("runs", "show", "abcd")
    assert "prefix 'abcd' matches several runs" in line and "more characters" in line
    assert "one" in cli.ok("runs", "show", first[:12])  # a longer prefix is unique again


@pytest.mark.parametrize("prefix", ["0000000000", "zz", "a"])
def test_unknown_run_id_is_a_clean_error(cli: Cli, sdk: Client, prefix: str) -> None:
    _make_run("churn", "one", {}, {})
    assert f"no run with id '{prefix}'" in cli.fails("runs", "show", prefix)


def test_runs_compare_marks_the_differing_rows(cli: Cli, sdk: Client) -> None:
    a = _make_run(
        "churn", "rf-4", {"model": "rf", "depth": 4}, {"auc": 0.91231, "loss": 0.3, "f1": 0.8}
    )
    b = _make_run(
        "churn",
        "rf-8",
        {"model": "rf", "depth": 8, "seed": 1},
        {"auc": 0.91233, "loss": 0.3, "f1": 0.85},
    )
    out = cli.ok("runs", "compare", a[:8], b[:8])
    header = out.splitlines()[1:4]
    assert any("rf-4" in h and "rf-8" in h for h in header)

    def marked(key: str) -> tuple[bool, list[str]]:
        values = cli.cells(cli.row(out, key))
        return values[0] == "≠", values[2:]

    assert marked("params.model") == (False, ["rf", "rf"])
    assert marked("params.depth") == (True, ["4", "8"])
    assert marked("params.seed") == (True, ["-", "1"])  # only one run has it
    assert marked("metrics.loss") == (False, ["0.3", "0.3"])
    assert marked("metrics.f1") == (True, ["0.8", "0.85"])
    # values that round to the same 4 digits still differ, and are shown in full
    assert marked("metrics.auc") == (True, ["0.91231", "0.91233"])


def test_runs_search_filters_and_orders(cli: Cli, sdk: Client) -> None:
    _make_run("churn", "weak", {"model": "lr"}, {"auc": 0.85})
    _make_run("churn", "good", {"model": "rf"}, {"auc": 0.93})
    _make_run("churn", "best", {"model": "rf"}, {"auc": 0.97})
    _make_run("fraud", "other", {"model": "rf"}, {"auc": 0.99})
    candidates = ["weak", "good", "best", "other"]

    out = cli.ok("runs", "search", "metrics.auc > 0.9", "-e", "churn")
    assert cli.names_in(out, candidates) == {"good", "best"}

    out = cli.ok("runs", "search", "params.model = 'rf'", "-o", "metrics.auc asc")
    assert cli.names_in(out, candidates) == {"good", "best", "other"}
    assert out.index("good") < out.index("best") < out.index("other")


def test_bad_filter_names_the_position_without_traceback(cli: Cli, sdk: Client) -> None:
    _make_run("churn", "one", {}, {"auc": 0.9})
    line = cli.fails("runs", "search", "metrics.auc >")
    assert "position 13" in line


def test_bad_order_by_is_a_clean_error(cli: Cli, sdk: Client) -> None:
    line = cli.fails("runs", "search", "metrics.auc > 0", "-o", "metrics.auc descending")
    assert "order_by" in line


def test_runs_delete_removes_from_list_and_restore_brings_back(cli: Cli, sdk: Client) -> None:
    keep = _make_run("churn", "keep", {}, {})
    drop = _make_run("churn", "drop", {}, {})
    assert "deleted 1 run(s)" in cli.ok("runs", "delete", drop[:8])
    assert cli.names_in(cli.ok("runs", "list", "-e", "churn"), ["keep", "drop"]) == {"keep"}
    assert sdk.get_run(drop).lifecycle == "deleted"
    assert sdk.get_run(keep).lifecycle == "active"

    assert "restored 1 run(s)" in cli.ok("runs", "restore", drop[:8])
    assert cli.names_in(cli.ok("runs", "list", "-e", "churn"), ["keep", "drop"]) == {"keep", "drop"}


def test_user_text_is_shown_verbatim_not_as_markup(cli: Cli, sdk: Client) -> None:
    """Names and values are user data: Rich markup in them must neither style the output
    nor crash it (``[/]`` with nothing to close used to raise MarkupError)."""
    out = cli.ok("experiments", "create", "odd[/]name", "-d", "[bold]really[/bold]")
    assert "odd[/]name" in out
    listed = cli.ok("experiments", "list")
    assert "odd[/]name" in listed and "[bold]really[/bold]" in listed
    a = _make_run("odd[/]name", "[red]hot", {"note": "[/]"}, {"auc": 0.5})
    b = _make_run("odd[/]name", "cold", {"note": "plain"}, {"auc": 0.5})
    assert "[red]hot" in cli.ok("runs", "list", "-e", "odd[/]name")
    shown = cli.ok("runs", "show", a[:8])
    assert "[red]hot" in shown and "[/]" in cli.row(shown, "note")
    assert "[red]hot" in cli.ok("runs", "compare", a[:8], b[:8])
    assert "[/]" in cli.fails("runs", "search", "params.x = [/]")  # echoed in the message


# ---------------------------------------------------------------------------- misc


def test_version(cli: Cli, sdk: Client) -> None:
    assert cli.ok("version").strip() == shipyard.__version__


def test_no_arguments_shows_help(cli: Cli) -> None:
    result = cli.invoke()
    assert "experiments" in result.output and "runs" in result.output
    assert "demo" in result.output


def test_installed_console_script_runs() -> None:
    script = shutil.which("shipyard", path=str(Path(sys.executable).parent))
    assert script is not None, "the `shipyard` console script is not installed"
    done = subprocess.run([script, "version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == shipyard.__version__


def test_python_dash_m_runs_the_cli() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "shipyard", "version"], capture_output=True, text=True, check=True
    )
    import shipyard

    assert done.stdout.strip() == shipyard.__version__


def test_a_filter_on_a_key_no_run_has_names_it_and_suggests_near_ones(
    cli: Cli, sdk: Client
) -> None:
    with shipyard.start_run(experiment="churn"):
        shipyard.log_metric("auc", 0.93)
        shipyard.log_param("model", "rf")
    line = cli.fails("runs", "search", "metrics.aucc > 0.9", "-e", "churn")
    assert "no run in the searched experiments has metrics.aucc" in line
    assert "did you mean metrics.auc?" in line
    line = cli.fails("runs", "search", "metrics.auc > 0.9 and params.modle = 'rf'")
    assert "params.modle (did you mean params.model?)" in line and "metrics.auc" not in line
    with pytest.raises(shipyard.errors.InvalidArgument, match=r"metrics\.aucc") as caught:
        shipyard.search_runs("churn", "metrics.aucc > 0.9")  # the SDK (and server) say it too
    assert caught.value.field == "filter"
    # a known key that matches nothing is an empty answer, not an error
    assert shipyard.search_runs("churn", "metrics.auc > 0.99", output="runs").runs == []
    assert "metrics.aucc" in cli.fails("runs", "search", "metrics.aucc > 0.9", "-o", "metrics.auc")
