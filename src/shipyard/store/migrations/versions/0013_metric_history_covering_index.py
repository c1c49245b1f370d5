"""metrics: a covering index for the reduced history (run, key, step, timestamp, id, value)

The chart of a 100,000-point history is reduced in the database (``store/_history.py``): a
``GROUP BY`` over the run's rows, then per bucket its first, last, lowest and highest row.
With value and timestamp in the index (and the id, which PostgreSQL would otherwise fetch
from the table), both the grouping and the picks read the index alone, never a table row.
It replaces the (run, key, step) index, its prefix, so a logged metric still updates one
index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 21:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_OLD = "ix_metrics_run_id_key_step"
_NEW = "ix_metrics_run_id_key_step_timestamp_id_value"


def upgrade() -> None:
    op.create_index(_NEW, "metrics", ["run_id", "key", "step", "timestamp", "id", "value"])
    op.drop_index(_OLD, table_name="metrics")


def downgrade() -> None:
    op.create_index(_OLD, "metrics", ["run_id", "key", "step"])
    op.drop_index(_NEW, table_name="metrics")
