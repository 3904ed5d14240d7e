import math

import pytest
from rdkit import Chem

from core.chem.descriptors import PROPERTIES, mol_properties, smiles_properties


def test_known_values_of_aspirin():
    p = mol_properties(Chem.MolFromSmiles("CC(=O)Oc1ccccc1C(=O)O"))
    assert set(p) == set(PROPERTIES)
    assert p["mw"] == pytest.approx(180.159, abs=1e-2)
    assert p["tpsa"] == pytest.approx(63.6, abs=0.1)
    assert p["logp"] == pytest.approx(1.31, abs=0.01)
    assert 0 < p["qed"] < 1 and 1 <= p["sas"] <= 10


def test_unparsable_smiles_give_nan_rows():
    rows = smiles_properties(["CCO", "C1CC"])
    assert not math.isnan(rows[0]["qed"])
    assert all(math.isnan(v) for v in rows[1].values())
