"""indexes for search and the package-set access check

``latest_metrics (key, value, run_id)`` replaces ``(key, value)``: a search ordered by a
metric walks that index in value order and needs each row's run id (PostgreSQL fetched it
from the table for every candidate). ``run_tags`` gets a partial index of the package-set
tags by value (hash on PostgreSQL: tag values may be longer than a b-tree entry), for the
check that a run of the caller's projects recorded a package set before it is read.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_PACKAGE_SET_ROWS = sa.text("\"key\" = 'shipyard.packages.sha256'")


def upgrade() -> None:
    with op.batch_alter_table("latest_metrics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_latest_metrics_key_value_run_id"), ["key", "value", "run_id"]
        )
        batch_op.drop_index(batch_op.f("ix_latest_metrics_key_value"))
    op.create_index(
        "ix_run_tags_package_set",
        "run_tags",
        ["value"],
        sqlite_where=_PACKAGE_SET_ROWS,
        postgresql_where=_PACKAGE_SET_ROWS,
        postgresql_using="hash",
    )


def downgrade() -> None:
    op.drop_index("ix_run_tags_package_set", table_name="run_tags")
    with op.batch_alter_table("latest_metrics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_latest_metrics_key_value"), ["key", "value"])
        batch_op.drop_index(batch_op.f("ix_latest_metrics_key_value_run_id"))
