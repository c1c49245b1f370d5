"""The run-search filter language: what each filter means, and how bad ones are reported."""

from __future__ import annotations

import pytest

from shipyard.client import Store
from shipyard.errors import FilterSyntaxError, InvalidArgument
from shipyard.store._filter import (
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

AUC = Field("metric", "auc")


def metric(key: str) -> Field:
    return Field("metric", key)


def param(key: str) -> Field:
    return Field("param", key)


def tag(key: str) -> Field:
    return Field("tag", key)


def attr(name: str) -> Field:
    return Field("attribute", name)


def parse(text: str) -> Expr:
    expr = parse_filter(text)
    assert expr is not None
    return expr


def a(n: int) -> Comparison:
    """A distinct comparison per number, for the precedence tests."""
    return Comparison(metric(f"m{n}"), ">", n)


# ------------------------------------------------------------------- what each filter means

COMPARISONS = [
    # metrics compare numbers
    ("metrics.auc = 0.5", Comparison(AUC, "=", 0.5)),
    ("metrics.auc == 0.5", Comparison(AUC, "=", 0.5)),
    ("metrics.auc != 1", Comparison(AUC, "!=", 1)),
    ("metrics.auc <> 1", Comparison(AUC, "!=", 1)),
    ("metrics.auc < -2", Comparison(AUC, "<", -2)),
    ("metrics.auc <= 1.5e3", Comparison(AUC, "<=", 1500.0)),
    ("metrics.auc > .5", Comparison(AUC, ">", 0.5)),
    ("metrics.auc >= -1E-3", Comparison(AUC, ">=", -0.001)),
    ("metrics.auc in (1, 2.5)", Comparison(AUC, "in", (1, 2.5))),
    ("metrics.auc not in (0)", Comparison(AUC, "not in", (0,))),
    ("metrics.auc is null", Comparison(AUC, "is null")),
    ("metrics.auc is not null", Comparison(AUC, "is not null")),
    ("metrics.val.auc > 0", Comparison(metric("val.auc"), ">", 0)),
    ("metric.loss < 1", Comparison(metric("loss"), "<", 1)),
    # params and tags compare strings; a number means its string form
    ("params.model = 'xgb'", Comparison(param("model"), "=", "xgb")),
    ("params.depth = 5", Comparison(param("depth"), "=", "5")),
    ("params.lr = 0.001", Comparison(param("lr"), "=", "0.001")),
    ("params.model != \"rf\"", Comparison(param("model"), "!=", "rf")),
    ("params.model like 'xg%'", Comparison(param("model"), "like", "xg%")),
    ("params.model not like 'xg%'", Comparison(param("model"), "not like", "xg%")),
    ("params.model ilike 'XG%'", Comparison(param("model"), "ilike", "XG%")),
    ("params.model not ilike 'XG%'", Comparison(param("model"), "not ilike", "XG%")),
    ("params.depth in (5, '6')", Comparison(param("depth"), "in", ("5", "6"))),
    ("params.depth not in ('5')", Comparison(param("depth"), "not in", ("5",))),
    ("params.depth is null", Comparison(param("depth"), "is null")),
    ("tags.team = 'vision'", Comparison(tag("team"), "=", "vision")),
    ("tags.team is not null", Comparison(tag("team"), "is not null")),
    ("tag.team in ('a', 'b')", Comparison(tag("team"), "in", ("a", "b"))),
    # attributes, bare or prefixed, with aliases resolved
    ("status = 'finished'", Comparison(attr("status"), "=", "FINISHED")),
    ("attributes.status in ('Failed', 'KILLED')",
     Comparison(attr("status"), "in", ("FAILED", "KILLED"))),
    ("attr.status != 'running'", Comparison(attr("status"), "!=", "RUNNING")),
    ("name like 'bert-%'", Comparison(attr("name"), "like", "bert-%")),
    ("attributes.run_name = 'x'", Comparison(attr("name"), "=", "x")),
    ("id = 'abc'", Comparison(attr("run_id"), "=", "abc")),
    ("attributes.run_id in ('a', 'b')", Comparison(attr("run_id"), "in", ("a", "b"))),
    ("start_time >= 1700000000000", Comparison(attr("start_time"), ">=", 1700000000000)),
    ("attr.end_time is null", Comparison(attr("end_time"), "is null")),
    ("user = 'ann'", Comparison(attr("user"), "=", "ann")),
    ("parent_run_id is not null", Comparison(attr("parent_run_id"), "is not null")),
    ("duration > 60000", Comparison(attr("duration"), ">", 60000)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), COMPARISONS)
def test_each_operator_and_field_kind_parses_to_its_comparison(text: str, expected: Expr) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", [text for text, _ in COMPARISONS])
def test_rendering_a_filter_parses_back_to_the_same_ast(text: str) -> None:
    """str(ast) is a filter string that means the same thing (used to echo or forward filters)."""
    expr = parse(text)
    assert parse(str(expr)) == expr


def test_and_binds_tighter_than_or() -> None:
    text = "metrics.m1 > 1 or metrics.m2 > 2 and metrics.m3 > 3"
    assert parse(text) == Or((a(1), And((a(2), a(3)))))
    text = "metrics.m1 > 1 and metrics.m2 > 2 or metrics.m3 > 3"
    assert parse(text) == Or((And((a(1), a(2))), a(3)))


def test_not_binds_tighter_than_and_and_or() -> None:
    assert parse("not metrics.m1 > 1 and metrics.m2 > 2") == And((Not(a(1)), a(2)))
    assert parse("not metrics.m1 > 1 or metrics.m2 > 2") == Or((Not(a(1)), a(2)))
    assert parse("not not metrics.m1 > 1") == Not(Not(a(1)))


def test_parentheses_override_precedence() -> None:
    text = "(metrics.m1 > 1 or metrics.m2 > 2) and metrics.m3 > 3"
    assert parse(text) == And((Or((a(1), a(2))), a(3)))
    assert parse("not (metrics.m1 > 1 or metrics.m2 > 2)") == Not(Or((a(1), a(2))))
    assert parse("((metrics.m1 > 1))") == a(1)


def test_chains_of_the_same_connective_are_one_node() -> None:
    assert parse("metrics.m1 > 1 and metrics.m2 > 2 and metrics.m3 > 3") == And((a(1), a(2), a(3)))
    assert parse("metrics.m1 > 1 or metrics.m2 > 2 or metrics.m3 > 3") == Or((a(1), a(2), a(3)))


@pytest.mark.parametrize(
    "text",
    [
        "(metrics.m1 > 1 or metrics.m2 > 2) and metrics.m3 > 3",
        "metrics.m1 > 1 or metrics.m2 > 2 and metrics.m3 > 3",
        "not (metrics.m1 > 1 and (metrics.m2 > 2 or not metrics.m3 > 3))",
        "(metrics.m1 > 1 or metrics.m2 > 2) or metrics.m3 > 3",
        "(metrics.m1 > 1 and metrics.m2 > 2) and metrics.m3 > 3",
    ],
)
def test_rendering_keeps_the_grouping(text: str) -> None:
    expr = parse(text)
    assert parse(str(expr)) == expr


def test_keywords_are_case_insensitive_but_keys_are_not() -> None:
    upper = parse("METRICS.AUC > 1 AND Params.Model LIKE 'x' Or NOT tags.T IS NOT NULL")
    assert upper == Or(
        (
            And((Comparison(metric("AUC"), ">", 1), Comparison(param("Model"), "like", "x"))),
            Not(Comparison(tag("T"), "is not null")),
        )
    )
    assert parse("Status NOT IN ('Finished')") == Comparison(
        attr("status"), "not in", ("FINISHED",)
    )


def test_keys_may_look_like_keywords_or_contain_dashes_colons_and_dots() -> None:
    assert parse("params.and = 'x'") == Comparison(param("and"), "=", "x")
    assert parse("tags.not is null") == Comparison(tag("not"), "is null")
    assert parse("metrics.train-loss:epoch.1 < 2") == Comparison(
        metric("train-loss:epoch.1"), "<", 2
    )


def test_backtick_quoted_keys_hold_any_character() -> None:
    assert parse("params.`my key` = 'v'") == Comparison(param("my key"), "=", "v")
    assert parse("tags.`a\\`b (c)` = 'v'") == Comparison(tag("a`b (c)"), "=", "v")
    assert str(param("my key")) == "params.`my key`"


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"it\'s"', "it's"),
        ("'double \"inside\" single'", 'double "inside" single'),
        (r"'back\\slash'", "back\\slash"),
        (r"'tab\tnew\nline'", "tab\tnew\nline"),
        (r"'50\%'", "50\\%"),  # unknown escapes stay, so like can match a literal % or _
        ("''", ""),
    ],
)
def test_string_escapes(literal: str, value: str) -> None:
    expr = parse(f"params.p = {literal}")
    assert expr == Comparison(param("p"), "=", value)
    assert parse(str(expr)) == expr


