"""PyG's own SchNet (or ViSNet) trained as a peer on our SMILES -> conformer path and split.

Used by ``benchmarks/molecules.py --peer schnet|visnet``. Both models come from
``torch_geometric.nn.models`` unchanged except for the neighbour graph: PyG 2.8's
``radius_graph`` needs pyg-lib (not on PyPI), so SchNet gets our plain-torch graph through
its ``interaction_graph`` argument and ViSNet's ``Distance`` module is swapped for one that
builds the same graph (with ViSNet's self-loops). Batches come from
:func:`core.featurizers.molecules.collate`, the batcher PaiNN trains and predicts with.

Targets are the 12 card properties (|mu| as a plain scalar), normalised as for PaiNN
(per-element references for extensive targets, scale/shift from the training split): the
network's per-atom outputs are summed (SchNet ``readout="add"``), extensive targets are
``scale * sum + shift * n_atoms + sum of references``, intensive ones
``scale * sum / n_atoms + shift``. Training is resumable: the checkpoint is written every
``--checkpoint-steps`` steps and at every epoch's end; re-running continues.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.featurizers.molecules import radius_graph
from core.train.molecules.training import ALL_TARGETS, EXTENSIVE, QM9Geometries, fit_normalisation

CUTOFF = 5.0  # Å, as PaiNN


def _interaction_graph(pos, batch):
    src, dst = radius_graph(pos, batch, CUTOFF)
    edge_index = torch.stack([src, dst])
    return edge_index, (pos[src] - pos[dst]).norm(dim=-1)


class _Distance(nn.Module):
    """ViSNet's ``Distance`` (edges with self-loops) on our plain-torch neighbour list."""

    def forward(self, pos, batch):
        src, dst = radius_graph(pos, batch, CUTOFF)
        loops = torch.arange(pos.shape[0], device=pos.device)
        edge_index = torch.stack([torch.cat([src, loops]), torch.cat([dst, loops])])
        vec = pos[edge_index[0]] - pos[edge_index[1]]
        return edge_index, vec.norm(dim=-1), vec


