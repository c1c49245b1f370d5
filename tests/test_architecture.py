"""Architecture rules checked on the real source: the import layers (import-linter) and the
privacy rule that a leading underscore means private to its package."""

from __future__ import annotations

import ast
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "shipyard"


def test_import_layers_are_kept() -> None:
    """The layers of docs/architecture.md hold: each package imports only the layers below
    it, and nothing below the CLI imports the CLI or the server."""
    lint_imports = shutil.which("lint-imports")
    if lint_imports is None:
        pytest.fail("lint-imports is missing: install the dev extra (uv sync --all-extras)")
    done = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _module_name(path: Path, source: Path) -> str:
    parts = path.relative_to(source.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST, module: str) -> Iterator[tuple[int, str]]:
    """Every ``shipyard...`` name a module imports, dotted in full (``shipyard.a._b.c``)."""
    package = module if module.count(".") == 0 else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> text) under ``root``; returns ``root``."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _names(found: list[str]) -> list[str]:
    """The imported names of ``file:line: name`` findings."""
    return [line.rsplit(": ", 1)[1] for line in found]


def private_imports(source: Path = SOURCE) -> list[str]:
    """``file:line: name`` for each import of a private name (a part after ``shipyard.X``
    that starts with ``_``) from outside package ``shipyard.X``."""
    found = []
    for path in sorted(source.rglob("*.py")):
        module = _module_name(path, source)
        own = module.split(".")[:2]  # ["shipyard", "<package>"]
        for line, name in _imported(ast.parse(path.read_text()), module):
            parts = name.split(".")
            if parts[0] != "shipyard" or len(parts) < 3:
                continue  # not ours, or a name of the root package (shipyard._validation)
            if not any(part.startswith("_") for part in parts[2:]):
                continue
            if parts[:2] != own:
                found.append(f"{path.relative_to(source.parent)}:{line}: {name}")
    return found


def test_private_modules_and_names_stay_inside_their_package() -> None:
    """``shipyard.X._y`` (a module or a name) is imported only from inside ``shipyard.X``:
    what another package needs, ``shipyard.X`` exports from its ``__init__``."""
    assert private_imports() == []


def test_the_privacy_check_sees_every_import_form(tmp_path: Path) -> None:
    """The rule above can fail: each import form of another package's private part is caught,
    and imports inside the package itself are not."""
    package = _tree(
        tmp_path / "shipyard",
        {
            "area/__init__.py": "from shipyard.area._impl import thing\n",
            "other/__init__.py": "import shipyard.area._impl\n"
            "from shipyard.area._impl import thing\n"
            "from shipyard.area import _impl\n"
            "from shipyard.area import _hidden_name\n"
            "def lazy():\n    from shipyard.area._impl import thing\n"
            "from shipyard.area import public\n"
            "from shipyard import _validation\n",
        },
    )
    assert _names(private_imports(package)) == [
        "shipyard.area._impl",
        "shipyard.area._impl.thing",
        "shipyard.area._impl",
        "shipyard.area._hidden_name",
        "shipyard.area._impl.thing",
    ]


# ---------------------------------------------------------------------------- the layers


def contract_layers(pyproject: Path = ROOT / "pyproject.toml") -> list[list[str]]:
    """The layers of the import-linter contract, top first, each as its module names without
    the ``shipyard.`` prefix."""
    config = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in config if c["type"] == "layers")
    return [[m.strip().removeprefix("shipyard.") for m in layer.split("|")] for layer in layers]


def top_level_modules(source: Path = SOURCE) -> set[str]:
    """The packages and top-level modules of ``shipyard`` (``__main__``, the entry point
    ``python -m shipyard`` runs, is in no layer: nothing imports it)."""
    packages = {p.parent.name for p in source.glob("*/__init__.py")}
    modules = {p.stem for p in source.glob("*.py")} - {"__init__", "__main__"}
    return packages | modules


def test_every_package_and_module_is_in_exactly_one_layer() -> None:
    placed = [m for layer in contract_layers() for m in layer]
    assert sorted(placed) == sorted(set(placed)), "a module is in two layers"
    assert set(placed) == top_level_modules()


def documented_layers(markdown: str) -> list[list[str]]:
    """The layers of the code block after "Imports go one way" in docs/development.md:
    ``a -> b | c -> ...``, top first."""
    block = markdown.split("Imports go one way", 1)[1].split("```", 2)[1]
    return [[m.strip() for m in layer.split("|")] for layer in " ".join(block.split()).split("->")]


def test_development_md_lists_the_layers_of_the_contract() -> None:
    text = (ROOT / "docs" / "development.md").read_text()
    assert documented_layers(text) == contract_layers()


def _short(name: str) -> str:
    """``shipyard.lineage`` or ``.lineage`` as ``lineage``."""
    return name.strip().removeprefix("shipyard").removeprefix(".")


def test_architecture_md_lists_the_layers_of_the_contract() -> None:
    """Its layer diagram has a line per layer, top first, starting with the layer's modules
    (``shipyard.pipelines | .lineage``); indented lines describe them."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("## Layers", 1)[1].split("```", 2)[1]
    lines = [line for line in block.splitlines() if line.startswith("shipyard")]
    rows = [[_short(m) for m in line.split("  ")[0].split("|")] for line in lines]
    assert rows == contract_layers()


# ---------------------------------------------------------------------------- the tests


TESTS = ROOT / "tests"


def test_each_test_folder_is_named_for_the_package_it_tests() -> None:
    """tests/<area>/ mirrors src/shipyard/<area>/; ``support`` holds the shared plugins,
    ``faults`` the proofs that cross every area (a database, object store or disk failing
    under the whole stack, docs/reliability.md) and ``mlflow`` MLflow's own client against
    the server, the model server and the importer (docs/mlflow.md)."""
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    packages = {p.parent.name for p in SOURCE.glob("*/__init__.py")}
    assert folders - {"support", "faults", "mlflow"} <= packages


def imports_of_test_modules(tests: Path = TESTS) -> list[str]:
    """``file:line: name`` for each import of a test module (``test_*``) by another module
    of the suite: what tests share is a fixture (a conftest or a tests/support plugin) or a
    helper module, never another test module."""
    found = []
    for path in sorted(tests.rglob("*.py")):
        module = _module_name(path, tests)
        for line, name in _imported(ast.parse(path.read_text()), module):
            if name.split(".")[0] == "tests" and any(
                part.startswith("test_") for part in name.split(".")[1:]
            ):
                found.append(f"{path.relative_to(tests.parent)}:{line}: {name}")
    return found


def test_no_test_module_imports_another() -> None:
    assert imports_of_test_modules() == []


def test_the_test_import_check_sees_an_import_of_a_test_module(tmp_path: Path) -> None:
    suite = _tree(
        tmp_path / "tests",
        {
            "area/test_one.py": "def helper():\n    return 1\n",
            "area/steps.py": "",
            "area/test_two.py": "from tests.area.test_one import helper\n"
            "from tests.area import test_one\n"
            "import tests.area.test_one\n"
            "from tests.area import steps\n"
            "from .test_one import helper as again\n",
        },
    )
    assert _names(imports_of_test_modules(suite)) == [
        "tests.area.test_one.helper",
        "tests.area.test_one",
        "tests.area.test_one",
        "tests.area.test_one.helper",
    ]
