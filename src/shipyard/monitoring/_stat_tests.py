"""The drift tests: each compares a reference column profile with a current window's
accumulated counts and returns a :class:`TestResult`.

p-value tests (``ks``, ``chi2``, ``missing_share``) are two-sample tests, so the reference's
own sampling noise is part of the null distribution and the false-positive rate stays at
alpha whatever the two sizes (tests/monitoring/test_calibration.py measures it):

- ``ks``: scipy's two-sample Kolmogorov-Smirnov test between the reference reservoir and a
  uniform reservoir of the current window (both at most ``sample_size`` values): both are
  i.i.d. samples of their distributions, so the test is exact. A KS test on binned counts is
  not (ties at the bin edges make it conservative or, against a reference taken as exact,
  anti-conservative), which is why the profile keeps a sample.
- ``chi2``: chi-square homogeneity on the 2 x k table of reference and current level counts
  (all rows, not a sample), levels with an expected count under 5 merged into one cell; not
  goodness-of-fit against the reference frequencies, which treats the reference as exact
  and flags far more than alpha when the reference is not much larger than the window.
- ``missing_share``: a two-proportion z-test on the share of missing values.

Effect sizes (no p-value): ``psi`` (population stability index over the reference's quantile
bins or levels), ``wasserstein`` (between the reservoirs, divided by the reference standard
deviation), ``jensen_shannon`` (distance, base 2, between level frequencies) and
``new_categories`` (the share of current values whose level the reference never had).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument

PVALUE_TESTS = ("ks", "chi2")
EFFECT_TESTS = ("wasserstein", "jensen_shannon", "psi")
NUMERIC_TESTS = ("ks", "wasserstein", "psi")
CATEGORICAL_TESTS = ("chi2", "jensen_shannon", "psi")
#: Every test a column can be given.
TESTS = tuple(dict.fromkeys((*NUMERIC_TESTS, *CATEGORICAL_TESTS)))
DEFAULT_THRESHOLDS = {
    "wasserstein": 0.1,
    "jensen_shannon": 0.1,
    "psi": 0.2,
    "missing_share": 0.05,
    "new_categories": 0.01,
}
_EPS = 1e-4


@dataclass(frozen=True)
class TestResult:
    """One test on one column: the statistic, its p-value (None for effect sizes), the
    threshold it was held to (alpha for p-value tests) and whether it flags drift."""

    __test__ = False  # not a pytest class

    test: str
    statistic: float
    p_value: float | None
    threshold: float
    verdict: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestResult:
        return cls(**data)


def tests_for(kind: str) -> tuple[str, ...]:
    """The tests that apply to a ``numeric`` or ``categorical`` column."""
    return NUMERIC_TESTS if kind == "numeric" else CATEGORICAL_TESTS


def check_tests(column: str, names: Sequence[str], kind: str | None = None) -> tuple[str, ...]:
    """``names`` if each is a test that exists (``kind`` None) or one that applies to a
    ``kind`` column; otherwise InvalidArgument naming the first that is not and the valid
    ones."""
    allowed = TESTS if kind is None else tests_for(kind)
    bad = [name for name in names if name not in allowed]
    if bad:
        if kind is None:
            why = f"unknown drift test {bad[0]!r} for column {column!r}; valid tests:"
        else:
            why = f"test {bad[0]!r} does not apply to {kind} column {column!r}; choose from"
        raise InvalidArgument(f"{why} {', '.join(allowed)}", field="tests")
    return tuple(names)


def held_to(result: TestResult, limit: float, alpha: float) -> TestResult:
    """``result`` judged against another threshold, by its test's rule below."""
    if result.test == "missing_share":
        flag = result.p_value is not None and result.p_value < alpha
        verdict = flag and abs(result.statistic) >= limit
    elif result.test == "new_categories":
        verdict = result.statistic > limit
    else:
        verdict = result.statistic >= limit
    return replace(result, threshold=limit, verdict=verdict)


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    shares = counts / total if total else np.zeros_like(counts, dtype="float64")
    clipped: np.ndarray = np.clip(shares, _EPS, None)
    return clipped


def psi(reference: np.ndarray, current: np.ndarray, threshold: float) -> TestResult:
    """Population stability index between two count vectors over the same cells."""
    ref, cur = _shares(reference.astype("float64")), _shares(current.astype("float64"))
    value = float(np.sum((cur - ref) * np.log(cur / ref)))
    return TestResult("psi", value, None, threshold, value >= threshold)


