"""Molecules -> 3D graph tensors, through the same path for training and for users.

Users give SMILES or drawings, not DFT geometries, so a model that must answer them is
trained and tested on what it will see: RDKit conformers (ETKDGv3 + MMFF94, seeded) built
from the SMILES. An uploaded 3D structure is used as given.

``build_qm9_conformers()`` runs that path once over all of QM9 and caches the result
(``<cache>/qm9_conformers/data.parquet``: index, atomic_numbers, positions in Å, error), so
training does not repeat the ~5 ms per molecule of embedding each epoch.

``molecule_data`` and ``collate`` are the one batcher of training and inference: each
molecule becomes a ``torch_geometric.data.Data`` (``z``, ``pos``, optional ``y``), a list of
them a ``Batch`` (``Batch.from_data_list``) with its neighbour list ``edge_index`` built in
plain torch by :func:`radius_graph` (PyG's own needs pyg-lib, which is not on PyPI).
torch and PyG are imported inside these functions, so the conformer workers stay light.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from core import config
from core.exceptions import InvalidInputError

if TYPE_CHECKING:
    from torch import Tensor

CONFORMER_SEED = 0xF00D
CONFORMER_VERSION = 1  # bump when the conformer recipe changes: rebuilds the cache


@dataclass(frozen=True)
class MoleculeGeometry:
    """Atomic numbers (n,) int64 and positions (n, 3) float32 in Å, hydrogens included."""

    atomic_numbers: np.ndarray
    positions: np.ndarray

    @property
    def n_atoms(self) -> int:
        return int(self.atomic_numbers.shape[0])


def geometry_from_mol(mol) -> MoleculeGeometry:
    """Geometry of an RDKit molecule that already has one 3D conformer (and its Hs)."""
    if mol.GetNumConformers() == 0:
        raise InvalidInputError(
            "the molecule has no 3D coordinates",
            expected="a molecule with one conformer",
            fix="use geometry_from_smiles, or upload an .sdf/.mol/.xyz file with 3D coordinates",
        )
    z = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int64)
    pos = np.asarray(mol.GetConformer().GetPositions(), dtype=np.float32)
    return MoleculeGeometry(z, pos)


def geometry_from_smiles(smiles: str, seed: int = CONFORMER_SEED) -> MoleculeGeometry:
    """SMILES -> ETKDG + MMFF conformer (seeded, deterministic) -> geometry."""
    from core.chem.molecules import embed_conformer, parse_smiles

    return geometry_from_mol(embed_conformer(parse_smiles(smiles), seed=seed))


def molecule_data(atomic_numbers, positions, y=None):
    """One molecule as a ``torch_geometric.data.Data``: ``z`` (n,) int64, ``pos`` (n, 3)
    float32 in Å and, for training, ``y`` (1, T) float32 targets."""
    import torch
    from torch_geometric.data import Data

    data = Data(
        z=torch.as_tensor(np.asarray(atomic_numbers), dtype=torch.long),
        pos=torch.as_tensor(np.asarray(positions, dtype=np.float32).reshape(-1, 3)),
    )
    if y is not None:
        data.y = torch.as_tensor(np.asarray(y), dtype=torch.float32).reshape(1, -1)
    return data


def collate(molecules, cutoff: float, device="cpu"):
    """A batch of molecules (``MoleculeGeometry`` or ``Data``) as a
    ``torch_geometric.data.Batch`` on ``device`` with ``z`` (N,), ``pos`` (N, 3), ``batch``
    (N,), ``y`` (B, T) if the molecules have targets, and ``edge_index`` (2, E): every
    ordered pair (sender, receiver) of a molecule's atoms closer than ``cutoff`` Å."""
    import torch
    from torch_geometric.data import Batch

    items = [
        m if not isinstance(m, MoleculeGeometry) else molecule_data(m.atomic_numbers, m.positions)
        for m in molecules
    ]
    batch = Batch.from_data_list(items).to(device)
    batch.edge_index = torch.stack(radius_graph(batch.pos, batch.batch, cutoff))
    return batch


def radius_graph(pos: Tensor, batch: Tensor, cutoff: float) -> tuple[Tensor, Tensor]:
    """All ordered pairs (src, dst), src != dst, in the same molecule and within ``cutoff``.

    Molecules are small (QM9: <= 29 atoms), so every pair of a molecule is enumerated
    without an N x N matrix: (E,) index tensors, E = sum of n_m^2 before the cutoff filter.
    """
    import torch

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


def _embed_row(args: tuple[int, str]) -> tuple[int, list[int], list[float], str]:
    index, smiles = args
    try:
        geo = geometry_from_smiles(smiles)
    except InvalidInputError as err:
        return index, [], [], str(err)
    return index, geo.atomic_numbers.tolist(), geo.positions.reshape(-1).tolist(), ""


def qm9_conformer_path():
    return config.cache_dir() / "qm9_conformers" / "data.parquet"


def build_qm9_conformers(processes: int | None = None, force: bool = False) -> pd.DataFrame:
    """Embed every QM9 SMILES once (about 11 CPU-minutes) and cache the geometries."""
    from core.data import qm9

    path = qm9_conformer_path()
    meta_path = path.with_name("manifest.json")
    if path.exists() and meta_path.exists() and not force:
        meta = json.loads(meta_path.read_text())
        if meta.get("conformer_version") == CONFORMER_VERSION:
            return pd.read_parquet(path)
    df = qm9.load(columns=["index", "smiles"])
    jobs = list(zip(df["index"].tolist(), df["smiles"].tolist(), strict=True))
    processes = processes or max(1, (os.cpu_count() or 1))
    with mp.get_context("spawn").Pool(processes) as pool:
        rows = list(
            tqdm(pool.imap(_embed_row, jobs, chunksize=256), total=len(jobs), desc="conformers")
        )
    out = pd.DataFrame(rows, columns=["index", "atomic_numbers", "positions", "error"])
    out["atomic_numbers"] = out["atomic_numbers"].map(lambda z: np.asarray(z, dtype=np.int8))
    out["positions"] = out["positions"].map(lambda p: np.asarray(p, dtype=np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_parquet(path, index=False, compression="zstd")
    meta_path.write_text(
        json.dumps(
            {
                "conformer_version": CONFORMER_VERSION,
                "seed": CONFORMER_SEED,
                "recipe": "parse_smiles, AddHs, ETKDGv3 (random coords on failure), MMFF94/UFF",
                "molecules": int(len(out)),
                "failed": int((out["error"] != "").sum()),
            },
            indent=2,
        )
    )
    return out


if __name__ == "__main__":
    build_qm9_conformers()
