"""Run search against a real database (SQLite always, PostgreSQL when available): which runs a
filter selects, in which order, and how pages are cut.

The fixture data are the constants below: runs r1, r2, r3, r6 in experiment e1, r4 in e1 but
deleted, r5 in e2; r3 is still running (no end time) and has a NaN auc; r6 has no auc at all.
The default order is newest first, ties by id: e1's active runs come as r3, r6, r2, r1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shipyard.errors import FilterSyntaxError, InvalidArgument
from shipyard.store._models import METADATA
from shipyard.store._search import search_run_ids

NAN = None  # NaN metric values are stored as NULL

RUN_COLUMNS = "id experiment_id name status start_time end_time parent_run_id user lifecycle"
RUNS = [  # times in ms
    ("r1", "e1", "alpha", "FINISHED", 1000, 5000, None, "ann", "active"),
    ("r2", "e1", "Beta", "FAILED", 2000, 2500, None, "bob", "active"),
    ("r3", "e1", "gamma", "RUNNING", 3000, None, "r1", "ann", "active"),
    ("r6", "e1", "epsilon", "KILLED", 3000, 9000, None, "cat", "active"),
    ("r4", "e1", "delta", "FINISHED", 4000, 10000, "r1", "bob", "deleted"),
    ("r5", "e2", "alpha-2", "FINISHED", 3000, 3500, None, "ann", "active"),
]
PARAMS: dict[str, dict[str, Any]] = {
    "r1": {"model": "xgb", "depth": "5", "path": "a_b", "glob": "a*[b]?"},
    "r2": {"model": "XGB-large", "depth": "10", "path": "aXb", "glob": "aX[b]?"},
    "r3": {"model": "lgbm"},
    "r4": {"model": "xgb"},
    "r5": {"model": "xgb", "depth": "5"},
}
TAGS: dict[str, dict[str, Any]] = {
    "r1": {"team": "vision", "stage": "prod", "note key": "it's"},
    "r2": {"team": "nlp", "stage": "dev"},
    "r3": {"stage": "prod"},
    "r6": {"team": "Vision", "stage": "dev"},
}
METRICS: dict[str, dict[str, Any]] = {
    "r1": {"auc": 0.9, "loss": 0.1},
    "r2": {"auc": 0.7, "loss": NAN},
    "r3": {"auc": NAN},
    "r6": {"loss": 0.3},
    "r4": {"auc": 0.99},
    "r5": {"auc": 0.95},
}
E1_NEWEST_FIRST = ["r3", "r6", "r2", "r1"]
TABLES = METADATA.tables


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on an empty database with the store's tables."""
    if request.param == "sqlite":
        url = sa.make_url(f"sqlite:///{tmp_path / 'search.db'}")
    else:
        url = sa.make_url(request.getfixturevalue("postgres_db_url"))
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url)
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


