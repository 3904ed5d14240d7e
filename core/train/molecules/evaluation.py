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

from core import uncertainty
from core.data import qm9
from core.exceptions import ModelNotAvailableError
from core.models.molecules import MODEL_FILE, load_members
from core.properties import QM9 as QM9_PROPERTIES
from core.provenance import data_provenance, git_version, write_card
from core.train.molecules.training import ALL_TARGETS, MODEL_NAME, evaluate_ids, load_geometries

UNITS = {key: prop.unit for key, prop in QM9_PROPERTIES.items()}


def pack_members(members_dir: Path, folder: Path) -> list[dict]:
    """The members trained into ``members_dir`` (``member<k>.safetensors`` and ``.json``,
    by member number) -> ``folder/model.safetensors``, member ``i``'s weights under
    ``member<i>.``; returns their metadata for the card's ``members`` (config to rebuild
    each from, training recipe, best epoch, code version)."""
    from safetensors.torch import load_file, save_file

    files = sorted(
        Path(members_dir).glob("member*.safetensors"), key=lambda f: int(f.stem[len("member") :])
    )
    if not files:
        raise ModelNotAvailableError(
            f"no member*.safetensors in {members_dir}: train first "
            "(python -m core.train.molecules train --member 0)"
        )
    weights, metas = {}, []
    for i, f in enumerate(files):
        weights.update({f"member{i}.{k}": v for k, v in load_file(f).items()})
        metas.append(json.loads(f.with_suffix(".json").read_text()) | {"trained_as": f.stem})
    folder.mkdir(parents=True, exist_ok=True)
    save_file(weights, folder / MODEL_FILE)
    return metas


def calibration_split(data, member_meta: list[dict], limit: int = 5000) -> np.ndarray:
    """Validation molecules that no member used for early stopping (seeded, reproducible)."""
    val_all = np.flatnonzero(data.split == "val")
    used: set[int] = set()
    for meta in member_meta:
        cfg = meta["train_config"]
        used.update(np.random.default_rng(cfg["seed"]).permutation(val_all)[: cfg["val_molecules"]])
    free = np.array([i for i in val_all if i not in used], dtype=int)
    return np.sort(np.random.default_rng(12345).permutation(free)[:limit])


