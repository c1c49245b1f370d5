"""The Dockerfile of the Shipyard image (server, scheduler and model servers).

Multi-stage: the builder installs every dependency pinned from ``uv.lock`` (``uv export``,
with hashes, nothing resolved at build time) into a virtual environment; the runtime stage
copies only that environment, runs as an unprivileged user (so the root file system can be
mounted read-only, with ``/tmp`` writable), carries OCI labels with the version and commit,
and probes ``/healthz``.
"""

from __future__ import annotations

from importlib.resources import files
from string import Template

from shipyard.deploy._k8s import RUN_AS
from shipyard.deploy._settings import StackSettings

#: The extras the image installs: PostgreSQL, S3, Redis and the fast model-server loop.
IMAGE_EXTRAS = ("postgres", "s3", "redis", "serving")
#: The uv release the builder stage uses to export the lock file.
UV_VERSION = "0.13.8"


def dockerfile(stack: StackSettings, *, python: str = "3.11") -> str:
    """The Dockerfile text (build context: the repository root)."""
    from importlib.metadata import version

    template = Template(files("shipyard.deploy").joinpath("templates/Dockerfile").read_text())
    return template.substitute(
        python=python,
        uv=UV_VERSION,
        extras=" ".join(f"--extra {extra}" for extra in IMAGE_EXTRAS),
        version=version("shipyard"),
        uid=RUN_AS,
        server_port=stack.server_port,
        model_port=stack.model_port,
    )
