"""Queries of model aliases and their audit history: moving an alias (through the promotion
gates), removing it, and reading who moved which alias when and why.

Moves lock the model's row first (see ``store._registry``), so a promotion's gates are
checked against the aliases as they are when the alias moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select, update

from shipyard.entities import (
    AliasEvent,
    AliasOutcome,
    GateResult,
)
from shipyard.errors import NotFound
from shipyard.store import _gates
from shipyard.store._models.registry import MODEL_ALIAS_EVENTS, MODEL_ALIASES, REGISTERED_MODELS
from shipyard.store._registry import (
    alias_version_row,
    model_row,
    to_json,
    version_row,
)
from shipyard.store._sql import record, upsert


def _event(
    conn: Connection, model: Any, name: str, values: dict[str, Any], record: bool
) -> AliasEvent:
    gates: list[GateResult] = values.pop("gate_results")
    row_id = 0
    if record:
        row_id = conn.execute(
            MODEL_ALIAS_EVENTS.insert()
            .values(model_id=model.id, gates=to_json([g.to_dict() for g in gates]), **values)
            .returning(MODEL_ALIAS_EVENTS.c.id)
        ).scalar_one()
    return AliasEvent(id=row_id, name=name, gates=gates, **values)


def set_model_alias(
    conn: Connection,
    name: str,
    alias: str,
    version: int,
    *,
    rules: Sequence[_gates.Rule],
    force: bool,
    reason: str,
    actor: str,
    dry_run: bool,
    now: int,
) -> AliasEvent:
    """Point ``alias`` at ``version`` if every rule passes (or ``force``), and record the
    attempt in the alias history either way (not with ``dry_run``, which changes nothing).

    A rejected attempt is recorded with outcome ``rejected`` and the alias stays where it was.
    """
    model = model_row(conn, name, lock=True)
    target = version_row(conn, model.id, name, version)
    current = alias_version_row(conn, model, name, alias)
    candidate = {k: float(v) for k, v in orjson.loads(target.metrics).items()}

    def lookup(other: str) -> tuple[int, Mapping[str, float]] | None:
        row = alias_version_row(conn, model, name, other)
        if row is None:
            return None
        return row.version, {k: float(v) for k, v in orjson.loads(row.metrics).items()}

    results = [_gates.evaluate(rule, candidate, lookup) for rule in rules]
    passed = all(r.passed for r in results)
    values = {
        "alias": alias,
        "from_version": None if current is None else current.version,
        "to_version": version,
        "actor": actor,
        "reason": reason,
        "outcome": AliasOutcome.MOVED if passed or force else AliasOutcome.REJECTED,
        "forced": force and not passed,
        "gate_results": results,
        "created_at": now,
    }
    if dry_run:
        return _event(conn, model, name, values, record=False)
    if passed or force:
        stmt = upsert(conn, MODEL_ALIASES).values(
            model_id=model.id, alias=alias, version_id=target.id, updated_at=now, updated_by=actor
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["model_id", "alias"],
                set_={"version_id": target.id, "updated_at": now, "updated_by": actor},
            )
        )
        conn.execute(
            update(REGISTERED_MODELS)
            .where(REGISTERED_MODELS.c.id == model.id)
            .values(updated_at=now)
        )
    return _event(conn, model, name, values, record=True)


def delete_model_alias(
    conn: Connection, name: str, alias: str, *, reason: str, actor: str, now: int
) -> AliasEvent:
    """Remove an alias (recorded in the history); an unset alias is NotFound."""
    model = model_row(conn, name, lock=True)
    current = alias_version_row(conn, model, name, alias)
    if current is None:
        raise NotFound(f"model {name!r} has no alias {alias!r}", field="alias")
    conn.execute(
        delete(MODEL_ALIASES).where(
            MODEL_ALIASES.c.model_id == model.id, MODEL_ALIASES.c.alias == alias
        )
    )
    values = {
        "alias": alias,
        "from_version": current.version,
        "to_version": None,
        "actor": actor,
        "reason": reason,
        "outcome": AliasOutcome.DELETED,
        "forced": False,
        "gate_results": [],
        "created_at": now,
    }
    return _event(conn, model, name, values, record=True)


def alias_events(
    conn: Connection, name: str, alias: str | None = None, limit: int = 100
) -> list[AliasEvent]:
    """A model's alias history (one alias, or all), newest first."""
    model = model_row(conn, name)
    query = select(MODEL_ALIAS_EVENTS).where(MODEL_ALIAS_EVENTS.c.model_id == model.id)
    if alias is not None:
        query = query.where(MODEL_ALIAS_EVENTS.c.alias == alias)
    rows = conn.execute(query.order_by(MODEL_ALIAS_EVENTS.c.id.desc()).limit(limit))
    return [
        record(
            AliasEvent,
            row,
            name=name,
            forced=bool(row.forced),
            gates=[GateResult(**g) for g in orjson.loads(row.gates)],
        )
        for row in rows
    ]
