"""SciGlass viscosity: 177,369 points (log10 viscosity in Pa s vs temperature in K).

Same source and licence as :mod:`core.data.sciglass` (ODbL). Each point belongs to a glass;
points are split by glass, using the same composition key and seed as the property table,
so a test glass has no point in training here and is a test glass there too.

| column        | unit              | meaning                                       |
|---------------|-------------------|-----------------------------------------------|
| <compound>    | -                 | mole fraction; each row sums to 1             |
| temperature   | K                 | temperature of the measurement                |
| log_viscosity | log10(Pa s)       | decimal logarithm of the viscosity            |
| ID            | -                 | SciGlass glass ID the point belongs to        |
| key           | -                 | rounded composition (the glass, for splits)   |
"""

from __future__ import annotations

import pandas as pd

from core.data import sciglass
from core.data._source import extract
from core.data._split import assign_splits
from core.data._store import DatasetInfo, is_prepared, read, remove_raw, write

INFO = DatasetInfo(
    name="sciglass_viscosity",
    title="SciGlass viscosity",
    source=sciglass.SOURCE,
    citation=sciglass.CITATION,
    units={"temperature": "K", "log_viscosity": "log10(Pa s)", "<compound>": "mole fraction"},
    split_seed=sciglass.SPLIT_SEED,
    description="Viscosity points of SciGlass glasses, split by glass",
)


def prepare(force: bool = False) -> None:
    if is_prepared(INFO) and not force:
        return
    raw_dir = INFO.folder / "raw"
    (csv,) = extract(INFO.source, ["glasspy/data/datafiles/viscosity_compounds.csv.xz"], raw_dir)
    df = pd.read_csv(csv).rename(columns={"Unnamed: 0": "ID"})
    compounds = sciglass.compound_columns(df)
    df[compounds] = df[compounds].fillna(0.0)  # empty cells are zero amounts
    key = sciglass.composition_key(df[compounds])
    df = pd.concat([df, key, assign_splits(key, INFO.split_seed)], axis=1)
    write(INFO, df, glasses=int(df["key"].nunique()), compounds=len(compounds))
    remove_raw(INFO)


def load(columns: list[str] | None = None) -> pd.DataFrame:
    return read(INFO, columns=columns)


def load_split(split: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Viscosity points of the glasses in one split ("train", "val" or "test")."""
    return read(INFO, split=split, columns=columns)
