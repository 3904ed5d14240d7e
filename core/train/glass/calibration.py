"""Uncertainty calibration of the assembled predictor (std scale and floor per property)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from core.featurizers.composition import DescriptorTable
from core.nn.glass import predicted_log10_viscosity
from core.train.glass.data import GlassData, compositions, data_for

logger = logging.getLogger(__name__)

CALIBRATION_METHOD = (
    "sqrt((scale * members' std)^2 + floor^2) per property: scale and floor fitted on the "
    "validation glasses by Gaussian likelihood, then one common factor puts 68.3 % of their "
    "errors within 1 std (quantile matching); the floor is the error the members' spread "
    "does not see (they can agree on a glass whose measurements scatter, e.g. Tg from "
    "different papers). For viscosity one factor fitted on the "
    "validation glasses' measured points scales the curve band and the std of T12, the "
    "fragility and the characteristic temperatures. The validation split also chose each member's "
    "early-stopping epoch, never its weights; the test columns are measured after scaling "
    "(raw_*: before). A well-calibrated Gaussian gives 0.683 within 1 std and 0.954 within 2."
)


def card_summary(card: dict) -> str:
    """The card's one-line headline (sidebar): test RMSE of the main targets."""
    t = card["test_metrics"]
    return (
        f"test RMSE: Tg {t['Tg']['rmse']:.1f} K, liquidus {t['Tliquidus']['rmse']:.0f} K, "
        f"nD {t['RefractiveIndex']['rmse']:.3f}, CTE {t['CTE']['rmse'] * 1e6:.2f} ppm/K, "
        f"log10 viscosity {t['log10_viscosity']['rmse']:.2f}"
        + (
            f" ({t['log10_viscosity_consistent']['rmse']:.2f} without series that contradict "
            "their Tg)"
            if "log10_viscosity_consistent" in t
            else ""
        )
        + f" ({card['ensemble_size']} members)"
    )


def calibrate(
    folder: Path, data: GlassData | None = None, descriptors: DescriptorTable | None = None
) -> dict:
    """Fit the per-property std model (scale and floor, :func:`fit_std_model`) on validation
    glasses, measure test coverage before and after, store both in the card (``std_scale``,
    ``std_floor``, ``calibration``) and recompute the ``_std`` columns of
    ``test_predictions.parquet``. Idempotent: fits on the unscaled spread."""
    from core.models.glass import PROPERTIES, GlassPredictor
    from core.models.integrity import forget_checksums
    from core.uncertainty import apply_std_model, coverage, fit_std_model, fit_std_scale

    forget_checksums(folder)  # this step rewrites model files
    data, descriptors = data_for(folder, data, descriptors)
    predictor = GlassPredictor(folder)

    def abs_error_and_std(split: str):
        rows = np.flatnonzero(data.split == split)
        summary = predictor.estimate(compositions(data, descriptors, rows))
        return rows, np.abs(summary["mean"] - data.raw_targets[rows]), summary["raw_std"]

    def viscosity_error_and_std(split: str):
        """|error| and members' spread of log10 eta at the measured viscosity points."""
        rows = np.flatnonzero(data.split == split)
        row_of = {g: i for i, g in enumerate(rows)}
        pts = np.flatnonzero(data.split[data.visc_glass] == split)
        pos = np.array([row_of[g] for g in data.visc_glass[pts]], dtype=int)
        raw = predictor.raw_outputs(compositions(data, descriptors, rows))
        a, t12, mm = (torch.from_numpy(raw[k][:, pos]).double() for k in ("A", "T12", "m"))
        temps = torch.from_numpy(data.visc_T[pts]).double()[None]
        curves = predicted_log10_viscosity(a, t12, mm, temps).numpy()  # (M, points)
        err = np.abs(curves.mean(0) - data.visc_log_eta[pts].astype(np.float64))
        return err[:, None], curves.std(0)[:, None]

    _, val_err, val_std = abs_error_and_std("val")
    scale, floor = fit_std_model(val_err, val_std)
    visc_val_err, visc_val_std = viscosity_error_and_std("val")
    visc_scale = float(fit_std_scale(visc_val_err, visc_val_std)[0])
    visc_test_err, visc_test_std = viscosity_error_and_std("test")
    test_rows, test_err, test_std = abs_error_and_std("test")
    calibration = {}
    for j, p in enumerate(PROPERTIES):
        after = coverage(test_err[:, j], apply_std_model(test_std[:, j], scale[j], floor[j]))
        before = coverage(test_err[:, j], test_std[:, j])
        calibration[p] = {
            "std_scale": float(scale[j]),
            "std_floor": float(floor[j]),
            "n_val": int(np.isfinite(val_err[:, j]).sum()),
            **after,
            **{f"raw_{k}": v for k, v in before.items() if k != "n"},
        }
    calibration["log10_viscosity"] = {
        "std_scale": visc_scale,
        "n_val": int(len(visc_val_err)),
        **coverage(visc_test_err[:, 0], visc_test_std[:, 0] * visc_scale),
        **{
            f"raw_{k}": v
            for k, v in coverage(visc_test_err[:, 0], visc_test_std[:, 0]).items()
            if k != "n"
        },
    }
    card = json.loads((folder / "card.json").read_text())
    card["std_scale"] = {p: float(scale[j]) for j, p in enumerate(PROPERTIES)}
    card["std_scale"]["log10_viscosity"] = visc_scale
    card["std_floor"] = {p: float(floor[j]) for j, p in enumerate(PROPERTIES)}
    card["calibration"] = calibration
    card["calibration_method"] = CALIBRATION_METHOD
    card["summary"] = card_summary(card)
    (folder / "card.json").write_text(json.dumps(card, indent=2))  # keeps the training date

    table_path = folder / "test_predictions.parquet"
    if table_path.exists():
        table = pd.read_parquet(table_path)
        position = {k: i for i, k in enumerate(data.key[test_rows])}
        at = np.array([position[k] for k in table["key"]])
        for j, p in enumerate(PROPERTIES):
            table[f"{p}_std"] = apply_std_model(test_std[at, j], scale[j], floor[j])
        table.to_parquet(table_path, index=False, compression="zstd")
    logger.info("calibration %s", json.dumps(calibration, indent=1))
    return calibration
