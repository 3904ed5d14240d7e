"""PaiNN: polarizable atom interaction neural network, on torch-geometric.

K. T. Schütt, O. T. Unke, M. Gastegger, "Equivariant message passing for the prediction of
tensorial properties and molecular spectra", ICML 2021 (arXiv:2102.03150).

Scalar features ``s`` (n, F) and vector features ``v`` (n, 3, F) are updated by message
and update blocks; rotations of the input rotate ``v`` and leave ``s`` unchanged. Messages
are aggregated with ``torch_geometric.utils.scatter`` and molecules pooled with PyG's
``global_add_pool``/``global_mean_pool``; batches come from
:func:`core.featurizers.molecules.collate` (a ``torch_geometric.data.Batch``). The neighbour
graph is built in plain torch (:func:`core.featurizers.molecules.radius_graph`): PyG's
``radius_graph`` needs pyg-lib, which is not on PyPI, and molecules are small.

Heads (all from the final features):
- per-atom scalar contributions for each scalar target, pooled by sum (extensive targets)
  or mean (intensive targets) and mapped to physical units by per-target scale/shift and
  per-element reference values (so extensive energies scale with molecular size);
- the dipole moment vector mu = sum_i q_i (r_i - r_centroid) + sum_i mu_i, with atomic
  charges q_i constrained to sum to zero per molecule and atomic dipoles mu_i from ``v``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn
from torch_geometric.nn import global_add_pool, global_mean_pool
from torch_geometric.utils import scatter

from core.featurizers.molecules import radius_graph


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

    def forward(
        self,
        z: Tensor,
        pos: Tensor,
        batch: Tensor,
        n_molecules: int | None = None,
        edge_index: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """
        Args:
            z: (N,) atomic numbers of all atoms in the batch.
            pos: (N, 3) positions in Å.
            batch: (N,) molecule index of each atom, sorted, in [0, n_molecules).
            n_molecules: B (default: ``batch.max() + 1``).
            edge_index: (2, E) directed pairs (sender, receiver) within the cutoff, as
                :func:`core.featurizers.molecules.collate` builds them; None builds them here.

        Returns:
            dict with ``scalars`` (B, T) in target units, ``atom_contributions`` (N, T) in
            target units (sum, or mean for intensive targets, over a molecule's atoms gives
            its prediction), ``dipole`` (B, 3) in e·Å and ``charges`` (N,).

        A ``torch_geometric.data.Batch`` ``data`` from ``collate`` is run with
        :meth:`forward_batch` (``model(data.z, data.pos, data.batch, data.num_graphs,
        data.edge_index)``).
        """
        if n_molecules is None:
            n_molecules = int(batch.max()) + 1 if batch.numel() else 0
        s, v = self.embed(z, pos, batch, edge_index)
        return self.readout(s, v, z, pos, batch, n_molecules)

    def forward_batch(self, data) -> dict[str, Tensor]:
        """:meth:`forward` on a ``torch_geometric.data.Batch`` from ``collate``."""
        return self(data.z, data.pos, data.batch, data.num_graphs, data.get("edge_index"))

    def embed(
        self, z: Tensor, pos: Tensor, batch: Tensor, edge_index: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        if edge_index is None:
            edge_index = torch.stack(radius_graph(pos, batch, self.config.cutoff))
        src, dst = edge_index
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
        raw = self.head(s)  # (N, T), standardised units
        # Extensive: contribution = scale * o + shift (per atom) + atomref[z]
        # Intensive: contribution = scale * o + shift, then averaged over atoms
        contrib = raw * self.scale + self.shift + self.atomref[z] * self.is_extensive
        summed = global_add_pool(contrib, batch, size=B)  # (B, T)
        scalars = torch.where(self.is_extensive, summed, global_mean_pool(contrib, batch, B))
        # Dipole: neutral atomic charges at positions relative to the centroid + atomic dipoles
        q = self.charge(s).squeeze(-1)  # (N,)
        q = q - global_mean_pool(q.unsqueeze(-1), batch, B).squeeze(-1)[batch]
        centroid = global_mean_pool(pos, batch, B)  # (B, 3)
        atom_mu = self.atom_dipole(v).squeeze(-1)  # (N, 3)
        per_atom_mu = q.unsqueeze(-1) * (pos - centroid[batch]) + atom_mu
        dipole = global_add_pool(per_atom_mu, batch, size=B)  # (B, 3)
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


# A CPU pass closes once its molecules' squared atom counts (a bound on their edges) reach
# this: about 8 QM9 molecules (~18 atoms with H) and 2 drug-like ones (~36 atoms), whose
# edges would otherwise outgrow the cache (benchmarks/results/painn_passes.txt).
CPU_PASS_ATOM_PAIRS = 2000


def inference_passes(n_atoms: Sequence[int], device: str | torch.device) -> list[slice]:
    """Consecutive passes over molecules of ``n_atoms`` atoms: on a GPU of
    :func:`inference_batch_size` molecules, on a CPU each closed once the squared atom
    counts reach :data:`CPU_PASS_ATOM_PAIRS` (large molecules get small passes)."""
    if torch.device(device).type == "cuda":
        step = inference_batch_size(device)
        return [slice(i, i + step) for i in range(0, len(n_atoms), step)]
    passes, start, pairs = [], 0, 0
    for i, n in enumerate(n_atoms):
        pairs += int(n) ** 2
        if pairs >= CPU_PASS_ATOM_PAIRS:
            passes.append(slice(start, i + 1))
            start, pairs = i + 1, 0
    if start < len(n_atoms):
        passes.append(slice(start, len(n_atoms)))
    return passes


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
        ds = scatter(x_s, dst, dim=0, dim_size=s.shape[0], reduce="sum")  # (N, H)
        dv = scatter(dv_e, dst, dim=0, dim_size=v.shape[0], reduce="sum")  # (N, 3, H)
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


__all__ = [
    "PaiNN",
    "PaiNNConfig",
    "radius_graph",
    "E_ANGSTROM_TO_DEBYE",
    "inference_batch_size",
    "inference_passes",
]