def ks(reference: np.ndarray, current: np.ndarray, alpha: float) -> TestResult:
    """Two-sample Kolmogorov-Smirnov between two samples."""
    from scipy.stats import ks_2samp

    if len(reference) == 0 or len(current) == 0:
        return TestResult("ks", 0.0, 1.0, alpha, False)
    # scipy's exact distribution is slow (and gives up) on large samples; the asymptotic
    # one is accurate there
    method = "exact" if max(len(reference), len(current)) <= 1_000 else "asymp"
    found = ks_2samp(reference, current, method=method)
    p = float(found.pvalue)
    return TestResult("ks", float(found.statistic), p, alpha, p < alpha)


def wasserstein(
    reference: np.ndarray, current: np.ndarray, spread: float, threshold: float
) -> TestResult:
    """Wasserstein distance between two samples in units of the reference spread."""
    from scipy.stats import wasserstein_distance

    if len(reference) == 0 or len(current) == 0:
        return TestResult("wasserstein", 0.0, None, threshold, False)
    value = float(wasserstein_distance(reference, current)) / (spread if spread > 0 else 1.0)
    return TestResult("wasserstein", value, None, threshold, value >= threshold)


def chi2(reference: np.ndarray, current: np.ndarray, alpha: float) -> TestResult:
    """Chi-square homogeneity on the 2 x k table, sparse cells merged so each expected
    count is at least 5."""
    from scipy.stats import chi2_contingency

    table = np.vstack([reference, current]).astype("float64")
    table = table[:, table.sum(axis=0) > 0]
    rows = table.sum(axis=1)
    if table.shape[1] < 2 or rows.min() == 0:
        return TestResult("chi2", 0.0, 1.0, alpha, False)
    table = _merge_sparse(table)
    if table.shape[1] < 2:
        return TestResult("chi2", 0.0, 1.0, alpha, False)
    found = chi2_contingency(table, correction=False)
    p = float(found.pvalue)
    return TestResult("chi2", float(found.statistic), p, alpha, p < alpha)


def _merge_sparse(table: np.ndarray) -> np.ndarray:
    """Merge the columns whose smallest expected count is under 5 (rarest first) into one."""
    rows = table.sum(axis=1)
    total = rows.sum()
    min_expected = table.sum(axis=0) * rows.min() / total
    sparse = min_expected < 5
    if not sparse.any():
        return table
    merged = table[:, sparse].sum(axis=1, keepdims=True)
    rest = table[:, ~sparse]
    if rest.shape[1] and merged.sum() * rows.min() / total < 5:
        smallest = int(np.argmin(rest.sum(axis=0)))
        rest = rest.copy()
        rest[:, smallest] += merged[:, 0]
        return rest
    return np.hstack([rest, merged])


def jensen_shannon(reference: np.ndarray, current: np.ndarray, threshold: float) -> TestResult:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two count vectors."""
    from scipy.spatial.distance import jensenshannon

    if reference.sum() == 0 or current.sum() == 0:
        return TestResult("jensen_shannon", 0.0, None, threshold, False)
    value = float(jensenshannon(reference, current, base=2))
    value = 0.0 if math.isnan(value) else value
    return TestResult("jensen_shannon", value, None, threshold, value >= threshold)


def missing_share(
    ref_missing: int, ref_count: int, cur_missing: int, cur_count: int, alpha: float, effect: float
) -> TestResult:
    """Change in the share of missing values: two-proportion z-test; flags when significant
    at ``alpha`` and the share moved by at least ``effect``."""
    from scipy.stats import norm

    p1, p2 = ref_missing / max(ref_count, 1), cur_missing / max(cur_count, 1)
    pooled = (ref_missing + cur_missing) / max(ref_count + cur_count, 1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / max(ref_count, 1) + 1 / max(cur_count, 1)))
    p = 1.0 if se == 0 else float(2 * norm.sf(abs(p2 - p1) / se))
    return TestResult("missing_share", p2 - p1, p, effect, p < alpha and abs(p2 - p1) >= effect)


def new_categories(new: int, present: int, threshold: float) -> TestResult:
    """The share of the current values whose level the reference never had."""
    share = new / present if present else 0.0
    return TestResult("new_categories", share, None, threshold, share > threshold)