def test_an_empty_filter_matches_everything() -> None:
    assert parse_filter(None) is None
    assert parse_filter("") is None
    assert parse_filter("   \n") is None


# ------------------------------------------------------------------- syntax errors

SYNTAX_ERRORS = [
    # text, position, an expected item, a piece of the message
    ("metrics.auc >", 13, "a value (number or quoted string)", "after '>'"),
    ("metrics.auc 0.9", 12, "a comparison operator", "after 'metrics.auc'"),
    ("params.x = 'unterminated", 11, "a closing '", "unterminated"),
    ("params.`my key = 'x'", 7, "a closing `", "unterminated"),
    ("(metrics.a > 1", 14, "')'", "after '1'"),
    ("metrics.a > 1 and", 17, "a field such as metrics.auc", "after 'and'"),
    ("metrics.a in (1 2)", 16, "','", "after '1'"),
    ("metrics.a in ()", 14, "a value (number or quoted string)", "after '('"),
    ("params.x like 5", 14, "a quoted string", "after 'like'"),
    ("metrics.a > 1 )", 14, "the end of the input", "after '1'"),
    ("metrics.a ! 1", 10, "a comparison operator", 'near "! 1"'),
    ("tags.t is nul", 10, "'null'", "after 'is'"),
    ("metrics. > 1", 8, "a key", "after 'metrics.'"),
    ("and metrics.a > 1", 0, "a field such as metrics.auc", 'near "and metrics.a > 1"'),
]


