"""Held-out test metrics of the assembled predictor, as the app runs it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from core.featurizers.composition import DescriptorTable
from core.nn.glass import predicted_log10_viscosity
from core.provenance import git_version
from core.train.glass.calibration import card_summary
from core.train.glass.data import (
    FORMERS,
    GlassData,
    compositions,
    data_for,
    test_viscosity_outliers,
)

logger = logging.getLogger(__name__)


def _family(comp: dict[str, float]) -> str:
    formers = {f: x for f, x in comp.items() if f in FORMERS}
    if not formers:
        return "other"
    main = max(formers, key=formers.get)
    names = {
        "SiO2": "silicate",
        "B2O3": "borate",
        "P2O5": "phosphate",
        "GeO2": "germanate",
        "TeO2": "tellurite",
        "V2O5": "vanadate",
        "Bi2O3": "bismuthate",
        "Al2O3": "aluminate",
        "PbO": "lead oxide",
    }
    return names[main]


def _metrics(y: np.ndarray, p: np.ndarray) -> dict:
    ok = np.isfinite(y)
    y, p = y[ok], p[ok]
    if len(y) == 0:
        return {"n": 0}
    err = p - y
    ss = ((y - y.mean()) ** 2).sum()
    return {
        "n": int(len(y)),
        "rmse": float(np.sqrt((err**2).mean())),
        "mae": float(np.abs(err).mean()),
        "r2": float(1 - (err**2).sum() / ss) if ss > 0 else float("nan"),
    }


def evaluate_test(
    folder: Path, data: GlassData | None = None, descriptors: DescriptorTable | None = None
) -> tuple[dict, dict]:
    """Held-out test metrics of the shipped predictor as the app runs it (network ensemble
    plus the measured-neighbour correction when fitted): card ``metrics``, ``test_metrics``,
    ``tg_t12_agreement``, ``test_metrics_by_group``; ``test_predictions.parquet`` and
    ``test_viscosity.parquet``. Returns (headline metrics, Tg/T12 agreement)."""
    from core.models.integrity import forget_checksums

    forget_checksums(folder)  # the test tables are rewritten
    from core.models.glass import PROPERTIES, GlassPredictor

    data, descriptors = data_for(folder, data, descriptors)
    predictor = GlassPredictor(folder)
    card = json.loads((folder / "card.json").read_text())
    test = np.flatnonzero(data.split == "test")
    comps = compositions(data, descriptors, test)
    summary = predictor.estimate(comps)
    raw = summary["raw"]
    metrics, detail = {}, {}
    for j, p in enumerate(PROPERTIES):
        m = _metrics(data.raw_targets[test, j], summary["mean"][:, j])
        detail[p] = m
        unit = {"Tg": "K", "Tliquidus": "K", "CTE": "ppm_per_K", "ElasticModulus": "GPa"}.get(p, "")
        scale = 1e6 if p == "CTE" else 1.0
        metrics[f"{p}_rmse{'_' + unit if unit else ''}"] = m.get("rmse", float("nan")) * scale
    # viscosity on test points: ensemble-mean curve
    row_of = {g: i for i, g in enumerate(test)}
    pts = np.flatnonzero(data.split[data.visc_glass] == "test")
    pos = np.array([row_of[g] for g in data.visc_glass[pts]])
    a, t12, mm = (torch.from_numpy(raw[k][:, pos]).double() for k in ("A", "T12", "m"))
    curves = predicted_log10_viscosity(
        a, t12, mm, torch.from_numpy(data.visc_T[pts]).double()[None]
    )
    visc_pred = curves.mean(0).numpy()
    detail["log10_viscosity"] = _metrics(data.visc_log_eta[pts].astype(np.float64), visc_pred)
    detail["log10_viscosity"]["glasses"] = int(len(np.unique(pos)))
    metrics["viscosity_rmse_log10Pas"] = detail["log10_viscosity"]["rmse"]
    # the same points without the series that contradict their own measured Tg (the check
    # the training data gets; a model that fits degrees-C series is wrong, not better)
    consistent = ~np.isin(data.key[data.visc_glass[pts]], test_viscosity_outliers(data))
    detail["log10_viscosity_consistent"] = _metrics(
        data.visc_log_eta[pts][consistent].astype(np.float64), visc_pred[consistent]
    )
    detail["log10_viscosity_consistent"]["glasses"] = int(len(np.unique(pos[consistent])))
    # Tg from the property head vs T12 of the viscosity head
    tg_pred, t12_pred = summary["mean"][:, 0], raw["T12"].mean(0)
    tg_meas = data.raw_targets[test, 0]
    has_tg = np.isfinite(tg_meas)
    tg_net = summary["network_mean"][:, 0]
    tg_joint = raw["Tg_joint"].mean(0)
    tie = {
        "tg_network": int(predictor.config.tg_network),
        "mean_abs_T12_minus_joint_Tg_K": float(np.abs(t12_pred - tg_joint).mean()),
        "max_abs_T12_minus_joint_Tg_K": float(np.abs(t12_pred - tg_joint).max()),
        "share_abs_T12_minus_Tg_pred_over_50_K": float((np.abs(t12_pred - tg_pred) > 50).mean()),
        "rmse_joint_Tg_vs_measured_Tg_K": float(
            np.sqrt(((tg_joint - tg_meas)[has_tg] ** 2).mean())
        ),
        "mean_abs_T12_minus_Tg_pred_K": float(np.abs(t12_pred - tg_pred).mean()),
        "max_abs_T12_minus_Tg_pred_K": float(np.abs(t12_pred - tg_pred).max()),
        "mean_abs_T12_minus_network_Tg_K": float(np.abs(t12_pred - tg_net).mean()),
        "max_abs_T12_minus_network_Tg_K": float(np.abs(t12_pred - tg_net).max()),
        "rmse_T12_vs_measured_Tg_K": float(np.sqrt(((t12_pred - tg_meas)[has_tg] ** 2).mean())),
        "rmse_Tg_pred_vs_measured_Tg_K": detail["Tg"]["rmse"],
        "n_test_glasses": int(len(test)),
        "t12_max_offset_K": predictor.config.t12_max_offset,
    }
    # Na2O-K2O-Al2O3-SiO2 glasses (i-Melt's system)
    nkas = np.array([set(c) <= {"Na2O", "K2O", "Al2O3", "SiO2"} for c in comps])
    detail["Tg_NKAS"] = _metrics(tg_meas[nkas], tg_pred[nkas])
    # by number of components and by family
    n_comp = np.array([len(c) for c in comps])
    bucket = np.where(n_comp >= 6, "6+", n_comp.astype(str))
    family = np.array([_family(c) for c in comps])
    by_group = {}
    for name, labels in (("n_components", bucket), ("family", family)):
        by_group[name] = {}
        for g in sorted(set(labels)):
            sel = labels == g
            by_group[name][g] = {
                p: _metrics(data.raw_targets[test[sel], j], summary["mean"][sel, j])
                for j, p in enumerate(PROPERTIES)
            }
    table = pd.DataFrame(
        {
            "key": data.key[test],
            "n_components": n_comp,
            "family": family,
            "in_domain": predictor.domain(comps)["in_domain"].to_numpy(),
        }
    )
    for j, p in enumerate(PROPERTIES):
        table[p] = data.raw_targets[test, j]
        table[f"{p}_pred"] = summary["mean"][:, j]
        table[f"{p}_std"] = summary["std"][:, j]
    table["T12_pred"] = t12_pred
    table = table[table[list(PROPERTIES)].notna().any(axis=1)]
    table.to_parquet(folder / "test_predictions.parquet", index=False, compression="zstd")
    vis = pd.DataFrame(
        {
            "key": data.key[data.visc_glass[pts]],
            "T_K": data.visc_T[pts],
            "log10_viscosity": data.visc_log_eta[pts],
            "log10_viscosity_pred": visc_pred,
        }
    )
    vis.to_parquet(folder / "test_viscosity.parquet", index=False, compression="zstd")
    in_dom = table["in_domain"].to_numpy()
    detail["in_domain_share_of_test"] = float(in_dom.mean())
    card.update(
        {
            "metrics": {"test": metrics},
            "test_metrics": detail,
            "tg_t12_agreement": tie,
            "test_metrics_by_group": by_group,
            # the code that scored the test set (the predictor's inference may change after
            # training, e.g. the viscosity ceiling; git_commit stays the training commit)
            "evaluation_code_version": git_version(),
        }
    )
    card["summary"] = card_summary(card)
    (folder / "card.json").write_text(json.dumps(card, indent=2))  # keeps the training date
    return metrics, tie
