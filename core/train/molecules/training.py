"""Training of one QM9 PaiNN ensemble member (resumable), and the data it reads.

The package docstring (:mod:`core.train.molecules`) describes the commands."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save_file

from core.featurizers.molecules import collate, molecule_data
from core.nn.painn import E_ANGSTROM_TO_DEBYE, PaiNN, PaiNNConfig, inference_batch_size
from core.provenance import git_version
from core.train._common import seed_everything

logger = logging.getLogger(__name__)

MODEL_NAME = "qm9_painn"
SCALAR_TARGETS = ("homo", "lumo", "gap", "alpha", "r2", "zpve", "u0", "u", "h", "g", "cv")
EXTENSIVE = frozenset({"alpha", "r2", "zpve", "u0", "u", "h", "g", "cv"})
ALL_TARGETS = ("mu", *SCALAR_TARGETS)
ELEMENTS = (1, 6, 7, 8, 9)  # H C N O F


@dataclass
class TrainConfig:
    member: int = 0
    seed: int = 0
    hidden: int = 64
    layers: int = 3
    rbf: int = 20
    cutoff: float = 5.0
    epochs: int = 60
    batch_size: int = 64
    lr: float = 5e-4
    weight_decay: float = 0.0
    warmup_epochs: float = 1.0
    val_molecules: int = 4000
    threads: int = 1
    device: str = "cpu"
    max_minutes: float = 0.0  # 0: no limit; else stop (after a checkpoint) when exceeded
    train_limit: int = 0  # 0: whole training split (a positive value is for smoke tests)

    @property
    def member_seed(self) -> int:
        return self.seed * 1000 + self.member


class QM9Geometries:
    """QM9 molecules on their RDKit conformers, as flat arrays for fast batching."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.index = frame["index"].to_numpy()
        sizes = frame["atomic_numbers"].map(len).to_numpy()
        self.ptr = np.concatenate([[0], np.cumsum(sizes)])
        self.z = np.concatenate(frame["atomic_numbers"].to_numpy()).astype(np.int64)
        self.pos = np.concatenate(frame["positions"].to_numpy()).reshape(-1, 3).astype(np.float32)
        self.y = frame[list(ALL_TARGETS)].to_numpy(dtype=np.float64)
        self.split = frame["split"].to_numpy()
        counts = np.zeros((len(frame), len(ELEMENTS)))
        for k, el in enumerate(ELEMENTS):
            counts[:, k] = np.add.reduceat(self.z == el, self.ptr[:-1])
        self.element_counts = counts
        self.heavy_atoms = counts[:, 1:].sum(1).astype(int)

    def __len__(self) -> int:
        return len(self.index)

    def data(self, i: int):
        """Molecule ``i`` as a ``torch_geometric.data.Data`` with its targets ``y`` (1, 1+T)."""
        a, b = self.ptr[i], self.ptr[i + 1]
        return molecule_data(self.z[a:b], self.pos[a:b], self.y[i])

    def batch(self, ids: np.ndarray, cutoff: float, device: str = "cpu"):
        """Molecules ``ids`` as one ``Batch`` (:func:`core.featurizers.molecules.collate`,
        the batcher inference uses too)."""
        return collate([self.data(i) for i in ids], cutoff, device)


def load_geometries() -> QM9Geometries:
    from core.data import qm9
    from core.featurizers.molecules import build_qm9_conformers

    conf = build_qm9_conformers()
    conf = conf[conf["error"] == ""].drop(columns=["error"])
    frame = qm9.load(columns=["index", "split", *ALL_TARGETS]).merge(conf, on="index")
    return QM9Geometries(frame.sort_values("index").reset_index(drop=True))


