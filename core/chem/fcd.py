"""Fréchet ChemNet Distance (FCD) between two sets of molecules, in constant memory.

FCD (Preuer et al., J. Chem. Inf. Model. 58, 1736 (2018)) is the Fréchet distance between
Gaussians fitted to the 512 penultimate-layer activations of ChemNet for two sets of
molecules; MOSES reports it against its test set. The network and its weights are those of
``fcd_torch`` 1.0.7 (the ChemNet v0.13 port MOSES uses, weights inside the wheel, read with
``torch.load(weights_only=True)``: plain tensors, no pickled code), and so are the SMILES
encoding and the distance. What differs is memory: ``fcd_torch.FCD.precalc`` keeps every
activation and the one-hot inputs of its data loader, which ran out of 22 GB on the 176k
MOSES test molecules here; :func:`activation_stats` sums activations and their outer
products chunk by chunk (float64), so its memory does not grow with the set.

Molecules are canonicalised with RDKit first (as ``fcd_torch`` does); SMILES RDKit cannot
parse are skipped and counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from rdkit import Chem, rdBase

CHUNK = 1024


@dataclass(frozen=True)
class ChemNetStats:
    """Mean (512,) and covariance (512, 512) of ChemNet activations over ``n`` molecules."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    skipped: int = 0

    def save(self, path) -> None:
        np.savez(path, mu=self.mu, sigma=self.sigma, n=self.n, skipped=self.skipped)

    @classmethod
    def load(cls, path) -> ChemNetStats:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["mu"], z["sigma"], int(z["n"]), int(z["skipped"]))


@lru_cache(maxsize=1)
def chemnet() -> torch.nn.Module:
    """fcd_torch's ChemNet (eval mode, CPU)."""
    import fcd_torch
    from fcd_torch.utils import load_imported_model

    path = os.path.join(os.path.dirname(fcd_torch.__file__), "ChemNet_v0.13_pretrained.pt")
    model = load_imported_model(torch.load(path, weights_only=True, map_location="cpu"))
    return model.eval()


def _encode(smiles: list[str]) -> torch.Tensor:
    """fcd_torch's input: one-hot over its 35 symbols, 350 positions, scaled by 1/35."""
    from fcd_torch.utils import get_one_hot

    x = np.stack([get_one_hot(s, 350) for s in smiles]) / 35.0
    return torch.from_numpy(x).float().transpose(1, 2)


def activation_stats(smiles, chunk: int = CHUNK) -> ChemNetStats:
    """ChemNet statistics of a set of SMILES, computed ``chunk`` molecules at a time."""
    model = chemnet()
    total = np.zeros(512)
    outer = np.zeros((512, 512))
    n = skipped = 0
    batch: list[str] = []

    def flush() -> None:
        nonlocal n
        if not batch:
            return
        with torch.no_grad():
            a = model(_encode(batch)).double().numpy()
        total[:] += a.sum(0)
        outer[:] += a.T @ a
        n += len(batch)
        batch.clear()

    with rdBase.BlockLogs():
        for smi in smiles:
            mol = Chem.MolFromSmiles(smi) if smi else None
            if mol is None:
                skipped += 1
                continue
            batch.append(Chem.MolToSmiles(mol))
            if len(batch) == chunk:
                flush()
    flush()
    if n < 2:
        raise ValueError(f"FCD needs at least 2 valid molecules, got {n}")
    mu = total / n
    sigma = (outer - n * np.outer(mu, mu)) / (n - 1)
    return ChemNetStats(mu, sigma, n, skipped)


def fcd(a: ChemNetStats, b: ChemNetStats) -> float:
    """Fréchet distance between two activation Gaussians (fcd_torch's implementation)."""
    from fcd_torch.utils import calculate_frechet_distance

    return float(calculate_frechet_distance(a.mu, a.sigma, b.mu, b.sigma))
