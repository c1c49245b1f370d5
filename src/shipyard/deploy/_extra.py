"""Imports of the ``deploy`` extra's libraries, with an error that says how to install them."""

from __future__ import annotations

import importlib
from types import ModuleType

from shipyard.errors import ConfigError


def require(module: str) -> ModuleType:
    """Import ``module`` (PyYAML, grafana-foundation-sdk) or say which extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"rendering deployment files needs {module.split('.')[0]}: "
            "pip install 'shipyard[deploy]'",
            field="deploy",
        ) from None
