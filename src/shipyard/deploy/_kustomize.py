"""Kustomize bases and overlays of the team stack, and the same overlays rendered in Python.

``write_kustomize(stack, folder)`` writes::

    base/kustomization.yaml     the server and the scheduler (see ``_k8s``)
    base/server.yaml, base/scheduler.yaml
    models/<name>/              one folder per model server (``model-churn-champion``)
    overlays/dev/               namespace shipyard-dev, one server replica
    overlays/prod/              namespace shipyard, three replicas, larger server limits

``kubectl kustomize overlays/prod`` renders an overlay on a machine that has kubectl;
``render_overlay`` applies the same (small) set of transformations in Python, so the result
can be validated where kubectl is missing, and a test checks that both agree.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.deploy._k8s import (
    Manifest,
    model_manifests,
    scheduler_manifests,
    server_manifests,
)
from shipyard.deploy._settings import ModelDeployment, Resources, StackSettings, check_dns_label
from shipyard.deploy._yaml import dump_all, dump_one


@dataclass(frozen=True)
class Overlay:
    """What an environment changes in the base: namespace, server replicas, limits."""

    name: str
    namespace: str
    server_replicas: int
    server_resources: Resources | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_dns_label(self.name, "overlay")
        check_dns_label(self.namespace, "namespace")


OVERLAYS = (
    Overlay("dev", "shipyard-dev", 1, labels={"environment": "dev"}),
    Overlay(
        "prod",
        "shipyard",
        3,
        Resources("1", "2Gi", "2", "4Gi"),
        labels={"environment": "prod"},
    ),
)


def base_manifests(stack: StackSettings) -> dict[str, list[Manifest]]:
    """The base's files and their objects."""
    return {"server.yaml": server_manifests(stack), "scheduler.yaml": scheduler_manifests(stack)}


def _resources_patch(stack: StackSettings, resources: Resources) -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": stack.server_name},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "server", "resources": resources.as_k8s()}]}
            }
        },
    }


def _kustomization(resources: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }


def overlay_kustomization(
    stack: StackSettings, overlay: Overlay, models: Sequence[ModelDeployment] = ()
) -> dict[str, Any]:
    """The ``kustomization.yaml`` of an overlay (and the patch files it names)."""
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": overlay.namespace,
        "resources": ["../../base", *(f"../../models/{m.app_name}" for m in models)],
        "replicas": [{"name": stack.server_name, "count": overlay.server_replicas}],
    }
    if overlay.labels:
        kustomization["labels"] = [{"pairs": dict(overlay.labels), "includeSelectors": False}]
    if overlay.server_resources:
        kustomization["patches"] = [{"path": "server-resources.yaml"}]
    return kustomization


def write_kustomize(
    stack: StackSettings, folder: str | Path, models: Sequence[ModelDeployment] = ()
) -> Path:
    """Write the base, a folder per model server and the dev and prod overlays (which
    include the models) under ``folder``. Returns the folder."""
    root = Path(folder)
    base = root / "base"
    base.mkdir(parents=True, exist_ok=True)
    files = base_manifests(stack)
    for name, manifests in files.items():
        (base / name).write_text(dump_all(manifests))
    (base / "kustomization.yaml").write_text(dump_one(_kustomization(list(files))))
    for model in models:
        target = root / "models" / model.app_name
        target.mkdir(parents=True, exist_ok=True)
        (target / "model.yaml").write_text(dump_all(model_manifests(stack, model)))
        (target / "kustomization.yaml").write_text(dump_one(_kustomization(["model.yaml"])))
    for overlay in OVERLAYS:
        target = root / "overlays" / overlay.name
        target.mkdir(parents=True, exist_ok=True)
        kustomization = overlay_kustomization(stack, overlay, models)
        (target / "kustomization.yaml").write_text(dump_one(kustomization))
        if overlay.server_resources:
            patch = _resources_patch(stack, overlay.server_resources)
            (target / "server-resources.yaml").write_text(dump_one(patch))
    return root


def render_overlay(
    stack: StackSettings, overlay: Overlay, models: Sequence[ModelDeployment] = ()
) -> list[Manifest]:
    """The objects ``kubectl kustomize overlays/<name>`` prints, computed here."""
    out: list[Manifest] = []
    groups = [*base_manifests(stack).values(), *(model_manifests(stack, m) for m in models)]
    for manifests in groups:
        for original in manifests:
            manifest = copy.deepcopy(original)
            meta = manifest["metadata"]
            meta["namespace"] = overlay.namespace
            meta.setdefault("labels", {}).update(overlay.labels)
            if manifest["kind"] == "Deployment" and meta["name"] == stack.server_name:
                manifest["spec"]["replicas"] = overlay.server_replicas
                if overlay.server_resources:
                    patch = _resources_patch(stack, overlay.server_resources)
                    strategic_merge(manifest, patch)
            out.append(manifest)
    return out


def strategic_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Merge ``patch`` into ``target`` the way Kustomize merges a strategic patch for the
    fields used here: maps merge key by key, lists of named items merge by ``name``."""
    for key, value in patch.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            strategic_merge(current, value)
        elif isinstance(value, list) and isinstance(current, list) and _named(value + current):
            by_name = {item["name"]: item for item in current}
            for item in value:
                if item["name"] in by_name:
                    strategic_merge(by_name[item["name"]], item)
                else:
                    current.append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)
