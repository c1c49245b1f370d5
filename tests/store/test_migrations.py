"""Migrations: an empty database migrates to head, and the models agree with the migrations."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from shipyard.store import HEAD_REVISION, current_revision, get_engine
from shipyard.store._engine import _MIGRATIONS
from shipyard.store._models import METADATA


def test_head_constant_matches_alembic_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_empty_database_migrates_to_head_and_matches_models(db_url: str) -> None:
    engine = get_engine(db_url)
    assert current_revision(engine) == HEAD_REVISION
    tables = set(inspect(engine).get_table_names())
    assert set(METADATA.tables) <= tables
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, METADATA)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_migrating_twice_is_a_no_op(tmp_path: Path) -> None:
    from shipyard.store._engine import _create, upgrade

    url = f"sqlite:///{tmp_path / 'twice.db'}"
    engine = _create(url, 1000)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION
