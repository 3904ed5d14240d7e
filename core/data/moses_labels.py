"""RDKit design-property labels (logP, SAS, MW, QED, TPSA) of MOSES molecules, cached.

Labelling all 1.57M training molecules costs about an hour of CPU, so it is done in chunks
of a fixed, hash-ordered permutation of each split: any prefix of the chunks is a uniform
random subset, a killed job resumes at the first missing chunk, and training uses what is
labelled so far. Files live beside the dataset in the cache::

    <cache>/moses/labels/<split>/chunk_00000.parquet   smiles + logp, sas, mw, qed, tpsa

``python -m core.data.moses_labels --split train --molecules 400000`` labels (resumably)
the first 400k molecules of the permutation. :func:`property_stats` gives the mean/std used
to standardise conditions and the ranges the sampler accepts.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from core.chem.descriptors import PROPERTIES, smiles_properties
from core.data import moses

log = logging.getLogger(__name__)

CHUNK = 20_000


def labels_dir(split: str) -> Path:
    return moses.INFO.folder / "labels" / split


def hash_order(smiles: pd.Series) -> np.ndarray:
    """Row order of a fixed pseudo-random permutation (sha1 of each SMILES)."""
    keys = np.array([int(hashlib.sha1(s.encode()).hexdigest()[:15], 16) for s in smiles])
    return np.argsort(keys, kind="stable")


def label_split(split: str, molecules: int | None = None) -> int:
    """Label the first ``molecules`` of the split's permutation (all if None); resumable.

    Returns the number of labelled molecules on disk afterwards."""
    smiles = moses.load_split(split, columns=["smiles"])["smiles"].reset_index(drop=True)
    order = hash_order(smiles)
    total = len(order) if molecules is None else min(molecules, len(order))
    folder = labels_dir(split)
    folder.mkdir(parents=True, exist_ok=True)
    for k, start in enumerate(range(0, total, CHUNK)):
        path = folder / f"chunk_{k:05d}.parquet"
        if path.exists():
            continue
        part = smiles.iloc[order[start : start + CHUNK]].tolist()
        df = pd.DataFrame(smiles_properties(part))
        df.insert(0, "smiles", part)
        tmp = path.with_suffix(".tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)  # atomic: a killed job never leaves a half chunk
        log.info("labelled %s chunk %d (%d molecules)", split, k, len(df))
    return len(load_labels(split))


def load_labels(split: str) -> pd.DataFrame:
    """All labelled molecules of a split (empty frame if none), in permutation order."""
    files = sorted(labels_dir(split).glob("chunk_*.parquet"))
    if not files:
        return pd.DataFrame(columns=["smiles", *PROPERTIES])
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return df.dropna(subset=list(PROPERTIES)).reset_index(drop=True)


def property_stats(df: pd.DataFrame, keys=PROPERTIES) -> dict[str, dict[str, float]]:
    """Per property: mean/std (standardisation) and the training range (min, max and the
    0.5/99.5 percentiles; the sampler refuses conditions outside the percentile range)."""
    out = {}
    for key in keys:
        v = df[key].to_numpy(dtype=float)
        out[key] = {
            "mean": float(v.mean()),
            "std": float(v.std()),
            "min": float(v.min()),
            "max": float(v.max()),
            "p0.5": float(np.percentile(v, 0.5)),
            "p99.5": float(np.percentile(v, 99.5)),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="train", choices=["train", "val", "test"])
    parser.add_argument("--molecules", type=int, default=None, help="default: the whole split")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    n = label_split(args.split, args.molecules)
    log.info("%s: %d labelled molecules", args.split, n)


if __name__ == "__main__":
    main()
