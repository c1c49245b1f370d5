"""Alembic environment: runs on the connection Shipyard hands over (never from an ini URL)."""

from __future__ import annotations

from alembic import context

from shipyard.store._models import METADATA

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