def build_peer(name: str, hidden: int = 128) -> nn.Module:
    T = len(ALL_TARGETS)
    if name == "schnet":
        from torch_geometric.nn.models import SchNet

        model = SchNet(
            hidden_channels=hidden,
            num_filters=hidden,
            num_interactions=6,
            num_gaussians=50,
            cutoff=CUTOFF,
            interaction_graph=_interaction_graph,
            readout="add",
        )
        model.lin2 = nn.Linear(hidden // 2, T)  # one output per target instead of 1
        model.reset_parameters()
        return model
    if name == "visnet":
        from torch_geometric.nn.models import ViSNet
        from torch_geometric.nn.models.visnet import GatedEquivariantBlock

        model = ViSNet(hidden_channels=hidden, num_layers=6, num_rbf=32, cutoff=CUTOFF)
        model.representation_model.distance = _Distance()
        # last gated block with one output per target instead of 1
        model.output_model.output_network[-1] = GatedEquivariantBlock(
            hidden // 2, T, scalar_activation=False
        )
        model.output_model.reset_parameters()
        return model
    raise ValueError(f"unknown peer {name!r}: expected 'schnet' or 'visnet'")


class PeerModel(nn.Module):
    """A PyG model's summed per-atom outputs (B, T) -> card units via our normalisation."""

    def __init__(self, name: str, norm: dict) -> None:
        super().__init__()
        self.name = name
        self.net = build_peer(name)
        T = len(ALL_TARGETS)
        ext = torch.tensor([t in EXTENSIVE for t in ALL_TARGETS])
        # mu (index 0) is not in the PaiNN scalar normalisation: plain mean/std
        scale = torch.ones(T)
        shift = torch.zeros(T)
        atomref = torch.zeros(100, T)
        scale[1:] = torch.as_tensor(norm["scale"], dtype=torch.float32)
        shift[1:] = torch.as_tensor(norm["shift"], dtype=torch.float32)
        atomref[:, 1:] = torch.as_tensor(norm["atomref"], dtype=torch.float32)
        scale[0], shift[0] = float(norm["mu_std"]), float(norm["mu_mean"])
        self.register_buffer("scale", scale)
        self.register_buffer("shift", shift)
        self.register_buffer("atomref", atomref)
        self.register_buffer("is_extensive", ext)

    def forward(self, data) -> torch.Tensor:
        out = self.net(data.z, data.pos, data.batch)
        raw = out[0] if isinstance(out, tuple) else out  # ViSNet returns (y, forces)
        n = torch.bincount(data.batch, minlength=data.num_graphs).to(raw.dtype).unsqueeze(-1)
        ref = torch.zeros_like(raw).index_add_(0, data.batch, self.atomref[data.z])
        extensive = self.scale * raw + self.shift * n + ref
        intensive = self.scale * raw / n + self.shift
        return torch.where(self.is_extensive, extensive, intensive)


def train_peer(
    name: str,
    data: QM9Geometries,
    ckpt_path: Path,
    epochs: int,
    batch_size: int = 64,
    lr: float = 5e-4,
    max_steps: int = 0,
    train_limit: int = 0,
    checkpoint_steps: int = 200,
    seed: int = 0,
) -> tuple[PeerModel, dict]:
    """Train (or resume) the peer; returns it and the training state (with CPU seconds
    per step measured, and the CPU seconds an epoch of the training split would take)."""
    torch.manual_seed(seed)
    train_ids = np.flatnonzero(data.split == "train")
    if train_limit:
        train_ids = train_ids[:train_limit]
    norm = fit_normalisation(data, train_ids)
    norm["mu_mean"], norm["mu_std"] = data.y[train_ids, 0].mean(), data.y[train_ids, 0].std()
    model = PeerModel(name, norm)
    loss_scale = torch.as_tensor(norm["loss_scale"], dtype=torch.float32)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(train_ids) / batch_size)
    total_steps = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total_steps)))
    )
    state = {"epoch": 0, "step_in_epoch": 0, "steps": 0, "cpu_seconds": 0.0}
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, weights_only=True)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        state = ckpt["state"]
        print(f"resumed {name} at epoch {state['epoch']} step {state['step_in_epoch']}")

    def save() -> None:
        ckpt_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "state": state,
                "peer": name,
            },
            tmp,
        )
        tmp.replace(ckpt_path)

    done_now = 0
    while state["epoch"] < epochs:
        model.train()
        order = np.random.default_rng([seed, state["epoch"]]).permutation(train_ids)
        starts = range(state["step_in_epoch"] * batch_size, len(order), batch_size)
        for start in starts:
            if max_steps and done_now >= max_steps:
                save()
                return model, _with_rates(state, steps_per_epoch)
            t0 = time.process_time()
            batch = data.batch(order[start : start + batch_size], CUTOFF)
            loss = ((model(batch) - batch.y).abs() / loss_scale).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            sched.step()
            state["cpu_seconds"] += time.process_time() - t0
            state["steps"] += 1
            state["step_in_epoch"] += 1
            done_now += 1
            if state["step_in_epoch"] % checkpoint_steps == 0:
                save()
        state["epoch"] += 1
        state["step_in_epoch"] = 0
        save()
        print(json.dumps({"peer": name, "epoch": state["epoch"], "loss": loss.item()}))
    return model, _with_rates(state, steps_per_epoch)


def _with_rates(state: dict, steps_per_epoch: int) -> dict:
    per_step = state["cpu_seconds"] / max(1, state["steps"])
    return {**state, "cpu_s_per_step": per_step, "cpu_s_per_epoch": per_step * steps_per_epoch}


@torch.no_grad()
def predict_peer(model: PeerModel, data: QM9Geometries, ids: np.ndarray, step: int = 64):
    model.eval()
    out = [
        model(data.batch(ids[i : i + step], CUTOFF)).double().numpy()
        for i in range(0, len(ids), step)
    ]
    return np.concatenate(out) if out else np.zeros((0, len(ALL_TARGETS)))
