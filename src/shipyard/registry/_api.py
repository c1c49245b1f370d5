"""The registry SDK: register, load, alias and promote models.

These functions use the process-wide default client (``shipyard.configure``), so a script
registers into the same home, database and artifact store it tracks runs in.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard import _validation as v
from shipyard.artifacts import room_needed
from shipyard.client import Store, upload_tree
from shipyard.entities import (
    AliasEvent,
    AliasOutcome,
    ArtifactInfo,
    ModelVersion,
    RegisteredModel,
    manifest_digest,
)
from shipyard.errors import Conflict, InvalidArgument
from shipyard.registry._cache import cache_root, fetch_into_cache
from shipyard.registry._flavors import Trust, flavor_named
from shipyard.registry._format import DESCRIPTOR, read_descriptor, save_model
from shipyard.registry._loaded import LoadedModel, metadata_from
from shipyard.registry._refs import DEFAULT_ARTIFACT_PATH, ModelRef, parse_ref, split_version
from shipyard.registry._requirements import pin
from shipyard.registry._signature import Signature
from shipyard.tracking import active_run, current_user, get_client

#: How a string names a local model folder rather than a registered model.
_FOLDER_PREFIXES = ("/", "./", "../", "~", "file://")
#: Descriptor fields kept in their own columns of the version, not in its metadata.
_OWN_COLUMNS = ("signature", "requirements", "python_version", "input_example", "flavor")


def _store() -> Store:
    return get_client().store


@dataclass(frozen=True)
class ModelInfo:
    """A model logged into a run: where it is, and the registered version if one was made.

    Attributes:
        uri: The logged model's URI (``runs:/<run_id>/<artifact_path>``).
        run_id: The run it was logged into.
        artifact_path: Where in the run's artifact tree the model folder is.
        flavor: The flavor it was saved with.
        signature: Its input/output schema, as JSON.
        files: The model folder's files.
        version: The registered version, when one was made.
    """

    uri: str
    run_id: str
    artifact_path: str
    flavor: str
    signature: dict[str, Any] | None
    files: list[ArtifactInfo]
    version: ModelVersion | None = None


# --------------------------------------------------------------------------------------------
# logging and registering


def log_model(
    model: Any,
    artifact_path: str = DEFAULT_ARTIFACT_PATH,
    *,
    registered_model_name: str | None = None,
    signature: Signature | Mapping[str, Any] | None = None,
    input_example: Any = None,
    requirements: Sequence[str] | None = None,
    extra_requirements: Sequence[str] = (),
    flavor: str | None = None,
    trusted: bool | Collection[str] = False,
    config: Mapping[str, Any] | None = None,
    artifacts: Mapping[str, str | Path] | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Save ``model`` into the active run (or ``run_id``) at ``artifact_path``; with
    ``registered_model_name``, also register it as that model's next version.

    Args:
        model: The model object (scikit-learn, XGBoost, LightGBM, ONNX or a ``PythonModel``).
        artifact_path: Where in the run's artifact tree the model folder goes (``"model"``).
        registered_model_name: Also register the logged model as the next version of this
            model (created on its first version); None only logs it.
        signature: As in :func:`register_model`.
        input_example: As in :func:`register_model`.
        requirements: As in :func:`register_model`.
        extra_requirements: As in :func:`register_model`.
        flavor: As in :func:`register_model`.
        trusted: As in :func:`register_model`.
        config: As in :func:`register_model`.
        artifacts: As in :func:`register_model`.
        run_id: The run to log into; by default the active run.

    Returns:
        Where the model was logged (``runs:/<run_id>/<artifact_path>``), its flavor, signature
        and files, and the registered version when ``registered_model_name`` was given.

    Raises:
        Conflict: There is no active run and no ``run_id``.
        InvalidArgument: A bad model name or path, or a model no flavor can save.
    """
    run_id = run_id or _active_run_id()
    if run_id is None:
        raise Conflict(
            "no active run to log the model into: wrap it in `with shipyard.start_run():`, "
            "pass run_id=, or call shipyard.register_model(model, name) directly",
            field="run_id",
        )
    if registered_model_name is not None:
        v.check_model_name(registered_model_name)
    artifact_path = v.check_artifact_path(artifact_path)
    options = _SaveArgs(signature, input_example, requirements, extra_requirements, flavor,
                        trusted, config, artifacts)  # fmt: skip
    store = _store()
    descriptor, files = _save_and_store(store, model, options, run_id, artifact_path)
    uri = f"runs:/{run_id}/{artifact_path}"
    version = None
    if registered_model_name is not None:
        version = _create_version(store, registered_model_name, files, descriptor, run_id, uri)
    return ModelInfo(
        uri, run_id, artifact_path, descriptor["flavor"], descriptor["signature"], files, version
    )


