"""LocalStore's feature store: definitions and materialization windows in the metadata
database."""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.client._features import FeaturesStore
from shipyard.client._local_base import LocalBase
from shipyard.entities import (
    DEFAULT_PROJECT,
    FeatureMaterialization,
    FeatureObject,
    FeatureViewFreshness,
)
from shipyard.store import features_db


class LocalFeatures(LocalBase, FeaturesStore):
    """Feature definitions and materialization windows over the metadata database."""

    def apply_feature_objects(
        self,
        objects: Sequence[FeatureObject],
        delete: Sequence[tuple[str, str]] = (),
        project: str = DEFAULT_PROJECT,
    ) -> list[FeatureObject]:
        with self._write() as conn:
            features_db.delete_objects(conn, delete)
            features_db.put_objects(conn, objects, self._now(), project)
            return [features_db.get_object(conn, o.kind, o.name) for o in objects]

    def get_feature_object(self, kind: str, name: str) -> FeatureObject:
        return self._read(lambda c: features_db.get_object(c, kind, name))

    def list_feature_objects(
        self, kind: str | None = None, projects: Sequence[str] | None = None
    ) -> list[FeatureObject]:
        return self._read(lambda c: features_db.list_objects(c, kind, projects))

    def record_feature_materialization(
        self, view: str, start: int, end: int, rows: int
    ) -> FeatureMaterialization:
        with self._write() as conn:
            return features_db.record_materialization(conn, view, start, end, rows, self._now())

    def list_feature_materializations(
        self, view: str, limit: int = 100
    ) -> list[FeatureMaterialization]:
        return self._read(lambda c: features_db.list_materializations(c, view, limit))

    def list_feature_view_freshness(
        self, projects: Sequence[str] | None = None
    ) -> list[FeatureViewFreshness]:
        return self._read(lambda c: features_db.view_freshness(c, projects))
