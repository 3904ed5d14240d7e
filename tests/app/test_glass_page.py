"""Glass properties page, run headless with Streamlit's AppTest on the committed model.

The data cache is pointed at an empty folder: the page must still predict (the nearest
measured glasses then show how to prepare the data), and the tests stay fast.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT

PAGE = str(REPO_ROOT / "app_pages" / "2_Glass_properties.py")


@pytest.fixture
def page(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("MDS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MDS_MODELS_DIR", str(REPO_ROOT / "trained_models"))
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def normalised(at: AppTest):
    return next(df.value for df in at.dataframe if "mol%" in df.value.columns)


def test_default_formulation_shows_predictions_and_curve(page):
    shown = metrics(page)
    assert len(shown) == 6 and all("±" in v for v in shown.values())
    assert "Glass transition Tg" in shown and shown["Glass transition Tg"].endswith("K")
    assert page.get("plotly_chart")  # the viscosity curve
    assert any("cache" in i.value or "prepare" in i.value for i in page.info)  # no data cache
    # the band's label says how much of the held-out data it actually covers (card value)
    band = next(m.value for m in page.markdown if "Band: ± 2 std" in m.value)
    assert "of the measured held-out test points" in band


def test_preset_e_glass(page):
    page.selectbox(key="glass_preset").set_value("E-glass")
    page.run()  # choosing reruns the page; the button is enabled again
    page.button(key="glass_load_preset").click()
    page.run()
    assert not page.exception
    assert page.radio(key="glass_basis").value == "wt%"
    table = normalised(page)
    assert set(table["component"]) == {"SiO2", "Al2O3", "CaO", "B2O3", "MgO", "Na2O"}
    assert table["wt%"].sum() == pytest.approx(100)
    assert len(metrics(page)) == 6


def test_wt_percent_entry_is_converted_to_mole_fractions(page):
    page.radio(key="glass_basis").set_value("wt%")
    page.text_input(key="glass_text").input("SiO2 75, Na2O 25")
    page.button(key="glass_use_text").click()
    page.run()
    assert not page.exception and not page.error
    table = normalised(page).set_index("component")
    # 25 wt% Na2O = (25 / 61.98) / (25 / 61.98 + 75 / 60.08) = 24.4 mol%
    assert table.loc["Na2O", "mol%"] == pytest.approx(24.42, abs=0.05)
    assert table.loc["Na2O", "wt%"] == pytest.approx(25.0, abs=0.01)
    assert len(metrics(page)) == 6


def test_unknown_oxide_message_keeps_the_text(page):
    page.text_input(key="glass_text").input("SiO2 70, XyO 30")
    page.button(key="glass_use_text").click()
    page.run()
    assert not page.exception
    errors = [e.value for e in page.error]
    assert any("unknown element symbol 'Xy'" in e and "How to fix" in e for e in errors), errors
    assert page.text_input(key="glass_text").value == "SiO2 70, XyO 30"
    assert len(metrics(page)) == 6  # the previous formulation is still predicted


def test_compare_and_model_card(page):
    page.button(key="glass_add_compare").click()
    page.run()
    assert not page.exception
    compare = [df.value for df in page.dataframe if "formulation" in df.value.columns]
    assert compare and len(compare[0]) == 1
    card = [df.value for df in page.dataframe if "RMSE" in df.value.columns]
    shown = set(card[0]["property"]) if card else set()
    assert "Viscosity (MYEGA curve), all test points" in shown
    assert "Viscosity, series consistent with their own Tg" in shown
    calibration = next(df.value for df in page.dataframe if "within 1 std" in df.value.columns)
    assert any("validation RMSE, corrected" in df.value.columns for df in page.dataframe)
    # the shipped Tg blends in gradient-boosted trees: the card shows what they did
    trees = next(df.value for df in page.dataframe if "blend weight" in df.value.columns)
    tg = trees.set_index("property").iloc[0]
    assert 0 < tg["blend weight"] < 1
    assert tg["validation RMSE, blend"] < tg["validation RMSE, networks"]
    assert len(calibration) == 7 and calibration["within 1 std"].between(0.5, 0.9).all()
    # the shipped model's Tg comes from its Tg networks: the card says how far T12 is from it
    tie = next(m.value for m in page.markdown if m.value.startswith("**Tg and T12.**"))
    assert "trained on Tg alone" in tie and "more than 50 K" in tie


def test_tg_and_t12_disagreement_is_said_beside_the_curve(page):
    """A CaO-MnO-SiO2 slag: the joint network puts T12 far below the Tg shown."""
    page.text_input(key="glass_text").input("CaO 40, MnO 20, SiO2 40")
    page.button(key="glass_use_text").click()
    page.run()
    assert not page.exception and not page.error
    notes = [i.value for i in page.info if "differ by" in i.value]
    assert len(notes) == 1 and "The viscosity curve's T12" in notes[0]
    # a soda-lime glass: they agree, no note
    page.text_input(key="glass_text").input("SiO2 75, Na2O 15, CaO 10")
    page.button(key="glass_use_text").click()
    page.run()
    assert not [i.value for i in page.info if "differ by" in i.value]


def test_results_under_an_unreadable_paste_are_marked_as_the_tables(page):
    """Issue #22 item 16: after an invalid paste the previous glass's numbers stayed below
    the error unmarked."""
    page.text_input(key="glass_text").input("SiO2 70, XyO 30")
    page.button(key="glass_use_text").click()
    page.run()
    assert any("not for that text" in w.value for w in page.warning)
    assert any(c.value.startswith("For ") for c in page.caption)  # which glass is shown


def test_amounts_that_do_not_add_up_are_said_to_be_scaled(page):
    page.radio(key="glass_basis").set_value("mol%")
    page.run()
    page.text_input(key="glass_text").input("SiO2 120, Na2O 30")
    page.button(key="glass_use_text").click()
    page.run()
    assert any("add up to 150, not 100" in i.value for i in page.info), [i.value for i in page.info]
    table = normalised(page).set_index("component")
    assert table.loc["SiO2", "mol%"] == pytest.approx(80.0, abs=0.01)


def test_switching_mol_and_wt_percent_is_said(page):
    page.radio(key="glass_basis").set_value("mol%")
    page.run()
    assert any("now read as mol%" in i.value for i in page.info)
    page.run()  # said once, not on every rerun
    assert not any("now read as" in i.value for i in page.info)


def test_a_pasted_composition_does_not_keep_the_presets_name(page):
    """Issue #22 item 16: the preset label stayed on 'Soda-lime' after a paste."""
    page.text_input(key="glass_text").input("SiO2 80, Na2O 20")
    page.button(key="glass_use_text").click()
    page.run()
    assert page.selectbox(key="glass_preset").value == "(your formulation)"
    page.selectbox(key="glass_preset").set_value("E-glass")
    page.run()  # choosing reruns the page; the button is enabled again
    page.button(key="glass_load_preset").click()
    page.run()
    table = normalised(page).set_index("component")
    assert "B2O3" in table.index  # the preset loads again
