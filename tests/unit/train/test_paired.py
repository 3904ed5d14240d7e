"""The paired RMSE-ratio bootstrap of the peer benchmarks (core.train.paired)."""

import numpy as np
import pytest

from core.train.paired import rmse_ratio_interval


def _data(n=2000, seed=0, scale=0.9):
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 10, n)
    shared = rng.normal(0, 5, n)  # what both models get wrong (label noise, hard rows)
    b = y + shared + rng.normal(0, 2, n)
    a = y + scale * shared + rng.normal(0, 2, n)
    return y, a, b


def test_point_ratio_is_the_rmse_ratio_and_bad_rows_are_left_out():
    y, a, b = _data()
    a[3], y[7], b[11] = np.nan, np.inf, np.nan
    keep = np.isfinite(y) & np.isfinite(a) & np.isfinite(b)
    r = rmse_ratio_interval(y, a, b, resamples=500)
    rmse = lambda p: np.sqrt(np.mean((p[keep] - y[keep]) ** 2))  # noqa: E731
    assert r.ratio == pytest.approx(rmse(a) / rmse(b), rel=1e-12)
    assert r.low < r.ratio < r.high
    assert r.groups == keep.sum() and r.resamples == 500


def test_interval_separates_a_better_model_and_covers_an_equal_one():
    y, a, b = _data(scale=0.9)
    better = rmse_ratio_interval(y, a, b)
    assert better.high < 1.0
    y, a, b = _data(scale=1.0, seed=1)
    equal = rmse_ratio_interval(y, a, b)
    assert equal.low < 1.0 < equal.high


def test_pairing_gives_a_narrower_interval_than_the_errors_alone_suggest():
    # the shared error cancels: independent bootstraps of each RMSE would give a far wider
    # interval for the ratio than the paired one
    y, a, b = _data(scale=0.95)
    paired = rmse_ratio_interval(y, a, b, resamples=1000)
    rng = np.random.default_rng(0)
    n = len(y)
    unpaired = []
    for _ in range(1000):
        i, j = rng.integers(0, n, n), rng.integers(0, n, n)
        unpaired.append(np.sqrt(np.mean((a[i] - y[i]) ** 2) / np.mean((b[j] - y[j]) ** 2)))
    lo, hi = np.quantile(unpaired, [0.025, 0.975])
    assert (paired.high - paired.low) < 0.7 * (hi - lo)


def test_groups_are_resampled_whole():
    # each row measured 10 times (one group): as wide as the 200 distinct rows, not the
    # sqrt(10)-times narrower interval of 2,000 rows taken as independent
    y, a, b = _data(n=200, seed=2)
    rep = lambda v: np.repeat(v, 10)  # noqa: E731
    groups = np.repeat(np.arange(200), 10)
    distinct = rmse_ratio_interval(y, a, b, resamples=2000)
    grouped = rmse_ratio_interval(rep(y), rep(a), rep(b), groups=groups, resamples=2000)
    naive = rmse_ratio_interval(rep(y), rep(a), rep(b), resamples=2000)
    width = lambda r: r.high - r.low  # noqa: E731
    assert grouped.groups == 200
    assert grouped.ratio == pytest.approx(distinct.ratio, rel=1e-12)
    assert 0.8 < width(grouped) / width(distinct) < 1.25
    assert width(naive) < 0.5 * width(grouped)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="same length"):
        rmse_ratio_interval(np.zeros(3), np.zeros(3), np.zeros(4))
