"""A model version past what the database holds is an InvalidArgument naming ``version``
on every store (it was a SQLAlchemy OverflowError traceback), and `shipyard models show`
says so in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.client import Store
from shipyard.entities import ArtifactInfo
from shipyard.errors import InvalidArgument
from tests.support.cli import Cli


@pytest.mark.parametrize("version", [10**22, 2**31])
def test_an_out_of_range_version_is_invalid_on_every_store(
    store: Store, tmp_path: Path, version: int
) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"w")
    digest = store.put_blob(weights)
    store.create_model_version("churn", [ArtifactInfo("w.bin", digest, 1)], flavor="pyfunc")
    with pytest.raises(InvalidArgument, match="out of range") as caught:
        store.get_model_version("churn", version)
    assert caught.value.field == "version"
    assert store.get_model_version("churn", 1).version == 1


def test_models_show_refuses_a_huge_version_in_one_line(cli: Cli, sqlite_sdk: object) -> None:
    line = cli.fails("models", "show", "churn/99999999999999999999999")
    assert "out of range: versions go from 1 to 2,147,483,647" in line
