"""`shipyard build --sbom` writes a CycloneDX SBOM of the model image's Python packages: every
package the context's requirements.txt pins (what the image installs), at the pinned version
whatever is installed where the SBOM is written, each with its PyPI package URL, valid
against the CycloneDX 1.5 schema."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.deploy import SBOM_FILE, pinned_requirements, sbom_json, write_sbom
from shipyard.errors import InvalidArgument


def test_build_with_sbom_lists_every_package_the_image_installs(
    churn_versions: str, tmp_path: Path
) -> None:
    out = tmp_path / "context"
    built = CliRunner().invoke(app, ["build", "churn@champion", "-o", str(out), "--sbom"])
    assert built.exit_code == 0, built.output
    document = json.loads((out / SBOM_FILE).read_text())
    assert (document["bomFormat"], document["specVersion"]) == ("CycloneDX", "1.5")
    assert document["metadata"]["component"]["name"] == "churn"
    assert document["metadata"]["component"]["version"] == "1"
    components = {c["name"]: c for c in document["components"]}
    pinned = pinned_requirements((out / "requirements.txt").read_text())
    assert {n: c["version"] for n, c in components.items()} == pinned  # exactly the image's
    sklearn = components["scikit-learn"]
    assert sklearn["version"] == importlib.metadata.version("scikit-learn")
    assert sklearn["purl"] == f"pkg:pypi/scikit-learn@{sklearn['version']}"
    assert {"name": "shipyard:pinned", "value": "true"} in sklearn["properties"]
    # the dependencies of the model and of the model server are in it (pinned by the build)
    assert {"numpy", "scipy", "fastapi", "uvicorn", "shipyard"} <= set(components)


def test_versions_come_from_the_requirements_not_the_environment() -> None:
    installed = importlib.metadata.version("scikit-learn")
    text = sbom_json("scikit-learn==0.20.0\nnumpy==1.16.0\n", "m", "3")
    components = {c["name"]: c["version"] for c in json.loads(text)["components"]}
    assert installed != "0.20.0"
    # nothing added from what is installed here: not scipy or joblib, not this numpy
    assert components == {"scikit-learn": "0.20.0", "numpy": "1.16.0"}


def test_an_unpinned_requirement_is_listed_without_a_version() -> None:
    text = sbom_json("# the image's lock\nnumpy==2.0.0\nrich>=13\n--find-links w\n", "m", "3")
    components = {c["name"]: c for c in json.loads(text)["components"]}
    assert set(components) == {"numpy", "rich"}
    assert "version" not in components["rich"] and components["rich"]["purl"] == "pkg:pypi/rich"
    assert {"name": "shipyard:pinned", "value": "false"} in components["rich"]["properties"]


def test_the_sbom_is_valid_cyclonedx() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = sbom_json("numpy==2.0.0\n", "m", "3")
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text) is None


def test_pins_are_read_and_other_lines_skipped() -> None:
    text = (
        "# comment\nScikit_Learn[alldeps]==1.5.0 ; python_version>'3'\n--find-links x\nrich>=13\n"
    )
    assert pinned_requirements(text) == {"scikit-learn": "1.5.0"}


def test_a_context_without_pins_or_requirements_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as missing:
        write_sbom(tmp_path)
    assert missing.value.field == "context"
    (tmp_path / "requirements.txt").write_text("rich>=13\n")
    with pytest.raises(InvalidArgument) as unpinned:
        write_sbom(tmp_path)
    assert unpinned.value.field == "sbom"
    assert not (tmp_path / SBOM_FILE).exists()
