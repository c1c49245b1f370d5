"""installed_wheel packs an installed distribution back into a wheel that pip accepts here."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename

from shipyard.errors import NotFound
from shipyard.serving import installed_wheel


def test_a_universal_wheel_keeps_every_tag_so_python_3_installs_it(tmp_path: Path) -> None:
    """python-dateutil is built for py2 and py3: a name with only the first tag is refused."""
    wheel = installed_wheel("python-dateutil", tmp_path)
    name, _, _, tags = parse_wheel_filename(wheel.name)
    assert name == "python-dateutil"
    assert tags & set(sys_tags())
    with zipfile.ZipFile(wheel) as archive:
        assert "dateutil/parser/__init__.py" in archive.namelist()


def test_a_missing_distribution_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no-such-dist is not installed"):
        installed_wheel("no-such-dist", tmp_path)
    assert not list(tmp_path.iterdir())
