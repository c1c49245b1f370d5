"""Fixtures of the pipeline tests: the step-cache exploit of issue 14, ready to plant, and a
project whose pipeline module a test edits between runs."""

from __future__ import annotations

import importlib
import json
import pickle
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shipyard.client import Store
from shipyard.entities import ArtifactInfo, manifest_digest


class _Payload:
    """What an attacker uploads: unpickling it runs ``code`` (here: writes a marker file)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
        return exec, (self.code,)


@dataclass
class Exploit:
    """Points a step run's recorded outputs at a blob the run never produced, as someone
    with write access to step runs can (``PATCH /api/v1/step-runs/{id}``); ``marker`` is
    the file the payload writes if it ever runs, wherever it runs."""

    marker: Path

    def _code(self) -> str:
        return f"open({str(self.marker)!r}, 'w').write('pwned')"

    def _put(self, store: Store, payload: bytes) -> str:
        path = self.marker.with_name(f"upload-{len(payload)}")
        path.write_bytes(payload)
        return store.put_blob(path)

    def pickle_ref(self, store: Store) -> dict[str, Any]:
        """An output reference to the malicious pickle, as an attacker writes it."""
        digest = self._put(store, pickle.dumps(_Payload(self._code())))
        return {"type": "pickle", "hash": digest, "digest": digest}

    def model_ref(self, store: Store) -> dict[str, Any]:
        """A custom-model output whose descriptor names a module that writes the marker
        when imported (the module is on ``sys.path``, as an installed package would be)."""
        module = self.marker.parent / "sidecar_payload.py"
        module.write_text(
            f"{self._code()}\nclass Model:\n    def predict(self, x):\n        return x\n"
        )
        descriptor = {"shipyard_model": 1, "flavor": "pyfunc", "format": "pyfunc",
                      "class": "sidecar_payload:Model", "config": {}, "artifacts": {}}  # fmt: skip
        payload = json.dumps(descriptor).encode()
        files = [ArtifactInfo("shipyard-model.json", self._put(store, payload), len(payload))]
        return {
            "type": "model",
            "hash": manifest_digest(files),
            "flavor": "pyfunc",
            "files": [f.to_dict() for f in files],
        }

    def plant(self, store: Store, step_run_id: str, ref: dict[str, Any]) -> None:
        """Replace the step run's outputs with ``ref``."""
        store.update_step_run(step_run_id, outputs=[ref])

    @property
    def ran(self) -> bool:
        return self.marker.exists()


@pytest.fixture
def exploit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Exploit:
    """The attacker's payloads; their marker lives outside every working directory."""
    folder = tmp_path / "attacker"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return Exploit(folder / "pwned.marker")


#: A project's pipeline module: one step using two helpers and a constant of its module.
_PIPES = """
from shipyard.pipelines import pipeline, step

LIMIT = {limit}


def clean_rows(rows: list[int]) -> list[int]:
    return [r for r in rows if {clean}]


def scale(rows: list[int]) -> list[int]:
    return [r * {factor} for r in rows]


@step
def prepared(n: int) -> list[int]:
    return {body}


@pipeline(name="training")
def training(n: int = 6) -> None:
    prepared(n)
"""
_DEFAULTS = {
    "limit": "4",
    "clean": "r % 2 == 0",
    "factor": "10",
    "body": "scale(clean_rows(list(range(n))))[:LIMIT]",
}


@dataclass
class EditableProject:
    """A project folder (the working directory) with ``src/<package>/pipes.py``."""

    root: Path
    package: str

    @property
    def path(self) -> str:
        """The pipeline module's path, as the project names it."""
        return f"src/{self.package}/pipes.py"

    def load(self, **edits: str) -> ModuleType:
        """Write the module with ``edits`` to its defaults (limit, clean, factor, body) and
        import it afresh."""
        file = self.root / self.path
        file.parent.mkdir(parents=True, exist_ok=True)
        (file.parent / "__init__.py").touch()
        file.write_text(_PIPES.format(**{**_DEFAULTS, **edits}))
        importlib.invalidate_caches()
        name = f"{self.package}.pipes"
        if name in sys.modules:
            return importlib.reload(sys.modules[name])
        return importlib.import_module(name)


@pytest.fixture
def editable_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EditableProject]:
    """A project in the working directory whose pipeline module the test edits (written
    without bytecode, so each edit is what runs); its package is named after the test."""
    package = "proj_" + re.sub(r"\W", "_", tmp_path.name)
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root / "src"))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield EditableProject(root, package)
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[name]