def fit_normalisation(data: QM9Geometries, train_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Per-element references (least squares on element counts) for extensive targets, then
    per-target scale and shift, all from the training split only."""
    T = len(SCALAR_TARGETS)
    atomref = np.zeros((100, T))
    scale, shift = np.ones(T), np.zeros(T)
    X = data.element_counts[train_ids]
    n_atoms = X.sum(1)
    # Loss weights: the spread of what the network must learn. For extensive targets that
    # is the residual after the element references (total energies spread over ~10^3 eV
    # with size, their residuals over ~10 eV: weighting by the raw spread would all but
    # ignore energy errors).
    loss_scale = np.empty(1 + T)
    loss_scale[0] = data.y[train_ids, 0].std()
    for t, name in enumerate(SCALAR_TARGETS):
        y = data.y[train_ids, 1 + t]
        if name in EXTENSIVE:
            coef, *_ = np.linalg.lstsq(X, y, rcond=None)
            atomref[list(ELEMENTS), t] = coef
            residual = y - X @ coef
            shift[t], scale[t] = (residual / n_atoms).mean(), (residual / n_atoms).std()
            loss_scale[1 + t] = residual.std()
        else:
            shift[t], scale[t] = y.mean(), y.std()
            loss_scale[1 + t] = y.std()
    return {"atomref": atomref, "scale": scale, "shift": shift, "loss_scale": loss_scale}


def predict_batch(model: PaiNN, data) -> torch.Tensor:
    """(B, 1 + T) for a ``Batch`` from ``collate``: |dipole| in D, then the scalar targets,
    in card units."""
    out = model.forward_batch(data)
    mu = out["dipole"].norm(dim=-1, keepdim=True) * E_ANGSTROM_TO_DEBYE
    return torch.cat([mu, out["scalars"]], dim=-1)


def build_model(cfg: TrainConfig, norm: dict | None = None) -> PaiNN:
    model = PaiNN(
        PaiNNConfig(
            hidden=cfg.hidden,
            layers=cfg.layers,
            rbf=cfg.rbf,
            cutoff=cfg.cutoff,
            targets=SCALAR_TARGETS,
            extensive=tuple(t in EXTENSIVE for t in SCALAR_TARGETS),
        )
    )
    if norm is not None:
        model.atomref.copy_(torch.as_tensor(norm["atomref"], dtype=torch.float32))
        model.scale.copy_(torch.as_tensor(norm["scale"], dtype=torch.float32))
        model.shift.copy_(torch.as_tensor(norm["shift"], dtype=torch.float32))
    return model


@torch.no_grad()
def evaluate_ids(model, data, ids, device, batch_size: int | None = None) -> np.ndarray:
    model.eval()
    batch_size = batch_size or inference_batch_size(device)
    preds = []
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        batch = data.batch(chunk, model.config.cutoff, device)
        preds.append(predict_batch(model, batch).double().cpu().numpy())
    return np.concatenate(preds) if preds else np.zeros((0, len(ALL_TARGETS)))


def _lr_factor(step: int, steps_per_epoch: int, cfg: TrainConfig) -> float:
    warm = cfg.warmup_epochs * steps_per_epoch
    total = cfg.epochs * steps_per_epoch
    if step < warm:
        return (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1.0, total - warm))
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))


def train(
    cfg: TrainConfig,
    out: Path,
    data: QM9Geometries | None = None,
    state_dir: Path | None = None,
) -> dict:
    """Train (or resume) one member; ``data`` defaults to all of QM9 on cached conformers.

    ``out`` receives what ships (``member<k>.safetensors`` + ``.json``); the resumable
    training state (``member<k>.ckpt``: optimiser, scheduler, history) goes to
    ``state_dir`` (default ``out``; the command line uses ``checkpoints/qm9_painn``, so no
    optimiser state sits among the shipped models)."""
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.member_seed)
    # The code this process runs is the code at its start: files edited while a long run goes
    # on do not change it, so the version is read once per leg, not at each best epoch.
    code_version = git_version()
    data = data if data is not None else load_geometries()
    train_ids = np.flatnonzero(data.split == "train")
    if cfg.train_limit:
        train_ids = train_ids[: cfg.train_limit]
    val_all = np.flatnonzero(data.split == "val")
    val_ids = np.random.default_rng(cfg.seed).permutation(val_all)[: cfg.val_molecules]
    norm = fit_normalisation(data, train_ids)
    model = build_model(cfg, norm).to(cfg.device)
    loss_scale = torch.as_tensor(norm["loss_scale"], dtype=torch.float32, device=cfg.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train_ids) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: _lr_factor(step, steps_per_epoch, cfg)
    )
    out.mkdir(parents=True, exist_ok=True)
    state_dir = Path(state_dir) if state_dir is not None else out
    state_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = state_dir / f"member{cfg.member}.ckpt"
    state = {"epoch": 0, "best_val": float("inf"), "history": []}
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, weights_only=True, map_location=cfg.device)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        state = ckpt["state"]
        logger.info("resumed member %d at epoch %d", cfg.member, state["epoch"])
    # each leg of a resumed run: the epoch it started at and the commit it ran
    state.setdefault("legs", []).append(
        {"from_epoch": state["epoch"], "code_version": code_version}
    )
    t_start = time.monotonic()
    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"]
        model.train()
        order = np.random.default_rng([cfg.member_seed, epoch]).permutation(train_ids)
        t0, total = time.monotonic(), 0.0
        for start in range(0, len(order), cfg.batch_size):
            ids = order[start : start + cfg.batch_size]
            batch = data.batch(ids, cfg.cutoff, cfg.device)
            pred = predict_batch(model, batch)
            loss = ((pred - batch.y).abs() / loss_scale).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            sched.step()
            total += loss.item() * len(ids)
        val_pred = evaluate_ids(model, data, val_ids, cfg.device)
        val_mae = np.abs(val_pred - data.y[val_ids]).mean(0)
        val_score = float((val_mae / norm["loss_scale"]).mean())
        state["epoch"] = epoch + 1
        record = {
            "epoch": epoch + 1,
            "train_loss": total / len(order),
            "val_score": val_score,
            "val_mae": dict(zip(ALL_TARGETS, val_mae.round(5).tolist(), strict=True)),
            "lr": opt.param_groups[0]["lr"],
            "seconds": round(time.monotonic() - t0, 1),
        }
        state["history"].append(record)
        if val_score < state["best_val"]:
            state["best_val"] = val_score
            save_file(
                {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
                out / f"member{cfg.member}.safetensors",
            )
            (out / f"member{cfg.member}.json").write_text(
                json.dumps(
                    {
                        "model_config": model.config.to_dict(),
                        "train_config": asdict(cfg),
                        "best_epoch": epoch + 1,
                        "val_mae": record["val_mae"],
                        # weights are only as clean as every leg that trained them
                        "code_version": next(
                            (
                                leg["code_version"]
                                for leg in state["legs"]
                                if "+dirty" in leg["code_version"]
                            ),
                            code_version,
                        ),
                        "legs": state["legs"],
                    },
                    indent=2,
                )
            )
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "state": state,
            },
            ckpt_path,
        )
        logger.info(json.dumps(record))
        if cfg.max_minutes and (time.monotonic() - t_start) / 60 > cfg.max_minutes:
            logger.info("stopping after %s minutes; resume with the same command", cfg.max_minutes)
            break
    return state