def register_model(
    model: Any,
    name: str,
    *,
    signature: Signature | Mapping[str, Any] | None = None,
    input_example: Any = None,
    description: str = "",
    tags: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    requirements: Sequence[str] | None = None,
    extra_requirements: Sequence[str] = (),
    flavor: str | None = None,
    trusted: bool | Collection[str] = False,
    config: Mapping[str, Any] | None = None,
    artifacts: Mapping[str, str | Path] | None = None,
    run_id: str | None = None,
    artifact_path: str = DEFAULT_ARTIFACT_PATH,
) -> ModelVersion:
    """Register a new version of model ``name`` (created on its first version, in the
    configured project: ``shipyard.configure(project=...)``).

    The version keeps a snapshot of the source run's metrics (plus ``metrics``), the pinned
    requirements and the signature. Nothing is registered when any step fails.

    Args:
        model: What to register: a model object (saved in its flavor's safe format; inside a
            run it is also logged to the run, which becomes the version's source), a logged
            model (``"runs:/<run_id>/model"``), another version (``"models:/churn/3"``) or a
            model folder written by :func:`save_model`.
        name: The registered model's name (letters, digits, ``_ - .``).
        signature: The inputs (and outputs) the model accepts; inferred from
            ``input_example`` when not given. ``predict`` enforces it.
        input_example: A few rows of input, stored with the version (and used to infer the
            signature).
        description: Free text shown with the version.
        tags: Tags of the version (values are stored as text).
        metrics: Metrics added to the snapshot taken from the source run (promotion gates
            compare them: ``metrics.auc``).
        requirements: The pinned requirements, replacing the list captured from the
            installed packages.
        extra_requirements: Requirements added to the captured (or given) list.
        flavor: The flavor to save with (``sklearn``, ``xgboost``, ``lightgbm``, ``onnx``,
            ``pyfunc``); detected from the model when None.
        trusted: ``True`` allows pickle when no safe format can hold the model; a list of
            ``module.Class`` names allows those classes in the safe format.
        config: A ``PythonModel``'s constructor arguments (JSON), for the ``pyfunc`` flavor.
        artifacts: A ``PythonModel``'s files by name, handed to its ``load_context``.
        run_id: The run to log a model object into; by default the active run, if any.
        artifact_path: Where in that run's artifact tree the model folder goes.

    Returns:
        The new version (its number, files, flavor, signature, metrics and requirements).

    Raises:
        InvalidArgument: A bad name, a reference that holds no model, or a model no flavor
            can save.
        NotFound: The run or version the reference names does not exist.
    """
    v.check_model_name(name)
    store = _store()
    if isinstance(model, str) and model.startswith(("runs:/", "models:/")):
        files, descriptor, source_run, source = _existing_model(store, model)
        return _create_version(
            store, name, files, descriptor, source_run, source, description, tags, metrics
        )
    if isinstance(model, str | Path) and Path(model).is_dir():
        descriptor = read_descriptor(Path(model))
        files = upload_tree(store, Path(model))
        return _create_version(
            store, name, files, descriptor, None, str(model), description, tags, metrics
        )
    options = _SaveArgs(signature, input_example, requirements, extra_requirements, flavor,
                        trusted, config, artifacts)  # fmt: skip
    run_id = run_id or _active_run_id()
    path = v.check_artifact_path(artifact_path)
    descriptor, files = _save_and_store(store, model, options, run_id, path)
    source = "" if run_id is None else f"runs:/{run_id}/{path}"
    return _create_version(
        store, name, files, descriptor, run_id, source, description, tags, metrics
    )


@dataclass(frozen=True)
class _SaveArgs:
    signature: Signature | Mapping[str, Any] | None
    input_example: Any
    requirements: Sequence[str] | None
    extra_requirements: Sequence[str]
    flavor: str | None
    trusted: bool | Collection[str]
    config: Mapping[str, Any] | None
    artifacts: Mapping[str, str | Path] | None


