"""Shared calibration helpers (core.uncertainty): missing targets, coverage counts."""

from __future__ import annotations

import numpy as np

from core.uncertainty import apply_std_model, coverage, fit_std_model, fit_std_scale


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


def test_std_model_recovers_a_floor_the_ensemble_does_not_see() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    std = rng.uniform(0.0, 1.0, size=(n, 2))  # some rows: the members agree by chance
    true_sigma = np.sqrt((2.0 * std) ** 2 + 0.5**2)
    err = np.abs(rng.normal(size=(n, 2)) * true_sigma)
    err[:, 1] = np.nan  # no rows: identity
    scale, floor = fit_std_model(err, std)
    assert abs(scale[0] - 2.0) < 0.15 and abs(floor[0] - 0.5) < 0.1
    assert (scale[1], floor[1]) == (1.0, 0.0)
    sigma = apply_std_model(std, scale, floor)
    assert (sigma[:, 0] >= floor[0]).all()
    assert abs(coverage(err[:, 0], sigma[:, 0])["within_1std"] - 0.683) < 0.01
    # The scale-only model cannot cover rows whose std is near zero; the floor does.
    tiny = std[:, 0] < 0.05
    scale_only = std[:, 0] * fit_std_scale(err[:, :1], std[:, :1])[0]
    assert coverage(err[tiny, 0], scale_only[tiny])["within_1std"] < 0.3
    assert coverage(err[tiny, 0], sigma[tiny, 0])["within_1std"] > 0.6
