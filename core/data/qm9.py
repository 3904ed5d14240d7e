"""QM9: 130,831 small organic molecules (H, C, N, O, F; up to 9 heavy atoms) with DFT
(B3LYP/6-31G(2df,p)) geometries and properties.

Source: the data files of ``qm9pack==1.0.3`` (MIT-licensed package; the QM9 data record,
Ramakrishnan et al., Sci. Data 1, 140022 (2014), is CC BY 4.0). It holds QM9's 133,885
molecules minus the 3,054 that failed the authors' geometry consistency check.

Columns of the cached table (units follow QM9 conventions, energies converted from Hartree):

| column            | unit        | meaning                                             |
|-------------------|-------------|-----------------------------------------------------|
| index             | -           | QM9 molecule number (1..133885)                     |
| smiles            | -           | SMILES as shipped by qm9pack                        |
| atomic_numbers    | -           | list[int8], one per atom (hydrogens included)       |
| positions         | Å           | list[float32] of length 3 * n_atoms (x, y, z, ...)  |
| rot_a/b/c         | GHz         | rotational constants                                |
| mu                | D           | dipole moment                                       |
| alpha             | bohr^3      | isotropic polarizability (tensor: alpha_xx ...)     |
| homo, lumo, gap   | eV          | frontier orbital energies and gap                   |
| r2                | bohr^2      | electronic spatial extent <R^2>                     |
| zpve              | eV          | zero-point vibrational energy                       |
| u0, u, h, g       | eV          | U(0 K), U(298.15 K), H(298.15 K), G(298.15 K)       |
| cv                | cal/(mol K) | heat capacity at 298.15 K                           |
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from core.data._source import PinnedWheel, extract
from core.data._split import assign_splits
from core.data._store import DatasetInfo, is_prepared, read, remove_raw, write

HARTREE_TO_EV = 27.211386245988  # CODATA 2018

INFO = DatasetInfo(
    name="qm9",
    title="QM9",
    source=PinnedWheel(
        package="qm9pack",
        version="1.0.3",
        sha256="1d88c2988007c6778e717ee3224cf511bd60e10732ebe3b7ed500ea5af05c9f0",
        licence="QM9 data: CC BY 4.0 (Ramakrishnan et al. 2014); qm9pack code: MIT",
    ),
    citation=(
        "R. Ramakrishnan, P. O. Dral, M. Rupp, O. A. von Lilienfeld, Quantum chemistry "
        "structures and properties of 134 kilo molecules, Sci. Data 1, 140022 (2014)"
    ),
    units={
        "index": "-",
        "atomic_numbers": "Z",
        "positions": "Å",
        "rot_a": "GHz",
        "rot_b": "GHz",
        "rot_c": "GHz",
        "mu": "D",
        "alpha": "bohr^3",
        "homo": "eV",
        "lumo": "eV",
        "gap": "eV",
        "r2": "bohr^2",
        "zpve": "eV",
        "u0": "eV",
        "u": "eV",
        "h": "eV",
        "g": "eV",
        "cv": "cal/(mol K)",
    },
    split_seed=20141001,
    description="130,831 molecules (H, C, N, O, F; <= 9 heavy atoms), DFT geometries + properties",
    key_column="index",
)

TARGETS = ("mu", "alpha", "homo", "lumo", "gap", "r2", "zpve", "u0", "u", "h", "g", "cv")
_MEMBERS = [f"qm9pack/data/qm9_part{i}.csv" for i in (1, 2, 3)] + [
    "qm9pack/data/qm9_polarizability.csv"
]
_RENAME = {
    "Index": "index",
    "SMILES": "smiles",
    "InChi": "inchi",
    "N_atoms": "n_atoms",
    "XYZ_file": "xyz_file",
    "RotA_GHz": "rot_a",
    "RotB_GHz": "rot_b",
    "RotC_GHz": "rot_c",
    "Dipole_debye": "mu",
    "Polarizability_bohr3": "alpha",
    "HOMO_au": "homo",
    "LUMO_au": "lumo",
    "HOMO_LUMO_gap_au": "gap",
    "R2_bohr2": "r2",
    "ZPVE_au": "zpve",
    "InternalEnergy_0K_au": "u0",
    "InternalEnergy_298K_au": "u",
    "Enthalphy_298K_au": "h",
    "GibbsFreeEnergy_298K_au": "g",
    "Heatcapacity_Cv_cal_mol_K": "cv",
}
_HARTREE_COLUMNS = ("homo", "lumo", "gap", "zpve", "u0", "u", "h", "g")


def prepare(force: bool = False) -> None:
    """Extract, convert to the units above, split by molecule and cache as parquet."""
    if is_prepared(INFO) and not force:
        return
    raw = INFO.folder / "raw"
    parts, pol_path = extract(INFO.source, _MEMBERS, raw)[:3], raw / "qm9_polarizability.csv"
    df = pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
    df = df.rename(columns=_RENAME)
    for col in _HARTREE_COLUMNS:
        df[col] = df[col] * HARTREE_TO_EV
    pol = pd.read_csv(pol_path).rename(columns=lambda c: c.replace("A_", "alpha_"))
    df = df.merge(pol.rename(columns={"XYZ_file": "xyz_file"}), on="xyz_file", how="left")

    from rdkit import Chem  # imported here: loading the table needs no RDKit

    table = Chem.GetPeriodicTable()
    numbers, positions = [], []
    for elements, xyz in tqdm(
        zip(df["Elements"], df["XYZ_Ang"], strict=True), total=len(df), desc="qm9 geometries"
    ):
        symbols = json.loads(elements.replace("'", '"'))
        numbers.append(np.array([table.GetAtomicNumber(s) for s in symbols], dtype=np.int8))
        # Numbers like "0." are not JSON; strip the brackets and let float() parse them.
        flat = xyz.replace("[", "").replace("]", "").split(",")
        positions.append(np.asarray(flat, dtype=np.float64).astype(np.float32))
    df["atomic_numbers"] = numbers
    df["positions"] = positions
    df = df.drop(
        columns=["Elements", "XYZ_Ang", "Mulliken_pop", "Harmonic_Freq_cmi", "Stoichiometry"]
    )
    df["split"] = assign_splits(df["index"].astype(str), INFO.split_seed)
    write(INFO, df)
    remove_raw(INFO)


def load(columns: list[str] | None = None) -> pd.DataFrame:
    """All 130,831 molecules with their split label."""
    return read(INFO, columns=columns)


def load_split(split: str, columns: list[str] | None = None) -> pd.DataFrame:
    """One of the fixed splits: "train" (80%), "val" (10%) or "test" (10%) by molecule."""
    return read(INFO, split=split, columns=columns)
