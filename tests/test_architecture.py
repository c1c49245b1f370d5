"""Architecture rules checked on the real source: the import layers (import-linter) and the
privacy rule that a leading underscore means private to its package."""

from __future__ import annotations

import ast
import shutil
import subprocess
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
    package = tmp_path / "shipyard"
    (package / "area").mkdir(parents=True)
    (package / "other").mkdir()
    (package / "area" / "__init__.py").write_text("from shipyard.area._impl import thing\n")
    (package / "other" / "__init__.py").write_text(
        "import shipyard.area._impl\n"
        "from shipyard.area._impl import thing\n"
        "from shipyard.area import _impl\n"
        "from shipyard.area import _hidden_name\n"
        "def lazy():\n    from shipyard.area._impl import thing\n"
        "from shipyard.area import public\n"
        "from shipyard import _validation\n"
    )
    found = private_imports(package)
    assert [line.rsplit(": ", 1)[1] for line in found] == [
        "shipyard.area._impl",
        "shipyard.area._impl.thing",
        "shipyard.area._impl",
        "shipyard.area._hidden_name",
        "shipyard.area._impl.thing",
    ]
