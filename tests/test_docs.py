"""Every Python example in README.md and docs/*.md runs, so the docs cannot rot.

The blocks of one file run in order as one program, ``python example.py`` in an empty working
directory (so a fresh embedded ``.shipyard`` home), in a process forked from an interpreter
that has imported Shipyard, pandas and scikit-learn already (``warm_python``: the imports are
most of a fresh interpreter's start).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.warm import WarmPython

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(path: Path) -> list[str]:
    """The ```python fenced blocks of a Markdown file."""
    return _BLOCK.findall(path.read_text())


@pytest.mark.parametrize("doc", [d for d in DOCS if python_blocks(d)], ids=lambda p: p.name)
def test_doc_examples_run(doc: Path, tmp_path: Path, warm_python: WarmPython) -> None:
    script = "\n\n".join(python_blocks(doc))
    (tmp_path / "example.py").write_text(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    done = warm_python.run(["example.py"], cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, f"{doc.name} examples failed:\n{done.stderr[-4000:]}"


def test_readme_shows_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "uv run shipyard demo" in text
    assert "uv run --all-extras pytest -n 2" in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert "uv run --all-extras pytest -n 2" in ci and "SHIPYARD_REQUIRE_SERVICES=1" in ci
