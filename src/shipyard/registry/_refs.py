"""Model references: ``churn/3``, ``churn@champion``, ``churn@latest``, ``runs:/<id>/model``
(and MLflow's ``models:/churn/3`` and ``models:/churn@champion`` spellings)."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard import _validation as v
from shipyard.errors import InvalidArgument

DEFAULT_ARTIFACT_PATH = "model"


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: a registered version (``version`` or ``alias``) or a run's model."""

    name: str | None = None
    version: int | None = None
    alias: str | None = None
    run_id: str | None = None
    path: str = DEFAULT_ARTIFACT_PATH

    def __str__(self) -> str:
        if self.run_id is not None:
            return f"runs:/{self.run_id}/{self.path}"
        return f"{self.name}@{self.alias}" if self.alias else f"{self.name}/{self.version}"


def _bad(text: str) -> InvalidArgument:
    return InvalidArgument(
        f"{text!r} is not a model reference; write name/version (churn/3), name@alias "
        "(churn@champion, churn@latest) or runs:/<run_id>/<path>",
        field="model",
    )


def parse_ref(text: str) -> ModelRef:
    """Parse a reference, or InvalidArgument showing the accepted forms."""
    if not isinstance(text, str) or not text.strip():
        raise _bad(str(text))
    text = text.strip()
    if text.startswith("runs:/"):
        run_id, _, path = text[len("runs:/") :].strip("/").partition("/")
        if not run_id:
            raise _bad(text)
        return ModelRef(run_id=run_id, path=v.check_artifact_path(path or DEFAULT_ARTIFACT_PATH))
    body = text[len("models:/") :] if text.startswith("models:/") else text
    if "@" in body:
        name, _, alias = body.partition("@")
        return ModelRef(name=v.check_model_name(name), alias=v.check_alias(alias, settable=False))
    name, sep, number = body.rpartition("/")
    if not sep or not number.isdigit() or int(number) < 1:
        if not sep and body and "/" not in body:
            raise InvalidArgument(
                f"say which version of {body!r} you mean: {body}/<version>, {body}@<alias> or "
                f"{body}@latest",
                field="model",
            )
        raise _bad(text)
    return ModelRef(name=v.check_model_name(name), version=int(number))


def split_version(ref: str | ModelRef, version: int | None) -> ModelRef:
    """A reference from either ``ref`` alone (``churn/3``) or a name plus ``version``."""
    if isinstance(ref, ModelRef):
        return ref
    if version is not None:
        return ModelRef(name=v.check_model_name(ref), version=v.check_version(version))
    return parse_ref(ref)