def _rows(mapping: dict[str, dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    return [
        {"run_id": run_id, "key": key, "value": value, **extra}
        for run_id, pairs in mapping.items()
        for key, value in pairs.items()
    ]


@pytest.fixture
def conn(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection to the database holding the runs in the module docstring."""
    with engine.begin() as setup:
        setup.execute(
            sa.insert(TABLES["experiments"]),
            [
                {"id": e, "name": e, "description": "", "lifecycle": "active",
                 "created_at": 0, "updated_at": 0}
                for e in ("e1", "e2", "e3")
            ],
        )  # fmt: skip
        runs = [dict(zip(RUN_COLUMNS.split(), run, strict=True)) for run in RUNS]
        setup.execute(sa.insert(TABLES["runs"]), runs)
        setup.execute(sa.insert(TABLES["params"]), _rows(PARAMS))
        setup.execute(sa.insert(TABLES["run_tags"]), _rows(TAGS))
        setup.execute(sa.insert(TABLES["latest_metrics"]), _rows(METRICS, step=0, timestamp=0))
    with engine.connect() as connection:
        yield connection


def search(
    conn: sa.Connection,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    *,
    experiments: Sequence[str] = ("e1",),
    limit: int = 100,
    offset: int = 0,
    include_deleted: bool = False,
) -> list[str]:
    return search_run_ids(
        conn, list(experiments), filter, order_by, limit, offset, include_deleted=include_deleted
    )


# ------------------------------------------------------------------- scope and default order


def test_default_order_is_newest_first_then_id(conn: sa.Connection) -> None:
    assert search(conn) == E1_NEWEST_FIRST


def test_deleted_runs_are_excluded_unless_asked_for(conn: sa.Connection) -> None:
    assert "r4" not in search(conn, "params.model = 'xgb'")
    assert search(conn, include_deleted=True) == ["r4", *E1_NEWEST_FIRST]
    assert search(conn, "params.model = 'xgb'", include_deleted=True) == ["r4", "r1"]


def test_several_experiments_are_merged_in_order(conn: sa.Connection) -> None:
    assert search(conn, experiments=["e1", "e2"]) == ["r3", "r5", "r6", "r2", "r1"]
    assert search(conn, experiments=["e2", "e1", "e2"]) == ["r3", "r5", "r6", "r2", "r1"]
    assert search(conn, "metrics.auc > 0.8", experiments=["e1", "e2"]) == ["r5", "r1"]
    assert search(conn, experiments=["e3"]) == []
    assert search(conn, experiments=[]) == []


@pytest.mark.parametrize(
    ("order_by", "experiments"),
    [
        (None, ["e1"]),
        (None, ["e1", "e2"]),  # merged per-experiment pages
        (["metrics.auc desc"], ["e1", "e2"]),
        (["status"], ["e1", "e2"]),  # many ties: broken by start time, then id
        (["tags.stage", "metrics.loss"], ["e1"]),
    ],
)
def test_pages_are_stable_and_cover_every_run_once(
    conn: sa.Connection, order_by: list[str] | None, experiments: list[str]
) -> None:
    everything = search(conn, None, order_by, experiments=experiments)
    for size in (1, 2, 3):
        pages = [
            search(conn, None, order_by, experiments=experiments, limit=size, offset=start)
            for start in range(0, len(everything) + size, size)
        ]
        assert [run for page in pages for run in page] == everything
    assert search(conn, None, order_by, experiments=experiments, limit=0) == []


# ------------------------------------------------------------------- metrics


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("metrics.auc > 0.8", ["r1"]),
        ("metrics.auc >= 0.7", ["r2", "r1"]),
        ("metrics.auc = 0.9", ["r1"]),
        ("metrics.auc in (0.7, 0.9)", ["r2", "r1"]),
        ("metrics.loss <= 0.3", ["r6", "r1"]),
        # NaN (stored as NULL) fails every comparison except "differs from"
        ("metrics.auc < 1", ["r2", "r1"]),
        ("metrics.auc != 0.7", ["r3", "r1"]),
        ("metrics.auc not in (0.9)", ["r3", "r2"]),
        # is null: the run has no such metric (a NaN value is still a value)
        ("metrics.auc is null", ["r6"]),
        ("metrics.auc is not null", ["r3", "r2", "r1"]),
        # not: lacks the metric, or its value fails
        ("not metrics.auc > 0.8", ["r3", "r6", "r2"]),
        ("metrics.auc > 2", []),
    ],
)
def test_metric_filters(conn: sa.Connection, filter: str, expected: list[str]) -> None:
    assert search(conn, filter) == expected


# ------------------------------------------------------------------- params and tags


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("params.model = 'xgb'", ["r1"]),
        ("params.depth = 5", ["r1"]),  # a number matches the param's string form
        ("params.depth != '5'", ["r2"]),  # runs without the param do not match
        ("params.model in ('lgbm', 'xgb')", ["r3", "r1"]),
        ("params.model not in ('lgbm', 'xgb')", ["r2"]),
        ("params.depth is null", ["r3", "r6"]),
        ("params.depth is not null", ["r2", "r1"]),
        ("tags.team = 'vision'", ["r1"]),
        ("tags.team != 'vision'", ["r6", "r2"]),
        ("tags.team is null", ["r3"]),
        ("tags.`note key` = 'it\\'s'", ["r1"]),
        ("not tags.team in ('nlp')", ["r3", "r6", "r1"]),
    ],
)
def test_param_and_tag_filters(conn: sa.Connection, filter: str, expected: list[str]) -> None:
    assert search(conn, filter) == expected


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("params.model like 'xgb%'", ["r1"]),  # case-sensitive: not XGB-large
        ("params.model like 'XGB%'", ["r2"]),
        ("params.model ilike 'xgb%'", ["r2", "r1"]),
        ("params.model not like 'x%'", ["r3", "r2"]),
        ("params.model not ilike 'x%'", ["r3"]),
        ("tags.team ilike 'VISION'", ["r6", "r1"]),
        ("tags.team like 'vision'", ["r1"]),
        ("name like 'beta'", []),
        ("name ilike 'beta'", ["r2"]),
        ("name like '%ta'", ["r2"]),
        ("params.path like 'a_b'", ["r2", "r1"]),  # _ is any one character
        ("params.path like 'a\\_b'", ["r1"]),  # \_ is a literal underscore
        # GLOB's own wildcards in the value are literal characters to LIKE
        ("params.glob like 'a*[b]?'", ["r1"]),
        ("params.glob like 'a%[b]?'", ["r2", "r1"]),
        ("params.glob ilike 'A*[B]?'", ["r1"]),
    ],
)
def test_like_is_case_sensitive_and_ilike_is_not(
    conn: sa.Connection, filter: str, expected: list[str]
) -> None:
    assert search(conn, filter) == expected


# ------------------------------------------------------------------- attributes


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("status = 'finished'", ["r1"]),
        ("status in ('FAILED', 'killed')", ["r6", "r2"]),
        ("status != 'RUNNING'", ["r6", "r2", "r1"]),
        ("attributes.name = 'gamma'", ["r3"]),
        ("run_name in ('alpha', 'Beta')", ["r2", "r1"]),
        ("id = 'r2'", ["r2"]),
        ("attr.run_id not in ('r2', 'r3')", ["r6", "r1"]),
        ("user = 'ann'", ["r3", "r1"]),
        ("parent_run_id = 'r1'", ["r3"]),
        ("parent_run_id is null", ["r6", "r2", "r1"]),
        ("parent_run_id != 'r1'", []),  # runs without a parent have no parent to differ
        ("start_time >= 2000 and start_time < 3000", ["r2"]),
        ("end_time is null", ["r3"]),
        ("end_time < 6000", ["r2", "r1"]),
        ("duration > 1000", ["r6", "r1"]),  # r3 is still running: no duration
        ("not duration > 1000", ["r3", "r2"]),
        ("duration = 500", ["r2"]),
    ],
)
def test_attribute_filters(conn: sa.Connection, filter: str, expected: list[str]) -> None:
    assert search(conn, filter) == expected


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("params.model = 'lgbm' or metrics.auc > 0.8 and user = 'bob'", ["r3"]),
        ("(params.model = 'lgbm' or metrics.auc > 0.8) and user = 'ann'", ["r3", "r1"]),
        ("not params.model = 'lgbm' and tags.stage = 'prod'", ["r1"]),
        ("not (params.model = 'lgbm' and tags.stage = 'prod')", ["r6", "r2", "r1"]),
    ],
)
def test_boolean_structure(conn: sa.Connection, filter: str, expected: list[str]) -> None:
    assert search(conn, filter) == expected


# ------------------------------------------------------------------- ordering


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # runs without the key (r6) or with NaN (r3) come last in both directions
        (["metrics.auc desc"], ["r1", "r2", "r3", "r6"]),
        (["metrics.auc asc"], ["r2", "r1", "r3", "r6"]),
        (["metrics.auc"], ["r2", "r1", "r3", "r6"]),
        # params are strings: '10' < '5'
        (["params.depth"], ["r2", "r1", "r3", "r6"]),
        (["params.depth DESC"], ["r1", "r2", "r3", "r6"]),
        (["tags.stage", "metrics.auc desc"], ["r2", "r6", "r1", "r3"]),
        (["start_time asc"], ["r1", "r2", "r3", "r6"]),
        (["attributes.end_time"], ["r2", "r1", "r6", "r3"]),
        (["duration desc"], ["r6", "r1", "r2", "r3"]),
        (["id desc"], ["r6", "r3", "r2", "r1"]),
    ],
)
def test_order_by(conn: sa.Connection, order_by: list[str], expected: list[str]) -> None:
    assert search(conn, None, order_by) == expected


def test_order_by_with_filter(conn: sa.Connection) -> None:
    assert search(conn, "name != 'Beta'", ["attr.name DESC"]) == ["r3", "r6", "r1"]
    assert search(conn, "metrics.auc > 0", ["metrics.auc desc"], experiments=["e1", "e2"]) == [
        "r5",
        "r1",
        "r2",
    ]


# ------------------------------------------------------------------- bad input


def test_bad_filter_or_order_by_raises_before_querying(conn: sa.Connection) -> None:
    with pytest.raises(FilterSyntaxError):
        search(conn, "metrics.auc >")
    with pytest.raises(InvalidArgument) as caught:
        search(conn, None, ["metrics.auc sideways"])
    assert caught.value.field == "order_by"
    with pytest.raises(InvalidArgument) as caught:
        search(conn, None, ["colour"])
    assert caught.value.field == "order_by"
    with pytest.raises(InvalidArgument) as caught:
        search(conn, limit=-1)
    assert caught.value.field == "limit"


# ------------------------------------------------------------------- the metric-driven plan


@pytest.mark.parametrize("seed", range(3))
def test_ordering_by_a_metric_reads_the_same_pages_as_the_general_plan(
    engine: sa.Engine, seed: int
) -> None:
    """Searches ordered first by a metric walk the metric's index and stop early; on random
    runs (missing and NaN values, ties, deleted runs, two experiments) every page must equal
    the general query's."""
    import random

    rng = random.Random(seed)
    runs, metrics, params = [], [], []
    for i in range(120):
        run_id = f"x{i:03d}"
        runs.append(
            {"id": run_id, "experiment_id": rng.choice(["e1", "e2"]), "name": run_id,
             "status": "FINISHED", "start_time": rng.randrange(5), "end_time": None,
             "parent_run_id": None, "user": "u",
             "lifecycle": "deleted" if rng.random() < 0.15 else "active"}
        )  # fmt: skip
        for key in ("m", "n"):
            roll = rng.random()
            if roll < 0.2:
                continue  # no such metric
            value = None if roll < 0.3 else float(rng.randrange(6))  # NaN, or a tied value
            metrics.append(
                {"run_id": run_id, "key": key, "value": value, "step": 0, "timestamp": 0}
            )
        params.append({"run_id": run_id, "key": "p", "value": rng.choice("ab")})
    with engine.begin() as setup:
        setup.execute(
            sa.insert(TABLES["experiments"]),
            [{"id": e, "name": e, "description": "", "lifecycle": "active", "created_at": 0,
              "updated_at": 0} for e in ("e1", "e2")],
        )  # fmt: skip
        setup.execute(sa.insert(TABLES["runs"]), runs)
        setup.execute(sa.insert(TABLES["latest_metrics"]), metrics)
        setup.execute(sa.insert(TABLES["params"]), params)
    cases = [
        (None, ["metrics.m desc"]),
        (None, ["metrics.m"]),
        ("params.p = 'a'", ["metrics.m desc", "metrics.n"]),
        ("metrics.n > 1", ["metrics.m", "start_time asc"]),
        ("not metrics.m > 2", ["metrics.m desc"]),
    ]
    with engine.connect() as conn:
        for filter, order_by in cases:
            for experiments in (["e1"], ["e1", "e2"]):
                for deleted in (False, True):
                    args = (conn, experiments, filter, order_by)
                    general = search_run_ids(*args, 1000, 0, deleted, drive_by_metric=False)
                    assert search_run_ids(*args, 1000, 0, deleted) == general
                    for limit, offset in ((7, 0), (7, 14), (25, 40), (10, len(general) - 5)):
                        page = search_run_ids(*args, limit, offset, deleted)
                        assert page == general[offset : offset + limit], (filter, order_by)


def test_a_repeated_search_shape_binds_each_searchs_own_values(conn: sa.Connection) -> None:
    """Searches of one shape share a built statement: the experiments, limit and offset of
    each search are its own, never the previous search's."""
    assert search(conn, "metrics.auc > 0.8", ["metrics.auc desc"]) == ["r1"]
    assert search(conn, "metrics.auc > 0.8", ["metrics.auc desc"], experiments=["e2"]) == ["r5"]
    assert search(conn, "metrics.auc > 0.6", ["metrics.auc desc"], limit=1, offset=1) == ["r2"]
    assert search(conn, None, None, limit=2) == E1_NEWEST_FIRST[:2]
    assert search(conn, None, None, limit=2, offset=2) == E1_NEWEST_FIRST[2:]
    assert search(conn, None, None, experiments=["e2", "e1"], limit=3) == ["r3", "r5", "r6"]


def test_the_metric_walk_reads_the_metric_index_then_filters_then_runs(tmp_path: Path) -> None:
    """With table statistics (after ``ANALYZE``) SQLite's planner preferred scanning every
    run of the experiment and sorting them all; the metric walk must still start from the
    metric's (key, value) index, whatever the statistics say, test each candidate's filter
    keys, and only then look the run up by id."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'analyzed.db'}")
    METADATA.create_all(engine)
    runs = [
        {"id": f"x{i:04d}", "experiment_id": "e1", "name": "r", "status": "FINISHED",
         "start_time": i, "end_time": i + 1, "parent_run_id": None, "user": "u",
         "lifecycle": "active"}
        for i in range(2000)
    ]  # fmt: skip
    metrics = [
        {"run_id": r["id"], "key": key, "value": (i * 7919 % 1000) / 1000, "step": 0,
         "timestamp": 0}
        for i, r in enumerate(runs) for key in ("m0", "m1")
    ]  # fmt: skip
    params = [{"run_id": r["id"], "key": "p0", "value": "abcd"[i % 4]} for i, r in enumerate(runs)]
    with engine.begin() as setup:
        setup.execute(
            sa.insert(TABLES["experiments"]),
            [{"id": "e1", "name": "e1", "description": "", "lifecycle": "active",
              "created_at": 0, "updated_at": 0}],
        )  # fmt: skip
        setup.execute(sa.insert(TABLES["runs"]), runs)
        setup.execute(sa.insert(TABLES["latest_metrics"]), metrics)
        setup.execute(sa.insert(TABLES["params"]), params)
        setup.execute(sa.text("ANALYZE"))
    statements: list[str] = []
    with engine.connect() as conn:
        # the search's statement goes to the driver's cursor: traced there, values inlined
        driver = conn.connection.dbapi_connection
        driver.set_trace_callback(statements.append)
        found = search_run_ids(
            conn, ["e1"], "metrics.m0 > 0.5 and params.p0 = 'a'", ["metrics.m1 desc"], 100, 0
        )
        driver.set_trace_callback(None)
        assert len(found) == 100
        (statement,) = [s for s in statements if s.lstrip().startswith("SELECT")]
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement).all()
    steps = [row[3] for row in plan]
    engine.dispose()
    assert "ix_latest_metrics_key_value_run_id" in steps[0], steps
    assert not any(step.startswith("SCAN") for step in steps), steps
    # each candidate is tested on its metric and param before its run is looked up
    runs_lookup = next(i for i, step in enumerate(steps) if step.startswith("SEARCH runs"))
    param_probe = next(i for i, step in enumerate(steps) if step.startswith("SEARCH params"))
    assert param_probe < runs_lookup, steps
