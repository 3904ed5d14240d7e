"""Closest QM9 training molecules (needs the QM9 data cache) and the card's error by
similarity."""

from __future__ import annotations

import pytest

from core.data import qm9
from core.models.molecule_report import error_at_similarity
from core.models.molecules import training_neighbours


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
