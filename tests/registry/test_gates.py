"""The promotion rule language: parsing (with positioned errors) and evaluation."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from shipyard.errors import InvalidArgument
from shipyard.store._gates import evaluate, parse_rule

CHAMPION = (3, {"auc": 0.85, "latency_ms": 10.0, "val auc": 0.7})


def lookup(alias: str) -> tuple[int, Mapping[str, float]] | None:
    return CHAMPION if alias == "champion" else None


@pytest.mark.parametrize(
    ("rule", "candidate", "passed", "detail"),
    [
        ("metrics.auc >= champion.metrics.auc", {"auc": 0.9}, True, "0.9 >= 0.85"),
        ("metrics.auc > champion.metrics.auc", {"auc": 0.85}, False, "0.85 <= 0.85"),
        ("metrics.auc > 0.8", {"auc": 0.81}, True, "0.81 > 0.8"),
        ("metrics.auc >= champion.metrics.auc - 0.01", {"auc": 0.845}, True, "0.845 >= 0.84"),
        ("metrics.latency_ms <= champion.metrics.latency_ms * 1.1", {"latency_ms": 12.0},
         False, "12 > 11"),
        ("metrics.`val auc` != 0", {"val auc": 0.5}, True, "0.5 != 0"),
        ("champion.metrics.`val auc` < metrics.auc", {"auc": 0.8}, True, "0.7 < 0.8"),
        ("metrics.val.auc = 1", {"val.auc": 1.0}, True, "1 = 1"),
        ("-metrics.loss > -(1 + 1) / 2", {"loss": 0.5}, True, "-0.5 > -1"),
        ("metrics.auc >= challenger.metrics.auc", {"auc": 0.1}, True, "no challenger yet"),
        ("metrics.f1 > 0.5", {"auc": 0.9}, False, "the candidate has no metric 'f1'"),
        ("metrics.auc > champion.metrics.f1", {"auc": 0.9}, False,
         "champion (version 3) has no metric 'f1'"),
        ("metrics.auc > 0.5", {"auc": float("nan")}, False, "NaN cannot pass"),
    ],
)  # fmt: skip
def test_rules_evaluate_with_the_values_they_compared(
    rule: str, candidate: dict[str, float], passed: bool, detail: str
) -> None:
    result = evaluate(parse_rule(rule), candidate, lookup)
    assert (result.rule, result.passed) == (rule, passed)
    assert detail in result.detail


@pytest.mark.parametrize(
    ("rule", "position", "expected"),
    [
        ("metrics.auc >", 13, "at the end"),
        ("auc > 1", 0, "a metric such as metrics.auc"),
        ("metrics.auc >> 1", 13, "near '> 1'"),
        ("metrics.auc", 11, "a comparison"),
        ("metrics.auc > 'high'", 14, "a number"),
        ("Champion.metrics.auc > 1", 0, "a metric"),
    ],
)
def test_syntax_errors_say_where_and_what_was_expected(
    rule: str, position: int, expected: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_rule(rule)
    assert caught.value.field == "require"
    assert caught.value.details["position"] == position
    assert f"at position {position}" in caught.value.message and expected in caught.value.message


def test_empty_rules_are_refused() -> None:
    for text in ("", "   "):
        with pytest.raises(InvalidArgument, match="non-empty"):
            parse_rule(text)


def test_aliases_a_rule_reads() -> None:
    rule = parse_rule("metrics.a > champion.metrics.a + challenger.metrics.b")
    assert rule.aliases == {"champion", "challenger"}
