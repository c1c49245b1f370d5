"""deployments: which model version each model server serves, and its changes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("reference", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("challenger", sa.String(length=256), nullable=False),
        sa.Column("challenger_version", sa.Integer(), nullable=False),
        sa.Column("traffic_share", sa.Float(), nullable=False),
        sa.Column("address", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=False),
        sa.Column("stopped_at", sa.BigInteger(), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployments_model"), ["model"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_project"), ["project"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_started_at"), ["started_at"], unique=False)
    op.create_table(
        "deployment_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("deployment", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("challenger_version", sa.Integer(), nullable=False),
        sa.Column("traffic_share", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment"],
            ["deployments.id"],
            name=op.f("fk_deployment_events_deployment_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_events")),
    )
    with op.batch_alter_table("deployment_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deployment_events_deployment_id"), ["deployment", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deployment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_events_deployment_id"))
    op.drop_table("deployment_events")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployments_started_at"))
        batch_op.drop_index(batch_op.f("ix_deployments_project"))
        batch_op.drop_index(batch_op.f("ix_deployments_model"))
    op.drop_table("deployments")
