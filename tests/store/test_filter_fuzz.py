"""Property tests of the run-search filter language: any text either parses or is refused
with InvalidArgument (never another exception, at parse time or once the search runs), and a
generated valid filter renders back to the same AST and selects, on every database, exactly
the runs a brute-force Python evaluation of its meaning selects."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.entities import RUN_STATUSES, MetricPoint
from shipyard.errors import InvalidArgument
from shipyard.store._filter import parse_filter
from tests.support.contract import examples

NAN = math.nan


@dataclass(frozen=True)
class Seeded:
    """A run as the brute-force evaluation sees it."""

    name: str
    user: str
    start: int
    end: int | None
    status: str
    child: bool
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


RUNS = [
    Seeded("alpha", "ann", 1000, 5000, "FINISHED", False, {"auc": 0.9, "loss": 0.1},
           {"model": "xgb", "depth": "5"}, {"team": "vision"}),
    Seeded("Beta", "bob", 2000, 2500, "FAILED", False, {"auc": 0.7, "loss": NAN},
           {"model": "XGB-large", "depth": "10"}, {"team": "nlp"}),
    Seeded("gamma", "ann", 3000, None, "RUNNING", True, {"auc": NAN},
           {"model": "lgbm"}, {}),
    Seeded("alpha-2", "cat", 3000, 9000, "KILLED", False, {"loss": 0.3},
           {"depth": "5.0"}, {"team": "Vision"}),
    Seeded("a_b", "bob", 4000, 4000, "FINISHED", False, {"auc": 1.0, "loss": -1.0},
           {"model": "a%b"}, {"team": ""}),
]  # fmt: skip

NUMBERS = [0, 0.1, 0.3, 0.7, 0.9, 1, 1.0, -1, 10**25, -(10**25), 1e300, 2.5e-7]
TIMES = [0, 500, 1000, 2000, 2500, 2500.5, 3000, 4000, 4e3, 5000, 9000, 10**20, 1e20]
TEXTS = {
    "params.model": ["xgb", "XGB-large", "lgbm", "a%b", "", "x"],
    "params.depth": ["5", "10", "5.0", 5, 10, 5.0],
    "tags.team": ["vision", "Vision", "nlp", ""],
    "name": ["alpha", "Beta", "beta", "gamma", "alpha-2", "a_b"],
    "user": ["ann", "bob", "cat", "dan"],
}
PATTERNS = ["xgb", "x%", "%gb%", "_gb", "X%", "%", "%-%", "xg_", "a\\%b", "a\\_b", "%a", "V%"]
NUMERIC = {"metrics.auc": NUMBERS, "metrics.loss": NUMBERS, "start_time": TIMES,
           "end_time": TIMES, "duration": TIMES}  # fmt: skip
NUMERIC_OPS = ["=", "==", "!=", "<>", "<", "<=", ">", ">="]


def _number(value: int | float) -> str:
    return repr(value)


def _text(value: str | int | float) -> str:
    if not isinstance(value, str):
        return repr(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _like(pattern: str, text: str, *, fold: bool) -> bool:
    regex = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            regex.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            regex.append(".*")
        elif ch == "_":
            regex.append(".")
        else:
            regex.append(re.escape(ch))
    return re.fullmatch("".join(regex), text, re.DOTALL | (re.I if fold else 0)) is not None


def _value_of(run: Seeded, field: str) -> tuple[bool, Any]:
    """(whether the run has the field, its value: None for a NaN metric or missing time)."""
    prefix, _, key = field.partition(".")
    if prefix == "metrics":
        value = run.metrics.get(key)
        return key in run.metrics, None if value is None or math.isnan(value) else value
    if prefix in ("params", "tags"):
        pairs = run.params if prefix == "params" else run.tags
        return key in pairs, pairs.get(key)
    duration = None if run.end is None else run.end - run.start
    values = {"start_time": run.start, "end_time": run.end, "duration": duration,
              "name": run.name, "user": run.user, "status": run.status}  # fmt: skip
    return True, values[field]


Check = Callable[[Seeded], bool]
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b, "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}  # fmt: skip


def _comparison(field: str, op: str, value: Any) -> Check:
    """The meaning of one comparison, as docs/search.md states it."""
    prefix = field.partition(".")[0]
    is_metric = prefix == "metrics"
    text = prefix in ("params", "tags") or field in ("name", "user")
    want = value
    if text and op not in ("like", "not like", "ilike", "not ilike"):
        want = [str(v) for v in value] if isinstance(value, list) else str(value)

    def check(run: Seeded) -> bool:
        has, got = _value_of(run, field)
        if not has:
            return False
        if got is None:  # NaN differs from every number; a missing time passes nothing
            return is_metric and op in ("!=", "<>", "not in")
        if op == "in":
            return got in want
        if op == "not in":
            return got not in want
        if op in ("like", "ilike"):
            return _like(want, got, fold=op == "ilike")
        if op in ("not like", "not ilike"):
            return not _like(want, got, fold=op == "not ilike")
        return _COMPARE[op](got, want)

    return check


@dataclass(frozen=True)
class Generated:
    """A filter's text and its meaning."""

    text: str
    check: Check


