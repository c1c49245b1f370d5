"""Run search: compile a parsed filter and ``order_by`` into one SQLAlchemy Core query.

The query selects ``runs.id`` from the runs of the given experiments, so it can use the index
(experiment_id, lifecycle, start_time) both to find them and, for the default ordering, to read
them newest first and stop after one page.

- A metric/param/tag comparison is a correlated ``EXISTS`` on the key table's primary key
  (run_id, key): one index probe per candidate run, and the truth value is always true or false,
  so ``not`` means "lacks the key, or its value fails the test".
- Attribute comparisons test the ``runs`` columns; on a column a run may leave empty (end_time,
  duration, parent_run_id) a comparison is false when it is empty, again so ``not`` is plain
  negation.
- Metric values that are NaN are stored as NULL: they fail every comparison except ``!=`` and
  ``not in`` (as NaN does in IEEE arithmetic) and sort last.
- Ordering by a metric/param/tag left-joins the key table once per order key (its own alias),
  so runs without the key still appear, and sort last in both directions (``NULLS LAST``, which
  SQLite has supported since 3.30). Every ordering ends with ``start_time desc`` (unless
  already ordered by start time) and ``runs.id``, so pages are stable.
- ``like`` is case-sensitive on both backends: on SQLite, whose LIKE ignores case, the pattern
  is translated to GLOB; ``ilike`` ignores case on both.
- Ordering first by a metric reads the runs in that order from the ``(key, value)`` index of
  ``latest_metrics`` and stops after one page, instead of visiting every run and sorting the
  matches (which grew faster than the number of runs). Runs without a value for the metric
  sort last, so a second query fetches them only when the first one ran out of rows. The
  filter's metric/param/tag tests are correlated with the walked row's run id, not the
  run's, so SQLite tests each candidate with two key probes before it looks the run up (a
  page at 1/8 selectivity walks 800 candidates; this halves its cost on SQLite).
- Several experiments searched newest first get one arm each (reading its index range in
  order and stopping after offset + limit rows), merged with UNION ALL: a single
  ``experiment_id IN (...)`` cannot use the index order and would sort all their runs.
"""

from __future__ import annotations

import difflib
import functools
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BindParameter, ColumnElement, Connection, FromClause, Select

from shipyard.entities import Lifecycle
from shipyard.errors import InvalidArgument
from shipyard.store._driver import fetch_compiled
from shipyard.store._filter import (
    NULLABLE_ATTRIBUTES,
    And,
    Comparison,
    Expr,
    Field,
    Not,
    Or,
    OrderKey,
    parse_filter,
    parse_order_by,
)
from shipyard.store._models.tracking import LATEST_METRICS, PARAMS, RUN_TAGS, RUNS

__all__ = ["build_search_query", "check_filter_keys", "search_run_ids"]

_KEY_TABLES: dict[str, FromClause] = {
    "metric": LATEST_METRICS,
    "param": PARAMS,
    "tag": RUN_TAGS,
}
_ATTRIBUTE_COLUMNS = {"run_id": "id"}  # attribute name -> runs column, where they differ
_LIKE_ESCAPE = "\\"
#: Most experiments searched with one merged arm each (SQLite allows 500 compound arms).
_MAX_ARMS = 50
#: Distinct search shapes whose statements are kept built (see _Shape).
_STATEMENT_CACHE = 256

_Column = ColumnElement[Any]
_Condition = ColumnElement[bool]
_BINARY: dict[str, Callable[[Any, Any], _Condition]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda col, values: col.in_(values),
    "not in": lambda col, values: col.not_in(values),
    "ilike": lambda col, pattern: col.ilike(pattern, escape=_LIKE_ESCAPE),
    "not ilike": lambda col, pattern: ~col.ilike(pattern, escape=_LIKE_ESCAPE),
}


