"""Fixed, seeded train/validation/test splits that do not depend on row order.

Each row's split is a pure function of (seed, key): a 64-bit BLAKE2b hash of
``f"{seed}:{key}"`` mapped to [0, 1) and cut at the split fractions. Rows that share a key
(the same glass, the same recipe) always land in the same split, re-running preparation
gives the same rows, and a new version of a source file cannot reshuffle old rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def _unit_interval(keys: Iterable[str], seed: int) -> np.ndarray:
    prefix = f"{seed}:".encode()
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(prefix + k.encode(), digest_size=8).digest(), "big")
            for k in keys
        ),
        dtype=np.uint64,
    ) / np.float64(2**64)


def assign_splits(
    keys: pd.Series, seed: int, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> pd.Series:
    """Map each key (str) to "train" / "val" / "test" with the given fractions."""
    if not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"split fractions must sum to 1, got {fractions}")
    u = _unit_interval(keys.astype(str), seed)
    edges = np.cumsum(fractions)[:-1]
    idx = np.searchsorted(edges, u, side="right")
    return pd.Series(np.asarray(SPLITS)[idx], index=keys.index, name="split")


def fingerprint(keys: Iterable[str]) -> str:
    """Order-independent sha256 of a set of keys: proves two split files hold the same rows."""
    digest = hashlib.sha256()
    for k in sorted(map(str, keys)):
        digest.update(k.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]
