"""Packaging: a self-contained build context that runs the same model server.

``build("churn@champion", "dist/churn")`` writes::

    Dockerfile          multi-stage: a build stage installs the pinned requirements into a
                        virtual environment; a slim runtime stage copies it, runs as an
                        unprivileged user, is labelled and probes /v2/health/ready
    requirements.txt    every package the image installs, pinned (the image's lock)
    model/              the model files, checked against their sha256
    serving.json        name, version, flavor, signature, manifest digest
    entrypoint.sh       shipyard serve /app/model --host 0.0.0.0 --port 8000 --workers N
    wheels/             the running Shipyard as a wheel (and any wheels passed)

The server then serves the folder (``shipyard serve ./model``): no registry, no network.

``requirements.txt`` is complete: the version's own pins (captured where it was trained),
``shipyard[serving]`` at the running version, and every package those need, each pinned to
the version installed where the context is written. The image installs that file with
``--no-deps`` and then runs ``pip check``: two builds of one context install the same
packages, and an SBOM can be read from the file alone. A package that is needed but not
installed here is written unpinned (the SBOM says so, and ``pip check`` fails the build if
what it needs is missing). The
requirements pin the running Shipyard's version, which no package index may have, so the
context carries that Shipyard as a wheel (:func:`installed_wheel`) unless a Shipyard wheel is
passed; ``pip install --find-links wheels -r requirements.txt`` installs it.

The image's labels carry the model's name and version, the Shipyard version and the git
commit the model was trained from (``org.opencontainers.image.revision``; a ``COMMIT`` build
argument overrides it).
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from shipyard.entities import ModelVersion
from shipyard.errors import InvalidArgument
from shipyard.registry import resolve
from shipyard.serving._wheel import installed_wheel
from shipyard.tracking import get_client

MODEL_JSON = "serving.json"
#: The user and group the model image runs as (the Shipyard image's, see shipyard.deploy).
RUN_AS = 10001
#: The port the model server listens on in the image.
PORT = 8000
_DOCKERFILE = """\
# syntax=docker/dockerfile:1
# The model server of {name} version {version}: build with `docker build -t IMAGE .` here.
# The build stage installs requirements.txt (every package pinned; nothing else is resolved,
# and pip check proves the set complete) into a virtual environment; the runtime stage holds
# only that environment and the model, and runs as an unprivileged user (the root file
# system can be mounted read-only; /tmp must be writable).

FROM python:{python}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.txt ./
COPY wheels/ ./wheels/
RUN python -m venv /opt/venv \\
    && /opt/venv/bin/pip install --no-deps --find-links ./wheels -r requirements.txt \\
    && /opt/venv/bin/pip check

FROM python:{python}-slim
ARG COMMIT={commit}
LABEL org.opencontainers.image.title="{name}" \\
      org.opencontainers.image.description="Shipyard model server of {name} version {version}" \\
      org.opencontainers.image.version="{version}" \\
      org.opencontainers.image.revision="$COMMIT" \\
      io.shipyard.model.name="{name}" \\
      io.shipyard.model.version="{version}" \\
      io.shipyard.model.manifest-digest="{digest}" \\
      io.shipyard.version="{shipyard}"
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \\
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 SHIPYARD_HOME=/tmp/shipyard
COPY --from=build /opt/venv /opt/venv
RUN groupadd --gid {uid} shipyard && useradd --uid {uid} --gid {uid} --no-create-home shipyard
WORKDIR /app
COPY model/ ./model/
COPY serving.json ./
COPY --chmod=755 entrypoint.sh ./
USER {uid}:{uid}
EXPOSE {port}
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \\
    CMD ["python", "-c", \\
         "import urllib.request as u; u.urlopen('http://127.0.0.1:{port}/v2/health/ready')"]
ENTRYPOINT ["/app/entrypoint.sh"]
"""
_ENTRYPOINT = """\
#!/bin/sh
# Serve the bundled model (folder ./model) with the Shipyard model server.
exec shipyard serve "$(dirname "$0")/model" --host "${{HOST:-0.0.0.0}}" \\
    --port "${{PORT:-{port}}}" --workers "${{WORKERS:-{workers}}}" "$@"
