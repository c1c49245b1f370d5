"""The local model cache: ``<home>/cache/models/<manifest digest>/`` holds a version's files.

Files are fetched from the blob store (each verified against its sha256 on the way), written
to a temporary folder and renamed into place, so concurrent loads never see half a model.
Every later load re-hashes the cached files against the manifest (about 1 ms per 2 MB): a
cached file that was changed is thrown away and fetched again, and a blob that does not match
its hash raises IntegrityError.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

from shipyard import _validation as v
from shipyard.artifacts import sha256_file
from shipyard.client import Store
from shipyard.entities import ArtifactInfo, manifest_digest
from shipyard.errors import IntegrityError, InvalidArgument
from shipyard.tracking import get_client

_COMPLETE = ".complete"


def cache_root() -> Path:
    """The model cache of the configured home: ``<home>/cache/models``."""
    return get_client().settings.home / "cache" / "models"


def _intact(folder: Path, files: Sequence[ArtifactInfo]) -> bool:
    for info in files:
        path = folder / info.path
        try:
            if path.stat().st_size != info.size or sha256_file(path).digest != info.digest:
                return False
        except OSError:
            return False
    return True


def fetch_into_cache(
    store: Store, files: Sequence[ArtifactInfo], root: Path, label: str, *, verify: bool = True
) -> Path:
    """The folder under ``root`` holding exactly ``files``, fetched from ``store`` if the cache
    does not hold an intact copy.

    Args:
        store: Where the files' blobs are.
        files: The manifest: each file's path, sha256 and size.
        root: The cache folder (:func:`cache_root` for the model cache).
        label: What the files are (``"churn/3"``), named in integrity errors.
        verify: Re-hash an already cached copy against the manifest (a changed copy is
            fetched again).

    Returns:
        ``<root>/<manifest digest>/``.

    Raises:
        IntegrityError: A fetched blob does not match its sha256.
        InvalidArgument: A file's path leaves the folder (absolute, or with a ``..`` part):
            manifests read back from the store are checked before anything is written.
    """
    for info in files:
        try:
            v.check_artifact_path(info.path)
            v.check_digest(info.digest)
        except InvalidArgument as exc:
            raise InvalidArgument(f"{label}: {exc.message}", field=exc.field) from None
    folder = root / manifest_digest(files)
    if (folder / _COMPLETE).is_file():
        if not verify or _intact(folder, files):
            return folder
        shutil.rmtree(folder, ignore_errors=True)  # changed on disk: fetch a clean copy
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{folder.name}.tmp-{uuid.uuid4().hex}"
    try:
        for info in files:
            try:
                store.download_blob(info.digest, staging / info.path)
            except IntegrityError as exc:
                raise IntegrityError(
                    f"{label}: file {info.path!r} failed its sha256 check ({exc.message})",
                    path=info.path,
                    **exc.details,
                ) from None
        (staging / _COMPLETE).touch()
        try:
            os.replace(staging, folder)
        except OSError:  # another process put it in place first
            if not (folder / _COMPLETE).is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder
