"""Wheels of installed distributions, so a build context can carry the running Shipyard.

A build context's requirements name ``shipyard[serving]==<version>``, which no package index
may have (a development or in-house build). :func:`installed_wheel` packs the installed
distribution back into a wheel: its files as installed (for an editable install of Shipyard,
the package folder it imports from) and its metadata, with a fresh RECORD. No build backend
and no network are needed, and the wheel holds exactly the code that is running.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

from shipyard.errors import Conflict, NotFound

__all__ = ["installed_wheel"]

_METADATA_FILES = ("METADATA", "WHEEL", "entry_points.txt")


def _editable(dist: Distribution) -> bool:
    text = dist.read_text("direct_url.json")
    return bool(text and json.loads(text).get("dir_info", {}).get("editable"))


def _package_files(dist: Distribution, name: str) -> list[tuple[str, Path]]:
    """(path in the wheel, file on disk) of the installed code, metadata excluded."""
    if _editable(dist):
        if name != "shipyard":
            raise Conflict(
                f"{name} is an editable install; only Shipyard itself can be packed from its "
                "source folder",
                field="distribution",
            )
        root = Path(__file__).resolve().parents[1]  # the shipyard package this code runs from
        found = sorted(p for p in root.rglob("*") if p.is_file())
        return [
            (f"shipyard/{p.relative_to(root).as_posix()}", p)
            for p in found
            if "__pycache__" not in p.parts and p.suffix != ".pyc"
        ]
    files = []
    for entry in dist.files or []:
        arcname = entry.as_posix()
        if arcname.startswith("..") or "__pycache__" in entry.parts or ".dist-info/" in arcname:
            continue  # scripts outside site-packages are made again from entry points
        files.append((arcname, Path(str(dist.locate_file(entry)))))
    return files


def _digest(data: bytes) -> str:
    raw = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _compressed(tags: list[str]) -> str:
    """The wheel file name's tag triple for every tag the copy was built for (``py2-none-any``
    and ``py3-none-any`` become ``py2.py3-none-any``): naming only the first would make pip
    refuse a universal wheel on Python 3."""
    parts = [tag.split("-") for tag in tags]
    return "-".join(".".join(dict.fromkeys(p[i] for p in parts)) for i in range(3))


def installed_wheel(name: str, folder: str | Path) -> Path:
    """Write a wheel of the installed distribution ``name`` into ``folder`` (created) and
    return its path; its tags are those the installed copy was built for."""
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        raise NotFound(f"{name} is not installed", field="distribution") from None
    project = dist.metadata["Name"].replace("-", "_")
    version = dist.version
    tags = [ln.split(":", 1)[1].strip() for ln in (dist.read_text("WHEEL") or "").splitlines()
            if ln.startswith("Tag:")] or ["py3-none-any"]  # fmt: skip
    info = f"{project}-{version}.dist-info"
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    wheel = target / f"{project}-{version}-{_compressed(tags)}.whl"
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for arcname, path in _package_files(dist, dist.metadata["Name"]):
            data = path.read_bytes()
            out.writestr(arcname, data)
            record.append(f"{arcname},{_digest(data)},{len(data)}")
        for meta in _METADATA_FILES:
            text = dist.read_text(meta)
            if meta == "WHEEL":
                text = "Wheel-Version: 1.0\nGenerator: shipyard\nRoot-Is-Purelib: "
                text += "true\n" if tags == ["py3-none-any"] else "false\n"
                text += "".join(f"Tag: {tag}\n" for tag in tags)
            if text is None:
                continue
            data = text.encode()
            out.writestr(f"{info}/{meta}", data)
            record.append(f"{info}/{meta},{_digest(data)},{len(data)}")
        record.append(f"{info}/RECORD,,")
        out.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel
