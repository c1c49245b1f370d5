"""Content-addressed blob store over fsspec.

A blob lives at ``<root>/sha256/<2 hex>/<64 hex>``. Writing hashes the content as it streams,
uploads it under a temporary name and renames it into place (local file systems), or uploads
straight to the final key (object stores, where a completed PUT or multipart upload is atomic),
so a crash never leaves a half-written blob under a real name. Identical content is stored once.
Every read is checked against the hash; a mismatch raises :class:`IntegrityError`. Error
messages name the digest, never the store's location: they cross the wire from a server,
whose file-system paths are nobody else's business.

Failures of the store itself (an object store answering errors or not at all, a full disk)
raise :class:`ServiceUnavailable` naming the blob and the reason. On S3, botocore retries
errors and timeouts with back-off (:data:`S3_CLIENT_DEFAULTS`, where the storage options
set nothing else) before that, which is safe: a blob's key is its content, so writing it
twice writes the same thing.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from shipyard._validation import check_digest
from shipyard.artifacts._scratch import NO_ROOM, scratch_file, track
from shipyard.errors import (
    ConfigError,
    IntegrityError,
    NotFound,
    ServiceUnavailable,
    ShipyardError,
)

CHUNK = 1 << 20
#: What a local blob's temporary name adds to its final name: ``<digest>.tmp-<random hex>``.
TMP_MARK = ".tmp-"
#: Seconds after which an object-store blob found again on put gets its modification time
#: refreshed (see :meth:`BlobStore._touch_remote`); far below gc's smallest sensible grace.
TOUCH_AFTER = 600
#: botocore settings for S3 stores, each used unless the storage options set it: standard
#: retries (5 attempts with exponential back-off and jitter, on 5xx answers, throttling,
#: connection errors and timeouts) and bounded waits for a connection and an answer.
S3_CLIENT_DEFAULTS: dict[str, Any] = {
    "retries": {"mode": "standard", "max_attempts": 5},
    "connect_timeout": 10,
    "read_timeout": 60,
}


def _with_s3_defaults(uri: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` for ``uri``, with :data:`S3_CLIENT_DEFAULTS` filled in on S3 where the
    caller set nothing (the caller's settings always win)."""
    if not uri.startswith(("s3://", "s3a://")):
        return options
    config = {**S3_CLIENT_DEFAULTS, **options.get("config_kwargs", {})}
    return {**options, "config_kwargs": config}


def _store_failure(exc: Exception, what: str) -> ServiceUnavailable:
    """The error for a store that failed while doing ``what`` (which names the blob, never
    the store's location): a full disk, or an object store that errs or does not answer."""
    if isinstance(exc, OSError) and exc.errno in NO_ROOM:
        reason = f"no room left ({os.strerror(exc.errno)})"
        advice = "free space or raise the quota of the artifact store, then try again"
    else:
        reason = f"{type(exc).__name__}: {exc}"
        advice = "check that the artifact store is reachable and healthy, then try again"
    return ServiceUnavailable(f"the artifact store failed {what}: {reason}; {advice}")


@contextmanager
def _failures(what: str) -> Iterator[None]:
    """Turn a store's own failures in the block into :func:`_store_failure` errors (a
    missing file, and Shipyard's own errors, pass through)."""
    try:
        yield
    except (FileNotFoundError, ShipyardError):
        raise
    except Exception as exc:
        raise _store_failure(exc, what) from exc


def _mtime(info: dict[str, Any]) -> float | None:
    """A file's modification time in epoch seconds from an fsspec ``info`` dict, if known
    (local files give ``mtime``, S3 objects ``LastModified``)."""
    value = info.get("mtime", info.get("LastModified", info.get("last_modified")))
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    timestamp = getattr(value, "timestamp", None)
    return float(timestamp()) if callable(timestamp) else None


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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


@dataclass(frozen=True)
class StoredFile:
    """A file found under the blob store's root: a blob (``name`` is its digest) or a
    temporary file a writer left (``name`` is the file name). ``modified`` is in epoch
    seconds, None when the backend does not say."""

    path: str
    name: str
    size: int
    modified: float | None