@pytest.mark.parametrize(("text", "position", "expected", "fragment"), SYNTAX_ERRORS)
def test_syntax_errors_give_position_and_expectation(
    text: str, position: int, expected: str, fragment: str
) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    error = caught.value
    assert error.position == position
    assert expected in error.expected
    assert error.message.startswith(f"filter syntax error at position {position}")
    assert fragment in error.message
    assert error.field == "filter"
    assert error.to_dict()["details"] == {"position": position, "expected": error.expected}


def test_expected_lists_only_what_can_follow() -> None:
    """After a complete comparison only 'and', 'or' or the end fit, not ',' or ')'."""
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter("metrics.a > 1 metrics.b > 2")
    assert caught.value.expected == ["'and'", "'or'", "the end of the input"]
    assert 'near "metrics.b > 2"' in caught.value.message


# ------------------------------------------------------------------- meaning errors


def semantic_error(text: str) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text)
    assert not isinstance(caught.value, FilterSyntaxError)
    assert caught.value.field == "filter"
    return caught.value


def test_unknown_attribute_lists_the_attributes_and_the_prefixed_forms() -> None:
    message = semantic_error("accuracy > 0.9").message
    assert "unknown attribute 'accuracy'" in message
    for name in ("status", "name", "run_id", "start_time", "end_time", "duration"):
        assert name in message
    assert "metrics.accuracy" in message


def test_unknown_prefix_is_named() -> None:
    message = semantic_error("metricz.auc > 1").message
    assert "'metricz.auc'" in message
    assert "metrics.<key>" in message


