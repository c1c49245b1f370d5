"""RestStore's feature-store calls: definitions and materialization windows on the server.

Inputs are checked here first with LocalStore's own checks, so a bad name or window fails
before a round trip, with the same message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shipyard.client._http import path_segment
from shipyard.client._local_features import (
    check_feature_name,
    check_kind,
    check_window,
    checked_object,
)
from shipyard.entities import FeatureMaterialization, FeatureObject

if TYPE_CHECKING:
    from shipyard.client._http import Http


class RestFeaturesMixin:
    """Feature definitions and materialization windows, kept by the server."""

    http: Http

    def apply_feature_objects(
        self,
        objects: Sequence[FeatureObject],
        delete: Sequence[tuple[str, str]] = (),
    ) -> list[FeatureObject]:
        """Create or replace definitions and remove ``delete`` in one transaction."""
        clean = [checked_object(o) for o in objects]
        body = {
            "objects": [{"kind": o.kind, "name": o.name, "spec": o.spec} for o in clean],
            "delete": [[check_kind(k), check_feature_name(n, k)] for k, n in delete],
        }
        found = self.http.send("PUT", "/features/objects", json=body)
        return [FeatureObject.from_dict(o) for o in found["objects"]]

    def get_feature_object(self, kind: str, name: str) -> FeatureObject:
        kind_part = path_segment(check_kind(kind))
        path = f"/features/objects/{kind_part}/{path_segment(check_feature_name(name, kind))}"
        return FeatureObject.from_dict(self.http.send("GET", path))

    def list_feature_objects(self, kind: str | None = None) -> list[FeatureObject]:
        params = None if kind is None else {"kind": check_kind(kind)}
        found = self.http.send("GET", "/features/objects", params=params)
        return [FeatureObject.from_dict(o) for o in found["objects"]]

    def record_feature_materialization(
        self, view: str, start: int, end: int, rows: int
    ) -> FeatureMaterialization:
        check_window(view, start, end, rows)
        body = {"start": start, "end": end, "rows": rows}
        found = self.http.send(
            "POST", f"/features/views/{path_segment(view)}/materializations", json=body
        )
        return FeatureMaterialization.from_dict(found)

    def list_feature_materializations(
        self, view: str, limit: int = 100
    ) -> list[FeatureMaterialization]:
        check_feature_name(view, "feature_view")
        path = f"/features/views/{path_segment(view)}/materializations"
        found = self.http.send("GET", path, params={"limit": max(1, limit)})
        return [FeatureMaterialization.from_dict(m) for m in found["materializations"]]
