"""Closest QM9 training molecules (needs the QM9 data cache) and the card's error by
similarity."""

from __future__ import annotations

import pytest

from core.data import qm9
from core.models.molecule_report import error_at_similarity
from core.models.molecules import qm9_record, training_neighbours


@pytest.mark.data
def test_a_training_molecule_finds_itself_with_its_dft_values(prepared) -> None:
    prepared("qm9")
    table = training_neighbours("c1ccncc1", k=5)
    best = table.iloc[0]
    assert best["same_molecule"] and best["similarity"] == 1.0 and best["smiles"] == "c1ccncc1"
    train = qm9.load_split("train", columns=["index", "homo", "gap"]).set_index("index")
    assert best["homo"] == pytest.approx(train.loc[best["qm9_index"], "homo"])
    assert list(table["similarity"]) == sorted(table["similarity"], reverse=True)
    assert not table["same_molecule"].iloc[1:].any()


@pytest.mark.data
def test_a_molecule_unlike_qm9_has_low_similarity(prepared) -> None:
    prepared("qm9")
    table = training_neighbours("CC(=O)Oc1ccccc1C(=O)O", k=3)  # aspirin: 13 heavy atoms
    assert table["similarity"].max() < 0.6 and not table["same_molecule"].any()


@pytest.mark.data
def test_a_qm9_molecule_of_any_split_is_found_with_its_dft_values(prepared) -> None:
    """Bug (issue 22 item 13): only training molecules were looked up, so methane, QM9's
    first molecule but in its validation split, showed no DFT value beside the prediction."""
    prepared("qm9")
    methane = qm9_record("[CH4]")
    assert methane["qm9_index"] == 1 and methane["split"] != "train"
    assert methane["homo"] == pytest.approx(-10.55, abs=0.01)  # QM9's DFT, in eV
    assert methane["gap"] == pytest.approx(13.74, abs=0.01)
    ethanol = qm9_record("OCC")
    full = qm9.load(columns=["index", "homo"]).set_index("index")
    assert ethanol["homo"] == pytest.approx(full.loc[ethanol["qm9_index"], "homo"])
    assert qm9_record("ClC(Cl)Cl") is None  # not a QM9 molecule (Cl)
    assert qm9_record("CC(=O)Oc1ccccc1C(=O)O") is None  # aspirin: 13 heavy atoms


def test_error_at_similarity_picks_the_bin() -> None:
    card = {
        "error_by_similarity": {
            "0.0-0.3": {"homo": 0.3, "count": 5},
            "0.3-0.5": {"homo": 0.2, "count": 50},
            ">= 0.5": {"homo": 0.1, "count": 500},
        }
    }
    assert error_at_similarity(card, 0.1)[0] == "0.0-0.3"
    assert error_at_similarity(card, 0.3)[1]["homo"] == 0.2
    assert error_at_similarity(card, 1.0)[0] == ">= 0.5"
    assert error_at_similarity({}, 0.4) is None
