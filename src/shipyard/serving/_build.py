"""Packaging: a self-contained build context that runs the same model server.

``build("churn@champion", "dist/churn")`` writes::

    Dockerfile          python slim image, installs the pinned requirements, runs the server
    requirements.txt    the version's pinned requirements (+ shipyard with the serving extra)
    model/              the model files, checked against their sha256
    serving.json        name, version, flavor, signature, manifest digest
    entrypoint.sh       shipyard serve /app/model --host 0.0.0.0 --port 8000 --workers N
    wheels/             the running Shipyard as a wheel (and any wheels passed)

The server then serves the folder (``shipyard serve ./model``): no registry, no network.
The requirements pin the running Shipyard's version, which no package index may have, so
the context carries that Shipyard as a wheel (:func:`installed_wheel`) unless a Shipyard
wheel is passed; ``pip install --find-links wheels -r requirements.txt`` installs it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from shipyard.registry import resolve
from shipyard.serving._wheel import installed_wheel
from shipyard.tracking import get_client

MODEL_JSON = "serving.json"
_DOCKERFILE = """\
FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
    MKL_NUM_THREADS=1 SHIPYARD_HOME=/tmp/shipyard
WORKDIR /app
COPY requirements.txt ./
COPY wheels/ ./wheels/
RUN pip install --no-cache-dir --find-links ./wheels -r requirements.txt
COPY model/ ./model/
COPY serving.json entrypoint.sh ./
RUN chmod +x entrypoint.sh && useradd --create-home shipyard
USER shipyard
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/v2/health/ready')"
ENTRYPOINT ["./entrypoint.sh"]
"""
_ENTRYPOINT = """\
#!/bin/sh
# Serve the bundled model (folder ./model) with the Shipyard model server.
exec shipyard serve "$(dirname "$0")/model" --host "${{HOST:-0.0.0.0}}" \\
    --port "${{PORT:-8000}}" --workers "${{WORKERS:-{workers}}}" "$@"
"""


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
    requirements = [r for r in version.requirements if not r.startswith("shipyard")]
    requirements.append(f"shipyard[serving]=={installed('shipyard')}")
    (target / "requirements.txt").write_text("\n".join(requirements) + "\n")
    python = ".".join((version.python_version or "3.11").split(".")[:2])
    (target / "Dockerfile").write_text(_DOCKERFILE.format(python=python))
    entry = target / "entrypoint.sh"
    entry.write_text(_ENTRYPOINT.format(workers=workers))
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
