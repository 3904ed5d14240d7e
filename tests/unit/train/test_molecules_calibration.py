"""Ensemble-std calibration of the QM9 model: fitted on validation data only."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from core.train.molecules.evaluation import calibration_split, fit_std_model
from core.uncertainty import apply_std_model


def _ensemble(rng, n: int, spread: float, members: int = 2):
    """Members scattered by ``spread`` around a centre whose error is 3x the true spread."""
    truth = rng.normal(size=(n, 2))
    centre = truth + rng.normal(scale=3 * spread, size=(n, 2))
    return centre + rng.normal(scale=spread, size=(members, n, 2)), truth


def test_scale_restores_the_coverage_on_fresh_molecules() -> None:
    rng = np.random.default_rng(0)
    preds, truth = _ensemble(rng, 20_000, spread=0.1)
    scale, floor = fit_std_model(preds, truth)
    assert scale.shape == floor.shape == (2,)
    fresh, fresh_truth = _ensemble(rng, 20_000, spread=0.1)
    sigma = apply_std_model(fresh.std(0, ddof=1), scale, floor)
    assert (sigma > 0.1).all()  # the error (0.3) is 3x the spread: sigma is never tiny
    z = np.abs(fresh.mean(0) - fresh_truth) / sigma
    raw = np.abs(fresh.mean(0) - fresh_truth) / fresh.std(0, ddof=1)
    assert np.allclose((z <= 1).mean(0), 0.6827, atol=0.02)
    assert ((raw <= 1).mean(0) < 0.5).all()


def test_calibration_molecules_are_validation_molecules_no_member_stopped_on() -> None:
    split = np.array(["train"] * 500 + ["val"] * 300 + ["test"] * 200)
    data = SimpleNamespace(split=split)
    metas = [{"train_config": {"seed": s, "val_molecules": 100}} for s in (0, 1)]
    ids = calibration_split(data, metas, limit=1000)
    val_all = np.flatnonzero(split == "val")
    used = set()
    for s in (0, 1):
        used |= set(np.random.default_rng(s).permutation(val_all)[:100])
    assert len(ids) > 0 and (split[ids] == "val").all()
    assert not used & set(ids.tolist())
    assert len(ids) == 300 - len(used)
    assert np.array_equal(ids, calibration_split(data, metas, limit=1000))  # reproducible
