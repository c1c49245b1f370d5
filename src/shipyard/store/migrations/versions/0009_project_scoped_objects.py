"""project of every object kind: datasets, pipelines, pipeline runs, schedules, feature
definitions and monitors (existing rows go to ``default``)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 06:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: The tables that gain a ``project`` column; their version, step-run, materialization and
#: monitor-run rows belong to the project of the row they hang off.
TABLES = (
    "datasets",
    "pipelines",
    "pipeline_runs",
    "schedules",
    "feature_definitions",
    "monitors",
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("project", sa.String(length=64), server_default="default", nullable=False)
            )
            batch_op.create_index(batch_op.f(f"ix_{table}_project"), ["project"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_project"))
            batch_op.drop_column("project")
