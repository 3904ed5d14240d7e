"""MOSES: the benchmark sets of drug-like molecules for generative models (SMILES only).

Source: the data files of ``molsets==0.3.1`` (MIT), Polykovskiy et al., Front. Pharmacol.
11, 565644 (2020); molecules filtered from ZINC Clean Leads. The package's own ``import
moses`` fails on current Python stacks, so we read its gzip'd CSVs directly.

Splits: MOSES's own ``train`` (1,584,663), ``test`` (176,074) and ``test_scaffolds``
(176,225: scaffolds absent from train). MOSES defines no validation set; ``val`` is a fixed,
hash-seeded 1% of MOSES train, and ``train`` here is the other 99%, so nothing is shared.
"""

from __future__ import annotations

import pandas as pd

from core.data._source import PinnedWheel, extract
from core.data._split import assign_splits
from core.data._store import DatasetInfo, is_prepared, read, remove_raw, write

INFO = DatasetInfo(
    name="moses",
    title="MOSES",
    source=PinnedWheel(
        package="molsets",
        version="0.3.1",
        sha256="7f4450e3ebecebe79c3a2a55950c93daddee071120daf64a163d03481e811d34",
        licence="MIT (molsets); molecules from ZINC Clean Leads",
    ),
    citation=(
        "D. Polykovskiy et al., Molecular Sets (MOSES): A Benchmarking Platform for "
        "Molecular Generation Models, Front. Pharmacol. 11, 565644 (2020)"
    ),
    units={"smiles": "-"},
    split_seed=20200319,
    description="1.9M drug-like SMILES (ZINC Clean Leads) for molecule generation",
    splits=("train", "val", "test", "test_scaffolds"),
    key_column="smiles",
)

_FILES = {"train": "train.csv.gz", "test": "test.csv.gz", "test_scaffolds": "test_scaffolds.csv.gz"}


def prepare(force: bool = False) -> None:
    """Extract the three MOSES sets, carve the 1% validation set, cache as parquet."""
    if is_prepared(INFO) and not force:
        return
    raw = INFO.folder / "raw"
    extract(INFO.source, [f"moses/dataset/data/{f}" for f in _FILES.values()], raw)
    frames = []
    for split, fname in _FILES.items():
        part = pd.read_csv(raw / fname).rename(columns={"SMILES": "smiles"})[["smiles"]]
        part["split"] = split
        part["moses_split"] = split
        frames.append(part)
    df = pd.concat(frames, ignore_index=True)
    train = df["split"] == "train"
    carve = assign_splits(df.loc[train, "smiles"], INFO.split_seed, (0.99, 0.01, 0.0))
    df.loc[train, "split"] = carve
    write(INFO, df)
    remove_raw(INFO)


def load(columns: list[str] | None = None) -> pd.DataFrame:
    return read(INFO, columns=columns)


def load_split(split: str, columns: list[str] | None = None) -> pd.DataFrame:
    """ "train" (99% of MOSES train), "val" (1%), "test" or "test_scaffolds"."""
    return read(INFO, split=split, columns=columns)
