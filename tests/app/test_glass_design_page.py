"""Glass inverse design page (AppTest, committed glass model): the default goals give ranked
candidates with links to the glass page; a bad entry is a message and every entry stays; the
glass page opens a linked composition."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT

PAGE = str(REPO_ROOT / "app_pages" / "7_Glass_design.py")
GLASS_PAGE = str(REPO_ROOT / "app_pages" / "2_Glass_properties.py")
WAIT_S = 900  # a bound for a hung search, far above a real one


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("MDS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MDS_MODELS_DIR", str(REPO_ROOT / "trained_models"))


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_default_goals_give_ranked_linked_candidates(env):
    at = run(AppTest.from_file(PAGE, default_timeout=120))
    at.number_input(key="design_n").set_value(5)
    at.button(key="design_run").click()
    run(at)
    job = at.session_state["glass_design_job"]
    assert job is not None and job.wait(WAIT_S)  # the search ends: a visible state
    run(at)
    assert not at.error, [e.value for e in at.error]
    (table,) = [df.value for df in at.dataframe if "composition (mol%)" in df.value.columns]
    assert 1 <= len(table) <= 5
    assert table["glass page"].str.startswith("Glass_properties?composition=SiO2").all()
    assert table["Thermal expansion (CTE) (ppm/K)"].str.contains("±").all()
    assert set(table["in model domain"]) <= {"yes", "no"}
    goals = " ".join(m.value for m in at.markdown)
    assert "1.52 ≤ Refractive index nD ≤ 1.53" in goals and "Tg ≥ 820 K" in goals
    assert any("compositions evaluated by the glass model" in c.value for c in at.caption)


def test_bad_oxide_is_a_message_and_the_entries_stay(env):
    at = run(AppTest.from_file(PAGE, default_timeout=120))
    # AppTest cannot type into st.data_editor: send the editor's state as the browser would
    at.session_state["design_oxides"] = {
        "edited_rows": {"1": {"oxide": "Xq2O"}},
        "added_rows": [],
        "deleted_rows": [2, 3, 4, 5, 6],
    }
    run(at)
    at.button(key="design_run").click()
    run(at)
    assert any("Unknown oxide 'Xq2O'" in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["glass_design_job"] is None
    assert at.session_state["design_oxides"]["edited_rows"] == {"1": {"oxide": "Xq2O"}}


def test_glass_page_opens_a_linked_composition(env):
    at = AppTest.from_file(GLASS_PAGE, default_timeout=90)
    at.query_params["composition"] = "SiO2 70, Na2O 20, CaO 10"
    run(at)
    assert at.session_state["glass_text"] == "SiO2 70, Na2O 20, CaO 10"
    (normalised,) = [df.value for df in at.dataframe if "mol%" in df.value.columns]
    shown = dict(zip(normalised.iloc[:, 0], normalised["mol%"], strict=True))
    assert shown == pytest.approx({"SiO2": 70.0, "Na2O": 20.0, "CaO": 10.0}, abs=0.01)
