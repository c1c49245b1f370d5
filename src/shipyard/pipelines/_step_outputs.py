"""Storing step outputs by type, and loading them back for downstream steps.

=====================  ===========================================  =====================
returned               stored as                                    content hash
=====================  ===========================================  =====================
pandas DataFrame,      a dataset version (canonical Parquet),       the version's hash
PyArrow Table          named ``<pipeline>.<step>[.<output>]``
numpy ndarray          an ``.npy`` blob (never pickled objects)     the blob's sha256
dict, list, str,       JSON (inline when small, else a blob)        sha256 of canonical
number, bool, None                                                  JSON
a model (scikit-learn, the registry flavor's safe format,      the manifest's
XGBoost, LightGBM,     one blob per file (no pickle)                digest
ONNX, PythonModel)
anything else          refused, unless the step (or its pipeline)   the blob's sha256
                       sets ``trusted_pickle=True`` (then a pickle)
=====================  ===========================================  =====================

Other kinds plug in with :func:`register_materializer`; their ``load`` gets references read
back from the store, so it must treat them as untrusted input. Loading a pickle, or a model
with trust, needs the loading run to vouch for the output's content hash (``_trust``), and
the bytes read are checked against that hash before anything is built from them.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.client import Store
from shipyard.errors import IntegrityError, InvalidArgument, PermissionDenied
from shipyard.pipelines._hashing import canonical_json

INLINE_JSON_BYTES = 4096


class OutputTypeError(InvalidArgument):
    """A step returned a value Shipyard will not store (retrying cannot help)."""


@dataclass(frozen=True)
class Materializer:
    """How one kind of value is stored (``save``) and read back (``load``)."""

    kind: str
    accepts: Callable[[Any], bool]
    save: Callable[[Any, Store, str], dict[str, Any]]
    load: Callable[[dict[str, Any], Store], Any]


#: Materializers added with register_materializer, tried before the built-in ones.
_custom: list[Materializer] = []


def register_materializer(materializer: Materializer, *, first: bool = True) -> None:
    """Add a way to store step outputs (checked before the built-in ones by default)."""
    if first:
        _custom.insert(0, materializer)
    else:
        _custom.append(materializer)


def _is(obj: Any, module: str, name: str) -> bool:
    cls = type(obj)
    return cls.__module__.split(".")[0] == module and cls.__name__ == name


def _put_bytes(store: Store, payload: bytes) -> str:
    with tempfile.TemporaryDirectory(prefix="shipyard-out-") as tmp:
        path = Path(tmp) / "blob"
        path.write_bytes(payload)
        return store.put_blob(path)


# ----------------------------------------------------------------------------- frames


def _save_frame(value: Any, store: Store, dataset: str) -> dict[str, Any]:
    from shipyard.data import register

    version = register(dataset, value, store=store, lineage=False)  # the engine links it
    return {
        "type": "dataframe" if _is(value, "pandas", "DataFrame") else "arrow",
        "hash": version.content_hash,
        "dataset_version_id": version.id,
        "ref": version.ref,
    }


def _load_frame(ref: dict[str, Any], store: Store) -> Any:
    from shipyard.data import read_file

    path = store.fetch_blob(ref["hash"])
    return read_file(path, "arrow" if ref["type"] == "arrow" else ref.get("as", "pandas"))


# ----------------------------------------------------------------------------- arrays


def _save_array(value: Any, store: Store, dataset: str) -> dict[str, Any]:
    import numpy as np

    if value.dtype.hasobject:
        raise OutputTypeError(
            "a numpy array of Python objects cannot be stored safely; convert it to a "
            "numeric/string dtype, or return a DataFrame",
            field="output",
        )
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(value), allow_pickle=False)
    digest = _put_bytes(store, buffer.getvalue())
    return {"type": "ndarray", "hash": digest, "digest": digest}


def _load_array(ref: dict[str, Any], store: Store) -> Any:
    import numpy as np

    return np.load(store.fetch_blob(ref["digest"]), allow_pickle=False)


# ----------------------------------------------------------------------------- JSON


def _json_ok(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str, dict, list, tuple)):
        return True
    return type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0


def _save_json(value: Any, store: Store, dataset: str) -> dict[str, Any]:
    try:
        text = canonical_json(value)
    except (TypeError, ValueError) as exc:
        raise OutputTypeError(
            f"the returned {type(value).__name__} is not JSON-serializable ({exc}); return "
            "plain numbers, strings, lists and dicts",
            field="output",
        ) from None
    payload = text.encode()
    digest = hashlib.sha256(payload).hexdigest()
    if len(payload) <= INLINE_JSON_BYTES:
        return {"type": "json", "hash": digest, "value": text}
    return {"type": "json", "hash": digest, "digest": _put_bytes(store, payload)}


def _load_json(ref: dict[str, Any], store: Store) -> Any:
    import json

    if "value" in ref:
        return json.loads(ref["value"])
    return json.loads(store.fetch_blob(ref["digest"]).read_bytes())


# ----------------------------------------------------------------------------- models


def _is_model(value: Any) -> bool:
    """A model one of the registry's flavors saves in a safe format (scikit-learn, XGBoost,
    LightGBM, ONNX, or a ``PythonModel``); any object that merely has ``predict`` is not."""
    from shipyard.registry import PythonModel, all_flavors

    if isinstance(value, PythonModel):
        return True
    return any(f.name != "pyfunc" and f.matches(value) for f in all_flavors())


def _save_model(value: Any, store: Store, dataset: str) -> dict[str, Any]:
    """The model in its registry flavor's format, as a tree of blobs; the reference holds the
    manifest (path, sha256, size per file) and hashes as the manifest's digest."""
    from shipyard.client import upload_tree
    from shipyard.entities import manifest_digest
    from shipyard.registry import save_model

    with tempfile.TemporaryDirectory(prefix="shipyard-step-model-") as tmp:
        descriptor = save_model(value, Path(tmp) / "model")
        files = upload_tree(store, Path(tmp) / "model")
    digest = manifest_digest(files)
    return {
        "type": "model",
        "hash": digest,
        "flavor": descriptor["flavor"],
        "files": [f.to_dict() for f in files],
    }


