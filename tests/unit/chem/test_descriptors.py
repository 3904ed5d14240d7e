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


@pytest.mark.parametrize(
    "smiles",
    [
        "CC(=O)Oc1ccccc1C(=O)O",
        "Cc1ccc(S(=O)(=O)N2CCC(C(=O)NCc3ccco3)CC2)cc1",
        "O=C(O)c1ccc2[nH]ccc2c1",
        "C[NH+](C)CCc1c[nH]c2ccc(O)cc12",
        "[2H]C([2H])([2H])Oc1ccccc1",  # isotopes
        "[H]OC([H])([H])C",  # explicit hydrogens: QED's pass would see another molecule
        "FC(F)(F)c1ccc(P(=S)(Cl)Br)cc1",
    ],
)
def test_shared_qed_pass_gives_rdkits_own_values(smiles):
    from rdkit.Chem import QED, Descriptors, rdMolDescriptors

    mol = Chem.MolFromSmiles(smiles, sanitize=True)
    if "[H]" in smiles:
        mol = Chem.AddHs(mol)
    p = mol_properties(mol)
    assert p["logp"] == Descriptors.MolLogP(mol)
    assert p["mw"] == Descriptors.MolWt(mol)
    assert p["tpsa"] == rdMolDescriptors.CalcTPSA(mol)
    assert p["qed"] == QED.qed(mol)
