"""``shipyard check``: the project's feature definitions and pipelines load and build.

What to load is read from ``[tool.shipyard]`` in the project's ``pyproject.toml``
(``features = "src/pkg/features.py"``, ``pipelines = ["pkg.pipelines:training"]``); without
it, a ``features.py`` in the project folder is checked. Each pipeline is built with its
default parameters, which runs the pipeline function (not its steps) and so checks the step
calls, their arguments and their data contracts. Nothing is written to the store. It is the
pre-commit hook of a project made by ``shipyard init``.
"""

from __future__ import annotations

import sys
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgument, ShipyardError


@dataclass(frozen=True)
class Finding:
    """One thing checked: ``kind`` (``features``, ``pipeline``), what, and the outcome."""

    kind: str
    target: str
    ok: bool
    detail: str


@dataclass
class CheckReport:
    """Everything ``shipyard check`` looked at; ``ok`` when nothing failed."""

    root: Path
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.findings) and all(f.ok for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "ok": self.ok,
            "findings": [f.__dict__ for f in self.findings],
        }


def project_config(root: Path) -> dict[str, Any]:
    """The ``[tool.shipyard]`` table of ``root/pyproject.toml`` ({} when there is none).

    Raises:
        InvalidArgument: The file is not valid TOML, or the table has the wrong types.
    """
    file = root / "pyproject.toml"
    if not file.is_file():
        return {}
    try:
        table = tomllib.loads(file.read_text()).get("tool", {}).get("shipyard", {})
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(f"{file} is not valid TOML: {exc}", field="pyproject") from None
    features = table.get("features")
    pipelines = table.get("pipelines", [])
    if features is not None and not isinstance(features, str):
        raise InvalidArgument(
            "[tool.shipyard] features must be a path", field="tool.shipyard.features"
        )
    if not isinstance(pipelines, list) or not all(isinstance(p, str) for p in pipelines):
        raise InvalidArgument(
            "[tool.shipyard] pipelines must be a list of 'module:function' references",
            field="tool.shipyard.pipelines",
        )
    return dict(table)


def check_project(path: str | Path = ".") -> CheckReport:
    """Load the feature definitions and build every pipeline of the project at ``path``.

    Returns:
        What was checked and how each went (a failure keeps the last line of its error).

    Raises:
        InvalidArgument: ``path`` is not a folder, or its ``[tool.shipyard]`` is malformed.
    """
    root = Path(path).resolve()
    if not root.is_dir():
        raise InvalidArgument(f"{path} is not a folder", field="path")
    config = project_config(root)
    for folder in (root / "src", root):
        if folder.is_dir() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    report = CheckReport(root)
    features = config.get("features")
    if features is not None or (root / "features.py").is_file():
        report.findings.append(_check_features(root / (features or "features.py")))
    for ref in config.get("pipelines", []):
        report.findings.append(_check_pipeline(ref))
    return report


def _failure(exc: BaseException) -> str:
    if isinstance(exc, ShipyardError):
        return exc.message
    return "".join(traceback.format_exception_only(exc)).strip().splitlines()[-1]


def _check_features(file: Path) -> Finding:
    from shipyard import features as fs

    try:
        definitions = fs.load_definitions(file)
    except Exception as exc:
        return Finding("features", str(file), False, _failure(exc))
    kinds: dict[str, int] = {}
    for item in definitions:
        kinds[type(item).__name__] = kinds.get(type(item).__name__, 0) + 1
    if not definitions:
        return Finding("features", str(file), False, "no Entity, FeatureView or FeatureService")
    counted = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    return Finding("features", str(file), True, counted)


def _check_pipeline(ref: str) -> Finding:
    from shipyard.pipelines import load_pipeline

    try:
        plan = load_pipeline(ref).build()
    except Exception as exc:
        return Finding("pipeline", ref, False, _failure(exc))
    return Finding("pipeline", ref, True, f"{len(plan.order)} steps: {' -> '.join(plan.order)}")
