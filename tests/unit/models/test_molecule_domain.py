import pytest

from core.chem.depict import heavy_atom_values, svg_2d
from core.chem.molecules import embed_conformer, parse_smiles
from core.models.molecules import domain_warnings


@pytest.mark.parametrize("smiles", ["CCO", "CCC", "c1ccncc1", "OCC(F)(F)F", "C1=CC2CC1C=C2"])
def test_qm9_like_molecules_are_in_domain(smiles):
    assert domain_warnings(parse_smiles(smiles)) == []


@pytest.mark.parametrize(
    ("smiles", "fragment"),
    [
        ("c1ccsc1", "contains S"),
        ("CCBr", "contains Br"),
        ("CC(=O)Oc1ccccc1C(=O)O", "13 heavy atoms"),
        ("C[NH3+]", "net charge +1"),
        ("C[CH2]", "unpaired electron"),
        ("C", "1 heavy atom: QM9 holds only a handful"),
        ("CC", "2 heavy atoms: QM9 holds only a handful"),
    ],
)
def test_out_of_domain_molecules_say_why(smiles, fragment):
    warnings = domain_warnings(parse_smiles(smiles))
    assert any(fragment in w for w in warnings), warnings


def test_zwitterion_is_neutral_overall():
    # glycine zwitterion: charged atoms but no net charge
    assert not any("net charge" in w for w in domain_warnings(parse_smiles("[NH3+]CC(=O)[O-]")))


def test_svg_colours_atoms_and_labels_values():
    mol = embed_conformer(parse_smiles("CCO"))
    svg = svg_2d(mol, {0: -0.5, 2: 1.0})
    assert svg.startswith("<?xml") and "</svg>" in svg
    assert "#FF0000" in svg  # the largest positive value: full red
    assert "#7F7FFF" in svg  # half the magnitude, negative: light blue
    assert "class='note'" in svg  # values written next to the atoms


def test_hydrogen_contributions_fold_onto_heavy_atoms():
    import pandas as pd

    table = pd.DataFrame({"heavy_atom": [0, 1, 0, 0, 1], "contribution": [1.0, 2.0, 0.5, 0.5, -1]})
    assert heavy_atom_values(table) == {0: 2.0, 1: 1.0}