"""
_HEADER = """\
# Every package the image installs, pinned: the model's own requirements, shipyard[serving],
# and what they need (pinned to the versions installed where this context was written).
"""


def _requirement(line: str) -> Requirement:
    try:
        return Requirement(line)
    except InvalidRequirement as exc:
        raise InvalidArgument(
            f"requirement {line!r} is not valid: {exc}", field="requirements"
        ) from None


def _installed(name: str) -> importlib.metadata.Distribution | None:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def pinned_closure(requirements: list[str], python: str) -> list[str]:
    """``requirements`` and every package they need, one line each, sorted by name.

    Each needed package is pinned (``name==version``) to the version installed here; the
    given lines are kept as written. Dependency markers are read for Python ``python`` (the
    image's, ``3.11``) and the extras each package is required with.

    Args:
        requirements: The top-level requirement lines (``scikit-learn==1.5.0``).
        python: The image's Python version, ``major.minor``.

    Returns:
        The lines of a complete requirements file.
    """
    lines: dict[str, str] = {}
    queue: list[tuple[str, frozenset[str]]] = []
    for line in requirements:
        wanted = _requirement(line)
        lines[canonicalize_name(wanted.name)] = line.strip()
        queue.append((canonicalize_name(wanted.name), frozenset(wanted.extras)))
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        name, extras = queue.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = _installed(name)
        if dist is None:
            continue  # not installed here: kept as written, pip resolves what it needs
        for spec in dist.requires or []:
            needed = _requirement(spec)
            marker = needed.marker
            contexts = [{"extra": e, "python_version": python} for e in ("", *extras)]
            if marker is not None and not any(marker.evaluate(c) for c in contexts):
                continue
            key = canonicalize_name(needed.name)
            if key not in lines:
                found = _installed(key)
                lines[key] = f"{key}=={found.version}" if found else f"{key}{needed.specifier}"
            queue.append((key, frozenset(needed.extras)))
    return [lines[key] for key in sorted(lines)]


def _training_commit(version: ModelVersion) -> str:
    """The git commit the version's run recorded, or ``unknown``."""
    if not version.run_id:
        return "unknown"
    from shipyard.errors import NotFound
    from shipyard.tracking import recorded_environment

    store = get_client().store
    try:
        facts, _source = recorded_environment(store.get_run(version.run_id), store)
    except NotFound:
        return "unknown"
    return str(facts.get("shipyard.git.commit") or "unknown")


def build(
    ref: str, output: str | Path, *, workers: int = 1, wheels: list[str | Path] | None = None
) -> Path:
    """Write the build context of a registered version to ``output`` (created; must be
    empty if it exists), with the running Shipyard as a wheel in ``wheels/`` unless one of
    ``wheels`` is a Shipyard wheel. Returns the folder."""
    from importlib.metadata import version as installed

    from shipyard.errors import Conflict

    target = Path(output)
    if target.exists() and any(target.iterdir()):
        raise Conflict(f"{target} is not empty; pick a new --output folder", field="output")
    version = resolve(ref)
    if not any(Path(w).name.startswith("shipyard-") for w in wheels or []):
        installed_wheel("shipyard", target / "wheels")  # the requirements pin this version
    model_dir = target / "model"

    store = get_client().store
    for info in version.files:  # each blob is checked against its sha256 on the way
        dest = model_dir / info.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        store.download_blob(info.digest, dest)
    (target / "wheels").mkdir(parents=True, exist_ok=True)
    for wheel in wheels or []:
        shutil.copy2(wheel, target / "wheels" / Path(wheel).name)
    python = ".".join((version.python_version or "3.11").split(".")[:2])
    requirements = [r for r in version.requirements if not r.startswith("shipyard")]
    requirements.append(f"shipyard[serving]=={installed('shipyard')}")
    pinned = pinned_closure(requirements, python)
    (target / "requirements.txt").write_text(_HEADER + "\n".join(pinned) + "\n")
    dockerfile = _DOCKERFILE.format(
        python=python,
        name=version.name,
        version=version.version,
        digest=version.manifest_digest,
        shipyard=installed("shipyard"),
        commit=_training_commit(version),
        uid=RUN_AS,
        port=PORT,
    )
    (target / "Dockerfile").write_text(dockerfile)
    entry = target / "entrypoint.sh"
    entry.write_text(_ENTRYPOINT.format(workers=workers, port=PORT))
    entry.chmod(0o755)
    (target / MODEL_JSON).write_text(
        json.dumps(
            {
                "name": version.name,
                "version": version.version,
                "flavor": version.flavor,
                "manifest_digest": version.manifest_digest,
                "signature": version.signature,
                "requirements": version.requirements,
            },
            indent=2,
        )
    )
    return target
