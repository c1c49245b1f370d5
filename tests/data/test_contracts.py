"""Data contracts as a user meets them: a pandera schema on ``data.register`` and on pipeline
steps stops bad data before it is stored or used, with a report naming the column, the check
and failing rows, recorded on the run and in lineage; an edited contract re-runs its step."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

import shipyard
from shipyard import data, lineage
from shipyard.entities import StepStatus
from shipyard.errors import InvalidArgument, NotFound, PipelineFailed
from shipyard.pipelines import pipeline, step
from shipyard.tracking import Client

SALES = pa.DataFrameSchema(
    {
        "id": pa.Column("int64", unique=True),
        "amount": pa.Column("float64", pa.Check.in_range(0, 1000)),
        "city": pa.Column(str, pa.Check.isin(["Oslo", "Rome", "Lima"])),
        "note": pa.Column(str, nullable=True),
        "code": pa.Column(str, pa.Check(lambda s: s.str.len() == 3, name="three letters")),
    },
    name="sales",
)


def _sales(**changes: list[object]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "amount": [10.0, 20.5, 999.0, 0.0],
            "city": ["Oslo", "Rome", "Lima", "Oslo"],
            "note": ["a", None, "c", None],
            "code": ["abc", "def", "ghi", "jkl"],
        }
    )
    for column, values in changes.items():
        frame[column] = values
    return frame


def test_good_data_registers_and_bad_data_is_refused_naming_column_check_and_rows(
    sdk: Client,
) -> None:
    good = data.register("sales", _sales(), contract=SALES)
    assert good.ref == "sales@1"
    bad = _sales(amount=[10.0, -5.0, 2000.0, 1.0], city=["Oslo", "Paris", "Lima", "Oslo"])
    with pytest.raises(data.ContractViolation) as caught:
        data.register("sales", bad, contract=SALES)
    report = caught.value.report
    assert report.contract == "sales" and report.subject == "dataset 'sales'"
    failed = {(f.column, f.check): f for f in report.failures}
    in_range, isin = ("amount", "in_range(0, 1000)"), ("city", "isin(['Oslo', 'Rome', 'Lima'])")
    assert set(failed) == {in_range, isin}
    assert (failed[in_range].count, failed[in_range].rows) == (2, [1, 2])
    assert failed[isin].samples == ["'Paris'"]
    assert [r["id"] for r in report.sample_rows] == [2, 3]  # the failing rows, whole
    assert "column 'amount' failed in_range(0, 1000)" in str(caught.value)
    assert caught.value.field == "amount"
    assert [v.ref for v in data.versions("sales")] == ["sales@1"]  # nothing stored


@pytest.mark.parametrize(
    ("changes", "column", "check"),
    [
        ({"id": [1, 1, 2, 3]}, "id", "field_uniqueness"),
        ({"amount": [1.0, None, 2.0, 3.0]}, "amount", "not_nullable"),
        ({"code": ["abc", "de", "ghi", "jkl"]}, "code", "three letters"),
        ({"id": ["1", "2", "3", "4"]}, "id", "dtype('int64')"),
    ],
)
def test_each_kind_of_check_is_named(
    changes: dict[str, list[object]], column: str, check: str
) -> None:
    with pytest.raises(data.ContractViolation) as caught:
        data.check(_sales(**changes), SALES, subject="the sales")
    assert [(f.column, f.check) for f in caught.value.report.failures] == [(column, check)]


def test_a_missing_column_is_named() -> None:
    with pytest.raises(data.ContractViolation, match="column_in_dataframe") as caught:
        data.check(_sales().drop(columns=["city"]), SALES)
    assert caught.value.report.failures[0].samples == ["'city'"]


def test_a_dataframe_model_is_a_contract_and_other_things_are_not() -> None:
    class Sales(pa.DataFrameModel):
        id: int = pa.Field(ge=0)

    assert data.check(pd.DataFrame({"id": [1, 2]}), Sales)["id"].tolist() == [1, 2]
    with pytest.raises(data.ContractViolation, match="greater_than_or_equal_to"):
        data.check(pd.DataFrame({"id": [-1]}), Sales)
    with pytest.raises(InvalidArgument, match="pandera DataFrameSchema") as caught:
        data.check(pd.DataFrame(), {"id": int})
    assert caught.value.field == "contract"


def test_a_failure_inside_a_run_is_tagged_on_it(sdk: Client) -> None:
    with shipyard.start_run(experiment="contracts") as run, pytest.raises(data.ContractViolation):
        data.register("sales", _sales(id=[1, 1, 1, 1]), contract=SALES)
    tag = sdk.get_run(run.id).tags[data.CONTRACT_TAG]
    assert "column 'id' failed field_uniqueness" in tag


# ----------------------------------------------------------------------------- steps

CHECKED = pa.DataFrameSchema({"amount": pa.Column("float64", pa.Check.ge(0))}, name="checked")


@step(contracts={"frame": SALES, "return": CHECKED})
def clean(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["amount"]] - 500.0


@pipeline(name="contract-checked")
def checked_pipeline(dataset: str = "sales") -> None:
    clean(data.ref(f"{dataset}@latest"))


def test_a_step_input_that_breaks_its_contract_stops_the_pipeline(sdk: Client) -> None:
    data.register("sales", _sales(city=["Oslo", "Oslo", "Mars", "Oslo"]))
    result = checked_pipeline.run(raise_on_failure=False)
    run = result.steps["clean"]
    assert run.status == StepStatus.FAILED
    assert "step 'clean' input 'frame' breaks contract 'sales'" in run.error
    assert "column 'city' failed isin" in run.error and '"city": "Mars"' in run.error
    assert run.attempts == 1  # a contract failure is not retried
    graph = lineage.downstream("sales@1")  # the data the failed step refused, in lineage
    assert any(n.kind == "step_run" and n.id == run.id for n in graph.nodes)
    with pytest.raises(PipelineFailed, match="column 'city' failed isin"):
        checked_pipeline.run()


def test_a_step_output_that_breaks_its_contract_is_not_stored(sdk: Client) -> None:
    data.register("sales", _sales())  # amounts below 500 go negative
    result = checked_pipeline.run(raise_on_failure=False)
    step_run = result.steps["clean"]
    assert "step 'clean' output breaks contract 'checked'" in step_run.error
    assert "column 'amount' failed greater_than_or_equal_to(0)" in step_run.error
    assert step_run.outputs == []
    with pytest.raises(NotFound):
        data.get("contract-checked.clean@latest")


def test_a_contract_names_an_argument_or_output_and_guards_dataframes(sdk: Client) -> None:
    with pytest.raises(InvalidArgument, match="'rows', which is not one of") as caught:
        step(contracts={"rows": CHECKED})(lambda frame: frame)
    assert caught.value.field == "contracts"
    with pytest.raises(InvalidArgument, match="pandera"):
        step(contracts={"frame": "not a schema"})(lambda frame: frame)

    @step(contracts={"values": CHECKED})
    def total(values: list[int]) -> int:
        return sum(values)

    @pipeline(name="contract-on-a-list")
    def numbers() -> None:
        total(_numbers())

    result = numbers.run(raise_on_failure=False)
    assert "contracts check pandas DataFrames" in result.steps["total"].error


@step
def _numbers() -> list[int]:
    return [1, 2]


def test_an_edited_contract_re_runs_the_step_it_guards() -> None:
    def guarded(contract: pa.DataFrameSchema) -> str:
        def fn(frame: pd.DataFrame) -> pd.DataFrame:
            return frame

        return step(name="guarded", contracts={"frame": contract})(fn).code_hash

    loose = pa.DataFrameSchema({"a": pa.Column(int, pa.Check.le(10))})
    tight = pa.DataFrameSchema({"a": pa.Column(int, pa.Check.le(5))})
    assert guarded(loose) == guarded(pa.DataFrameSchema({"a": pa.Column(int, pa.Check.le(10))}))
    assert guarded(loose) != guarded(tight)
    assert data.fingerprint(loose) != data.fingerprint(tight)