def _keyword(draw: st.DrawFn, word: str) -> str:
    return draw(st.sampled_from([word, word.upper(), word.capitalize()]))


@st.composite
def comparisons(draw: st.DrawFn) -> Generated:
    kind = draw(st.sampled_from(["numeric", "text", "like", "in", "null", "status"]))
    if kind == "numeric":
        field = draw(st.sampled_from(sorted(NUMERIC)))
        op = draw(st.sampled_from(NUMERIC_OPS))
        value = draw(st.sampled_from(NUMERIC[field]))
        return Generated(f"{field} {op} {_number(value)}", _comparison(field, op, value))
    if kind == "text":
        field = draw(st.sampled_from(sorted(TEXTS)))
        op = draw(st.sampled_from(["=", "!=", "==", "<>"]))
        text = draw(st.sampled_from(TEXTS[field]))
        return Generated(f"{field} {op} {_text(text)}", _comparison(field, op, text))
    if kind == "like":
        field = draw(st.sampled_from(sorted(TEXTS)))
        op = draw(st.sampled_from(["like", "not like", "ilike", "not ilike"]))
        pattern = draw(st.sampled_from(PATTERNS))
        words = " ".join(_keyword(draw, w) for w in op.split())
        return Generated(f"{field} {words} {_text(pattern)}", _comparison(field, op, pattern))
    if kind == "in":
        field = draw(st.sampled_from(sorted(TEXTS) + sorted(NUMERIC)))
        pool = TEXTS.get(field) or NUMERIC[field]
        values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        op = draw(st.sampled_from(["in", "not in"]))
        render = _text if field in TEXTS else _number
        words = " ".join(_keyword(draw, w) for w in op.split())
        listed = ", ".join(render(v) for v in values)
        return Generated(f"{field} {words} ({listed})", _comparison(field, op, values))
    if kind == "null":
        field = draw(st.sampled_from(["metrics.auc", "params.depth", "tags.team", "end_time",
                                      "duration", "parent_run_id"]))  # fmt: skip
        negated = draw(st.booleans())
        words = " ".join(_keyword(draw, w) for w in ("is", *(["not"] if negated else []), "null"))

        def null(run: Seeded) -> bool:
            if field == "parent_run_id":
                has = run.child
            elif "." in field:  # a key is present when logged (a NaN metric too)
                has = _value_of(run, field)[0]
            else:
                has = _value_of(run, field)[1] is not None
            return has if negated else not has

        return Generated(f"{field} {words}", null)
    op = draw(st.sampled_from(["=", "!="]))
    status = draw(st.sampled_from(RUN_STATUSES))
    cased = draw(st.sampled_from([status, status.lower(), status.capitalize()]))
    return Generated(f"status {op} '{cased}'", _comparison("status", op, status))


def _combine(children: st.SearchStrategy[Generated]) -> st.SearchStrategy[Generated]:
    def both(pair: tuple[Generated, Generated, str]) -> Generated:
        left, right, word = pair
        both_hold = word.lower() == "and"
        return Generated(
            f"({left.text}) {word} ({right.text})",
            lambda r: (
                (left.check(r) and right.check(r))
                if both_hold
                else (left.check(r) or right.check(r))
            ),
        )

    def negate(child: Generated) -> Generated:
        return Generated(f"not ({child.text})", lambda r: not child.check(r))

    words = st.sampled_from(["and", "AND", "or", "Or"])
    return st.one_of(st.tuples(children, children, words).map(both), children.map(negate))


