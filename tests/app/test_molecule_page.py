"""The molecule page with the committed QM9 ensemble, run headless with AppTest."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT, models_dir
from core.models.molecules import MODEL_NAME

PAGE = str(REPO_ROOT / "app_pages" / "1_Molecule_properties.py")
HAS_MODEL = (models_dir() / MODEL_NAME / "model.safetensors").exists()
needs_model = pytest.mark.skipif(not HAS_MODEL, reason="no committed qm9_painn weights")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _predict(at: AppTest, smiles: str) -> AppTest:
    at.text_input(key="mol_smiles").set_value(smiles)
    at.button(key="mol_predict").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@needs_model
def test_valid_smiles_shows_values_with_units():
    at = _predict(_page(), "CCO")
    table = next(df.value for df in at.dataframe if "property" in df.value.columns)
    homo = table.loc[table["property"] == "HOMO"].iloc[0]
    assert homo["unit"] == "eV"
    assert -12 < float(homo["value"]) < -5  # ethanol's HOMO is about -7 eV at B3LYP
    # each value is quoted to the decimal place of its std (U0 was "-4209" ± "0.035")
    for _, row in table.iterrows():
        decimals = [len(t.partition(".")[2]) for t in (row["value"], row["± (1 std)"])]
        assert decimals[0] == decimals[1], row.to_dict()
    assert not at.error and not at.warning


@needs_model
def test_invalid_smiles_shows_rdkit_reason_and_keeps_the_input():
    at = _predict(_page(), "C1CC")
    assert any("unclosed ring" in e.value for e in at.error)
    assert at.text_input(key="mol_smiles").value == "C1CC"


@needs_model
def test_out_of_domain_molecule_is_predicted_with_a_warning():
    at = _predict(_page(), "c1ccsc1")
    assert any("contains S" in w.value for w in at.warning)
    assert any("property" in df.value.columns for df in at.dataframe)


def test_missing_model_is_a_clear_message(studio_env):
    import streamlit as st

    st.cache_resource.clear()  # an earlier test may have cached the shipped model
    at = _page()
    assert any("no trained molecule model" in e.value for e in at.error)


@needs_model
def test_model_card_shows_test_metrics_by_element_and_calibration():
    at = _page()
    at.selectbox(key="mol_card_prop").set_value("gap").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = " ".join(m.value for m in at.markdown)
    assert "Test MAE by element" in texts and "**Calibration curve** (HOMO-LUMO gap" in texts
    assert len(at.get("plotly_chart")) == 2  # parity and calibration curve, in plotly
    metrics = next(df.value for df in at.dataframe if "mae" in df.value.columns)
    assert (metrics["mae"] > 0).all()
    by_element = next(df.value for df in at.dataframe if "with C" in df.value.index)
    assert by_element.loc["with C", "count"] > 1000


@needs_model
@pytest.mark.data
def test_closest_training_molecules_are_shown_with_their_dft_values(missing):
    at = _predict(_page(), "c1ccncc1")
    assert "Closest molecules the model was trained on" in [s.value for s in at.subheader]
    if any("data cache" in i.value for i in at.info):
        missing("QM9 not prepared (make data)")
    (table,) = [df.value for df in at.dataframe if "similarity" in df.value.columns]
    assert table["similarity"].iloc[0] == 1.0 and table["smiles"].iloc[0] == "c1ccncc1"
    assert any("is in QM9's training set" in c.value for c in at.caption)
    # a molecule QM9 does not hold: the caption gives the similarity, not an identity
    at = _predict(at, "CC(=O)Oc1ccccc1C(=O)O")  # aspirin, Tanimoto 0.38 to QM9
    assert any("Few similar molecules in training" in w.value for w in at.warning)
    at = _predict(at, "CC(C)C#N")  # isobutyronitrile: a QM9 test molecule, not in training
    assert any("most similar training molecule" in c.value for c in at.caption)


def test_example_labels_state_true_facts():
    from rdkit import Chem

    from core.chem.molecules import heavy_atom_count

    source = Path(PAGE).read_text()  # the page's EXAMPLES dict literal, without running it
    examples = ast.literal_eval(source.split("EXAMPLES = ", 1)[1].split("\n}\n", 1)[0] + "\n}")
    assert len(examples) >= 5
    for label, smiles in examples.items():
        count = re.search(r"(\d+) heavy atoms", label)
        if count:
            assert heavy_atom_count(Chem.MolFromSmiles(smiles)) == int(count.group(1)), label


@needs_model
def test_explaining_another_property_redraws_without_a_new_prediction():
    at = _predict(_page(), "OCC")
    report = at.session_state["mol_result"]
    assert report.explained == at.selectbox(key="mol_explain_prop").value == "mu"
    at.selectbox(key="mol_explain_prop").set_value("gap").run()
    assert not at.exception, [e.value for e in at.exception]
    again = at.session_state["mol_result"]
    assert again.explained == "gap" and again.row is report.row and again.mol is report.mol
    assert again.explanation_svg and again.explanation_svg != report.explanation_svg
    assert not at.error


@needs_model
def test_explanation_picker_names_properties_with_units_not_keys():
    at = _predict(_page(), "CCO")
    options = at.selectbox(key="mol_explain_prop").options
    assert "HOMO (eV)" in options and "Dipole moment (D)" in options
    assert not any(o.startswith(("homo", "mu ")) for o in options)


@needs_model
def test_a_predicted_drawing_also_fills_the_smiles_box():
    """The Draw tab predicts what was drawn and hands it to the SMILES box on the rerun it
    asks for, so the box, the drawing and the result show the same molecule."""
    at = _page()
    at.session_state["mol_drawn_pending"] = "c1ccncc1"
    at.run()
    assert not at.exception
    assert at.text_input(key="mol_smiles").value == "c1ccncc1"
    assert "mol_drawn_pending" not in at.session_state
