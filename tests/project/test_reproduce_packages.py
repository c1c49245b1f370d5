"""`shipyard reproduce` and the recorded package set: each package that differs is named;
`--fresh-env` rebuilds the recorded pins in a new virtualenv (offline, from the uv cache)
and re-runs there; a pin that cannot be installed is named, and nothing is lost."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import shipyard
from shipyard.entities import PACKAGE_SET_TAG
from shipyard.errors import InvalidArgument, ShipyardError
from shipyard.project import reproduce
from shipyard.tracking import Client, package_set
from tests.project.conftest import TinyProject

#: What the tiny model's files and requirements depend on: pinned to what is installed.
_PINNED = ("numpy", "scipy", "scikit-learn", "skops", "pandas", "joblib", "threadpoolctl")


def _installed(*names: str) -> list[str]:
    return [p for p in package_set() if p.split("==")[0] in names]


def _record_packages(client: Client, packages: list[str]) -> None:
    """Make the run behind ``tiny/1`` look as if it ran with ``packages``."""
    path = client.settings.home / "packages.txt"
    path.write_text("\n".join(packages))
    digest = client.store.put_blob(path)
    run_id = shipyard.models.get_version("tiny/1").run_id
    assert run_id is not None
    client.set_tags(run_id, {PACKAGE_SET_TAG: digest})


def _worktrees(repo: Path) -> int:
    listed = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True,
                            text=True, check=True)  # fmt: skip
    return len(listed.stdout.strip().splitlines())


def test_each_package_that_differs_is_named_when_the_result_differs(
    sqlite_sdk: Client, tiny_project: TinyProject
) -> None:
    tiny_project.write(scale="2.0")  # trained from an uncommitted change: the result differs
    tiny_project.train()
    numpy = _installed("numpy")[0]
    recorded = [p for p in package_set() if p != numpy and not p.startswith("tqdm==")]
    _record_packages(sqlite_sdk, [*recorded, "numpy==1.0.0", "ghost-package==2.1"])
    found = reproduce("tiny/1", repo=tiny_project.root)
    assert not found.reproduced and not found.packages_match
    current = numpy.split("==")[1]
    expected = ["ghost-package 2.1 removed", f"numpy 1.0.0 -> {current}"]
    expected += [f"{p.replace('==', ' ')} added" for p in package_set() if p.startswith("tqdm==")]
    assert found.package_changes == sorted(expected)
    why = found.differences[-1]
    assert why.startswith("why: the original was trained with uncommitted changes")
    named = f"ghost-package 2.1 removed, numpy 1.0.0 -> {current}"
    assert f"the package set differs from the recorded one: {named}" in why


def test_an_unchanged_package_set_matches(sqlite_sdk: Client, tiny_project: TinyProject) -> None:
    tiny_project.train()
    found = reproduce("tiny/1", repo=tiny_project.root)
    assert found.reproduced and found.packages_match and found.package_changes == []
    assert found.environment == {"kind": "current"}


@pytest.mark.slow
@pytest.mark.usefixtures("uv_offline_cache")
def test_a_fresh_environment_from_the_recorded_pins_reproduces_the_model(
    sqlite_sdk: Client, tiny_project: TinyProject
) -> None:
    tiny_project.train()
    subset = [*_installed(*_PINNED), *_installed("shipyard"), "tiny-project==0.1.0"]
    _record_packages(sqlite_sdk, subset)
    found = reproduce("tiny/1", repo=tiny_project.root, fresh_env=True, offline=True)
    assert found.same_hash and found.reproduced, found.differences
    assert found.environment["kind"] == "fresh"
    assert found.environment["installed"] == len(_installed(*_PINNED))
    assert set(found.environment["skipped"]) == {"shipyard", "tiny-project"}
    pinned = {p.split("==")[0] for p in _installed(*_PINNED)}
    assert not [c for c in found.package_changes if c.split()[0] in pinned]  # as recorded
    assert _worktrees(tiny_project.root) == 1


def test_a_pin_that_cannot_be_installed_is_named_and_nothing_is_lost(
    sqlite_sdk: Client, tiny_project: TinyProject
) -> None:
    tiny_project.train()
    _record_packages(sqlite_sdk, [*_installed("numpy"), "no-such-package-shipyard-test==1.0"])
    with pytest.raises(ShipyardError, match=r"no-such-package-shipyard-test==1\.0") as caught:
        reproduce("tiny/1", repo=tiny_project.root, fresh_env=True, offline=True)
    assert caught.value.field == "packages"
    assert "offline" in caught.value.message
    assert _worktrees(tiny_project.root) == 1  # the clean worktree was removed
    assert [v.version for v in shipyard.models.versions("tiny")] == [1]


def test_the_cli_names_the_pin_it_cannot_install_and_exits_1(
    sqlite_sdk: Client, tiny_project: TinyProject
) -> None:
    from typer.testing import CliRunner

    from shipyard.cli import app

    tiny_project.train()
    _record_packages(sqlite_sdk, ["no-such-package-shipyard-test==1.0"])
    argv = ["reproduce", "tiny/1", "--repo", str(tiny_project.root), "--fresh-env", "--offline"]
    done = CliRunner().invoke(app, argv)
    assert done.exit_code == 1
    assert "no-such-package-shipyard-test==1.0" in " ".join(done.output.split())


def test_a_fresh_environment_needs_a_recorded_set_and_refuses_a_malformed_one(
    sqlite_sdk: Client, tiny_project: TinyProject
) -> None:
    tiny_project.train()
    run_id = shipyard.models.get_version("tiny/1").run_id
    assert run_id is not None
    sqlite_sdk.set_tags(run_id, {PACKAGE_SET_TAG: "0" * 64})  # a run from before: hash only
    with pytest.raises(InvalidArgument, match="recorded only the hash") as caught:
        reproduce("tiny/1", repo=tiny_project.root, fresh_env=True)
    assert caught.value.field == "fresh_env"
    _record_packages(sqlite_sdk, ["numpy==2.0", "--index-url=https://example.com/simple"])
    with pytest.raises(InvalidArgument, match="not 'name==version'") as caught:
        reproduce("tiny/1", repo=tiny_project.root, fresh_env=True)
    assert caught.value.field == "packages"
    assert _worktrees(tiny_project.root) == 1


def test_packages_the_record_does_not_name_are_held_at_this_environments_versions() -> None:
    from shipyard.project._fresh_env import _held

    here = dict(p.split("==", 1) for p in package_set())
    held = dict(p.split("==", 1) for p in _held({"numpy": "1.0.0"}, {"tiny-project"}))
    assert "numpy" not in held  # the record's own pin wins
    assert "shipyard" not in held  # installed from the running source
    assert held["duckdb"] == here["duckdb"]  # what Shipyard needs: as it runs here
    assert held.keys() == here.keys() - {"numpy", "shipyard", "tiny-project"}
