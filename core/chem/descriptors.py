"""RDKit design properties of molecules: logP, SAS, MW, QED and TPSA.

These are the properties the molecule generator is conditioned on and scored with:

- ``logp``: Wildman-Crippen logP (``Descriptors.MolLogP``), dimensionless
- ``sas``: synthetic accessibility score, 1 (easy) .. 10 (hard), Ertl & Schuffenhauer,
  J. Cheminform. 1, 8 (2009), from the sascorer in RDKit's Contrib folder (ships in the wheel)
- ``mw``: average molecular weight (``Descriptors.MolWt``), g/mol
- ``qed``: quantitative estimate of drug-likeness, 0..1, Bickerton et al., Nat. Chem. 4, 90 (2012)
- ``tpsa``: topological polar surface area (``rdMolDescriptors.CalcTPSA``), Å²

About 5 CPU-ms per molecule (QED is two thirds of it).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from functools import lru_cache

from rdkit import Chem, RDConfig, rdBase
from rdkit.Chem import QED, Descriptors, rdMolDescriptors

PROPERTIES: tuple[str, ...] = ("logp", "sas", "mw", "qed", "tpsa")
UNITS: dict[str, str] = {"logp": "-", "sas": "-", "mw": "g/mol", "qed": "-", "tpsa": "Å²"}
LABELS: dict[str, str] = {
    "logp": "logP",
    "sas": "SA score",
    "mw": "Mol. weight",
    "qed": "QED",
    "tpsa": "TPSA",
}


@lru_cache(maxsize=1)
def _sascorer():
    try:
        from rdkit.Contrib.SA_Score import sascorer  # type: ignore[import-not-found]
    except ImportError:
        path = os.path.join(RDConfig.RDContribDir, "SA_Score")
        if path not in sys.path:
            sys.path.append(path)
        import sascorer  # type: ignore[import-not-found,no-redef]
    return sascorer


def mol_properties(mol: Chem.Mol) -> dict[str, float]:
    """The five properties of one RDKit molecule (NaN where RDKit fails).

    QED's own property pass already computes logP, MW and TPSA on the molecule without
    explicit hydrogens; without explicit H atoms that is the molecule itself, so those
    values are taken from it (the same numbers, one Crippen pass less)."""
    try:
        qp = QED.properties(mol)
    except Exception:  # noqa: BLE001 - RDKit raises assorted errors on odd molecules
        qp = None
    explicit_h = any(a.GetAtomicNum() == 1 for a in mol.GetAtoms())
    shared = {} if qp is None or explicit_h else {"logp": qp.ALOGP, "mw": qp.MW, "tpsa": qp.PSA}
    out: dict[str, float] = {}
    for key, fn in (
        ("logp", Descriptors.MolLogP),
        ("sas", lambda m: _sascorer().calculateScore(m)),
        ("mw", Descriptors.MolWt),
        ("qed", QED.qed if qp is None else lambda m: QED.qed(m, qedProperties=qp)),
        ("tpsa", rdMolDescriptors.CalcTPSA),
    ):
        try:
            out[key] = float(shared[key] if key in shared else fn(mol))
        except Exception:  # noqa: BLE001 - RDKit raises assorted errors on odd molecules
            out[key] = math.nan
    return out


def smiles_properties(smiles: Iterable[str]) -> list[dict[str, float]]:
    """Properties of each SMILES; all-NaN rows for SMILES RDKit cannot parse."""
    nan = {k: math.nan for k in PROPERTIES}
    rows = []
    blocker = rdBase.BlockLogs()  # invalid SMILES are expected here; keep stderr quiet
    for smi in smiles:
        mol = Chem.MolFromSmiles(smi)
        rows.append(dict(nan) if mol is None else mol_properties(mol))
    del blocker
    return rows
