"""Content-addressed blob store over fsspec.

A blob lives at ``<root>/sha256/<2 hex>/<64 hex>``. Writing hashes the content as it streams,
uploads it under a temporary name and renames it into place (local file systems), or uploads
straight to the final key (object stores, where a completed PUT or multipart upload is atomic),
so a crash never leaves a half-written blob under a real name. Identical content is stored once.
Every read is checked against the hash; a mismatch raises :class:`IntegrityError`.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from shipyard._validation import check_digest
from shipyard.errors import ConfigError, IntegrityError, NotFound

CHUNK = 1 << 20


@dataclass(frozen=True)
class BlobInfo:
    """What the store knows about one stored blob."""

    digest: str
    size: int


def sha256_file(path: str | os.PathLike[str]) -> BlobInfo:
    """Hash a local file in chunks (never loaded whole)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return BlobInfo(h.hexdigest(), size)


class BlobStore:
    """Blobs addressed by sha256 under one fsspec root (a local folder, ``s3://bucket/prefix``)."""

    def __init__(self, uri: str, storage_options: dict[str, Any] | None = None) -> None:
        import fsspec

        self.uri = uri
        try:
            fs, root = fsspec.core.url_to_fs(uri, **(storage_options or {}))
        except (ImportError, ValueError) as exc:
            raise ConfigError(
                f"cannot open the artifact store {uri!r}: {exc}; for s3:// install the extra: "
                "pip install 'shipyard[s3]'",
                field="artifacts_uri",
            ) from None
        self.fs = fs
        self.root = root.rstrip("/")
        self.is_local = "file" in (
            fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        )
        if self.is_local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> str:
        return f"{self.root}/sha256/{digest[:2]}/{digest}"

    def exists(self, digest: str) -> bool:
        """True when a blob with this digest is stored."""
        return bool(self.fs.exists(self._path(check_digest(digest))))

    def size(self, digest: str) -> int:
        """The size in bytes of a stored blob (NotFound if there is none)."""
        try:
            return int(self.fs.size(self._path(check_digest(digest))))
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the artifact store {self.uri}") from None

    def local_path(self, digest: str) -> Path | None:
        """Where a blob lives on this machine's disk (local stores only; None on S3 etc.).

        The file is the store's own copy: read it, never write it, and check it (see
        :func:`sha256_file`) before trusting its content.
        """
        return Path(self._path(check_digest(digest))) if self.is_local else None

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        """Store a local file; returns its digest and size. Stores nothing new if present."""
        info = sha256_file(path)
        target = self._path(info.digest)
        if self.fs.exists(target):
            return info
        if self.is_local:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            tmp = f"{target}.tmp-{uuid.uuid4().hex}"
            try:
                shutil.copyfile(path, tmp)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            self.fs.put_file(str(path), target)
        return info

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store bytes held in memory."""
        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            tmp.write(data)
        try:
            return self.put_file(tmp.name)
        finally:
            os.unlink(tmp.name)

    def put_stream(self, stream: IO[bytes]) -> BlobInfo:
        """Store what a binary stream yields, spooling through a temp file (bounded memory)."""
        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            shutil.copyfileobj(stream, tmp, CHUNK)
        try:
            return self.put_file(tmp.name)
        finally:
            os.unlink(tmp.name)

    @contextmanager
    def open(self, digest: str) -> Iterator[IO[bytes]]:
        """A readable stream of a blob; the hash is checked when the stream is fully read.

        Reading to the end raises :class:`IntegrityError` if the content does not match.
        """
        path = self._path(check_digest(digest))
        try:
            raw = self.fs.open(path, "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the artifact store {self.uri}") from None
        with raw:
            yield cast(IO[bytes], _VerifyingReader(raw, digest))

    def get_bytes(self, digest: str) -> bytes:
        """The verified content of a blob."""
        with self.open(digest) as fh:
            return fh.read()

    def get_file(self, digest: str, dest: str | os.PathLike[str]) -> Path:
        """Copy a blob to ``dest`` (atomically, verified); a corrupt blob leaves no file."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp-{uuid.uuid4().hex}")
        try:
            with self.open(digest) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
                src.read()  # reach EOF so the digest is verified
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                tmp.unlink()
        return dest

    def delete(self, digest: str) -> None:
        """Remove a blob (garbage collection; callers make sure nothing points at it)."""
        path = self._path(check_digest(digest))
        if self.fs.exists(path):
            self.fs.rm(path)


class _VerifyingReader(io.RawIOBase):
    """Wraps a stream and checks its sha256 once EOF is reached."""

    def __init__(self, raw: IO[bytes], digest: str) -> None:
        self._raw = raw
        self._digest = digest
        self._hash = hashlib.sha256()
        self._verified = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._raw.read(len(buffer))
        if not chunk:
            self._verify()
            return 0
        self._hash.update(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data = self._raw.read()
            self._hash.update(data)
            self._verify()
            return bytes(data)
        chunk = self._raw.read(size)
        if not chunk:
            self._verify()
        self._hash.update(chunk)
        return bytes(chunk)

    def _verify(self) -> None:
        if self._verified:
            return
        self._verified = True
        actual = self._hash.hexdigest()
        if actual != self._digest:
            raise IntegrityError(
                f"blob {self._digest} is corrupted: its content hashes to {actual}; "
                "restore it from a backup or re-log the artifact",
                expected=self._digest,
                actual=actual,
            )
