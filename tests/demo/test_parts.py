"""The demo's parts that a user meets without running it all: the recalibrated instrument,
the serving burst's input checks, and how a failing stage ends `shipyard demo`."""

from __future__ import annotations

import pandas as pd
import pytest

from shipyard.demo import SCALE, SHIFTED, recalibrated, run_serving_demo
from shipyard.errors import InvalidArgument
from tests.support.cli import Cli


def test_the_recalibrated_instrument_scales_only_the_size_columns() -> None:
    frame = pd.DataFrame({c: [1.0, 2.0] for c in (*SHIFTED, "mean texture")})
    out = recalibrated(frame)
    assert out[list(SHIFTED)].to_numpy().tolist() == [[SCALE] * 6, [2 * SCALE] * 6]
    assert out["mean texture"].tolist() == [1.0, 2.0]
    assert frame["mean radius"].tolist() == [1.0, 2.0]  # the input is left as it was


def test_the_serving_burst_refuses_empty_rows_naming_the_field() -> None:
    with pytest.raises(InvalidArgument, match="no input example; pass rows") as caught:
        run_serving_demo("anything@champion", rows=[])
    assert caught.value.field == "rows"


def test_the_serving_burst_needs_rows_for_a_model_without_an_input_example(
    model_without_example: str,
) -> None:
    with pytest.raises(InvalidArgument, match=f"{model_without_example} has no input example"):
        run_serving_demo(model_without_example)


def test_a_failing_stage_ends_the_demo_with_one_error_line(
    cli: Cli, default_client: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_FLUSH_INTERVAL", "0")  # the default client cannot start
    stderr = cli.errors("demo")
    assert len(stderr.splitlines()) == 1
    assert stderr.startswith("error: ") and "flush_interval" in stderr


def test_each_demo_run_gets_the_first_names_not_taken() -> None:
    from shipyard.demo import DemoNames, first_free

    assert first_free(set()) == DemoNames(1, "demo", "demo-model", "breast-cancer")
    assert first_free({"demo"}).number == 2
    assert first_free({"demo", "demo-model-2"}) == DemoNames(
        3, "demo-3", "demo-model-3", "breast-cancer-3"
    )
    assert first_free({"breast-cancer"}).monitor == "demo-model-2"
    with pytest.raises(ValueError, match="start at 1"):
        DemoNames.numbered(0)
