"""Environment capture: the pinned packages a model needs, read from installed metadata.

No resolver runs: each flavor names the distributions it needs, the model's own classes add
theirs (a Pipeline holding an XGBoost step needs ``xgboost``), and each name is pinned to the
version installed right now. That takes milliseconds, where inferring requirements by
importing the model in a subprocess (MLflow's default) takes seconds.
"""

from __future__ import annotations

import functools
import platform
import sys
from collections.abc import Iterable
from importlib import metadata

#: Top-level module -> distribution, for modules whose distribution has another name.
_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "skops": "skops",
    "yaml": "pyyaml",
    "PIL": "pillow",
    "cv2": "opencv-python",
    "google": "protobuf",
}
#: Modules that come with Python itself.
_STDLIB = frozenset(sys.stdlib_module_names) | {"builtins", "__main__"}


def python_version() -> str:
    """The running Python version, e.g. ``3.11.9``."""
    return platform.python_version()


@functools.cache
def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def _distribution_of(module: str) -> str | None:
    """The distribution that installs top-level ``module``, or None (stdlib, not installed).

    Tries the direct names first; only an unusual module pays for the full package scan.
    """
    if module in _STDLIB:
        return None
    if module in _DISTRIBUTIONS:
        return _DISTRIBUTIONS[module]
    for candidate in (module, module.replace("_", "-")):
        if installed_version(candidate) is not None:
            return candidate
    found = metadata.packages_distributions().get(module)
    return found[0] if found else None


def distributions_for_modules(modules: Iterable[str]) -> list[str]:
    """Distribution names for the top-level packages of dotted module names."""
    names = []
    for module in modules:
        dist = _distribution_of(module.split(".")[0])
        if dist is not None:
            names.append(dist)
    return names


def pin(distributions: Iterable[str]) -> list[str]:
    """``name==version`` for each installed distribution, sorted and de-duplicated. A name that
    is not installed but whose module another distribution provides is pinned as that one
    (``xgboost`` from the CPU-only ``xgboost-cpu``); otherwise it is kept unpinned."""
    pinned: dict[str, str] = {}
    for wanted in distributions:
        key = wanted.lower()
        if key in pinned:
            continue
        name = wanted
        if installed_version(name) is None:
            name = _distribution_of(name.replace("-", "_")) or name
        version = installed_version(name)
        pinned[key] = f"{name}=={version}" if version else name
    return sorted(pinned.values(), key=str.lower)
