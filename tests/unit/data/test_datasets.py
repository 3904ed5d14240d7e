"""The four datasets load from the cache with the documented sizes, units and stable splits."""

import numpy as np
import pandas as pd
import pytest

from core.data import DATASETS, status
from core.data._split import assign_splits, fingerprint
from core.data._store import read_manifest
from core.data.qm9 import HARTREE_TO_EV
from core.exceptions import InvalidInputError

pytestmark = pytest.mark.data

# Fingerprints of the test splits when this suite was written: a change means every
# model's test set changed, which must never happen silently.
TEST_FINGERPRINTS = {
    "qm9": "3902840a38fe5584",
    "moses": "f085f4a14914306e",
    "sciglass": "311d48b915c29893",
    "sciglass_viscosity": "fee1451dbb446707",
}


@pytest.mark.parametrize("name", DATASETS)
def test_split_is_stable_and_reproducible(prepared, name):
    mod = prepared(name)
    info = mod.INFO
    df = mod.load(columns=[info.key_column, "split"])
    manifest = read_manifest(info)
    for split in info.splits:
        keys = df.loc[df["split"] == split, info.key_column].astype(str).unique()
        assert fingerprint(keys) == manifest["split_fingerprints"][split]
    if name in TEST_FINGERPRINTS:
        assert manifest["split_fingerprints"]["test"] == TEST_FINGERPRINTS[name]
    if name != "moses":  # MOSES splits are the benchmark's own, not hashed
        again = assign_splits(df[info.key_column].astype(str), info.split_seed)
        assert (again == df["split"]).all()
    assert sum(manifest["split_sizes"].values()) == len(df)


def test_qm9_sizes_and_units(prepared):
    qm9 = prepared("qm9")
    df = qm9.load(
        columns=[
            "index",
            "smiles",
            "u0",
            "homo",
            "gap",
            "lumo",
            "mu",
            "alpha",
            "cv",
            "atomic_numbers",
            "positions",
            "n_atoms",
            "split",
        ]
    )
    assert len(df) == 130_831
    assert df["index"].is_unique
    methane = df.loc[df["index"] == 1].iloc[0]
    assert methane["smiles"] == "C"
    assert methane["u0"] == pytest.approx(-40.47893 * HARTREE_TO_EV, rel=1e-9)
    assert methane["homo"] == pytest.approx(-0.3877 * HARTREE_TO_EV, rel=1e-9)
    assert list(methane["atomic_numbers"]) == [6, 1, 1, 1, 1]
    assert len(methane["positions"]) == 15
    # gap = LUMO - HOMO (to the 1e-4 Hartree the source rounds to);
    # HOMO of closed-shell organics lies between -20 and 0 eV
    assert np.allclose(df["gap"], df["lumo"] - df["homo"], atol=3e-3)
    assert df["homo"].between(-20, 0).all()
    assert (df["positions"].map(len) == 3 * df["n_atoms"]).all()
    assert set(np.concatenate(df["atomic_numbers"].to_numpy())) == {1, 6, 7, 8, 9}
    assert df.isna().sum().sum() == 0


def test_moses_official_sets(prepared):
    moses = prepared("moses")
    df = moses.load()
    counts = df["moses_split"].value_counts()
    assert counts["train"] == 1_584_663
    assert counts["test"] == 176_074
    assert counts["test_scaffolds"] == 176_225
    train = df.loc[df["moses_split"] == "train", "split"]
    assert set(train.unique()) == {"train", "val"}
    assert 0.009 < (train == "val").mean() < 0.011


def test_sciglass_raw_and_merged(prepared):
    sciglass = prepared("sciglass")
    raw = sciglass.load_raw(columns=["ID", "key", "split", "Tg"])
    assert len(raw) == 214_043
    assert raw["ID"].is_unique
    merged = sciglass.load()
    assert merged["key"].is_unique
    assert len(merged) == raw["key"].nunique()
    assert merged["n_records"].sum() == len(raw)
    comp = merged[sciglass.compound_columns(merged)]
    assert np.allclose(comp.sum(axis=1), 1.0)
    assert (comp >= 0).all().all() and not comp.isna().any().any()
    # Units: Tg in K (~200 K for low-melting halide/organic glasses up to ~1700 K
    # for silica), CTE in 1/K
    assert merged["Tg"].dropna().between(150, 1800).all()
    assert merged["CTE"].dropna().median() == pytest.approx(8e-6, rel=0.5)
    # Merged value is the median of the raw records of that composition
    dup = raw.groupby("key")["Tg"].agg(["median", "count"]).query("count >= 3").dropna()
    key = dup.index[0]
    assert merged.set_index("key").loc[key, "Tg"] == pytest.approx(dup.loc[key, "median"])
    # No test composition appears in training
    train = set(merged.loc[merged["split"] == "train", "key"])
    assert train.isdisjoint(merged.loc[merged["split"] == "test", "key"])


def test_viscosity_split_by_glass_and_shared_with_properties(prepared):
    visc = prepared("sciglass_viscosity")
    sciglass = prepared("sciglass")
    df = visc.load(columns=["ID", "key", "split", "temperature", "log_viscosity"])
    assert len(df) == 177_369
    assert df.groupby("key")["split"].nunique().max() == 1
    assert df["temperature"].min() > 200 and df["log_viscosity"].between(-3, 16).all()
    props = sciglass.load(columns=["key", "split"]).set_index("key")["split"]
    shared = df.drop_duplicates("key").set_index("key")["split"]
    common = shared.index.intersection(props.index)
    assert len(common) > 10_000
    assert (shared.loc[common] == props.loc[common]).all()


def test_concrete(prepared):
    concrete = prepared("concrete")
    df = concrete.load()
    assert df.shape[0] == 1_030
    assert list(df.columns[1:10]) == [*concrete.INGREDIENTS, "age", "compressive_strength"]
    assert df["compressive_strength"].between(2, 83).all()
    assert df.groupby("key")["split"].nunique().max() == 1
    first = df.loc[df["mix_id"] == 1].iloc[0]  # Yeh's first mix: 540 kg cement, 28 days
    assert (first["cement"], first["age"], first["compressive_strength"]) == (540.0, 28, 79.99)


def test_unknown_split_is_a_clear_error(prepared):
    concrete = prepared("concrete")
    with pytest.raises(InvalidInputError, match="'train' | 'val' | 'test'"):
        concrete.load_split("testing")


def test_status_lists_every_dataset():
    st = status()
    assert list(st["dataset"]) == list(DATASETS)
    assert isinstance(st, pd.DataFrame)
    assert st["licence"].str.contains("ODbL").any()
