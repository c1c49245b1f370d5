"""Vendor the web UI's third-party browser libraries from npm, pinned by package-lock.json.

Runs ``npm ci`` in a temporary copy of this folder and copies the files the UI loads into
the Python package (``src/shipyard/ui/static/vendor``; axe-core, used only by the browser
tests, into ``tests/ui/vendor``), so users of the wheel never need Node. ``--check`` builds
into a temporary folder instead and fails unless every vendored file is byte-for-byte what
the lock file builds (CI runs it)::

    python ui/vendor.py           # refresh the vendored files after changing package.json
    python ui/vendor.py --check   # CI: the committed files are exactly what the lock builds
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATIC = ROOT / "src/shipyard/ui/static/vendor"
TESTS = ROOT / "tests/ui/vendor"

# (file inside node_modules, where it goes in the repository)
FILES = [
    ("uplot/dist/uPlot.esm.js", STATIC / "uplot/uPlot.esm.js"),
    ("uplot/dist/uPlot.min.css", STATIC / "uplot/uPlot.min.css"),
    ("uplot/LICENSE", STATIC / "uplot/LICENSE"),
    ("cytoscape/dist/cytoscape.esm.min.mjs", STATIC / "cytoscape/cytoscape.esm.min.js"),
    ("cytoscape/LICENSE", STATIC / "cytoscape/LICENSE"),
    ("axe-core/axe.min.js", TESTS / "axe-core/axe.min.js"),
    ("axe-core/LICENSE", TESTS / "axe-core/LICENSE"),
]


def build(workdir: Path) -> Path:
    """``npm ci`` (no install scripts) of the lock file in ``workdir``; its node_modules."""
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(HERE / name, workdir / name)
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("vendor.py: npm is not installed (apt-get install npm)")
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return workdir / "node_modules"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shipyard-ui-") as tmp:
        modules = build(Path(tmp))
        wrong = []
        for source, target in FILES:
            built = modules / source
            if args.check:
                if not target.exists():
                    wrong.append(f"{target.relative_to(ROOT)}: missing")
                elif digest(target) != digest(built):
                    wrong.append(f"{target.relative_to(ROOT)}: differs from {source}")
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(built, target)
                print(f"{target.relative_to(ROOT)}  {digest(target)[:12]}")
    if wrong:
        print("vendored UI files differ from what ui/package-lock.json builds:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in wrong), file=sys.stderr)
        print("run `python ui/vendor.py` and commit the result", file=sys.stderr)
        return 1
    if args.check:
        print(f"{len(FILES)} vendored UI files match ui/package-lock.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
