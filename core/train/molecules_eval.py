"""Test-split evaluation of the QM9 ensemble: writes ``card.json`` and the test predictions.

Metrics are computed on QM9's fixed test split (never seen in training or model selection)
through the same conformer path the app uses. The card records MAE per property, the
ensemble's calibration (share of test errors within 1 and 2 predicted std), errors by
number of heavy atoms and by presence of fluorine, the data version and the code version.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file

from core.data import qm9
from core.nn.painn import PaiNN, PaiNNConfig
from core.train._common import data_provenance, git_version, write_card
from core.train.molecules import ALL_TARGETS, MODEL_NAME, evaluate_ids, load_geometries

UNITS = {
    "mu": "D",
    "alpha": "bohr^3",
    "r2": "bohr^2",
    "cv": "cal/(mol K)",
    **{t: "eV" for t in ("homo", "lumo", "gap", "zpve", "u0", "u", "h", "g")},
}


def load_members(folder: Path, device: str = "cpu") -> list[PaiNN]:
    members = []
    for weights in sorted(folder.glob("member*.safetensors")):
        meta = json.loads(weights.with_suffix(".json").read_text())
        cfg = meta["model_config"]
        model = PaiNN(
            PaiNNConfig(
                **{**cfg, "targets": tuple(cfg["targets"]), "extensive": tuple(cfg["extensive"])}
            )
        )
        model.load_state_dict(load_file(weights, device=device))
        members.append(model.to(device).eval())
    return members


def evaluate(folder: Path, device: str = "cpu") -> dict:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    members = load_members(folder, device)
    if not members:
        raise SystemExit(f"no member*.safetensors in {folder}: train first")
    data = load_geometries()
    test_ids = np.flatnonzero(data.split == "test")
    preds = np.stack([evaluate_ids(m, data, test_ids, device) for m in members])  # (M, n, T)
    mean = preds.mean(0)
    std = preds.std(0, ddof=1) if len(members) > 1 else np.full_like(mean, np.nan)
    truth = data.y[test_ids]
    err = np.abs(mean - truth)
    n_test_total = int((qm9.load(columns=["split"])["split"] == "test").sum())
    metrics = {
        t: {
            "mae": float(err[:, k].mean()),
            "unit": UNITS[t],
            "rmse": float(np.sqrt(((mean[:, k] - truth[:, k]) ** 2).mean())),
        }
        for k, t in enumerate(ALL_TARGETS)
    }
    calibration = {}
    if len(members) > 1:
        for k, t in enumerate(ALL_TARGETS):
            z = err[:, k] / np.maximum(std[:, k], 1e-12)
            calibration[t] = {
                "within_1std": float((z <= 1).mean()),
                "within_2std": float((z <= 2).mean()),
            }
    heavy = data.heavy_atoms[test_ids]
    has_f = data.element_counts[test_ids, 4] > 0
    by_size = {
        int(n): {t: float(err[heavy == n, k].mean()) for k, t in enumerate(ALL_TARGETS)}
        | {"count": int((heavy == n).sum())}
        for n in np.unique(heavy)
    }
    by_fluorine = {
        label: {t: float(err[mask, k].mean()) for k, t in enumerate(ALL_TARGETS)}
        | {"count": int(mask.sum())}
        for label, mask in (("with F", has_f), ("without F", ~has_f))
    }
    frame = pd.DataFrame({"index": data.index[test_ids], "heavy_atoms": heavy})
    for k, t in enumerate(ALL_TARGETS):
        frame[t] = truth[:, k]
        frame[f"{t}_pred"] = mean[:, k]
        frame[f"{t}_std"] = std[:, k]
    frame.to_parquet(folder / "test_predictions.parquet", index=False, compression="zstd")
    member_meta = [json.loads(p.read_text()) for p in sorted(folder.glob("member*.json"))]
    card = {
        "name": MODEL_NAME,
        "version": git_version(),
        "task": "QM9 properties from SMILES (RDKit ETKDG+MMFF conformer) with PaiNN",
        "architecture": "PaiNN (Schütt et al., ICML 2021), deep ensemble",
        "config": member_meta[0]["model_config"],
        "training": [m["train_config"] | {"best_epoch": m["best_epoch"]} for m in member_meta],
        "ensemble_size": len(members),
        "units": UNITS,
        "data": data_provenance(qm9.INFO),
        "split": "QM9 fixed split (hash of molecule index, seed in data), test set only",
        "test_molecules": int(len(test_ids)),
        "test_molecules_without_conformer": n_test_total - int(len(test_ids)),
        "metrics": {"test": metrics},
        "summary": (
            f"test MAE: HOMO {metrics['homo']['mae'] * 1000:.0f} meV, "
            f"gap {metrics['gap']['mae'] * 1000:.0f} meV, μ {metrics['mu']['mae']:.2f} D, "
            f"U0 {metrics['u0']['mae'] * 1000:.0f} meV ({len(members)} member(s))"
        ),
        "calibration": calibration,
        "error_by_heavy_atoms": by_size,
        "error_by_fluorine": by_fluorine,
    }
    write_card(folder, card)
    return card


if __name__ == "__main__":
    from core import config

    evaluate(config.models_dir() / MODEL_NAME)
