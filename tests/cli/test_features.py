"""`shipyard features ...` from a project folder with a features.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shipyard import features as fs
from tests.support.cli import Cli

DEFINITIONS = """
from datetime import timedelta
from shipyard import features as fs

user = fs.Entity("user", ["user_id"])
stats = fs.FeatureView(
    "stats", [user], fs.FileSource("stats.parquet"),
    schema=[fs.Field("clicks", "int64")], ttl=timedelta(days=3650),
)
service = fs.FeatureService("svc", [stats])
"""


def test_plan_apply_materialize_get_and_skew(cli: Cli, sqlite_sdk: object, tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "user_id": [1, 2],
            "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
            "clicks": [5, 7],
        }
    ).to_parquet(tmp_path / "stats.parquet")
    (tmp_path / "features.py").write_text(DEFINITIONS)
    assert cli.ok("features", "plan").count("create") == 3
    assert cli.ok("features", "apply").count("create") == 3
    assert cli.ok("features", "plan").count("unchanged") == 3
    listed = cli.ok("features", "list")
    assert "stats" in listed and "svc" in listed and "user_id" in listed
    assert "clicks" in cli.ok("features", "show", "stats")
    out = cli.ok("features", "materialize")
    assert "stats: 2 entities" in out
    assert "stats: 0 entities" in cli.ok("features", "materialize-incremental")
    got = cli.ok("features", "get", "-e", "user_id=2", "--service", "svc")
    assert "7" in got and "PRESENT" in got
    assert "no skew" in cli.ok("features", "check-skew", "--service", "svc")
    assert "no feature view named 'nope'" in cli.fails("features", "show", "nope")
    assert "no join key 'user_id'" in cli.fails("features", "get", "-e", "id=2", "stats:clicks")
    assert [m.rows for m in fs.materializations("stats")] == [0, 2]
