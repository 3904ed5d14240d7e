"""MoleculePredictor.report -> MoleculeReport (the molecule page's one call) and the table
and sentence helpers of core.models.molecule_report."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.exceptions import DataNotAvailableError, InvalidInputError
from core.models import molecule_report as mr
from core.models import molecules

UNITS = {"homo": "eV", "gap": "eV", "mu": "D", "u0": "eV"}


# ------------------------------------------------------------------------- pure helpers
def test_properties_table_quotes_each_value_to_its_std():
    row = {"homo": -7.0512, "homo_std": 0.0123, "u0": -4209.12345, "u0_std": 0.035}
    row |= {"mu": 1.5, "mu_std": math.nan}
    table = mr.properties_table(row, ["homo", "u0", "mu"], UNITS)
    assert list(table.columns) == mr.PROPERTY_COLUMNS
    assert table.to_dict("records") == [
        {"property": "HOMO", "value": "-7.051", "± (1 std)": "0.012", "unit": "eV", "key": "homo"},
        {"property": "U0 (0 K)", "value": "-4209.123", "± (1 std)": "0.035", "unit": "eV",
         "key": "u0"},
        {"property": "Dipole moment", "value": "1.5", "± (1 std)": "", "unit": "D", "key": "mu"},
    ]  # fmt: skip


def test_properties_table_shows_the_dft_value_of_a_qm9_molecule_beside_it():
    row = {"homo": -10.41, "homo_std": 0.12, "mu": 0.05, "mu_std": 0.3}
    table = mr.properties_table(row, ["homo", "mu"], {"homo": "eV", "mu": "D"}, {"homo": -10.55})
    assert list(table.columns) == [*mr.PROPERTY_COLUMNS[:-1], mr.DFT_COLUMN, "key"]
    assert table[mr.DFT_COLUMN].tolist() == ["-10.55", ""]  # to the prediction's decimals


def test_a_qm9_molecule_gets_its_dft_values_in_the_report(predictor, monkeypatch):
    monkeypatch.setattr(molecules, "training_neighbours", lambda mol, k: _neighbours(1.0, True))
    record = {"qm9_index": 215, "split": "train", "homo": -7.0, "gap": 6.0}
    monkeypatch.setattr(molecules, "qm9_record", lambda mol: record)
    report = predictor.report("c1ccncc1")
    dft = report.properties.set_index("key")[mr.DFT_COLUMN]
    assert dft["homo"] == "-7.0" or dft["homo"].startswith("-7.0")
    assert dft["gap"].startswith("6.0") and dft["mu"] == ""
    monkeypatch.setattr(molecules, "qm9_record", lambda mol: None)
    assert mr.DFT_COLUMN not in predictor.report("c1ccncc1").properties.columns


def test_domain_text():
    assert mr.domain_text({"domain_message": ""}) == ""
    assert mr.domain_text({"domain_message": "contains S"}) == (
        "Outside the training domain: contains S."
    )


CARD = {
    "error_by_similarity": {
        "0.0-0.4": {"homo": 0.2, "gap": 0.3, "mu": 0.5, "count": 12},
        ">= 0.4": {"homo": 0.05, "gap": 0.07, "mu": 0.1, "count": 9000},
    }
}


def _neighbours(similarity: float, same: bool) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "similarity": [similarity, 0.2],
            "smiles": ["c1ccncc1", "CC"],
            "same_molecule": [same, False],
            "qm9_index": [25, 3],
            "homo": [-7.0, -8.0],
            "gap": [6.0, 9.0],
        }
    )


def test_similarity_note_for_a_training_molecule_gives_prediction_minus_dft():
    row = {"homo": -6.9, "gap": 6.25}
    level, text = mr.similarity_note(row, _neighbours(1.0, True), CARD, UNITS)
    assert level == "ok"
    assert text == (
        "This molecule is in QM9's training set (QM9 #25): its DFT values stand beside the "
        "prediction and in the first row below. Prediction minus DFT: HOMO +0.1 eV, "
        "HOMO-LUMO gap +0.25 eV."
    )


def test_similarity_note_quotes_the_cards_error_and_warns_when_low():
    level, text = mr.similarity_note({}, _neighbours(0.35, False), CARD, UNITS)
    assert level == "low"
    assert text.startswith(
        "Few similar molecules in training. The most similar training molecule has Tanimoto "
        "similarity 0.35 (ECFP4; 1 = same fingerprint)."
    )
    assert "similarity 0.0-0.4 (12 of them) had MAE HOMO 200 meV, gap 300 meV, μ 0.50 D" in text
    level, text = mr.similarity_note({}, _neighbours(0.6, False), CARD, UNITS)
    assert level == "ok" and "(9,000 of them)" in text and not text.startswith("Few")
    level, text = mr.similarity_note({}, _neighbours(0.6, False), {}, UNITS)  # an older card
    assert text.endswith("(ECFP4; 1 = same fingerprint).")


def test_card_summary():
    card = {
        "architecture": "PaiNN",
        "ensemble_size": 4,
        "data": {"split_sizes": {"train": 110000}, "package": "qm9pack", "version": "1.0"},
        "test_molecules": 10831,
        "version": "abc123",
        "date": "2025-01-02T03:04:05",
    }
    assert mr.card_summary(card) == (
        "**PaiNN**, 4 member(s), trained on the QM9 training split (110,000 molecules, "
        "`qm9pack==1.0`), tested on 10,831 held-out molecules. Code version `abc123`, "
        "2025-01-02."
    )


# ---------------------------------------------------------------- with the shipped model
@pytest.fixture(scope="module")
def predictor(missing):
    from core.config import models_dir

    if not (models_dir() / molecules.MODEL_NAME / "model.safetensors").exists():
        missing("no committed qm9_painn weights")
    return molecules.load_predictor(device="cpu")


@pytest.fixture
def embeddings(monkeypatch) -> list:
    """Counts conformer embeddings (every path goes through core.chem.molecules._embed)."""
    from core.chem import molecules as chem

    calls = []
    real = chem._embed

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(chem, "_embed", counted)
    return calls


@pytest.fixture
def no_data(monkeypatch):
    def missing(*_, **__):
        raise DataNotAvailableError("QM9 is not prepared: run `make data`")

    monkeypatch.setattr(molecules, "training_neighbours", missing)


def test_report_is_the_prediction_the_molecule_and_its_explanation_from_one_embedding(
    predictor, embeddings, no_data
):
    from rdkit import Chem

    from core.chem.depict import heavy_atom_values, molblock_3d, svg_2d

    report = predictor.report("OCC", explain="homo")  # not canonical: atoms in input order
    assert len(embeddings) == 1
    expected = predictor.predict(["OCC"]).iloc[0]
    assert report.input == "OCC" and report.smiles == "CCO" and not report.error
    for p in predictor.properties:
        assert report.row[p] == pytest.approx(expected[p], rel=1e-5, abs=1e-6)
        assert report.row[f"{p}_std"] == pytest.approx(expected[f"{p}_std"], rel=1e-4, abs=1e-6)
    assert report.row["in_domain"] and report.domain_text == ""
    # the drawn molecule is the embedded one: explicit Hs, one conformer, input atom order
    assert report.mol.GetNumAtoms() == 9 and report.mol.GetNumConformers() == 1
    assert [a.GetSymbol() for a in report.mol.GetAtoms()][:3] == ["O", "C", "C"]
    assert report.molblock == molblock_3d(report.mol)
    assert Chem.MolFromMolBlock(report.molblock, removeHs=False).GetNumAtoms() == 9
    table = report.properties
    assert table["key"].tolist() == list(predictor.properties)
    homo = table.set_index("key").loc["homo"]
    assert homo["property"] == "HOMO" and homo["unit"] == "eV"
    assert float(homo["value"]) == pytest.approx(report.row["homo"], abs=0.01)
    # the explanation: one row per atom of that molecule, intensive HOMO sums to zero
    assert report.explained == "homo"
    assert report.explanation["element"].tolist() == [a.GetSymbol() for a in report.mol.GetAtoms()]
    assert report.explanation["contribution"].sum() == pytest.approx(0.0, abs=1e-6)
    values = heavy_atom_values(report.explanation)  # hydrogens folded onto O, C, C
    assert sorted(values) == [0, 1, 2]
    assert report.explanation_svg == svg_2d(
        report.mol, values, legend="per-atom contributions to HOMO"
    )
    # the data cache is missing: the report says so instead of failing
    assert report.neighbours is None and report.similarity_level == ""
    assert report.neighbours_note == (
        "The training molecules need the data cache: QM9 is not prepared: run `make data`"
    )


def test_explaining_another_property_reuses_the_conformer(predictor, embeddings, no_data):
    report = predictor.report("CCO")
    assert report.explained is None and report.explanation is None and not report.explanation_svg
    embeddings.clear()
    gap = predictor.explain_report(report, "gap")
    assert embeddings == []  # no second embedding
    assert gap.explained == "gap" and gap.row is report.row and gap.mol is report.mol
    pd.testing.assert_frame_equal(
        gap.explanation, predictor.explain("CCO", "gap"), check_exact=False, atol=1e-6
    )
    mu = predictor.explain_report(gap, "mu")
    assert mu.explained == "mu" and not mu.explanation.equals(gap.explanation)
    with pytest.raises(InvalidInputError, match="unknown property"):
        predictor.explain_report(report, "nope")
    with pytest.raises(InvalidInputError, match="unknown property"):
        predictor.report("CCO", explain="nope")


def test_a_bad_smiles_is_a_report_with_the_reason(predictor, embeddings):
    report = predictor.report("C1CC", explain="homo")
    assert "unclosed ring" in report.error and embeddings == []
    assert report.mol is None and report.properties.empty and report.explanation is None
    assert math.isnan(report.row["homo"])
    with pytest.raises(InvalidInputError, match="unclosed ring"):
        predictor.explain_report(report, "homo")


def test_out_of_domain_and_neighbours_come_with_their_notes(predictor, monkeypatch):
    seen = []

    def neighbours(mol, k):
        seen.append((mol.GetNumAtoms(), k))
        return _neighbours(0.3, False)

    monkeypatch.setattr(molecules, "training_neighbours", neighbours)
    report = predictor.report("c1ccsc1", neighbours=3)
    assert report.domain_text.startswith("Outside the training domain: contains S")
    assert seen == [(9, 3)]  # searched with the embedded molecule (4 C, 1 S, 4 H)
    assert report.neighbours is not None and report.neighbours_note == ""
    assert report.similarity_level == "low"
    assert report.similarity_text.startswith("Few similar molecules in training.")


def test_report_of_an_uploaded_structure_uses_its_own_geometry(predictor, embeddings, no_data):
    """The 3D-file tab shows the full result of a structure (3D view, table, explanation)
    from the file's geometry: no conformer is embedded, the row is predict_structures'."""
    from rdkit import Chem

    from core.chem.molecules import embed_conformer, parse_smiles

    mol = embed_conformer(parse_smiles("OCC(F)(F)F"))
    mol.SetProp("_Name", "trifluoroethanol")
    embeddings.clear()
    report = predictor.report_structure(mol, explain="gap")
    assert embeddings == [] and not report.error
    assert report.input == "trifluoroethanol" and report.smiles == "OCC(F)(F)F"
    assert report.title == "trifluoroethanol (OCC(F)(F)F)"
    assert predictor.report("OCC").title == "CCO"  # a SMILES result: the canonical SMILES
    expected = predictor.predict_structures([mol]).iloc[0]
    for p in predictor.properties:
        assert report.row[p] == pytest.approx(expected[p], rel=1e-5, abs=1e-6)
    shown = Chem.MolFromMolBlock(report.molblock, removeHs=False)
    assert shown.GetNumAtoms() == mol.GetNumAtoms()
    assert report.explained == "gap" and len(report.explanation) == mol.GetNumAtoms()
    # a record without a name is titled by its SMILES
    mol.ClearProp("_Name")
    assert predictor.report_structure(mol).input == "OCC(F)(F)F"


def test_batch_tables_get_readable_headers_and_keep_user_columns():
    from core.models.molecule_report import labelled_columns

    frame = pd.DataFrame(
        {"input": ["CCO"], "my_id": ["A-1"], "homo": [-7.1], "homo_std": [0.1], "cv": [15.0]}
        | {"in_domain": [True], "domain_message": [""], "error": [""]}
    )
    out = labelled_columns(frame)
    assert list(out.columns) == [
        "input",
        "my_id",
        "HOMO (eV)",
        "HOMO ± (eV)",
        "Heat capacity Cv (cal/(mol K))",
        "in domain",
        "domain note",
        "error",
    ]
    assert out["HOMO (eV)"].iloc[0] == -7.1  # values unchanged


def test_a_single_smiles_string_is_one_molecule_not_its_letters(predictor):
    out = predictor.predict("CCO")
    assert len(out) == 1 and out["smiles"].iloc[0] == "CCO" and out["error"].iloc[0] == ""


@pytest.mark.parametrize("smiles", ["[Og]", "C[Fm]", "[Fm]CC[Og]"])
def test_elements_without_an_embedding_are_an_error_on_every_path(predictor, smiles):
    """Issue #22 item 1: these raised IndexError from the PaiNN embedding (and stopped a
    whole batch)."""
    rows = predictor.predict([smiles, "CCO"])
    assert "the model reads elements up to" in rows.loc[0, "error"]
    assert rows.loc[1, "error"] == ""  # the rest of the batch goes on
    assert "the model reads elements up to" in predictor.report(smiles).error
    with pytest.raises(InvalidInputError, match="reads elements up to"):
        predictor.explain(smiles, "homo")


def test_uploaded_structures_with_overlapping_or_too_many_atoms_are_refused(predictor):
    """Issue #22 item 9: two atoms at one point gave NaN marked in domain; 5,000 atoms
    asked for 19 GB."""
    from rdkit import Chem

    from core.chem.molecules import embed_conformer, parse_smiles
    from core.models.molecules import MAX_ATOMS

    mol = embed_conformer(parse_smiles("CCO"))
    conf = mol.GetConformer()
    conf.SetAtomPosition(1, conf.GetAtomPosition(0))
    big = Chem.RWMol()
    for _ in range(MAX_ATOMS + 1):
        big.AddAtom(Chem.Atom(6))
    rows = predictor.predict_structures([mol, big.GetMol()])
    assert "atoms 1 and 2 are 0.00 Å apart" in rows.loc[0, "error"]
    assert f"at most {MAX_ATOMS}" in rows.loc[1, "error"]
    assert not rows["in_domain"].any()


def test_very_large_smiles_are_refused_before_embedding(predictor, embeddings):
    from core.models.molecules import MAX_HEAVY_ATOMS_PREDICTED

    rows = predictor.predict(["C" * (MAX_HEAVY_ATOMS_PREDICTED + 1)])
    assert "heavy atoms" in rows.loc[0, "error"] and embeddings == []


def test_extensive_properties_are_withheld_for_elements_without_a_reference(predictor):
    """Issue #22 item 13: chloroform showed U0 -1052.03 ± 0.26 eV (the real total energy is
    about -38,600 eV). Sums of per-element terms are not shown for elements QM9 lacks."""
    rows = predictor.predict(["ClC(Cl)Cl", "CCO"])
    for p in ("u0", "u", "h", "g", "zpve", "alpha", "r2", "cv"):
        assert np.isnan(rows.loc[0, p]) and np.isnan(rows.loc[0, f"{p}_std"])
        assert np.isfinite(rows.loc[1, p])  # QM9 elements: shown
    assert np.isfinite(rows.loc[0, "homo"]) and not rows.loc[0, "in_domain"]
    assert "u0" in rows.loc[0, "domain_message"] and "withheld" in rows.loc[0, "domain_message"]
    table = predictor.report("ClC(Cl)Cl").properties.set_index("key")
    assert table.loc["u0", "value"] == "withheld" and table.loc["homo", "value"] != "withheld"


def test_the_card_table_by_size_starts_at_one_heavy_atom(predictor):
    """Issue 22 item 13: the table started at 4 heavy atoms, so the sizes a chemist types
    first (methane, water) were invisible; sizes without test molecules say count 0."""
    by_size = molecules.card_tables(predictor)["by_size"]
    card = predictor.card["error_by_heavy_atoms"]
    assert by_size.index[0] == 1 and list(by_size.index) == list(range(1, 10))
    for size in range(1, 10):
        if str(size) in card:
            assert by_size.loc[size, "count"] == card[str(size)]["count"] > 0
            assert by_size.loc[size, "homo"] == pytest.approx(card[str(size)]["homo"])
        else:
            assert by_size.loc[size, "count"] == 0 and np.isnan(by_size.loc[size, "homo"])


def test_similarity_note_explains_the_dft_column_of_an_unseen_qm9_molecule():
    """Methane is in QM9's val split: the page shows its DFT values, and the note says why
    they are there although the model never trained on it."""
    dft = {"qm9_index": 1, "split": "val", "homo": -10.55}
    level, text = mr.similarity_note({}, _neighbours(0.35, False), CARD, UNITS, dft)
    assert level == "low"
    assert text.startswith(
        "Few similar molecules in training. This molecule is in QM9 (#1, val split) but not "
        "among the training molecules: its DFT values stand beside the prediction"
    )
    assert "The most similar training molecule has Tanimoto similarity 0.35" in text