def search_run_ids(
    conn: Connection,
    experiment_ids: Sequence[str],
    filter: str | None,
    order_by: Sequence[str] | None,
    limit: int,
    offset: int,
    include_deleted: bool = False,
    *,
    drive_by_metric: bool = True,
) -> list[str]:
    """The ids of the runs in ``experiment_ids`` matching ``filter``, in ``order_by`` order
    (default: newest first), ``limit`` of them starting at ``offset``.

    ``drive_by_metric=False`` answers a search ordered by a metric with the general query
    (the tests compare both plans).

    Raises FilterSyntaxError / InvalidArgument for a bad filter or order_by, before querying,
    and InvalidArgument when nothing matched and the filter names a metric or param that no
    run of the experiments has (:func:`check_filter_keys`).
    """
    if limit < 0 or offset < 0:
        name, value = ("limit", limit) if limit < 0 else ("offset", offset)
        raise InvalidArgument(f"{name} must be 0 or more, got {value}", field=name)
    expr, order = parse_filter(filter), tuple(parse_order_by(order_by))
    if not experiment_ids or limit == 0:
        return []
    experiments = list(dict.fromkeys(experiment_ids))  # a repeated id must not repeat runs
    shape = _Shape(conn.dialect.name, expr, order, len(experiments), include_deleted)
    values: dict[str, Any] = {_experiment_param(i): e for i, e in enumerate(experiments)}
    if order and order[0].field.kind == "metric" and drive_by_metric:
        ids = _search_by_metric(conn, _metric_plan(shape), values, limit, offset)
    else:
        query = _general_query(shape)
        bound = {**values, "limit": limit, "offset": offset, "end": offset + limit}
        ids = [row[0] for row in fetch_compiled(conn, query, bound)]
    if not ids and offset == 0 and expr is not None:
        check_filter_keys(conn, experiment_ids, expr)
    return ids


def _compared(expr: Expr) -> Iterator[Field]:
    """Every field a filter compares."""
    if isinstance(expr, Comparison):
        yield expr.field
    elif isinstance(expr, Not):
        yield from _compared(expr.operand)
    else:
        for operand in expr.operands:
            yield from _compared(operand)


def check_filter_keys(conn: Connection, experiment_ids: Sequence[str], expr: Expr) -> None:
    """Raise InvalidArgument naming the metric and param keys of ``expr`` that no run of the
    experiments has (with the near keys they have), so a typo such as ``metrics.aucc`` is
    not mistaken for "no run matches". Tags are not checked: a tag often marks runs that do
    not exist yet. Called when a search found nothing."""
    problems = []
    for kind in ("metric", "param"):
        wanted = sorted({f.key for f in _compared(expr) if f.kind == kind})
        if not wanted:
            continue
        table = _KEY_TABLES[kind]
        runs = sa.select(RUNS.c.id).where(RUNS.c.experiment_id.in_(list(experiment_ids)))
        known = set(
            conn.execute(
                sa.select(table.c.key).where(table.c.run_id.in_(runs)).distinct()
            ).scalars()
        )
        if not known:
            continue  # nothing logged yet: nothing to compare a key with
        for key in wanted:
            if key in known:
                continue
            near = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(f'{kind}s.{k}' for k in near)}?)" if near else ""
            problems.append(f"{kind}s.{key}{hint}")
    if problems:
        raise InvalidArgument(
            f"no run in the searched experiments has {'; '.join(problems)}", field="filter"
        )


@dataclass(frozen=True)
class _Shape:
    """What a search's SQL depends on, apart from the values bound at execution (experiment
    ids, limit, offset): the key of the statement cache. Two searches of the same shape run
    the same statement object, so SQLAlchemy neither rebuilds nor recompiles it."""

    dialect: str
    expr: Expr | None
    order: tuple[OrderKey, ...]
    experiments: int
    include_deleted: bool


def _experiment_param(index: int) -> str:
    """The name of the bound parameter holding the ``index``-th searched experiment id."""
    return f"experiment_{index}"


def _experiment_params(count: int) -> list[BindParameter[str]]:
    return [sa.bindparam(_experiment_param(i), type_=sa.String()) for i in range(count)]


