"""The shell each page address is served: ``static/index.html`` with the page's modules
preloaded.

A page's module imports others (``run.js`` imports ``charts.js``, which imports uPlot), and a
browser only learns of an import once it has fetched and parsed the importer: without hints
the shell, ``app.js``, the page module and each library arrive one after another, a round
trip apiece before the page can ask for its data. The shell of each address therefore names
its page module and everything that module imports statically as ``modulepreload`` links, so
they are fetched together with ``app.js``. The imports are read from the modules themselves,
so a new import needs no list kept by hand.
"""

from __future__ import annotations

import functools
import posixpath
import re
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"

PAGES: dict[str, str] = {
    "/": "experiments",
    "/experiments": "experiments",
    "/experiments/{experiment_id}": "runs",
    "/runs/{run_id}": "run",
    "/compare": "compare",
    "/models": "models",
    "/models/{name}": "model",
    "/models/{name}/{version}": "model_version",
    "/datasets": "datasets",
    "/datasets/{name}": "dataset",
    "/datasets/{name}/{version}": "dataset_version",
    "/lineage": "lineage",
    "/pipelines": "pipelines",
    "/pipelines/{name}": "pipeline",
    "/pipeline-runs/{run_id}": "pipeline_run",
    "/features": "features",
    "/features/{kind}/{name}": "feature",
    "/monitors": "monitors",
    "/monitors/{name}": "monitor",
    "/deployments": "deployments",
    "/settings": "settings",
}
"""Each page address and the module under ``static/js/pages`` that renders it (``app.js``
routes the same addresses to the same modules in the browser)."""

#: A static import: ``import x from "./y.js"``, ``import { a } from "../b.js"``,
#: ``import "./c.js"``; never a dynamic ``import(...)``.
_IMPORT = re.compile(r'^\s*import\s+(?:[^;"]*?\bfrom\s*)?"([^"]+)"', re.MULTILINE)
_ENTRY = "js/app.js"


@functools.cache
def static_imports(module: str) -> tuple[str, ...]:
    """Every module ``module`` (a path under ``static/``, e.g. ``js/pages/run.js``) imports
    statically, directly or through others, as paths under ``static/``, in first-seen order.

    Raises:
        ValueError: for a module outside ``static/`` or an import that leaves it.
    """
    found: list[str] = []
    pending = [_inside(module)]
    while pending:
        current = pending.pop(0)
        source = (STATIC_DIR / current).read_text(encoding="utf-8")
        for target in _IMPORT.findall(source):
            if not target.startswith("."):
                continue  # a bare or absolute specifier is not one of ours
            path = _inside(posixpath.join(posixpath.dirname(current), target))
            if path not in found and path != module:
                found.append(path)
                pending.append(path)
    return tuple(found)


def _inside(path: str) -> str:
    normal = posixpath.normpath(path)
    if normal.startswith(("../", "/")) or normal == "..":
        raise ValueError(f"module {path!r} is outside the UI's static folder")
    return normal


def page_shell(page: str) -> bytes:
    """The shell for the addresses of ``page`` (a module name of ``PAGES``): the static
    shell with the page's module and its static imports preloaded."""
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    module = f"js/pages/{page}.js"
    links = [
        f'  <link rel="modulepreload" href="/static/{path}">\n'
        for path in (module, *static_imports(module))
        if path != _ENTRY and f'href="/static/{path}"' not in template
    ]
    return template.replace("</head>", "".join(links) + "</head>", 1).encode()
