"""A CycloneDX SBOM of the Python packages a model image installs.

``write_sbom(context)`` reads the build context's ``requirements.txt``: what ``pip install``
in the image's build stage is told to install. ``shipyard build`` writes that file complete
(every package the image needs, each pinned ``name==version``), so the SBOM lists exactly the
packages and versions the image gets, whatever is installed where the SBOM is written. Each
component has a PyPI package URL; a requirement that is not pinned (``name>=1``) is listed
without a version and marked ``shipyard:pinned=false``. Needs the ``sbom`` extra
(``cyclonedx-python-lib``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from shipyard.errors import ConfigError, InvalidArgument

#: The file name of the SBOM in a build context.
SBOM_FILE = "sbom.cdx.json"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;#]+)")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements(text: str) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of a requirements file (other
    lines, options and comments are skipped)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            found[_normal(match.group(1))] = match.group(3)
    return found


def _unpinned(text: str, pinned: dict[str, str]) -> list[str]:
    """The names of requirement lines that pin no version (options and comments skipped)."""
    names = []
    for line in text.splitlines():
        match = _NAME.match(line)
        if match and _normal(match.group(1)) not in pinned:
            names.append(_normal(match.group(1)))
    return names


def sbom_json(requirements: str, name: str, version: str) -> str:
    """The CycloneDX 1.5 JSON document of an image of ``name`` (``version``) installing
    ``requirements`` (the text of a requirements file)."""
    try:
        from cyclonedx.model import Property
        from cyclonedx.model.bom import Bom
        from cyclonedx.model.component import Component, ComponentType
        from cyclonedx.output import make_outputter
        from cyclonedx.schema import OutputFormat, SchemaVersion
        from packageurl import PackageURL
    except ImportError:
        raise ConfigError(
            "writing an SBOM needs the sbom extra: pip install 'shipyard[sbom]'", field="sbom"
        ) from None
    pinned = pinned_requirements(requirements)
    if not pinned:
        raise InvalidArgument("the requirements pin no package (name==version)", field="sbom")
    packages: dict[str, str | None] = {**dict.fromkeys(_unpinned(requirements, pinned)), **pinned}
    bom = Bom()
    image = Component(name=name, version=version, type=ComponentType.CONTAINER)
    bom.metadata.component = image
    for package, pin in sorted(packages.items()):
        component = Component(
            name=package,
            version=pin,
            type=ComponentType.LIBRARY,
            purl=PackageURL(type="pypi", name=package, version=pin),
            bom_ref=f"pypi:{package}@{pin or 'unpinned'}",
            properties=[Property(name="shipyard:pinned", value=str(pin is not None).lower())],
        )
        bom.components.add(component)
    bom.register_dependency(image, bom.components)
    return make_outputter(bom, OutputFormat.JSON, SchemaVersion.V1_5).output_as_string(indent=2)


def write_sbom(context: Path) -> Path:
    """Write the SBOM of a model's build context (its ``requirements.txt``; the model's name
    and version from its ``serving.json``) into it as ``sbom.cdx.json``; its path."""
    folder = Path(context)
    requirements = folder / "requirements.txt"
    if not requirements.is_file():
        raise InvalidArgument(f"{folder} has no requirements.txt", field="context")
    about = folder / "serving.json"
    model = json.loads(about.read_text()) if about.is_file() else {}
    name, version = str(model.get("name") or folder.name), str(model.get("version") or "")
    path = folder / SBOM_FILE
    path.write_text(sbom_json(requirements.read_text(), name, version))
    return path
