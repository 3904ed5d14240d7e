"""SciGlass: 214,043 glasses as mole fractions of compounds, with six properties.

Source: the data files of ``glasspy==0.3`` (GPL-3 code); the SciGlass data are
Copyright (c) 2019 EPAM Systems and licensed under the ODC Open Database License (ODbL):
if you publish a database derived from them, it must be shared under the ODbL too.

Two tables live in the cache:

- ``load_raw()``: the 214,043 records as shipped (one row per SciGlass glass ID).
- ``load_split(split)`` / ``load()``: glasses whose compositions are the same after
  rounding the mole fractions to 3 decimals are merged (median of each property, mean
  composition) *before* splitting, so no test composition also appears in training. The
  split is a hash of the rounded composition (see :func:`composition_key`), shared with
  :mod:`core.data.sciglass_viscosity`: a glass is in the same split in both tables.

| column          | unit | meaning                                                 |
|-----------------|------|---------------------------------------------------------|
| <compound>      | -    | mole fraction (e.g. ``SiO2``), each row sums to 1       |
| Tg              | K    | glass transition temperature                            |
| Tliquidus       | K    | liquidus temperature                                    |
| RefractiveIndex | -    | n_D at 589.3 nm                                         |
| AbbeNumber      | -    | Abbe number                                             |
| CTE             | 1/K  | linear thermal expansion coefficient below Tg           |
| ElasticModulus  | GPa  | Young's modulus                                         |
| key             | -    | rounded composition, e.g. ``Na2O:0.15|SiO2:0.85``       |
| n_records       | -    | SciGlass records merged into this glass (merged table)  |
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from core.data._source import PinnedWheel, extract
from core.data._split import assign_splits
from core.data._store import DatasetInfo, is_prepared, read, remove_raw, write
from core.exceptions import DataNotAvailableError

PROPERTIES = ("Tg", "Tliquidus", "RefractiveIndex", "AbbeNumber", "CTE", "ElasticModulus")
UNITS = {
    "Tg": "K",
    "Tliquidus": "K",
    "RefractiveIndex": "-",
    "AbbeNumber": "-",
    "CTE": "1/K",
    "ElasticModulus": "GPa",
    "<compound>": "mole fraction",
}
KEY_DECIMALS = 3
SPLIT_SEED = 20190101
META = ("ID", "key", "split", "n_records", "Author", "Year", "ChemicalAnalysis")

SOURCE = PinnedWheel(
    package="glasspy",
    version="0.3",
    sha256="8a3a0c5727afa5146eab5b4e91594f00b3de8adb3057ef9d5286ac919fa9e2eb",
    licence="SciGlass data: ODbL 1.0 (c) 2019 EPAM Systems; glasspy code: GPL-3.0",
)
CITATION = (
    "SciGlass database, EPAM Systems (2019), as packaged in GlassPy 0.3 "
    "(D. R. Cassar, https://github.com/drcassar/glasspy)"
)

INFO = DatasetInfo(
    name="sciglass",
    title="SciGlass properties",
    source=SOURCE,
    citation=CITATION,
    units=UNITS,
    split_seed=SPLIT_SEED,
    description="Glasses (mole fractions of compounds) with Tg, Tliq, nD, Abbe, CTE, E",
)

_DIR = "glasspy/data/datafiles/"


def composition_key(fractions: pd.DataFrame, decimals: int = KEY_DECIMALS) -> pd.Series:
    """Canonical text of each row's composition rounded to ``decimals`` (zeros dropped).

    Two glasses with the same key are the same glass for merging and splitting.
    """
    names = np.asarray(fractions.columns)
    order = np.argsort(names)
    names = names[order]
    values = np.round(fractions.to_numpy(dtype=np.float64)[:, order], decimals)
    keys = []
    for row in values:
        nz = np.nonzero(row)[0]
        keys.append("|".join(f"{names[j]}:{row[j]:.{decimals}f}" for j in nz))
    return pd.Series(keys, index=fractions.index, name="key")


def compound_columns(df: pd.DataFrame) -> list[str]:
    """The composition columns of a SciGlass table (everything but properties and metadata)."""
    skip = set(PROPERTIES) | set(META) | {"temperature", "log_viscosity", "author", "year"}
    return [c for c in df.columns if c not in skip]


def prepare(force: bool = False) -> None:
    if is_prepared(INFO) and not force:
        return
    raw_dir = INFO.folder / "raw"
    props_csv, comp_csv = extract(
        SOURCE, [_DIR + "sciglass.csv.xz", _DIR + "sciglass_comp.csv.xz"], raw_dir
    )
    props = pd.read_csv(props_csv, index_col=0)
    # 162 cells of the shipped table are empty where the amount is zero.
    comp = pd.read_csv(comp_csv, index_col=0).fillna(0.0)
    compounds = list(comp.columns)
    key = composition_key(comp)
    raw = pd.concat(
        [
            pd.Series(comp.index, index=comp.index, name="ID"),
            comp,
            props[list(PROPERTIES) + ["ChemicalAnalysis", "Author", "Year"]],
            key,
            assign_splits(key, SPLIT_SEED),
        ],
        axis=1,
    ).reset_index(drop=True)
    raw.to_parquet(INFO.folder / "raw.parquet", index=False, compression="zstd")

    # Merge duplicates: median properties, mean composition (renormalised).
    groups = raw.groupby("key", sort=True)
    mean_comp = groups[compounds].mean()
    merged = (
        pd.concat(
            [
                groups["ID"].first(),
                mean_comp.div(mean_comp.sum(axis=1), axis=0),
                groups[list(PROPERTIES)].median(),
                groups.size().rename("n_records"),
            ],
            axis=1,
        )
        .copy()
        .reset_index()
    )  # copy() consolidates the many column blocks
    merged = merged.assign(split=assign_splits(merged["key"], SPLIT_SEED))
    write(
        INFO,
        merged,
        raw_rows=int(len(raw)),
        compounds=len(compounds),
        merge_rule=f"mole fractions rounded to {KEY_DECIMALS} decimals; median properties",
    )
    remove_raw(INFO)


def load(columns: list[str] | None = None) -> pd.DataFrame:
    """All merged glasses with their split label."""
    return read(INFO, columns=columns)


def load_split(split: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Merged glasses of one split: "train" (80%), "val" (10%) or "test" (10%)."""
    return read(INFO, split=split, columns=columns)


def load_raw(columns: list[str] | None = None) -> pd.DataFrame:
    """The 214,043 SciGlass records as shipped, plus their composition ``key`` and split."""
    path = INFO.folder / "raw.parquet"
    if not (is_prepared(INFO) and path.exists()):
        raise DataNotAvailableError(
            "SciGlass is not in the local cache; run `python -m core.data prepare sciglass`."
        )
    return pq.read_table(path, columns=columns).to_pandas()