def fit_std_model(preds: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-property (scale, floor) of the ensemble std, fitted on validation molecules
    (see :func:`core.uncertainty.fit_std_model`)."""
    mean = preds.mean(0)
    return uncertainty.fit_std_model(np.abs(mean - truth), preds.std(0, ddof=1))


def evaluate(folder: Path, members_dir: Path | None = None, device: str = "cpu") -> dict:
    """Pack the members of ``members_dir`` into ``folder`` (None: re-evaluate the packed
    model there), then measure it on the test split and write its card."""
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if members_dir is not None:
        member_meta = pack_members(members_dir, folder)
    else:
        member_meta = json.loads((folder / "card.json").read_text())["members"]
    members = load_members(folder, device, member_meta)
    data = load_geometries()
    test_ids = np.flatnonzero(data.split == "test")
    preds = np.stack([evaluate_ids(m, data, test_ids, device) for m in members])  # (M, n, T)
    mean = preds.mean(0)
    raw_std = preds.std(0, ddof=1) if len(members) > 1 else np.full_like(mean, np.nan)
    truth = data.y[test_ids]
    err = np.abs(mean - truth)
    std_scale, std_floor = np.ones(len(ALL_TARGETS)), np.zeros(len(ALL_TARGETS))
    calibration_ids = np.array([], dtype=int)
    if len(members) > 1:
        calibration_ids = calibration_split(data, member_meta)
        val_preds = np.stack([evaluate_ids(m, data, calibration_ids, device) for m in members])
        std_scale, std_floor = fit_std_model(val_preds, data.y[calibration_ids])
    std = uncertainty.apply_std_model(raw_std, std_scale, std_floor)
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
            z_raw = err[:, k] / np.maximum(raw_std[:, k], 1e-12)
            calibration[t] = {
                "within_1std": float((z <= 1).mean()),
                "within_2std": float((z <= 2).mean()),
                "std_scale": float(std_scale[k]),
                "std_floor": float(std_floor[k]),
                "raw_within_1std": float((z_raw <= 1).mean()),
                "raw_within_2std": float((z_raw <= 2).mean()),
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
    by_element = {}
    for col, symbol in ((1, "C"), (2, "N"), (3, "O"), (4, "F")):
        contains = data.element_counts[test_ids, col] > 0
        for label, mask in ((f"with {symbol}", contains), (f"without {symbol}", ~contains)):
            if mask.any():
                by_element[label] = {
                    t: float(err[mask, k].mean()) for k, t in enumerate(ALL_TARGETS)
                } | {"count": int(mask.sum())}
    frame = pd.DataFrame({"index": data.index[test_ids], "heavy_atoms": heavy})
    for k, t in enumerate(ALL_TARGETS):
        frame[t] = truth[:, k]
        frame[f"{t}_pred"] = mean[:, k]
        frame[f"{t}_std"] = std[:, k]
    frame["train_similarity"] = _test_similarity(frame)
    frame.to_parquet(folder / "test_predictions.parquet", index=False, compression="zstd")
    card = {
        "name": MODEL_NAME,
        "version": git_version(),
        "task": "QM9 properties from SMILES (RDKit ETKDG+MMFF conformer) with PaiNN",
        "architecture": "PaiNN (Schütt et al., ICML 2021), deep ensemble",
        "config": member_meta[0]["model_config"],
        "training": [m["train_config"] | {"best_epoch": m["best_epoch"]} for m in member_meta],
        "members": member_meta,
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
            f"U0 {metrics['u0']['mae'] * 1000:.0f} meV "
            f"({len(members)} member{'s' if len(members) > 1 else ''})"
        ),
        "calibration": calibration,
        "calibration_method": (
            "sqrt((scale * ensemble std)^2 + floor^2), scale and floor per property fitted "
            f"on {len(calibration_ids)} validation molecules that no member used for early "
            "stopping (Gaussian likelihood, then one factor so 68.3 % of their errors lie "
            "within 1 std; the floor covers molecules the members agree on by chance); the test "
            "columns are measured after scaling (raw_*: before). A well-calibrated Gaussian "
            "gives 0.683 within 1 std and 0.954 within 2 std."
        ),
        "std_scale": {t: float(std_scale[k]) for k, t in enumerate(ALL_TARGETS)},
        "std_floor": {t: float(std_floor[k]) for k, t in enumerate(ALL_TARGETS)},
        "error_by_heavy_atoms": by_size,
        "error_by_fluorine": by_fluorine,
        "error_by_element": by_element,
        "error_by_similarity": error_by_similarity(frame),
        "error_by_similarity_method": SIMILARITY_METHOD,
    }
    write_card(folder, card)
    return card


SIMILARITY_BINS = (0.0, 0.4, 0.5, 0.6, 0.7)
SIMILARITY_METHOD = (
    "Tanimoto similarity (Morgan radius 2, 2,048 bits) of each test molecule to its closest "
    "QM9 training molecule; MAE per bin of that similarity"
)


def _test_similarity(frame: pd.DataFrame) -> np.ndarray:
    from core.models.molecules import nearest_training_similarity

    smiles = qm9.load(columns=["index", "smiles"]).set_index("index")["smiles"]
    return nearest_training_similarity(smiles.loc[frame["index"]].tolist())


def error_by_similarity(frame: pd.DataFrame) -> dict:
    """MAE per property in bins of ``train_similarity`` (a column of test_predictions)."""
    sim = frame["train_similarity"].to_numpy()
    edges = [*SIMILARITY_BINS, np.inf]
    out = {}
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (sim >= lo) & (sim < hi)
        label = f">= {lo:.1f}" if not np.isfinite(hi) else f"{lo:.1f}-{hi:.1f}"
        if mask.any():
            out[label] = {
                t: float(np.abs(frame.loc[mask, f"{t}_pred"] - frame.loc[mask, t]).mean())
                for t in ALL_TARGETS
            } | {"count": int(mask.sum())}
    return out


def add_similarity_breakdown(folder: Path, recompute: bool = False) -> dict:
    """Add ``train_similarity`` to test_predictions.parquet and ``error_by_similarity`` to
    the card of an evaluated model, without re-running the test set (the card keeps its
    date; ``error_by_similarity_date`` says when this was added). A similarity column
    already in the file is reused unless ``recompute``."""
    path = folder / "test_predictions.parquet"
    frame = pd.read_parquet(path)
    if "train_similarity" not in frame or recompute:
        frame["train_similarity"] = _test_similarity(frame)
        frame.to_parquet(path, index=False, compression="zstd")
    card = json.loads((folder / "card.json").read_text())
    card["error_by_similarity"] = error_by_similarity(frame)
    card["error_by_similarity_method"] = SIMILARITY_METHOD
    card["error_by_similarity_date"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    return card


if __name__ == "__main__":
    from core import config

    evaluate(config.models_dir() / MODEL_NAME)