@dataclass(frozen=True)
class _Scope:
    """Which runs a search may return: their experiments (bound parameters), the filter,
    the lifecycle."""

    experiments: list[BindParameter[str]]
    expr: Expr | None
    dialect: str
    include_deleted: bool

    def where(
        self,
        query: Select[Any],
        *,
        by_experiment_index: bool = True,
        run_id: _Column = RUNS.c.id,
    ) -> Select[Any]:
        """``query`` limited to the runs in scope. ``by_experiment_index=False`` keeps SQLite
        from reading the runs through the experiment index (it then drives the query from
        another table and looks runs up by id). ``run_id`` is the column the metric, param
        and tag tests are correlated with: a driving table's run id lets SQLite test them
        before it looks the run up."""
        experiment: ColumnElement[Any] = RUNS.c.experiment_id
        if not by_experiment_index and self.dialect == "sqlite":
            experiment = experiment.concat("")  # an expression: no index applies to it
        if len(self.experiments) == 1:
            query = query.where(experiment == self.experiments[0])
        else:
            query = query.where(experiment.in_(self.experiments))
        if not self.include_deleted:
            query = query.where(RUNS.c.lifecycle == Lifecycle.ACTIVE.value)
        if self.expr is None:
            return query
        return query.where(_condition(self.expr, self.dialect, run_id))


_LIMIT = sa.bindparam("limit", type_=sa.Integer())
_OFFSET = sa.bindparam("offset", type_=sa.Integer())
#: offset + limit: how far a metric walk or a merged arm reads.
_END = sa.bindparam("end", type_=sa.Integer())


@dataclass(frozen=True)
class _MetricPlan:
    """The two statements of a search ordered first by a metric (see _search_by_metric)."""

    valued: Select[Any]
    missing: Select[Any]


@functools.lru_cache(maxsize=_STATEMENT_CACHE)
def _metric_plan(shape: _Shape) -> _MetricPlan:
    """The statements of a search ordered first by a metric.

    The first walks ``latest_metrics`` rows of that key in value order (joined to their
    runs, filtered, tie-broken by the remaining terms) and stops after ``end`` rows. The
    second reads the runs without a value (no metric, or NaN stored as NULL) in the order of
    the remaining terms, ``limit`` of them after ``offset``.

    On SQLite the join is written so that only the runs side can be looked up by key
    (``driver.run_id || ''``): with table statistics (after an ``ANALYZE``) SQLite's planner
    would otherwise scan every run of the experiment, probe its metric and sort them all.
    """
    scope = _Scope(
        _experiment_params(shape.experiments), shape.expr, shape.dialect, shape.include_deleted
    )
    first, rest = shape.order[0], shape.order[1:]
    driver = LATEST_METRICS.alias("driver")
    source, terms = _ordering(rest)
    driver_run: ColumnElement[Any] = driver.c.run_id
    if shape.dialect == "sqlite":
        driver_run = driver_run.concat("")  # no index on this side: driver is read first
    valued = scope.where(
        sa.select(RUNS.c.id)
        .select_from(driver.join(source, driver_run == RUNS.c.id))
        .where(driver.c.key == first.field.key, driver.c.value.is_not(None)),
        by_experiment_index=False,
        run_id=driver.c.run_id,
    )
    head = _SortTerm(driver.c.value, first.descending, nullable=False)
    ordering = [t.clause(t.column) for t in (head, *terms)]
    has_value = sa.exists().where(
        driver.c.run_id == RUNS.c.id,
        driver.c.key == first.field.key,
        driver.c.value.is_not(None),
    )
    missing = scope.where(sa.select(RUNS.c.id).select_from(source).where(~has_value))
    tail = missing.order_by(*(t.clause(t.column) for t in terms)).limit(_LIMIT).offset(_OFFSET)
    return _MetricPlan(valued.order_by(*ordering).limit(_END), tail)


def _search_by_metric(
    conn: Connection, plan: _MetricPlan, values: dict[str, Any], limit: int, offset: int
) -> list[str]:
    """One page of runs ordered first by a metric, read in the order of the metric's index
    (``plan`` from :func:`_metric_plan`). Runs without a value come after all the runs that
    have one: they are read only if the first query ran out."""
    found = [row[0] for row in fetch_compiled(conn, plan.valued, {**values, "end": offset + limit})]
    if len(found) == offset + limit:
        return found[offset:]
    skip = max(0, offset - len(found))
    wanted = limit - len(found[offset:])
    tail = fetch_compiled(conn, plan.missing, {**values, "limit": wanted, "offset": skip})
    return found[offset:] + [row[0] for row in tail]