FILTERS = st.recursive(comparisons(), _combine, max_leaves=6)
#: Fragments of the language, so arbitrary text often gets far into the grammar.
TOKENS = [
    "metrics.auc", "params.model", "tags.`a b`", "attr.start_time", "status", "duration",
    "metric.", "params.`", "and", "or", "not", "in", "like", "ilike", "is", "null", "(", ")",
    ",", "=", "!=", "<", ">=", "0", "-1.5e3", "1e400", "9" * 30, "9" * 5000, "'x'", "'a\\'b'",
    '"', "'", "\\", "`", "\x00", "é", "\n",
]  # fmt: skip
ARBITRARY = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join),
)


@pytest.fixture
def runs(settings: Settings) -> Iterator[tuple[LocalStore, str, list[str]]]:
    """A store holding RUNS in one experiment; the experiment id and the run ids in order."""
    store = LocalStore(settings)
    exp = store.create_experiment("fuzz")
    ids: list[str] = []
    for seeded in RUNS:
        parent = ids[0] if seeded.child else None
        run = store.create_run(
            exp.id, seeded.name, user=seeded.user, start_time=seeded.start, parent_run_id=parent
        )
        points = [MetricPoint(k, v, 0, 1) for k, v in seeded.metrics.items()]
        store.log_batch(run.id, points, seeded.params, seeded.tags)
        store.update_run(run.id, status=seeded.status, end_time=seeded.end)
        ids.append(run.id)
    yield store, exp.id, ids


FUZZ = settings(
    max_examples=examples(60),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(max_examples=examples(300), deadline=None, derandomize=True, database=None)
@given(text=ARBITRARY)
def test_any_text_parses_or_is_an_invalid_argument(text: str) -> None:
    try:
        expr = parse_filter(text)
    except InvalidArgument as exc:
        assert exc.field == "filter", exc
        return
    if expr is not None:
        assert parse_filter(str(expr)) == expr


@FUZZ
@given(text=ARBITRARY)
def test_searching_with_any_text_finds_runs_or_is_an_invalid_argument(
    runs: tuple[LocalStore, str, list[str]], text: str
) -> None:
    store, experiment, _ = runs
    try:
        store.search_runs([experiment], text)
    except InvalidArgument as exc:
        assert exc.field == "filter", exc


@FUZZ
@given(generated=FILTERS)
def test_valid_filters_select_what_they_mean(
    runs: tuple[LocalStore, str, list[str]], generated: Generated
) -> None:
    store, experiment, ids = runs
    expr = parse_filter(generated.text)
    assert expr is not None and parse_filter(str(expr)) == expr, generated.text
    found = {run.id for run in store.search_runs([experiment], generated.text).runs}
    expected = {run_id for run_id, run in zip(ids, RUNS, strict=True) if generated.check(run)}
    assert found == expected, generated.text


def test_an_integer_of_thousands_of_digits_is_out_of_range_not_a_crash() -> None:
    for field in ("metrics.auc", "params.depth", "start_time"):
        with pytest.raises(InvalidArgument, match="out of range") as caught:
            parse_filter(f"{field} = {'9' * 5000}")
        assert caught.value.field == "filter"


def test_integers_past_64_bits_compare_as_numbers_on_every_database(
    runs: tuple[LocalStore, str, list[str]],
) -> None:
    store, experiment, ids = runs
    for text, expected in [
        (f"metrics.auc < {10**25}", [0, 1, 4]),
        (f"metrics.auc > -{10**25} and metrics.auc < 0.8", [1]),
        (f"start_time < {2**64}", [0, 1, 2, 3, 4]),
        (f"duration >= {2**63}", []),
        ("start_time > 2999.5 and end_time < 1e20", [3, 4]),
    ]:
        found = {run.id for run in store.search_runs([experiment], text).runs}
        assert found == {ids[i] for i in expected}, text
    # a param keeps comparing against the number's text
    assert parse_filter(f"params.depth = {10**25}") == parse_filter(f"params.depth = '{10**25}'")
