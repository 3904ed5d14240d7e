"""The molecule generator page with the committed SMILES transformer, run headless."""

from __future__ import annotations

import pytest
from rdkit import Chem
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT, models_dir
from core.generate.molecules import DEFAULT_GUIDANCE, MODELS

PAGE = str(REPO_ROOT / "app_pages" / "5_Molecule_generator.py")
HAS_MODEL = (models_dir() / MODELS["moses"] / "model.safetensors").exists()
needs_model = pytest.mark.skipif(not HAS_MODEL, reason="no committed smiles_gpt_moses weights")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _generate(at: AppTest, n: int = 8) -> AppTest:
    at.number_input(key="gen_n").set_value(n)
    at.button(key="gen_run").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at: AppTest):
    return next(df.value for df in at.dataframe if "metric" in df.value.columns)


def _molecules(at: AppTest):
    return next(df.value for df in at.dataframe if "smiles" in df.value.columns)


@needs_model
def test_condition_inputs_show_the_training_range_and_start_off():
    at = _page()
    mw = at.number_input(key="gen_value_mw")
    assert mw.disabled and "to" in mw.label
    assert mw.min >= 200 and mw.max <= 400  # MOSES: about 250-350 g/mol
    assert "validity" in at.caption[0].value
    guidance = at.number_input(key="gen_guidance_moses")
    assert guidance.disabled  # nothing to guide towards until a condition is on
    at.toggle(key="gen_on_logp").set_value(True).run()
    guidance = at.number_input(key="gen_guidance_moses")
    assert not guidance.disabled and guidance.value == DEFAULT_GUIDANCE["moses"]
    assert guidance.max == 8


@needs_model
def test_conditioned_fragment_run_returns_molecules_with_the_fragment():
    at = _page()
    at.toggle(key="gen_on_logp").set_value(True).run()
    at.number_input(key="gen_value_logp").set_value(2.0)
    at.button(key="gen_frag_Piperidine").click().run()
    assert at.text_input(key="gen_fragment").value == "C1CCNCC1"
    at.number_input(key="gen_guidance_moses").set_value(2.5)
    at = _generate(at, 8)
    assert not at.error
    metrics = _metrics(at).set_index("metric")["value"]
    assert metrics["fragment kept"] == "100.0%"
    assert "MAD logp" in metrics
    assert metrics["guidance"] == "2.5"  # the guidance chosen below reached the sampler
    mols = _molecules(at)
    assert 1 <= len(mols) <= 8 and mols["smiles"].is_unique
    query = Chem.MolFromSmiles("C1CCNCC1")
    assert all(Chem.MolFromSmiles(s).HasSubstructMatch(query) for s in mols["smiles"])
    # sorted by distance to the logP target by default
    errors = mols["logp_error"].abs().tolist()
    assert errors == sorted(errors)
    assert [b.label for b in at.get("download_button")] == ["Download CSV", "Download SDF"]


@needs_model
def test_bad_fragment_shows_a_message_and_keeps_the_inputs():
    at = _page()
    at.toggle(key="gen_on_mw").set_value(True).run()
    at.text_input(key="gen_fragment").set_value("c1ccc")
    at = _generate(at, 4)
    assert "not a valid SMILES" in at.error[0].value
    assert at.text_input(key="gen_fragment").value == "c1ccc"
    assert at.toggle(key="gen_on_mw").value is True


@needs_model
def test_same_seed_same_molecules():
    first = _molecules(_generate(_page(), 6))["smiles"].tolist()
    again = _molecules(_generate(_page(), 6))["smiles"].tolist()
    assert first == again


@needs_model
def test_send_opens_the_property_page_with_the_chosen_molecule():
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("app_pages/5_Molecule_generator.py").run()
    at = _generate(at, 4)
    chosen = at.selectbox(key="gen_pick").value
    at.button(key="gen_send").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Molecule properties"
    assert at.text_input(key="mol_smiles").value == chosen


@needs_model
def test_qm9_scores_come_with_std_and_domain_notes():
    at = _page()
    at.toggle(key="gen_qm9").set_value(True).run()
    at = _generate(at, 3)
    mols = _molecules(at)
    assert {"gap", "gap_std", "homo", "lumo", "qm9_domain"} <= set(mols.columns)
    assert (mols["gap_std"] > 0).all() and (mols["gap"] > 0).all()
    # MOSES-like molecules exceed QM9's 9 heavy atoms: each says so
    assert (mols["qm9_domain"] != "").all()
    assert "inside the QM9 domain" in set(_metrics(at)["metric"])


HAS_QM9 = (models_dir() / MODELS["qm9"] / "model.safetensors").exists()


@pytest.mark.skipif(not (HAS_MODEL and HAS_QM9), reason="no committed smiles_gpt_qm9 weights")
def test_qm9_model_takes_orbital_targets_and_reports_the_qm9_models_values():
    at = _page()
    at.radio(key="gen_model").set_value("qm9").run()
    assert not at.exception, [e.value for e in at.exception]
    gap = at.number_input(key="gen_value_gap")
    assert "eV" in at.toggle(key="gen_on_gap").label and 2 < gap.min < gap.max < 14
    assert not [t for t in at.toggle if t.key == "gen_qm9"]  # values come with the model
    at.toggle(key="gen_on_gap").set_value(True).run()
    at.number_input(key="gen_value_gap").set_value(6.5)
    at = _generate(at, 6)
    assert not at.error
    metrics = _metrics(at).set_index("metric")
    assert "QM9 model" in metrics.loc["MAD gap", "meaning"]
    mols = _molecules(at)
    assert {"gap", "gap_std", "gap_error", "qm9_domain"} <= set(mols.columns)
    assert all(Chem.MolFromSmiles(s).GetNumHeavyAtoms() <= 12 for s in mols["smiles"])