def _save_and_store(
    store: Store, model: Any, args: _SaveArgs, run_id: str | None, artifact_path: str
) -> tuple[dict[str, Any], list[ArtifactInfo]]:
    """Save the model to a temporary folder and store its files: into the run's artifact tree
    when there is a run, else as plain blobs. Returns the descriptor and the manifest."""
    with tempfile.TemporaryDirectory(prefix="shipyard-model-") as tmp:
        folder = Path(tmp) / "model"
        with room_needed("saving the model before it is stored"):
            descriptor = save_model(
                model,
                folder,
                flavor=args.flavor,
                signature=args.signature,
                input_example=args.input_example,
                requirements=args.requirements,
                extra_requirements=args.extra_requirements,
                trusted=args.trusted,
                config=args.config,
                artifacts=args.artifacts,
            )
        if run_id is None:
            return descriptor, upload_tree(store, folder)
        logged = store.log_artifact(run_id, folder, artifact_path)
    return descriptor, _relative(logged, artifact_path)


def _active_run_id() -> str | None:
    run = active_run()
    return None if run is None else run.id


def _relative(files: Sequence[ArtifactInfo], prefix: str) -> list[ArtifactInfo]:
    """Run-tree paths made relative to the model folder at ``prefix``."""
    cut = len(prefix.rstrip("/")) + 1
    return [
        ArtifactInfo(f.path[cut:], f.digest, f.size)
        for f in files
        if f.path.startswith(prefix + "/")
    ]


def _read_descriptor_blob(
    store: Store, files: Sequence[ArtifactInfo], label: str
) -> dict[str, Any]:
    entry = next((f for f in files if f.path == DESCRIPTOR), None)
    if entry is None:
        raise InvalidArgument(
            f"{label} is not a logged model (it has no {DESCRIPTOR}); log one with "
            "shipyard.log_model(model) or shipyard.autolog()",
            field="model",
        )
    with tempfile.TemporaryDirectory(prefix="shipyard-descriptor-") as tmp:
        store.download_blob(entry.digest, Path(tmp) / DESCRIPTOR)
        return read_descriptor(Path(tmp))


def _run_model_files(store: Store, run_id: str, path: str) -> list[ArtifactInfo]:
    files = _relative(store.list_artifacts(run_id, path), path)
    if not any(f.path == DESCRIPTOR for f in files):
        raise InvalidArgument(
            f"run {run_id} has no model at {path!r}; log one with shipyard.log_model(model) "
            "inside the run (or shipyard.autolog()), or give the right path: runs:/<id>/<path>",
            field="model",
        )
    return files


def _existing_model(
    store: Store, uri: str
) -> tuple[list[ArtifactInfo], dict[str, Any], str | None, str]:
    """Files, descriptor, source run and source text of a logged model or a version."""
    ref = parse_ref(uri)
    if ref.run_id is not None:
        run = store.get_run(ref.run_id)
        files = _run_model_files(store, run.id, ref.path)
        return files, _read_descriptor_blob(store, files, str(ref)), run.id, str(ref)
    version = resolve(ref)
    descriptor = {
        **version.metadata,
        "flavor": version.flavor,
        "signature": version.signature,
        "requirements": version.requirements,
        "python_version": version.python_version,
    }
    return version.files, descriptor, version.run_id, f"models:/{version.ref}"


def _create_version(
    store: Store,
    name: str,
    files: Sequence[ArtifactInfo],
    descriptor: Mapping[str, Any],
    run_id: str | None,
    source: str,
    description: str = "",
    tags: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
) -> ModelVersion:
    snapshot: dict[str, float] = {}
    if run_id is not None:
        snapshot.update(get_client().get_run(run_id).metrics)
    snapshot.update(metrics or {})
    requirements = descriptor.get("requirements")
    if requirements is None:  # written before requirements were captured
        requirements = (
            pin(["scikit-learn", "numpy", "scipy", "skops"])
            if descriptor.get("format") == "skops"
            else []
        )
    return store.create_model_version(
        name,
        files,
        flavor=str(descriptor["flavor"]),
        source=source,
        run_id=run_id,
        signature=descriptor.get("signature"),
        metrics=snapshot,
        requirements=list(requirements),
        python_version=str(descriptor.get("python_version", "")),
        metadata={k: val for k, val in descriptor.items() if k not in _OWN_COLUMNS},
        description=description,
        tags={k: v.tag_text(k, val) for k, val in (tags or {}).items()},
        created_by=current_user(),
        project=get_client().settings.project,
    )


