"""PaiNN: polarizable atom interaction neural network, in plain torch.

K. T. Schütt, O. T. Unke, M. Gastegger, "Equivariant message passing for the prediction of
tensorial properties and molecular spectra", ICML 2021 (arXiv:2102.03150).

Scalar features ``s`` (n, F) and vector features ``v`` (n, 3, F) are updated by message
and update blocks; rotations of the input rotate ``v`` and leave ``s`` unchanged. The
neighbour graph is built here in plain torch (molecules are small; no torch-cluster).

Heads (all from the final features):
- per-atom scalar contributions for each scalar target, pooled by sum (extensive targets)
  or mean (intensive targets) and mapped to physical units by per-target scale/shift and
  per-element reference values (so extensive energies scale with molecular size);
- the dipole moment vector mu = sum_i q_i (r_i - r_centroid) + sum_i mu_i, with atomic
  charges q_i constrained to sum to zero per molecule and atomic dipoles mu_i from ``v``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn


@dataclass
class PaiNNConfig:
    """Hyper-parameters of :class:`PaiNN` (saved in the model card; rebuild with
    ``PaiNN(PaiNNConfig(**card["config"]))``)."""

    hidden: int = 128
    layers: int = 3
    rbf: int = 20
    cutoff: float = 5.0  # Å
    max_z: int = 100
    targets: tuple[str, ...] = ()
    extensive: tuple[bool, ...] = ()
    dipole_target: str | None = "mu"
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["targets"], d["extensive"] = list(self.targets), list(self.extensive)
        return d


class PaiNN(nn.Module):
    """PaiNN with per-target atom-wise heads and a dipole head.

    Args:
        config: :class:`PaiNNConfig`.

    Buffers (set from training data, saved with the weights):
        scale, shift: (T,) per-target scale and per-atom (extensive) or per-molecule
            (intensive) shift, in target units.
        atomref: (max_z, T) per-element reference added for extensive targets.
    """

    def __init__(self, config: PaiNNConfig) -> None:
        super().__init__()
        if len(config.targets) != len(config.extensive):
            raise ValueError("targets and extensive must have the same length")
        self.config = config
        H = config.hidden
        T = len(config.targets)
        self.embedding = nn.Embedding(config.max_z, H)
        self.messages = nn.ModuleList(_Message(H, config.rbf) for _ in range(config.layers))
        self.updates = nn.ModuleList(_Update(H) for _ in range(config.layers))
        self.head = nn.Sequential(nn.Linear(H, H), nn.SiLU(), nn.Linear(H, T))
        self.charge = nn.Sequential(nn.Linear(H, H), nn.SiLU(), nn.Linear(H, 1))
        self.atom_dipole = nn.Linear(H, 1, bias=False)
        self.register_buffer("scale", torch.ones(T))
        self.register_buffer("shift", torch.zeros(T))
        self.register_buffer("atomref", torch.zeros(config.max_z, T))
        self.register_buffer("is_extensive", torch.tensor(config.extensive, dtype=torch.bool))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        for block in (*self.messages, *self.updates):
            block.reset_parameters()
        for seq in (self.head, self.charge):
            for layer in seq:
                if isinstance(layer, nn.Linear):
                    nn.init.xavier_uniform_(layer.weight)
                    nn.init.zeros_(layer.bias)
        nn.init.xavier_uniform_(self.atom_dipole.weight)

    def forward(self, z: Tensor, pos: Tensor, batch: Tensor, n_molecules: int) -> dict[str, Tensor]:
        """
        Args:
            z: (N,) atomic numbers of all atoms in the batch.
            pos: (N, 3) positions in Å.
            batch: (N,) molecule index of each atom, sorted, in [0, n_molecules).
            n_molecules: B.

        Returns:
            dict with ``scalars`` (B, T) in target units, ``atom_contributions`` (N, T) in
            target units (sum, or mean for intensive targets, over a molecule's atoms gives
            its prediction), ``dipole`` (B, 3) in e·Å and ``charges`` (N,).
        """
        s, v = self.embed(z, pos, batch)
        return self.readout(s, v, z, pos, batch, n_molecules)

    def embed(self, z: Tensor, pos: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        src, dst = radius_graph(pos, batch, self.config.cutoff)
        vec = pos[src] - pos[dst]  # (E, 3) from receiver dst to sender src
        dist = vec.norm(dim=-1)
        unit = vec / dist.unsqueeze(-1)
        rbf = _sine_rbf(dist, self.config.rbf, self.config.cutoff)  # (E, R)
        fcut = _cosine_cutoff(dist, self.config.cutoff).unsqueeze(-1)  # (E, 1)
        s = self.embedding(z)  # (N, H)
        v = s.new_zeros(s.shape[0], 3, s.shape[1])  # (N, 3, H)
        for message, update in zip(self.messages, self.updates, strict=True):
            ds, dv = message(s, v, src, dst, unit, rbf, fcut)
            s, v = s + ds, v + dv
            ds, dv = update(s, v)
            s, v = s + ds, v + dv
        return s, v

    def readout(self, s, v, z, pos, batch, n_molecules) -> dict[str, Tensor]:
        B = n_molecules
        counts = torch.bincount(batch, minlength=B).clamp(min=1).to(s.dtype)  # (B,)
        raw = self.head(s)  # (N, T), standardised units
        # Extensive: contribution = scale * o + shift (per atom) + atomref[z]
        # Intensive: contribution = scale * o + shift, then averaged over atoms
        contrib = raw * self.scale + self.shift + self.atomref[z] * self.is_extensive
        summed = s.new_zeros(B, contrib.shape[1]).index_add_(0, batch, contrib)
        scalars = torch.where(self.is_extensive, summed, summed / counts.unsqueeze(-1))
        # Dipole: neutral atomic charges at positions relative to the centroid + atomic dipoles
        q = self.charge(s).squeeze(-1)  # (N,)
        q_mean = s.new_zeros(B).index_add_(0, batch, q) / counts
        q = q - q_mean[batch]
        centroid = s.new_zeros(B, 3).index_add_(0, batch, pos) / counts.unsqueeze(-1)
        atom_mu = self.atom_dipole(v).squeeze(-1)  # (N, 3)
        per_atom_mu = q.unsqueeze(-1) * (pos - centroid[batch]) + atom_mu
        dipole = s.new_zeros(B, 3).index_add_(0, batch, per_atom_mu)
        return {
            "scalars": scalars,
            "atom_contributions": contrib,
            "dipole": dipole,
            "charges": q,
            "atom_dipoles": per_atom_mu,
        }


E_ANGSTROM_TO_DEBYE = 4.803204544  # 1 e·Å in debye


def inference_batch_size(device: str | torch.device) -> int:
    """Molecules per forward pass without gradients: 8 on a CPU, 256 on a GPU.

    On a CPU, small passes are much faster per molecule: the (edges, 3, hidden) tensors of
    a pass stay in the cache and glibc does not map and page-fault every one afresh
    (QM9, 3 members, one thread, ad hoc: 345 molecules/s at 8, 291 at 16, 165 at 32, 123
    at 64). A GPU wants large passes to amortise kernel launches.
    """
    return 256 if torch.device(device).type == "cuda" else 8


def radius_graph(pos: Tensor, batch: Tensor, cutoff: float) -> tuple[Tensor, Tensor]:
    """All ordered pairs (src, dst), src != dst, in the same molecule and within ``cutoff``.

    Molecules are small (QM9: <= 29 atoms), so every pair of a molecule is enumerated
    without an N x N matrix: (E,) index tensors, E = sum of n_m^2 before the cutoff filter.
    """
    N = pos.shape[0]
    if N == 0:
        empty = torch.zeros(0, dtype=torch.long, device=pos.device)
        return empty, empty
    counts = torch.bincount(batch)  # (B,)
    ptr = torch.cumsum(counts, 0) - counts  # first atom of each molecule
    per_atom = counts[batch]  # (N,) size of each atom's molecule
    src = torch.repeat_interleave(torch.arange(N, device=pos.device), per_atom)
    block_start = torch.cumsum(per_atom, 0) - per_atom  # where atom i's row starts
    local = torch.arange(src.shape[0], device=pos.device) - block_start[src]
    dst = ptr[batch[src]] + local
    keep = src != dst
    src, dst = src[keep], dst[keep]
    d2 = (pos[src] - pos[dst]).pow(2).sum(-1)
    keep = d2 < cutoff * cutoff
    return src[keep], dst[keep]


def _sine_rbf(dist: Tensor, n: int, cutoff: float) -> Tensor:
    k = torch.arange(1, n + 1, device=dist.device, dtype=dist.dtype)
    return torch.sin(k * math.pi * dist.unsqueeze(-1) / cutoff) / dist.unsqueeze(-1)


def _cosine_cutoff(dist: Tensor, cutoff: float) -> Tensor:
    return 0.5 * (torch.cos(dist * math.pi / cutoff) + 1.0) * (dist < cutoff)


class _Message(nn.Module):
    def __init__(self, hidden: int, rbf: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.phi = nn.Sequential(
            nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 3 * hidden)
        )
        self.filter = nn.Linear(rbf, 3 * hidden)

    def reset_parameters(self) -> None:
        for layer in (self.phi[0], self.phi[2], self.filter):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, s, v, src, dst, unit, rbf, fcut):
        H = self.hidden
        x = self.phi(s)[src] * (self.filter(rbf) * fcut)  # (E, 3H)
        x_s, x_vv, x_vs = x.split(H, dim=-1)
        dv_e = v[src] * x_vv.unsqueeze(1) + x_vs.unsqueeze(1) * unit.unsqueeze(-1)  # (E, 3, H)
        ds = torch.zeros_like(s).index_add_(0, dst, x_s)
        dv = torch.zeros_like(v).index_add_(0, dst, dv_e)
        return ds, dv


class _Update(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.U = nn.Linear(hidden, hidden, bias=False)
        self.V = nn.Linear(hidden, hidden, bias=False)
        self.mlp = nn.Sequential(
            nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, 3 * hidden)
        )

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.U.weight)
        nn.init.xavier_uniform_(self.V.weight)
        for layer in (self.mlp[0], self.mlp[2]):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, s, v):
        H = self.hidden
        Uv, Vv = self.U(v), self.V(v)  # (N, 3, H)
        Vv_norm = torch.sqrt(Vv.pow(2).sum(1) + 1e-8)  # (N, H)
        a = self.mlp(torch.cat([s, Vv_norm], dim=-1))
        a_vv, a_sv, a_ss = a.split(H, dim=-1)
        dv = a_vv.unsqueeze(1) * Uv
        ds = a_sv * (Uv * Vv).sum(1) + a_ss
        return ds, dv


__all__ = ["PaiNN", "PaiNNConfig", "radius_graph", "E_ANGSTROM_TO_DEBYE", "inference_batch_size"]