def _load_model(ref: dict[str, Any], store: Store, vouched: bool = False, step: str = "?") -> Any:
    """The model object back, from files fetched into the model cache and checked against
    their hashes (the same cache and checks as ``shipyard.models.load``). The file list must
    hash to the reference's content hash. Only a model the loading run vouches for is loaded
    trusted (a custom model's class imported, classes outside the allow-list built)."""
    from shipyard import models
    from shipyard.entities import ArtifactInfo, manifest_digest
    from shipyard.registry import cache_root, fetch_into_cache

    files = [ArtifactInfo.from_dict(f) for f in ref["files"]]
    if manifest_digest(files) != ref["hash"]:
        raise IntegrityError(
            f"the model output of step {step!r} lists files that do not match its content "
            f"hash {ref['hash'][:12]}: the step run's record was changed",
            field="output",
        )
    folder = fetch_into_cache(store, files, cache_root(), f"step output {ref['hash'][:12]}")
    try:
        return models.load(folder, trusted=vouched).model
    except PermissionDenied as exc:
        raise PermissionDenied(
            f"the model output of step {step!r} was not produced (nor sealed) by this pipeline "
            f"run, so it loads without trust: {exc.message}",
            field="output",
        ) from None


BUILTIN = [
    Materializer(
        "dataframe",
        lambda v: _is(v, "pandas", "DataFrame") or _is(v, "pyarrow", "Table"),
        _save_frame,
        _load_frame,
    ),
    Materializer("ndarray", lambda v: _is(v, "numpy", "ndarray"), _save_array, _load_array),
    Materializer("json", _json_ok, _save_json, _load_json),
    Materializer("model", _is_model, _save_model, _load_model),
]
_LOADERS = {"dataframe": _load_frame, "arrow": _load_frame}


def save_output(
    value: Any, store: Store, *, dataset: str, step: str, trusted_pickle: bool
) -> dict[str, Any]:
    """Store one returned value; returns its output reference (type, content hash, where)."""
    if value is None:
        return {"type": "none", "hash": hashlib.sha256(b"null").hexdigest()}
    for materializer in (*_custom, *BUILTIN):
        if materializer.accepts(value):
            ref = materializer.save(value, store, dataset)
            ref.setdefault("type", materializer.kind)
            return ref
    if trusted_pickle:
        digest = _put_bytes(store, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        return {"type": "pickle", "hash": digest, "digest": digest}
    raise OutputTypeError(
        f"step {step!r} returned a {type(value).__module__}.{type(value).__name__}, which "
        "Shipyard does not store: return a DataFrame, numpy array, dict/list/scalar (JSON) or "
        "scikit-learn model, or set @step(trusted_pickle=True) to store it with pickle",
        field="output",
    )


def _unpickle(ref: dict[str, Any], store: Store, step: str) -> Any:
    """A pickle output, once its bytes are checked against its content hash."""
    digest = str(ref.get("hash"))
    if ref.get("digest", digest) != digest:
        raise IntegrityError(
            f"the output of step {step!r} names blob {ref.get('digest')} under content hash "
            f"{digest}: the step run's record was changed",
            field="output",
        )
    payload = store.fetch_blob(digest).read_bytes()
    actual = hashlib.sha256(payload).hexdigest()
    if actual != digest:
        raise IntegrityError(
            f"the output of step {step!r} (blob {digest}) hashes to {actual}: it was "
            "corrupted or tampered with",
            field="output",
            expected=digest,
            actual=actual,
        )
    return pickle.loads(payload)  # the caller vouches for this hash (see _trust)


def load_output(
    ref: dict[str, Any], store: Store, *, trusted: Collection[str] = (), step: str = "?"
) -> Any:
    """The value an output reference stands for.

    ``trusted`` holds the content hashes the loading run vouches for (outputs it produced,
    or sealed outputs of step runs it reuses; see ``_trust``). A pickle is unpickled, and a
    model loaded with trust, only when its hash is there: by default nothing is. ``step``
    names the producing step in errors.
    """
    kind = ref.get("type")
    if kind == "none":
        return None
    if kind == "pickle":
        if ref.get("hash") not in trusted:
            raise PermissionDenied(
                f"refusing to unpickle the output of step {step!r}: unpickling runs whatever "
                "code the pickle names, and this run neither produced that output nor "
                "reuses it under a valid seal (a step stores pickles only with "
                "trusted_pickle=True, and only the run that made or verified them loads them)",
                field="output",
            )
        return _unpickle(ref, store, step)
    if kind == "model":
        return _load_model(ref, store, vouched=ref.get("hash") in trusted, step=step)
    if kind in _LOADERS:
        return _LOADERS[kind](ref, store)
    for materializer in (*_custom, *BUILTIN):
        if materializer.kind == kind:
            return materializer.load(ref, store)
    raise InvalidArgument(f"no loader for step outputs of type {kind!r}", field="output")