# --------------------------------------------------------------------------------------------
# reading


def resolve(ref: str | ModelRef, version: int | None = None) -> ModelVersion:
    """The registered version a reference names (``churn/3``, ``churn@champion``,
    ``churn@latest``), or a name plus ``version``."""
    parsed = split_version(ref, version)
    store = _store()
    if parsed.run_id is not None:
        raise InvalidArgument(
            f"{parsed} is a run's model, not a registered version; register it with "
            f"shipyard.register_model({str(parsed)!r}, name)",
            field="model",
        )
    assert parsed.name is not None
    if parsed.alias is not None:
        return store.get_model_version_by_alias(parsed.name, parsed.alias)
    assert parsed.version is not None
    return store.get_model_version(parsed.name, parsed.version)


get_model_version = resolve


def load(
    ref: str | Path,
    *,
    trusted: bool | Collection[str] = False,
    verify: bool = True,
    enforce_signature: bool = True,
) -> LoadedModel:
    """Load a model: ``"churn@champion"``, ``"churn/3"``, ``"churn@latest"``,
    ``"runs:/<run_id>/model"``, or a local model folder (a Path, or a string starting with
    ``/``, ``./``, ``../``, ``~`` or ``file://``).

    The version's files are fetched into the local cache with every sha256 checked (and
    re-checked on each load unless ``verify=False``); a tampered file raises IntegrityError.
    Pickled models need ``trusted=True``; a safe-format model referencing classes outside the
    allow-list needs them listed: ``trusted=["mypackage.MyTransformer"]``.
    """
    trust = Trust.of(trusted)
    if isinstance(ref, Path) or (isinstance(ref, str) and ref.startswith(_FOLDER_PREFIXES)):
        folder = Path(ref.removeprefix("file://") if isinstance(ref, str) else ref).expanduser()
        descriptor = read_descriptor(folder)
        predictor = flavor_named(str(descriptor["flavor"])).load(
            folder, descriptor, trust, str(folder)
        )
        metadata = metadata_from(str(folder), descriptor, [], "")
        return LoadedModel(predictor, metadata, enforce_signature=enforce_signature)
    parsed = parse_ref(ref)
    store = _store()
    extra: dict[str, Any]
    if parsed.run_id is not None:
        files = _run_model_files(store, parsed.run_id, parsed.path)
        label = str(parsed)
        extra = {"run_id": parsed.run_id}
        digest = manifest_digest(files)
    else:
        found = resolve(parsed)
        files, digest = found.files, found.manifest_digest
        label = found.ref + (f" (@{parsed.alias})" if parsed.alias else "")
        extra = {"name": found.name, "version": found.version, "run_id": found.run_id}
    folder = fetch_into_cache(store, files, cache_root(), label, verify=verify)
    descriptor = read_descriptor(folder)
    predictor = flavor_named(str(descriptor["flavor"])).load(folder, descriptor, trust, label)
    metadata = metadata_from(label, descriptor, list(files), digest, **extra)
    return LoadedModel(predictor, metadata, enforce_signature=enforce_signature)


def get_model(name: str) -> RegisteredModel:
    """A registered model with its tags, latest version number and aliases."""
    return _store().get_registered_model(name)


def list_models(name_like: str | None = None, limit: int = 1000) -> list[RegisteredModel]:
    """Registered models by name (``name_like``: a case-insensitive substring)."""
    return _store().list_registered_models(name_like, limit)


def list_model_versions(name: str) -> list[ModelVersion]:
    """Every version of a model, newest first."""
    return _store().list_model_versions(name)


def get_requirements(ref: str, version: int | None = None) -> list[str]:
    """The pinned requirements of a registered version (``churn/3``)."""
    return resolve(ref, version).requirements


# --------------------------------------------------------------------------------------------
# changing


def _version_number(name: str, version: int | str) -> int:
    """A version number, or the number an alias points at (``"challenger"``)."""
    if isinstance(version, str) and not version.isdigit():
        return _store().get_model_version_by_alias(name, version).version
    return v.check_version(int(version))


def set_alias(name: str, alias: str, version: int | str, *, reason: str = "") -> AliasEvent:
    """Point ``alias`` at a version (recorded in the alias history)."""
    number = _version_number(name, version)
    return _store().set_model_alias(name, alias, number, reason=reason, actor=current_user())


