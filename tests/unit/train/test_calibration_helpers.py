"""Shared calibration helpers (core.train._common): missing targets, coverage counts."""

from __future__ import annotations

import numpy as np

from core.train._common import coverage, fit_std_scale


def test_scale_ignores_missing_targets_and_defaults_to_one() -> None:
    rng = np.random.default_rng(0)
    err = np.abs(rng.normal(scale=2.0, size=(5000, 3)))
    std = np.ones((5000, 3))
    err[::2, 1] = np.nan  # half the rows lack the second target
    err[:, 2] = np.nan  # no rows at all for the third
    scale = fit_std_scale(err, std)
    # |N(0, 2)| has its 68.27 % quantile at 2.0
    assert np.allclose(scale[:2], 2.0, atol=0.1)
    assert scale[2] == 1.0
    after = coverage(err[:, 1], std[:, 1] * scale[1])
    assert after["n"] == 2500 and abs(after["within_1std"] - 0.683) < 0.03


def test_coverage_counts_only_finite_rows() -> None:
    err = np.array([0.5, 1.5, 2.5, np.nan])
    std = np.array([1.0, 1.0, 1.0, 1.0])
    assert coverage(err, std) == {"n": 3, "within_1std": 1 / 3, "within_2std": 2 / 3}
    assert coverage(np.array([np.nan]), np.array([1.0])) == {"n": 0}
