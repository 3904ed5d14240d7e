"""Model-card helpers of the molecule predictor."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.models.molecules import calibration_curve


def _predictions(std_factor: float, n: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=n)
    sigma = rng.uniform(0.1, 1.0, size=n)  # heteroscedastic, known per molecule
    pred = truth + rng.normal(size=n) * sigma
    return pd.DataFrame({"homo": truth, "homo_pred": pred, "homo_std": sigma * std_factor})


def test_calibrated_predictions_lie_on_the_diagonal() -> None:
    curve = calibration_curve(_predictions(1.0), ["homo"])
    assert len(curve) == 19
    assert np.allclose(curve["observed"], curve["nominal"], atol=0.02)


def test_too_small_error_bars_fall_below_the_diagonal() -> None:
    curve = calibration_curve(_predictions(0.5), ["homo"])
    assert (curve["observed"] < curve["nominal"] - 0.03).iloc[2:].all()


def test_properties_without_std_are_skipped() -> None:
    frame = _predictions(1.0).assign(mu=0.0, mu_pred=0.0, mu_std=np.nan)
    assert set(calibration_curve(frame, ["mu", "homo"])["property"]) == {"homo"}
