"""`shipyard models ...` as a user drives it: versions registered through the SDK, then listed,
shown, aliased, promoted through gates, diffed and deleted through the CLI."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.cli import app
from shipyard.tracking import Client
from tests.support.cli import Cli

X, y = load_iris(return_X_y=True, as_frame=True)


@pytest.fixture
def churn(sdk: Client) -> Client:
    """Model ``churn`` with versions 1 (auc 0.90, from a run), 2 (0.85) and 3 (0.95)."""
    model = LogisticRegression(max_iter=300).fit(X, y)
    for auc, c in ((0.90, 1.0), (0.85, 0.5), (0.95, 2.0)):
        with shipyard.start_run(experiment="churn"):
            shipyard.log_params({"C": c})
            shipyard.log_metric("auc", auc)
            shipyard.register_model(model, "churn", input_example=X.head())
    return sdk


def test_list_versions_and_show(cli: Cli, churn: Client) -> None:
    shipyard.set_alias("churn", "champion", 1)
    name, latest, aliases, *_ = cli.cells(cli.row(cli.ok("models", "list"), "churn"))
    assert (name, latest, aliases) == ("churn", "3", "@champion=1")
    versions = cli.ok("models", "versions", "churn")
    assert cli.cells(cli.row(versions, "@champion"))[:3] == ["1", "@champion", "sklearn"]
    shown = cli.ok("models", "show", "churn")
    assert "Alias history" in shown and "moved" in shown
    detail = cli.ok("models", "show", "churn@champion")
    assert "churn/1" in detail and "sepal length (cm): double" in detail
    assert "model.state" in detail and "scikit-learn==" in detail


def test_alias_set_history_and_delete(cli: Cli, churn: Client) -> None:
    assert "churn@champion -> version 2" in cli.ok("models", "alias", "churn", "champion", "2")
    out = cli.ok("models", "alias", "churn", "champion", "3", "--reason", "retrained")
    assert "churn@champion -> version 3 (was 2)" in out
    history = cli.ok("models", "alias", "churn", "champion")
    assert "retrained" in history and len([ln for ln in history.splitlines() if "moved" in ln]) == 2
    assert "removed @champion (was version 3)" in cli.ok(
        "models", "alias", "churn", "champion", "--delete"
    )
    assert "no alias 'champion'" in cli.fails("models", "show", "churn@champion")


def test_promote_through_gates(cli: Cli, churn: Client) -> None:
    gates = ["--require", "metrics.auc >= champion.metrics.auc", "--require", "metrics.auc > 0.8"]
    out = cli.ok("models", "promote", "churn", "--version", "1", "--to", "champion", *gates)
    assert "promoted churn@champion -> version 1" in out and "no champion yet" in out
    result = cli.invoke("models", "promote", "churn", "-v", "2", "--to", "champion", *gates)
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "0.85 < 0.9" in result.stdout
    assert (
        "not promoted: 1 of 2 gate(s) failed (metrics.auc >= champion.metrics.auc); "
        "@champion still points at version 1"
    ) in " ".join(result.stderr.split())
    assert shipyard.models.get_version("churn@champion").version == 1
    dry = cli.ok("models", "promote", "churn", "-v", "3", *gates, "--dry-run")
    assert "dry run: gates pass; nothing changed" in dry
    forced = cli.ok("models", "promote", "churn", "-v", "2", *gates, "--force", "-r", "hotfix")
    assert "(forced past failing gates)" in forced
    outcomes = [(e.outcome, e.forced) for e in shipyard.models.history("churn")]
    assert outcomes == [("moved", True), ("rejected", False), ("moved", False)]


def test_a_rejected_promotion_names_every_failed_gate(cli: Cli, churn: Client) -> None:
    shipyard.set_alias("churn", "champion", 1)
    gates = ["metrics.auc >= champion.metrics.auc", "metrics.auc > 0.88"]
    result = cli.invoke("models", "promote", "churn", "-v", "2", *(f"--require={g}" for g in gates))
    assert result.exit_code == 1
    line = " ".join(result.stderr.split())
    assert f"2 of 2 gate(s) failed ({gates[0]}; {gates[1]})" in line
    with pytest.raises(shipyard.errors.Conflict) as caught:  # the SDK says the same
        shipyard.promote("churn", 2, to="champion", require=gates)
    message = caught.value.message
    assert "failed 2 of 2 promotion gate(s)" in message
    assert all(g in message for g in gates), message


def test_promote_bad_input_changes_nothing(cli: Cli, churn: Client) -> None:
    assert "syntax error at position" in cli.fails(
        "models", "promote", "churn", "-v", "1", "--require", "metrics.auc >>"
    )
    assert "no version 9" in cli.fails("models", "promote", "churn", "-v", "9")
    assert "is not allowed" in cli.fails("models", "promote", "churn", "-v", "1", "--to", "Prod!")
    assert "no registered model named 'nope'" in cli.fails("models", "promote", "nope", "-v", "1")
    assert shipyard.models.history("churn") == []
    assert shipyard.models.get("churn").aliases == {}


def test_diff_and_requirements(cli: Cli, churn: Client) -> None:
    out = cli.ok("models", "diff", "churn/1", "churn/2")
    assert cli.cells(cli.row(out, "params"))[2:] == ["C", "1.0", "0.5"]
    assert cli.cells(cli.row(out, "auc"))[3:] == ["0.9", "0.85"]
    assert "equal rows hidden" in out
    full = cli.ok("models", "diff", "churn/1", "churn", "--all")  # a bare name: the latest
    assert "churn/3" in full and "sepal length (cm)" in full
    reqs = cli.ok("models", "requirements", "churn/3").splitlines()
    assert reqs[0].startswith("# churn/3: Python 3.")
    assert any(line.startswith("scikit-learn==") for line in reqs[1:])


def test_delete_versions_and_models(cli: Cli, churn: Client) -> None:
    shipyard.set_alias("churn", "champion", 3)
    assert "@champion; move or delete" in cli.fails("models", "delete", "churn", "-v", "3", "--yes")
    assert "deleted churn/2" in cli.ok("models", "delete", "churn", "-v", "2", "--yes")
    assert [v.version for v in shipyard.models.versions("churn")] == [3, 1]
    declined = cli.runner.invoke(app, ["models", "delete", "churn"], input="n\n")
    assert declined.exit_code == 1 and shipyard.models.get("churn").latest_version == 3
    assert "deleted model churn and all its versions" in cli.ok("models", "delete", "churn", "-y")
    assert "no registered model" in cli.fails("models", "versions", "churn")
