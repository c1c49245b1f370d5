"""docs/deploy.md's `shipyard deploy` commands run as written (the Python examples run in
tests/test_docs.py; the docker, kubectl and terraform steps need a cluster and are not run)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def _deploy_commands() -> list[list[str]]:
    blocks = re.findall(r"^```bash\n(.*?)^```", DOC.read_text(), re.M | re.S)
    lines = [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("shipyard deploy ")]


def test_the_doc_shows_the_deploy_commands():
    names = {tuple(c[:2]) for c in _deploy_commands()}
    assert {("deploy", "stack"), ("deploy", "render"), ("deploy", "settings")} <= names


def test_the_render_and_stack_commands_of_the_doc_run(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in _deploy_commands():
        if command[1] != "settings":  # needs a real `terraform output`
            cli.ok(*command)
    assert (tmp_path / "deploy" / "compose" / "compose.yaml").exists()
