"""Data contracts: a pandera schema that data must meet before it is stored or used.

A contract is a ``pandera`` ``DataFrameSchema`` (or a ``DataFrameModel`` class): column
types, nullability, ranges, allowed values, uniqueness and custom checks.
:func:`check` validates a DataFrame against it with every check run (pandera's lazy mode),
and on failure raises :class:`ContractViolation`, whose :class:`ContractReport` names each
failing column and check with sample failing values and rows. ``shipyard.data.register``
takes ``contract=`` and pipeline steps take ``@step(contracts={...})``; both stop before
anything is stored. :func:`fingerprint` is what a step's cache key folds in, so editing a
contract re-runs the steps it guards.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd

#: How many failing values per column and check, and how many failing rows, a report keeps.
SAMPLE_SIZE = 5
_TABLE = "<table>"


class ContractViolation(InvalidArgument):
    """Data broke its contract; ``report`` says which column, which check and which rows."""

    def __init__(self, report: ContractReport) -> None:
        super().__init__(report.summary(), field=report.failures[0].column)
        self.report = report


@dataclass(frozen=True)
class Failure:
    """One check that failed on one column, with a sample of the values that failed it.

    Attributes:
        column: The column (``<table>`` for a check of the whole table or its columns).
        check: The check's name, e.g. ``in_range(0, 10)``, ``not_nullable``, ``dtype('int64')``.
        count: How many values failed it.
        samples: Up to SAMPLE_SIZE of the failing values (as text).
        rows: The row positions of those values (where pandera reports them).
    """

    column: str
    check: str
    count: int
    samples: list[str]
    rows: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ContractReport:
    """What broke a contract.

    Attributes:
        contract: The contract's name.
        subject: What was checked (``dataset 'sales'``, ``step 'validate' input 'frame'``).
        failures: Each failing column and check.
        sample_rows: Up to SAMPLE_SIZE failing rows, as records.
    """

    contract: str
    subject: str
    failures: list[Failure]
    sample_rows: list[dict[str, Any]]

    def summary(self) -> str:
        """One paragraph: each column with its failed checks and sample values."""
        parts = []
        for f in self.failures:
            noun = "value" if f.count == 1 else "values"
            parts.append(
                f"column {f.column!r} failed {f.check} ({f.count} {noun}, "
                f"e.g. {', '.join(f.samples[:3])})"
            )
        rows = json.dumps(self.sample_rows, default=str)
        return (
            f"{self.subject} breaks contract {self.contract!r}: {'; '.join(parts)}. "
            f"Sample failing rows: {rows}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def as_schema(contract: Any) -> Any:
    """The pandera ``DataFrameSchema`` of ``contract`` (a schema or a DataFrameModel class).

    Raises:
        InvalidArgument: Anything else.
    """
    if inspect.isclass(contract) and hasattr(contract, "to_schema"):
        return contract.to_schema()
    if hasattr(contract, "validate") and hasattr(contract, "columns"):
        return contract
    raise InvalidArgument(
        f"a contract is a pandera DataFrameSchema or DataFrameModel class, got "
        f"{type(contract).__name__}",
        field="contract",
    )


def check(frame: pd.DataFrame, contract: Any, *, subject: str = "the data") -> pd.DataFrame:
    """Validate ``frame`` against ``contract``, running every check.

    Args:
        frame: The data.
        contract: A pandera DataFrameSchema or DataFrameModel class.
        subject: What the data is, for the report (``dataset 'sales'``).

    Returns:
        The validated frame (as pandera returns it: coerced where the schema coerces).

    Raises:
        ContractViolation: A check failed; its report names the column, the check and
            sample failing rows.
        InvalidArgument: ``contract`` is not a pandera schema.
    """
    from pandera.errors import SchemaError, SchemaErrors

    schema = as_schema(contract)
    try:
        return schema.validate(frame, lazy=True)  # type: ignore[no-any-return]
    except SchemaErrors as exc:
        raise ContractViolation(_report(schema, subject, frame, exc.failure_cases)) from None
    except SchemaError as exc:  # raised eagerly by some schema-wide checks
        failure = Failure(_TABLE, str(getattr(exc, "check", "") or "schema"), 1, [str(exc)])
        raise ContractViolation(_named(schema, subject, [failure], [])) from None


def _named(
    schema: Any, subject: str, failures: list[Failure], rows: list[dict[str, Any]]
) -> ContractReport:
    return ContractReport(str(schema.name or "unnamed"), subject, failures, rows)


def _report(schema: Any, subject: str, frame: pd.DataFrame, cases: Any) -> ContractReport:
    """Group pandera's failure cases by column and check; keep samples and failing rows."""
    import pandas as pd

    failures = []
    grouped: dict[tuple[str, str], list[tuple[Any, Any]]] = {}
    for row in cases.itertuples(index=False):
        column = row.column if isinstance(row.column, str) else _TABLE
        grouped.setdefault((column, str(row.check)), []).append((row.failure_case, row.index))
    positions: list[int] = []
    for (column, name), items in grouped.items():
        rows = [int(i) for _, i in items if i is not None and not pd.isna(i)]
        positions.extend(rows)
        failures.append(
            Failure(
                column=column,
                check=name,
                count=len(items),
                samples=[repr(_plain(v)) for v, _ in items[:SAMPLE_SIZE]],
                rows=rows[:SAMPLE_SIZE],
            )
        )
    wanted = [p for p in dict.fromkeys(positions) if p in frame.index][:SAMPLE_SIZE]
    sample = frame.loc[wanted].reset_index().to_dict(orient="records") if wanted else []
    return _named(
        schema, subject, failures, [{str(k): _plain(v) for k, v in r.items()} for r in sample]
    )


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a cell value (numpy scalars as Python ones)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def fingerprint(contract: Any) -> str:
    """A stable hash of what a contract checks: its columns' types, nullability,
    uniqueness and checks (with their parameters, and the source of custom checks)."""
    schema = as_schema(contract)

    def checks(items: Any) -> list[Any]:
        out = []
        for c in items or []:
            fn = getattr(c, "_check_fn", None)
            custom = _source(fn) if fn is not None and not c.statistics else ""
            out.append([str(c.name), repr(sorted(c.statistics.items())), custom])
        return out

    described = {
        "name": schema.name,
        "strict": schema.strict,
        "coerce": schema.coerce,
        "unique": schema.unique,
        "checks": checks(schema.checks),
        "columns": {
            name: [str(col.dtype), col.nullable, col.unique, col.coerce, checks(col.checks)]
            for name, col in schema.columns.items()
        },
    }
    return hashlib.sha256(json.dumps(described, default=str).encode()).hexdigest()


def _source(fn: Any) -> str:
    """The source of a custom check (for a lambda, the lines that define it), or its
    compiled code when there is no source."""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        return code.co_code.hex() if code is not None else repr(fn)