def build_search_query(
    experiment_ids: Sequence[str],
    expr: Expr | None,
    order: Sequence[OrderKey],
    *,
    dialect: str,
    limit: int,
    offset: int = 0,
    include_deleted: bool = False,
) -> Select[Any]:
    """The SELECT of one page of matching run ids, in order, with its values bound (the
    general plan, whatever the first order key)."""
    experiments = list(dict.fromkeys(experiment_ids))
    shape = _Shape(dialect, expr, tuple(order), len(experiments), include_deleted)
    values = {_experiment_param(i): e for i, e in enumerate(experiments)}
    return _general_query(shape).params(
        {**values, "limit": limit, "offset": offset, "end": offset + limit}
    )


@functools.lru_cache(maxsize=_STATEMENT_CACHE)
def _general_query(shape: _Shape) -> Select[Any]:
    """The SELECT of one page of matching run ids, in order; experiments, ``limit``,
    ``offset`` and ``end`` (their sum) are bound at execution.

    ``dialect`` is the SQLAlchemy dialect name ("sqlite", "postgresql"); it decides how
    ``like`` is spelled. When several experiments are searched newest-first, each experiment
    gets its own arm that reads its runs in index order and stops after ``offset + limit``, and
    the arms are merged: one ``experiment_id IN (...)`` scan would have to sort every run.
    """
    source, terms = _ordering(shape.order)
    experiments = _experiment_params(shape.experiments)

    def runs_of(ids: list[BindParameter[str]]) -> Select[Any]:
        scope = _Scope(ids, shape.expr, shape.dialect, shape.include_deleted)
        return scope.where(sa.select(RUNS.c.id).select_from(source))

    merge = not shape.include_deleted and 1 < len(experiments) <= _MAX_ARMS
    if not merge or not terms[0].uses_index:
        page = runs_of(experiments).order_by(*(t.clause(t.column) for t in terms))
        return page.limit(_LIMIT).offset(_OFFSET)
    arms = [
        runs_of([experiment])
        .add_columns(*(t.column.label(f"sort_{i}") for i, t in enumerate(terms)))
        .order_by(*(t.clause(t.column) for t in terms))
        .limit(_END)
        .subquery()
        for experiment in experiments
    ]
    merged = sa.union_all(*(sa.select(arm) for arm in arms)).subquery("merged")
    ordering = (t.clause(merged.c[f"sort_{i}"]) for i, t in enumerate(terms))
    return sa.select(merged.c.id).order_by(*ordering).limit(_LIMIT).offset(_OFFSET)


def _condition(expr: Expr, dialect: str, run_id: _Column) -> _Condition:
    """The SQL truth value of a filter expression; metric, param and tag tests look up
    the run ``run_id``."""
    if isinstance(expr, And):
        return sa.and_(*(_condition(e, dialect, run_id) for e in expr.operands))
    if isinstance(expr, Or):
        return sa.or_(*(_condition(e, dialect, run_id) for e in expr.operands))
    if isinstance(expr, Not):
        return sa.not_(_condition(expr.operand, dialect, run_id))
    if expr.field.kind == "attribute":
        return _attribute_condition(expr, dialect)
    return _key_condition(expr, dialect, run_id)


def _key_condition(cmp: Comparison, dialect: str, run_id: _Column) -> _Condition:
    """``[NOT] EXISTS`` a row of the metric/param/tag table for this run and key whose value
    passes the test."""
    table = _KEY_TABLES[cmp.field.kind]
    conditions = [table.c.run_id == run_id, table.c.key == cmp.field.key]
    if cmp.op not in ("is null", "is not null"):
        test = _value_test(table.c.value, cmp, dialect)
        if cmp.field.kind == "metric" and cmp.op in ("!=", "not in"):
            test = sa.or_(table.c.value.is_(None), test)  # NaN differs from every number
        conditions.append(test)
    found = sa.exists().where(*conditions)
    return ~found if cmp.op == "is null" else found


