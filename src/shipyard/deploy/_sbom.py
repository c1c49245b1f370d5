"""A CycloneDX SBOM of the Python packages a model image installs.

``write_sbom(context)`` reads the build context's ``requirements.txt`` (what ``pip install``
in the image is told to install, pinned ``name==version``) and adds what those packages
depend on, with the versions installed in the environment that wrote the context (the
environment the model was trained and registered in). Each component has a PyPI package
URL; the pinned ones are marked ``shipyard:pinned=true``. Needs the ``sbom`` extra
(``cyclonedx-python-lib``).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

from shipyard.errors import ConfigError, InvalidArgument

#: The file name of the SBOM in a build context.
SBOM_FILE = "sbom.cdx.json"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;#]+)")


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


def _closure(pinned: dict[str, str]) -> dict[str, str]:
    """The pinned packages and, with their installed versions, everything they need here."""
    from packaging.requirements import Requirement

    found = dict(pinned)
    queue = list(pinned)
    while queue:
        name = queue.pop()
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # pinned but not installed here: listed with its pin only
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            needed = _normal(requirement.name)
            if needed in found:
                continue
            try:
                found[needed] = importlib.metadata.version(needed)
            except importlib.metadata.PackageNotFoundError:
                continue
            queue.append(needed)
    return found


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
    bom = Bom()
    image = Component(name=name, version=version, type=ComponentType.CONTAINER)
    bom.metadata.component = image
    for package, installed in sorted(_closure(pinned).items()):
        component = Component(
            name=package,
            version=installed,
            type=ComponentType.LIBRARY,
            purl=PackageURL(type="pypi", name=package, version=installed),
            bom_ref=f"pypi:{package}@{installed}",
            properties=[Property(name="shipyard:pinned", value=str(package in pinned).lower())],
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
