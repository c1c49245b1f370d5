"""Two model versions side by side: params, metrics, signature and requirements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipyard.entities import ModelVersion
from shipyard.errors import NotFound
from shipyard.registry._api import find_version
from shipyard.registry._signature import Signature
from shipyard.tracking import get_client


@dataclass(frozen=True)
class DiffRow:
    """One compared value: ``section`` (version, params, metrics, signature, requirements),
    its key, and the value in each version (None when absent)."""

    section: str
    key: str
    a: Any
    b: Any

    @property
    def differs(self) -> bool:
        return repr(self.a) != repr(self.b)


def _params(version: ModelVersion) -> dict[str, str]:
    if version.run_id is None:
        return {}
    try:
        return get_client().store.get_run(version.run_id).params
    except NotFound:  # the source run was purged
        return {}


def _signature(version: ModelVersion) -> dict[str, str]:
    if not version.signature:
        return {}
    signature = Signature.from_dict(version.signature)
    if signature.inputs.tensor is not None:
        return {"input": str(signature.inputs.tensor)}
    return {c.name: str(c).split(": ", 1)[1] for c in signature.inputs.columns or ()}


def _requirements(version: ModelVersion) -> dict[str, str]:
    """Package name -> pinned version (``2.0``) or other specifier (``>=16``)."""
    pins = {}
    for line in version.requirements:
        text = line.strip()
        end = next((i for i, ch in enumerate(text) if ch in "=<>!~;[ @"), len(text))
        spec = text[end:].strip()
        pins[text[:end]] = spec[2:] if spec.startswith("==") else spec or "(any)"
    return pins


def _summary(version: ModelVersion) -> dict[str, Any]:
    return {
        "flavor": version.flavor,
        "run": version.run_id,
        "python": version.python_version,
        "files": len(version.files),
        "content": version.manifest_digest[:12],
    }


def diff_versions(a: str, b: str) -> tuple[ModelVersion, ModelVersion, list[DiffRow]]:
    """Compare two versions (``churn/3``, ``churn@champion``, or a bare name for its latest)."""
    left, right = find_version(a), find_version(b)
    rows: list[DiffRow] = []
    for section, get in (
        ("version", _summary),
        ("params", _params),
        ("metrics", lambda mv: mv.metrics),
        ("signature", _signature),
        ("requirements", _requirements),
    ):
        values_a, values_b = get(left), get(right)
        keys = list(values_a) + [k for k in values_b if k not in values_a]
        if section != "version":
            keys.sort()
        rows.extend(DiffRow(section, k, values_a.get(k), values_b.get(k)) for k in keys)
    return left, right, rows