def _attribute_condition(cmp: Comparison, dialect: str) -> _Condition:
    """A test on a ``runs`` column; false, not NULL, where the run has no value."""
    column = _attribute_column(cmp.field.key)
    if cmp.op == "is null":
        return column.is_(None)
    if cmp.op == "is not null":
        return column.is_not(None)
    test = _value_test(column, cmp, dialect)
    if cmp.field.key in NULLABLE_ATTRIBUTES:
        return sa.and_(column.is_not(None), test)
    return test


def _attribute_column(name: str) -> _Column:
    if name == "duration":
        return RUNS.c.end_time - RUNS.c.start_time
    return RUNS.c[_ATTRIBUTE_COLUMNS.get(name, name)]


def _value_test(column: _Column, cmp: Comparison, dialect: str) -> _Condition:
    """``column <op> value`` for every operator but the null tests."""
    if cmp.op in ("like", "not like"):
        assert isinstance(cmp.value, str)
        test = _case_sensitive_like(column, cmp.value, dialect)
        return ~test if cmp.op == "not like" else test
    return _BINARY[cmp.op](column, _bound(cmp.value))


def _bound(value: Any) -> Any:
    """The value(s) to compare with: floats bound as floats, so that an integer column (a
    time attribute) is compared with ``2500.5`` or ``1e20`` as a number, not the value cast
    to the column's integer type (PostgreSQL refuses it past 64 bits and rounds fractions)."""
    if isinstance(value, tuple):
        return tuple(_bound(v) for v in value)
    return sa.literal(value, sa.Float()) if isinstance(value, float) else value


def _case_sensitive_like(column: _Column, pattern: str, dialect: str) -> _Condition:
    """LIKE that respects case on every backend (SQLite's LIKE ignores ASCII case; GLOB
    does not)."""
    if dialect == "sqlite":
        return column.op("GLOB", is_comparison=True)(_like_to_glob(pattern))
    return column.like(pattern, escape=_LIKE_ESCAPE)


def _like_to_glob(pattern: str) -> str:
    r"""Translate a LIKE pattern (``%``, ``_``, ``\`` escapes) to the same GLOB pattern."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == _LIKE_ESCAPE:
            out.append(_glob_literal(next(chars, _LIKE_ESCAPE)))
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        else:
            out.append(_glob_literal(ch))
    return "".join(out)


def _glob_literal(ch: str) -> str:
    return f"[{ch}]" if ch in "*?[" else ch


@dataclass(frozen=True)
class _SortTerm:
    """One ORDER BY term: what to sort on, which way, and whether it can be NULL."""

    column: _Column
    descending: bool
    nullable: bool
    uses_index: bool = False  # runs.start_time: the runs index can deliver this order

    def clause(self, column: _Column) -> _Column:
        """The ORDER BY clause for ``column`` (this term's column, or its label in a merge)."""
        term = column.desc() if self.descending else column.asc()
        return term.nulls_last() if self.nullable else term


def _ordering(order: Sequence[OrderKey]) -> tuple[FromClause, list[_SortTerm]]:
    """The FROM clause (runs, left-joined to one key-table alias per metric/param/tag order
    key) and the ORDER BY terms, ending with the tie-breakers ``start_time desc`` (unless
    already ordered by start time) and ``runs.id``."""
    source: FromClause = RUNS
    terms: list[_SortTerm] = []
    for index, key in enumerate(order):
        if key.field.kind == "attribute":
            name = key.field.key
            column = _attribute_column(name)
            terms.append(
                _SortTerm(column, key.descending, name in NULLABLE_ATTRIBUTES, name == "start_time")
            )
            continue
        alias = _KEY_TABLES[key.field.kind].alias(f"order_{index}")
        joined_on = sa.and_(alias.c.run_id == RUNS.c.id, alias.c.key == key.field.key)
        source = source.outerjoin(alias, joined_on)
        terms.append(_SortTerm(alias.c.value, key.descending, nullable=True))
    if Field("attribute", "start_time") not in {key.field for key in order}:
        terms.append(_SortTerm(RUNS.c.start_time, True, nullable=False, uses_index=True))
    terms.append(_SortTerm(RUNS.c.id, False, nullable=False))
    return source, terms
