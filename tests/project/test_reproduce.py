"""`shipyard reproduce`: the demo's champion, trained by its pipeline inside a git
repository, is rebuilt at its recorded commit, data and params to the same manifest hash;
a model that no pipeline trained is refused by name."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import shipyard
from shipyard.errors import InvalidArgument
from shipyard.project import reproduce
from shipyard.tracking import Client


def _repository(folder: Path) -> Path:
    folder.mkdir()
    (folder / "README.md").write_text("a project that trains the demo model\n")
    (folder / ".gitignore").write_text(".shipyard/\n")
    for argv in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one"],
    ):
        subprocess.run(argv, cwd=folder, check=True, capture_output=True)
    return folder


@pytest.mark.slow
def test_the_demo_champion_reproduces_to_the_same_hash(
    tmp_path: Path, sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard.demo import DATASET, DEMO_MODEL, training
    from shipyard.demo._data import register_dataset

    repo = _repository(tmp_path / "repo")
    monkeypatch.chdir(repo)  # the runs record this repository's commit
    register_dataset()
    assert training.run().output("register")["outcome"] == "moved"
    champion = shipyard.models.get_version(f"{DEMO_MODEL}@champion")
    found = reproduce(f"model:{DEMO_MODEL}@champion", repo=repo)
    assert found.same_hash, found.differences
    assert found.reproduced
    assert found.original_hash == champion.manifest_digest == found.new_hash
    assert found.pipeline["ref"] == "shipyard.demo._training:training"
    assert found.datasets == [f"{DATASET}@1"]
    assert found.packages_match and len(found.commit) == 40
    assert found.metrics["val_auc"][0] == found.metrics["val_auc"][1]
    listed = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert len(listed.stdout.strip().splitlines()) == 1  # the clean worktree was removed
    assert shipyard.models.get_version(f"{DEMO_MODEL}@champion").version == champion.version


def test_a_model_no_pipeline_trained_is_refused(tmp_path: Path, sqlite_sdk: Client) -> None:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with shipyard.start_run(experiment="by-hand") as run:
        shipyard.registry.log_model(model, "model")
    shipyard.registry.register_model(f"runs:/{run.id}/model", "by-hand")
    with pytest.raises(InvalidArgument, match="not trained by a pipeline") as caught:
        reproduce("by-hand/1", repo=tmp_path)
    assert caught.value.field == "ref"
