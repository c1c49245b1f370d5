"""MLflow's search filter and order_by, translated into Shipyard's search language."""

from __future__ import annotations

import pytest

from shipyard.errors import InvalidArgument
from shipyard.server._mlflow_filter import (
    UnsupportedFilter,
    translate_filter,
    translate_order_by,
)
from shipyard.store._filter import parse_filter, parse_order_by


@pytest.mark.parametrize(
    ("mlflow", "shipyard"),
    [
        ("metrics.rmse < 1", "metrics.`rmse` < 1"),
        ("metric.val.auc >= 0.9", "metrics.`val.auc` >= 0.9"),
        ("params.model = 'tree'", "params.`model` = 'tree'"),
        ('params."my key" != "a b"', "params.`my key` != 'a b'"),
        ("tags.`team name` LIKE 'fr%'", "tags.`team name` like 'fr%'"),
        ("tags.team ILIKE '%RAUD'", "tags.`team` ilike '%RAUD'"),
        ("attributes.status IN ('FINISHED', 'FAILED')", "status in ('FINISHED', 'FAILED')"),
        ("attributes.run_name NOT IN ('a')", "name not in ('a')"),
        ("attribute.user_id = 'ann'", "user = 'ann'"),
        ("attributes.created > 5", "start_time > 5"),
        ("run_id = 'abc'", "run_id = 'abc'"),
        ("tags.note = 'it''s'", "tags.`note` = 'it\\'s'"),
        (
            "metrics.a == 1 AND params.b = '2' and tags.c IS NOT NULL",
            "metrics.`a` = 1 and params.`b` = '2' and tags.`c` is not null",
        ),
        ("  ", None),
        (None, None),
    ],
)
def test_mlflow_filters_become_shipyard_filters(mlflow: str | None, shipyard: str | None) -> None:
    translated = translate_filter(mlflow)
    assert translated == shipyard
    if translated is not None:
        parse_filter(translated)  # and Shipyard's parser takes it


@pytest.mark.parametrize(
    ("mlflow", "words"),
    [
        ("datasets.name = 'x'", "datasets"),
        ("attributes.artifact_uri = 'x'", "artifact_uri"),
        ("metrics.a > 1 OR metrics.b > 1", "OR"),
    ],
)
def test_clauses_shipyard_cannot_answer_are_refused_by_name(mlflow: str, words: str) -> None:
    with pytest.raises(UnsupportedFilter, match=words) as raised:
        translate_filter(mlflow)
    assert raised.value.field == "filter"


@pytest.mark.parametrize(
    ("mlflow", "words"),
    [
        ("metrics.a >", "ends too early"),
        ("metrics.a 1", "comparison operator"),
        ("bogus.a = 1", "unknown prefix 'bogus'"),
        ("attributes.colour = 'red'", "unknown attribute 'colour'"),
        ("metrics.a = 1 metrics.b = 2", "expected AND"),
        ("params.a IN ('x' 'y')", "',' or ')'"),
        ("params.a = ;", "unexpected character ';'"),
        ("params.a NOT = 'x'", "IN, LIKE or ILIKE after NOT"),
    ],
)
def test_malformed_filters_say_what_is_wrong(mlflow: str, words: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        translate_filter(mlflow)
    assert words in raised.value.message and raised.value.field == "filter"


def test_order_by_translates_and_keeps_mlflow_default_order() -> None:
    assert translate_order_by(None) == ["start_time desc"]
    translated = translate_order_by(["metrics.acc DESC", "params.`my p` ASC", "run_name"])
    assert translated == ["metrics.`acc` desc", "params.`my p`", "name", "start_time desc"]
    assert translate_order_by(["attributes.start_time ASC"]) == ["start_time"]
    parse_order_by(translated)
    with pytest.raises(InvalidArgument, match="ASC, DESC"):
        translate_order_by(["metrics.acc sideways"])
