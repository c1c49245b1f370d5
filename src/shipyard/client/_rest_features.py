"""RestStore's feature store: definitions and materialization windows kept by the server."""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.client._features import FeaturesStore
from shipyard.client._http import path_segment
from shipyard.client._rest_base import RestBase
from shipyard.entities import (
    DEFAULT_PROJECT,
    FeatureMaterialization,
    FeatureObject,
    FeatureViewFreshness,
)


class RestFeatures(RestBase, FeaturesStore):
    """Feature definitions and materialization windows, kept by the server."""

    def apply_feature_objects(
        self,
        objects: Sequence[FeatureObject],
        delete: Sequence[tuple[str, str]] = (),
        project: str = DEFAULT_PROJECT,
    ) -> list[FeatureObject]:
        body = {
            "objects": [{"kind": o.kind, "name": o.name, "spec": o.spec} for o in objects],
            "delete": [[kind, name] for kind, name in delete],
            "project": project,
        }
        found = self.http.send("PUT", "/features/objects", json=body)
        return [FeatureObject.from_dict(o) for o in found["objects"]]

    def get_feature_object(self, kind: str, name: str) -> FeatureObject:
        path = f"/features/objects/{path_segment(kind)}/{path_segment(name)}"
        return FeatureObject.from_dict(self.http.send("GET", path))

    def list_feature_objects(
        self, kind: str | None = None, projects: Sequence[str] | None = None
    ) -> list[FeatureObject]:
        params = {"kind": kind, "project": None if projects is None else list(projects)}
        found = self.http.send("GET", "/features/objects", params=params)
        return [FeatureObject.from_dict(o) for o in found["objects"]]

    def record_feature_materialization(
        self, view: str, start: int, end: int, rows: int
    ) -> FeatureMaterialization:
        body = {"start": start, "end": end, "rows": rows}
        path = f"/features/views/{path_segment(view)}/materializations"
        # one record per call: a repeat would record the window twice
        found = self.http.send("POST", path, json=body, idempotent=False)
        return FeatureMaterialization.from_dict(found)

    def list_feature_materializations(
        self, view: str, limit: int = 100
    ) -> list[FeatureMaterialization]:
        path = f"/features/views/{path_segment(view)}/materializations"
        found = self.http.send("GET", path, params={"limit": limit})
        return [FeatureMaterialization.from_dict(m) for m in found["materializations"]]

    def list_feature_view_freshness(
        self, projects: Sequence[str] | None = None
    ) -> list[FeatureViewFreshness]:
        params = {"project": None if projects is None else list(projects)}
        found = self.http.send("GET", "/features/freshness", params=params)
        return [FeatureViewFreshness.from_dict(f) for f in found["views"]]