class BlobStore:
    """Blobs addressed by sha256 under one fsspec root (a local folder, ``s3://bucket/prefix``)."""

    def __init__(self, uri: str, storage_options: dict[str, Any] | None = None) -> None:
        import fsspec

        self.uri = uri
        try:
            fs, root = fsspec.core.url_to_fs(uri, **_with_s3_defaults(uri, storage_options or {}))
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
        path = self._path(check_digest(digest))
        with _failures(f"looking up blob {digest}"):
            return bool(self.fs.exists(path))

    def size(self, digest: str) -> int:
        """The size in bytes of a stored blob (NotFound if there is none)."""
        path = self._path(check_digest(digest))
        try:
            with _failures(f"looking up blob {digest}"):
                return int(self.fs.size(path))
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the artifact store", field="digest") from None

    def local_path(self, digest: str) -> Path | None:
        """Where a blob lives on this machine's disk (local stores only; None on S3 etc.).

        The file is the store's own copy: read it, never write it, and check it (see
        :func:`sha256_file`) before trusting its content.
        """
        return Path(self._path(check_digest(digest))) if self.is_local else None

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        """Store a local file; returns its digest and size.

        Identical content is stored once: when the blob is already there and intact, nothing
        is written (its modification time is refreshed, so ``shipyard gc`` sees it as young
        while the caller records a reference to it). A stored blob that does not match (a
        different size, or on a local folder the same size but other content) is re-written:
        putting the right content again repairs a corrupted blob.
        """
        info = sha256_file(path)
        target = self._path(info.digest)
        with _failures(f"storing blob {info.digest}"):
            if self._holds(target, info):
                return info
            if self.is_local:
                self._write_local(path, target)
            else:
                self.fs.put_file(str(path), target)
                self.fs.invalidate_cache(target)
        return info

    def _holds(self, target: str, info: BlobInfo) -> bool:
        """True when ``target`` is stored and matches ``info``: the size first (one stat or
        HEAD request); on a local folder, the same size is confirmed by hashing the file (a
        local read costs about what the copy it saves would). On an object store, whose
        objects are checked by the service when written, the size is the check."""
        try:
            stored = self.fs.info(target)
        except FileNotFoundError:
            return False
        if int(stored.get("size") or 0) != info.size:
            return False
        if self.is_local:
            if sha256_file(target).digest != info.digest:
                return False
            with suppress(OSError):  # young again: gc's grace covers the coming reference
                os.utime(target)
            return True
        self._touch_remote(target, stored)
        return True

    def _touch_remote(self, target: str, stored: dict[str, Any]) -> None:
        """Refresh an old object's modification time (a server-side metadata copy) so that a
        concurrent ``shipyard gc`` does not take it for unreferenced while the caller records
        its reference. Objects written in the last :data:`TOUCH_AFTER` seconds are left as
        they are."""
        modified = _mtime(stored)
        if modified is not None and time.time() - modified < TOUCH_AFTER:
            return
        setxattr = getattr(self.fs, "setxattr", None)
        if setxattr is None:
            return
        try:
            setxattr(target, shipyard_touched=str(int(time.time())))
        except Exception:  # best effort: gc's grace period still applies
            return
        self.fs.invalidate_cache(target)

    @staticmethod
    def _write_local(path: str | os.PathLike[str], target: str) -> None:
        """Copy ``path`` to ``target`` under a temporary name, fsync the file, rename it into
        place and fsync the folder, so that a power loss leaves either no blob or a whole
        one; the temporary file is removed on an exception or SIGTERM."""
        folder = Path(target).parent
        folder.mkdir(parents=True, exist_ok=True)
        tmp = f"{target}{TMP_MARK}{uuid.uuid4().hex}"
        with track(tmp):
            with open(path, "rb") as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            _fsync_dir(folder)

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store bytes held in memory."""
        with scratch_file() as tmp:
            tmp.write_bytes(data)
            return self.put_file(tmp)

    def put_stream(self, stream: IO[bytes]) -> BlobInfo:
        """Store what a binary stream yields, spooling through a temp file (bounded memory)."""
        with scratch_file() as tmp:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
            return self.put_file(tmp)

    @contextmanager
    def open(self, digest: str) -> Iterator[IO[bytes]]:
        """A readable stream of a blob; the hash is checked when the stream is fully read.

        Reading to the end raises :class:`IntegrityError` if the content does not match.
        """
        path = self._path(check_digest(digest))
        try:
            with _failures(f"reading blob {digest}"):
                raw = self.fs.open(path, "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the artifact store", field="digest") from None
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

    def scan(self) -> tuple[list[StoredFile], list[StoredFile]]:
        """Every blob and every leftover temporary file under the root (for fsck and gc)."""
        blobs: list[StoredFile] = []
        temps: list[StoredFile] = []
        base = f"{self.root}/sha256"
        self.fs.invalidate_cache(base)
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return blobs, temps
        for path, info in cast(dict[str, dict[str, Any]], found).items():
            name = path.rsplit("/", 1)[-1]
            item = StoredFile(path, name, int(info.get("size") or 0), _mtime(info))
            if TMP_MARK in name:
                temps.append(item)
            elif len(name) == 64 and path.endswith(f"/{name[:2]}/{name}"):
                blobs.append(item)
        return blobs, temps

    def stat(self, digest: str) -> StoredFile | None:
        """The stored blob ``digest`` as it is now (uncached), or None when there is none."""
        path = self._path(check_digest(digest))
        self.fs.invalidate_cache(path)
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        return StoredFile(path, digest, int(info.get("size") or 0), _mtime(info))

    def check(self, digest: str, size: int | None = None, *, full: bool = True) -> str | None:
        """What is wrong with the stored blob ``digest``, in words, or None when it is fine.

        Args:
            digest: The blob to check.
            size: The size its record expects, if the record has one.
            full: Hash the content (reads the whole blob); False checks presence and size.
        """
        path = self._path(check_digest(digest))
        try:
            stored = int(self.fs.info(path).get("size") or 0)
        except FileNotFoundError:
            return "missing"
        if size is not None and stored != size:
            return f"holds {stored} bytes, its record says {size}"
        if not full:
            return None
        h = hashlib.sha256()
        with self.fs.open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
        actual = h.hexdigest()
        return None if actual == digest else f"corrupted: its content hashes to {actual}"

    def remove_temp(self, item: StoredFile) -> None:
        """Remove a leftover temporary file found by :meth:`scan` (never a blob)."""
        if TMP_MARK not in item.name or not item.path.startswith(f"{self.root}/sha256/"):
            raise ValueError(f"{item.path} is not a temporary file of this blob store")
        with suppress(FileNotFoundError):
            self.fs.rm(item.path)

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

    def _next(self, size: int) -> bytes:
        with _failures(f"reading blob {self._digest}"):
            return bytes(self._raw.read(size))

    def readinto(self, buffer: Any) -> int:
        chunk = self._next(len(buffer))
        if not chunk:
            self._verify()
            return 0
        self._hash.update(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data = self._next(-1)
            self._hash.update(data)
            self._verify()
            return data
        chunk = self._next(size)
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
                f"blob {self._digest} is corrupted: its content hashes to {actual}; store the "
                "same content again (re-log the artifact or register the same files: a blob "
                "that does not match is re-written) or restore it from a backup; "
                "`shipyard fsck` lists every damaged blob",
                expected=self._digest,
                actual=actual,
            )
