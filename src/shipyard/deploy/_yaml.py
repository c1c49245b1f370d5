"""YAML output: block style, keys in the order they were built, one document per object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipyard.deploy._extra import require

_HEADER = "# Rendered by Shipyard (shipyard deploy); edit the settings, then render again.\n"


def dump_one(document: Any) -> str:
    """One YAML document."""
    yaml = require("yaml")
    return str(yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=100))


def dump_all(documents: Sequence[Any]) -> str:
    """Several YAML documents separated by ``---``, under a header saying where they come from."""
    yaml = require("yaml")
    body = yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False, width=100)
    return _HEADER + str(body)