def test_bad_status_lists_the_valid_ones() -> None:
    message = semantic_error("status = 'done'").message
    assert "'done'" in message
    assert "RUNNING, SCHEDULED, FINISHED, FAILED, KILLED" in message


def test_a_string_for_a_metric_is_an_error() -> None:
    message = semantic_error("metrics.auc > '0.9'").message
    assert "metrics.auc" in message
    assert "number" in message


def test_less_than_on_a_param_says_params_are_strings_and_suggests_a_metric() -> None:
    message = semantic_error("params.lr < 0.1").message
    assert "params.lr" in message
    assert "strings" in message
    assert "metrics.lr" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("metrics.auc like '0.9%'", "metrics.auc is a number"),
        ("start_time = 'yesterday'", "start_time is compared as a number"),
        ("status like 'F%'", "status is a string"),
        ("name > 'b'", "name is a string"),
        ("tags.t >= 'b'", "tags are stored as strings"),
    ],
)
def test_operators_must_fit_the_field_type(text: str, fragment: str) -> None:
    assert fragment in semantic_error(text).message


# ------------------------------------------------------------------- order_by


def test_order_by_entries() -> None:
    assert parse_order_by(
        ["metrics.auc desc", "params.model", "start_time ASC", "attributes.name DESC", "id"]
    ) == [
        OrderKey(AUC, descending=True),
        OrderKey(param("model")),
        OrderKey(attr("start_time")),
        OrderKey(attr("name"), descending=True),
        OrderKey(attr("run_id")),
    ]
    assert parse_order_by(["tags.`my tag` desc"]) == [OrderKey(tag("my tag"), descending=True)]
    assert parse_order_by(None) == []
    assert parse_order_by("metrics.auc desc") == [OrderKey(AUC, descending=True)]


def test_order_by_unknown_field_is_an_invalid_argument_naming_order_by() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_order_by(["metrics.auc desc", "accuracy"])
    assert caught.value.field == "order_by"
    assert "unknown attribute 'accuracy'" in caught.value.message
    assert "start_time" in caught.value.message


def test_order_by_syntax_error_gives_position() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_order_by(["metrics.auc downward"])
    error = caught.value
    assert error.field == "order_by"
    assert error.details["position"] == 12
    assert error.details["expected"] == ["'asc'", "'desc'", "the end of the input"]
    assert error.message.startswith("order_by syntax error at position 12")


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (" or ".join(f"metrics.m = {i}" for i in range(1100)), "1,100 comparisons"),
        (" and ".join(f"metrics.m != {i}" for i in range(201)), "201 comparisons"),
        ("params.p in (" + ",".join(f"'{i}'" for i in range(10_001)) + ")", "10,001 values"),
        ("not " * 40 + "metrics.m = 1", "41 levels of nesting"),
    ],
    ids=["1100-or", "201-and", "values", "nesting"],
)
def test_oversized_filters_are_refused_naming_the_limit(text: str, what: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text)
    assert caught.value.field == "filter"
    assert what in caught.value.message and "the limit is" in caught.value.message


def test_filters_at_the_limits_parse() -> None:
    assert isinstance(parse_filter(" or ".join(f"metrics.m = {i}" for i in range(200))), Or)
    assert isinstance(parse_filter("not " * 31 + "metrics.m = 1"), Not)


def test_an_oversized_filter_is_invalid_not_an_outage_on_every_store(store: Store) -> None:
    """Embedded and through the server, on SQLite and PostgreSQL: a 422 naming the limit,
    not the database's "expression tree is too large" reported as a 503."""
    experiment = store.create_experiment("limits")
    store.create_run(experiment.id, "r")
    huge = " or ".join(f"metrics.m = {i}" for i in range(1100))
    with pytest.raises(InvalidArgument) as caught:
        store.search_runs([experiment.id], huge)
    assert caught.value.http_status == 422 and caught.value.field == "filter"
    assert "the limit is 200" in caught.value.message
    largest = " or ".join(f"metrics.m = {i}" for i in range(200))
    assert store.search_runs([experiment.id], largest).runs == []
