"""The synthetic data of bench/monitoring.py: 25 columns (20 numeric with varied
distributions, 5 categorical with cardinality 2 to 200), of which 4 are truly shifted in a
"shifted" current window: a mean shift, a scale change, an added mixture component and
changed category frequencies. Imports only numpy and pandas, so both Shipyard's and the
competitors' children (and the tests) can use it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC = [f"n{i:02d}" for i in range(20)]
CATEGORICAL = ["c_plan", "c_flag", "c_region", "c_device", "c_city"]
COLUMNS = NUMERIC + CATEGORICAL
SHIFTED = ["n00", "n01", "n02", "c_plan"]  # mean, scale, mixture component, frequencies

_PLAN = ["free", "basic", "plus", "pro", "enterprise"]
_PLAN_P = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
_PLAN_SHIFTED_P = np.array([0.2, 0.3, 0.15, 0.15, 0.2])


def _zipf(n_levels: int, power: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n_levels + 1) ** power
    return np.asarray(weights / weights.sum())


def make_frame(n: int, seed: int, *, shifted: bool = False) -> pd.DataFrame:
    """``n`` rows; ``shifted`` moves the columns in :data:`SHIFTED` (and only those)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    cols["n00"] = rng.normal(50.0 + (5.0 if shifted else 0.0), 10.0, n)  # +0.5 sd
    cols["n01"] = rng.normal(0.0, 1.5 if shifted else 1.0, n)  # scale x1.5
    n02 = rng.lognormal(0.0, 0.5, n)
    if shifted:  # a quarter of the rows from a new component
        part = rng.random(n) < 0.25
        n02[part] = rng.normal(4.0, 0.3, int(part.sum()))
    cols["n02"] = n02
    cols["n03"] = rng.gamma(2.0, 2.0, n)
    cols["n04"] = rng.exponential(3.0, n)
    cols["n05"] = rng.uniform(-1.0, 1.0, n)
    cols["n06"] = rng.beta(2.0, 5.0, n)
    cols["n07"] = rng.standard_t(5, n)
    cols["n08"] = rng.poisson(4, n).astype("float64")  # many ties
    cols["n09"] = rng.integers(0, 100, n).astype("float64")
    cols["n10"] = rng.lognormal(2.0, 1.0, n)  # heavy right tail
    cols["n11"] = np.where(rng.random(n) < 0.3, rng.normal(-2, 0.5, n), rng.normal(2, 1, n))
    cols["n12"] = rng.normal(1000.0, 200.0, n)
    cols["n13"] = rng.weibull(1.5, n)
    cols["n14"] = rng.laplace(0.0, 2.0, n)
    cols["n15"] = rng.chisquare(3, n)
    n16 = rng.normal(10.0, 3.0, n)
    n16[rng.random(n) < 0.05] = np.nan  # 5% missing
    cols["n16"] = n16
    cols["n17"] = rng.pareto(3.0, n)
    cols["n18"] = rng.binomial(20, 0.3, n).astype("float64")
    cols["n19"] = rng.logistic(0.0, 1.0, n)
    frame = pd.DataFrame(cols)
    plan_p = _PLAN_SHIFTED_P if shifted else _PLAN_P
    frame["c_plan"] = np.asarray(_PLAN, dtype=object)[rng.choice(5, n, p=plan_p)]
    frame["c_flag"] = np.where(rng.random(n) < 0.3, "yes", "no").astype(object)
    frame["c_region"] = _labels("region", 12, rng.choice(12, n, p=_zipf(12, 0.8)))
    frame["c_device"] = _labels("device", 40, rng.choice(40, n, p=_zipf(40, 1.1)))
    frame["c_city"] = _labels("city", 200, rng.integers(0, 200, n))
    return frame


def _labels(prefix: str, n_levels: int, codes: np.ndarray) -> np.ndarray:
    names = np.asarray([f"{prefix}_{i}" for i in range(n_levels)], dtype=object)
    return np.asarray(names[codes])


def write_pair(folder: Path, n: int, seed: int, *, shifted: bool) -> tuple[str, str]:
    """A reference and a current Parquet file of ``n`` rows each (row groups of 128k rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{n}-{seed}-{'shifted' if shifted else 'null'}"
    paths = (folder / f"reference-{tag}.parquet", folder / f"current-{tag}.parquet")
    make_frame(n, 2 * seed).to_parquet(paths[0], row_group_size=131_072)
    make_frame(n, 2 * seed + 1, shifted=shifted).to_parquet(paths[1], row_group_size=131_072)
    return str(paths[0]), str(paths[1])
