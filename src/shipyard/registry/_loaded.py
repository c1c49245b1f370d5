"""LoadedModel: one interface for every flavor, with the signature enforced on predict."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.entities import ArtifactInfo
from shipyard.registry._flavors import Predictor
from shipyard.registry._signature import Signature, example_from_json


@dataclass(frozen=True)
class ModelMetadata:
    """Where a loaded model came from and what it needs.

    Attributes:
        ref: The reference it was loaded by (``churn@champion``, ``runs:/...``, a folder).
        flavor: The flavor that loaded it.
        name: The registered model, when it was loaded from the registry.
        version: The version, likewise.
        run_id: The run that produced it, if known.
        python_version: The Python version it was saved with.
        requirements: The pinned requirements to serve it.
        manifest_digest: A sha256 over its files.
        descriptor: The model folder's descriptor.
        files: The model folder's files.
    """

    ref: str
    flavor: str
    name: str | None = None
    version: int | None = None
    run_id: str | None = None
    python_version: str = ""
    requirements: list[str] = field(default_factory=list)
    manifest_digest: str = ""
    descriptor: dict[str, Any] = field(default_factory=dict)
    files: list[ArtifactInfo] = field(default_factory=list)


class LoadedModel:
    """A model ready to score, whatever its flavor.

    ``predict(data)`` checks ``data`` against the signature first (SchemaError naming the
    column on a mismatch; safe casts applied; extra columns dropped with a warning).
    ``predict_proba`` exists when the model has one (``hasattr`` tells). ``model`` is the raw
    object (estimator, booster, ONNX session, custom class instance).
    """

    def __init__(
        self, predictor: Predictor, metadata: ModelMetadata, *, enforce_signature: bool = True
    ) -> None:
        self._predictor = predictor
        self.metadata = metadata
        raw = metadata.descriptor.get("signature")
        self.signature: Signature | None = None if not raw else Signature.from_dict(raw)
        self._enforce = enforce_signature and self.signature is not None

    def __repr__(self) -> str:
        return f"<LoadedModel {self.metadata.ref} flavor={self.metadata.flavor}>"

    @property
    def model(self) -> Any:
        """The underlying model object."""
        return self._predictor.model

    @property
    def input_example(self) -> Any:
        """The stored input example (a DataFrame or an array), if one was saved."""
        return example_from_json(self.metadata.descriptor.get("input_example"))

    def _checked(self, data: Any) -> Any:
        if self._enforce and self.signature is not None:
            return self.signature.enforce(data)
        return data

    def predict(self, data: Any) -> Any:
        """Predictions for ``data`` (a DataFrame, dict of columns, list of records or array)."""
        return self._predictor.predict(self._checked(data))

    @property
    def predict_proba(self) -> Callable[[Any], Any]:
        """Class probabilities, for models that have them (AttributeError otherwise)."""
        proba = self._predictor.predict_proba
        if proba is None:
            raise AttributeError(
                f"{self.metadata.ref} ({self.metadata.flavor}) has no predict_proba"
            )
        return lambda data: proba(self._checked(data))


def metadata_from(
    ref: str, descriptor: Mapping[str, Any], files: list[ArtifactInfo], digest: str, **extra: Any
) -> ModelMetadata:
    """ModelMetadata from a descriptor (values in ``extra`` win)."""
    values: dict[str, Any] = {
        "ref": ref,
        "flavor": str(descriptor.get("flavor", "")),
        "python_version": str(descriptor.get("python_version", "")),
        "requirements": list(descriptor.get("requirements", [])),
        "manifest_digest": digest,
        "descriptor": dict(descriptor),
        "files": files,
    }
    values.update({k: val for k, val in extra.items() if val is not None})
    return ModelMetadata(**values)
