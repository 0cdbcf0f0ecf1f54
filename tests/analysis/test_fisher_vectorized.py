"""The vectorized two-sided Fisher exact test against scipy's, table by table, bit for bit."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy.stats import fisher_exact

from orgnet.analysis.gatekeeping import _fisher_many


def _scipy(a_yes: int, a_n: int, b_yes: int, b_n: int) -> float:
    if a_n == 0 or b_n == 0:
        return math.nan
    if a_yes + b_yes in (0, a_n + b_n):
        return 1.0
    return float(fisher_exact([[a_yes, a_n - a_yes], [b_yes, b_n - b_yes]])[1])


@pytest.mark.parametrize("seed,top", [(1, 6), (2, 30), (3, 200), (4, 2000)])
def test_same_p_values_as_scipy(seed: int, top: int) -> None:
    rng = random.Random(seed)
    tables = []
    for _ in range(1500):
        a_n, b_n = rng.randrange(top + 1), rng.randrange(top + 1)
        tables.append((rng.randrange(a_n + 1), a_n, rng.randrange(b_n + 1), b_n))
    # edge cases: empty rows, empty and full columns, the observed table at the mode, symmetric
    tables += [(0, 0, 0, 5), (0, 5, 0, 0), (0, 5, 0, 7), (5, 5, 7, 7), (1, 2, 1, 2),
               (2, 4, 2, 4), (0, 1, 1, 1), (1, 1, 0, 1), (3, 10, 3, 10), (0, 50, 50, 50)]
    cols = [np.array(c) for c in zip(*tables, strict=True)]
    got = _fisher_many(*cols)
    want = np.array([_scipy(*t) for t in tables])
    assert np.array_equal(got, want, equal_nan=True)
    # both branches of scipy's search, and its early exits, occur
    assert (got < 1e-3).any() and (got == 1.0).any() and np.isnan(got).any()


def test_empty_input() -> None:
    empty = np.array([], dtype=np.int64)
    assert _fisher_many(empty, empty, empty, empty).shape == (0,)