def delete_alias(name: str, alias: str, *, reason: str = "") -> AliasEvent:
    """Remove an alias (recorded in the alias history)."""
    return _store().delete_model_alias(name, alias, reason=reason, actor=current_user())


def promote(
    name: str,
    version: int | str,
    to: str = "champion",
    *,
    require: Sequence[str] = (),
    force: bool = False,
    reason: str = "",
    dry_run: bool = False,
    raise_on_reject: bool = True,
) -> AliasEvent:
    """Move alias ``to`` to ``version`` if every rule in ``require`` passes, e.g.
    ``require=["metrics.auc >= champion.metrics.auc", "metrics.auc > 0.8"]``.

    The gates are checked and the alias moved in one transaction; the outcome is recorded in
    the alias history either way.

    Args:
        name: The registered model.
        version: The version number, or an alias whose version is promoted
            (``"challenger"``).
        to: The alias to move.
        require: Promotion gates, each comparing metric snapshots
            (``metrics.auc >= champion.metrics.auc - 0.005``); all must pass.
        force: Move the alias even if a gate fails; the move is recorded as forced.
        reason: Why, recorded in the alias history.
        dry_run: Evaluate the gates and change nothing.
        raise_on_reject: Raise Conflict when a gate fails; False returns the rejected event.

    Returns:
        The alias event: its outcome (moved, rejected), each gate's result, from and to
        versions, actor and reason.

    Raises:
        Conflict: A gate failed (the alias stays where it was), unless ``force``,
            ``dry_run`` or ``raise_on_reject=False``.
        NotFound: The model, version or alias does not exist.
    """
    if isinstance(require, str):
        require = [require]
    number = _version_number(name, version)
    event = _store().set_model_alias(
        name,
        to,
        number,
        requires=list(require),
        force=force,
        reason=reason,
        actor=current_user(),
        dry_run=dry_run,
    )
    if event.outcome == AliasOutcome.REJECTED and raise_on_reject and not dry_run:
        failed = [g for g in event.gates if not g.passed]
        where = f"version {event.from_version}" if event.from_version else "no version"
        raise Conflict(
            f"{name}/{number} failed {len(failed)} of {len(event.gates)} promotion gate(s): "
            + "; ".join(f"{g.rule} ({g.detail})" for g in failed)
            + f"; @{to} still points at {where}; pass "
            "force=True (--force) to promote anyway, recorded as forced",
            field="require",
            event=event.to_dict(),
        )
    return event


def alias_history(name: str, alias: str | None = None, limit: int = 100) -> list[AliasEvent]:
    """The alias history of a model (one alias or all), newest first."""
    return _store().list_alias_events(name, alias, limit)


def update_model(
    name: str, *, description: str | None = None, tags: Mapping[str, Any] | None = None
) -> RegisteredModel:
    """Change a model's description or set tags."""
    return _store().update_registered_model(
        name, description, {k: str(x) for k, x in (tags or {}).items()}
    )


def update_model_version(
    ref: str,
    version: int | None = None,
    *,
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
) -> ModelVersion:
    """Change a version's description, set tags, or record evaluation metrics. Its files
    never change.

    Args:
        ref: The version (``"churn/3"``, ``"churn@champion"``), or a model name with
            ``version``.
        version: The version number when ``ref`` is a bare model name.
        description: The new description; None leaves it.
        tags: Tags to set (values are stored as text).
        metrics: Evaluation metrics merged into the version's metric snapshot, so promotion
            gates such as ``metrics.window_auc > champion.metrics.window_auc`` can compare
            them.

    Returns:
        The updated version.
    """
    found = resolve(ref, version)
    return _store().update_model_version(
        found.name,
        found.version,
        description,
        {k: str(x) for k, x in (tags or {}).items()},
        metrics,
    )


def delete_model(name: str) -> None:
    """Delete a model with every version, alias and its alias history."""
    _store().delete_registered_model(name)


def delete_model_version(ref: str, version: int | None = None) -> None:
    """Delete one version (refused while an alias points at it)."""
    found = resolve(ref, version)
    _store().delete_model_version(found.name, found.version)


def find_version(ref: str) -> ModelVersion:
    """Like :func:`resolve`, but a bare model name means its latest version."""
    if "/" in ref or "@" in ref:
        return resolve(ref)
    return resolve(f"{v.check_model_name(ref)}@latest")
