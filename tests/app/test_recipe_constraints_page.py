"""Recipe optimisation page (AppTest): a campaign from an uploaded CSV with ratio windows,
linear inequalities, an "at most k non-zero" rule, fixed and categorical variables and a
target objective; invalid entries give a message and keep what was typed; and the built-in
glass campaign with its model-evaluated rounds.

AppTest drives the file uploader, multiselects and number inputs directly. It does not apply
``st.data_editor`` cell edits, so the linear-inequality rows are sent as the editor's widget
state (the JSON the browser sends) by :func:`run_with_editor_rows`.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from recipe_helpers import PAGE, finish_round, run
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT
from core.optimize import (
    CardinalityConstraint,
    CategoricalVariable,
    FixedVariable,
    LinearInequality,
    RatioConstraint,
)

CAMPAIGN = "recipe_campaign"  # the page's session-state key of the open campaign


@pytest.fixture
def database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'studio.sqlite'}"
    monkeypatch.setenv("MDS_DATABASE_URL", url)
    monkeypatch.setenv("MDS_MODELS_DIR", str(REPO_ROOT / "trained_models"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 shared cores: avoid thread thrashing in the GP fit
    yield url
    torch.set_num_threads(threads)


def recipes_csv(n: int = 24, seed: int = 0) -> bytes:
    """Synthetic recipes: binder a with fillers b, c, d (each absent in some rows), a curing
    age that varies (to be held fixed), a two-label additive, and a measured result y."""
    rng = np.random.default_rng(seed)
    b, c, d = rng.uniform(0, 100, n), rng.uniform(0, 100, n), rng.uniform(0, 50, n)
    b[::3], c[1::3], d[2::3] = 0.0, 0.0, 0.0
    a = 0.4 * (b + c) + rng.uniform(1, 5, n)
    additive = np.where(np.arange(n) % 2 == 0, "X", "Y")
    y = a + 0.5 * b - 0.01 * c**2 + 3 * (additive == "Y") + rng.normal(0, 1, n)
    table = pd.DataFrame(
        {"a": a, "b": b, "c": c, "d": d, "age": rng.choice([7, 28], n), "additive": additive}
    )
    return table.assign(y=y).to_csv(index=False).encode()


def run_with_editor_rows(
    at: AppTest, key: str, rows: list[dict] | None = None, edited: dict[int, dict] | None = None
) -> AppTest:
    """Run with ``rows`` added to (and ``edited`` cells changed in) the data editor ``key``:
    AppTest does not apply cell edits, so send the editor's state the way the browser does
    (private AppTest API)."""
    (editor,) = [e for e in at.data_editor if e.key == key]
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = editor.proto.id
    state.string_value = json.dumps(
        {"edited_rows": edited or {}, "added_rows": rows or [], "deleted_rows": []}
    )
    at._tree._runner._run(states)
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def uploaded(at: AppTest) -> AppTest:
    """The page with the CSV uploaded and its columns given roles: a..d continuous, age
    fixed at 28, additive categorical, y a target in [40, 60]."""
    run(at)
    at.file_uploader(key="upload").set_value(("recipes.csv", recipes_csv(), "text/csv"))
    run(at)
    at.multiselect(key="upload_variables").set_value(["a", "b", "c", "d"])
    at.multiselect(key="upload_fixed").set_value(["age"])
    at.multiselect(key="upload_categorical").set_value(["additive"])
    at.multiselect(key="upload_objectives").set_value(["y"])
    run(at)
    at.number_input(key="upload_fixed_value_age").set_value(28.0)
    at.selectbox(key="upload_dir_y").set_value("target")
    at.number_input(key="upload_n_ratios").set_value(1)
    at.number_input(key="upload_n_cards").set_value(1)
    run(at)
    at.number_input(key="upload_low_y").set_value(40.0)
    at.number_input(key="upload_high_y").set_value(60.0)
    at.multiselect(key="upload_ratio_num_0").set_value(["a"])
    at.multiselect(key="upload_ratio_den_0").set_value(["b", "c"])
    at.number_input(key="upload_ratio_lo_0").set_value(0.3)
    at.number_input(key="upload_ratio_hi_0").set_value(0.5)
    at.multiselect(key="upload_card_comps_0").set_value(["b", "c", "d"])
    at.number_input(key="upload_card_k_0").set_value(2)
    return run(at)


def test_uploaded_campaign_with_constraints_gives_feasible_suggestions(database):
    at = uploaded(AppTest.from_file(PAGE, default_timeout=180))
    (editor,) = [e for e in at.data_editor if e.key == "upload_linear"]
    assert list(editor.value.columns)[:5] == ["a", "b", "c", "d", "age"]
    at.text_input(key="upload_name").set_value("Fillers")
    at.button(key="create_upload").click()
    # b + c + d <= 150, entered as -b - c - d >= -150; an empty row added by mistake is ignored.
    rhs, label = editor.value.columns[-2:]
    run_with_editor_rows(at, "upload_linear", [{"b": -1, "c": -1, "d": -1, rhs: -150}, {}])
    assert not at.error, texts(at.error)
    assert texts(at.header) == ["Fillers"]

    campaign = at.session_state[CAMPAIGN]
    space = campaign.space
    assert RatioConstraint(("a",), ("b", "c"), 0.3, 0.5) in space.constraints
    assert CardinalityConstraint(("b", "c", "d"), 2) in space.constraints
    assert LinearInequality({"b": -1, "c": -1, "d": -1}, -150) in space.constraints
    assert FixedVariable("age", 28.0) in space.variables
    assert CategoricalVariable("additive", ("X", "Y")) in space.variables
    assert space.objectives[0].describe() == "40 <= y <= 60"
    listed = " ".join(texts(at.markdown))  # the configure section lists every constraint
    assert "Ratio window: `0.3 <= (a) / (b+c) <= 0.5`" in listed
    assert "At most k non-zero: `at most 2 of b, c, d non-zero`" in listed

    at.number_input(key="q").set_value(3)
    at.button(key="suggest").click()
    finish_round(run(at))
    assert not at.error, texts(at.error)
    (suggestions,) = [df.value for df in at.dataframe if "y_mean" in df.value.columns]
    assert len(suggestions) == 3
    assert space.is_feasible(suggestions).all(), space.violations(suggestions).max()
    values = suggestions[["b", "c", "d"]].to_numpy()
    assert ((values != 0).sum(axis=1) <= 2).all()
    ratio = suggestions["a"] / (suggestions["b"] + suggestions["c"])
    assert ratio.between(0.3 - 1e-6, 0.5 + 1e-6).all()
    assert (values.sum(axis=1) <= 150 + 1e-6).all()
    assert (suggestions["age"] == 28).all()
    assert suggestions["additive"].isin(["X", "Y"]).all()


def test_bad_constraint_entries_show_a_message_and_keep_the_entries(database):
    at = uploaded(AppTest.from_file(PAGE, default_timeout=120))

    def create_fails_with(*fragments: str) -> None:
        at.button(key="create_upload").click()
        run(at)
        message = " ".join(texts(at.error))
        assert all(f in message for f in fragments), message
        assert at.session_state[CAMPAIGN] is None
        # what the user entered is still there
        assert at.multiselect(key="upload_variables").value == ["a", "b", "c", "d"]
        assert at.multiselect(key="upload_ratio_den_0").value == ["b", "c"]
        assert at.multiselect(key="upload_card_comps_0").value == ["b", "c", "d"]
        assert at.selectbox(key="upload_dir_y").value == "target"

    at.number_input(key="upload_ratio_lo_0").set_value(0.6)  # window [0.6, 0.5]
    create_fails_with("Ratio window 1", "empty or negative", "[0.6, 0.5]")
    assert at.number_input(key="upload_ratio_lo_0").value == 0.6
    assert at.number_input(key="upload_ratio_hi_0").value == 0.5

    at.number_input(key="upload_ratio_lo_0").set_value(0.3)
    at.number_input(key="upload_card_k_0").set_value(3)  # 3 of 3: no restriction at all
    create_fails_with("At-most-k rule 1", "max_nonzero", "1..2")
    assert at.number_input(key="upload_card_k_0").value == 3

    at.number_input(key="upload_card_k_0").set_value(2)
    at.number_input(key="upload_low_y").set_value(70.0)  # window [70, 60]
    create_fails_with("Target window of 'y' is reversed", "swap")
    assert at.number_input(key="upload_low_y").value == 70.0

    at.number_input(key="upload_low_y").set_value(40.0)
    at.multiselect(key="upload_ratio_num_0").set_value(["a", "b"])  # b on both sides
    create_fails_with("Ratio window 1", "both the numerator and the denominator")

    at.multiselect(key="upload_ratio_num_0").set_value(["a"])
    at.button(key="create_upload").click()  # bounds of a edited to [60, 50]
    run_with_editor_rows(at, "upload_bounds:a|b|c|d", edited={0: {"lower": 60, "upper": 50}})
    assert "Bounds of 'a' are empty or reversed" in " ".join(texts(at.error))
    assert at.session_state[CAMPAIGN] is None
    run_with_editor_rows(at, "upload_bounds:a|b|c|d", edited={})

    at.button(key="create_upload").click()
    run_with_editor_rows(at, "upload_linear", [{"b": 1}])  # a row without a right-hand side
    message = " ".join(texts(at.error))
    assert "Linear inequality 1: Right-hand side is not a number" in message, message
    assert at.session_state[CAMPAIGN] is None
    at.button(key="create_upload").click()  # the row is kept: still the same message
    run(at)
    assert "Linear inequality 1: Right-hand side" in " ".join(texts(at.error))

    at.button(key="create_upload").click()  # everything fixed: the campaign is created
    rhs = [e for e in at.data_editor if e.key == "upload_linear"][0].value.columns[-2]
    run_with_editor_rows(at, "upload_linear", [{"b": 1, rhs: 0}])
    assert not at.error, texts(at.error)
    assert at.session_state[CAMPAIGN] is not None


def test_glass_campaign_suggests_feasible_glasses_and_evaluates_them(database, missing):
    at = run(AppTest.from_file(PAGE, default_timeout=240))
    at.radio(key="builtin_name").set_value("glass")
    run(at)
    if at.warning and any("Glass design" in w for w in texts(at.warning)):
        missing(f"glass model not available: {texts(at.warning)}")
    at.number_input(key="glass_n").set_value(5)
    at.number_input(key="glass_tg").set_value(750.0)
    at.button(key="create_builtin").click()
    run(at)
    assert not at.error, texts(at.error)
    campaign = at.session_state[CAMPAIGN]
    assert campaign.builtin == "glass" and len(campaign.measured) == 5
    assert "Tg >= 750 K" in " ".join(texts(at.markdown))

    at.number_input(key="q").set_value(2)
    at.button(key="suggest").click()
    finish_round(run(at))
    assert not at.error, texts(at.error)
    (suggestions,) = [df.value for df in at.dataframe if "Tg_mean" in df.value.columns]
    assert len(suggestions) == 2
    space = campaign.space
    assert space.is_feasible(suggestions).all(), space.violations(suggestions).max()
    assert suggestions[space.names].sum(axis=1).to_numpy() == pytest.approx(1.0, abs=1e-6)
    lo, hi = space.bounds()
    oxides = suggestions[space.names].to_numpy()
    assert (oxides >= lo - 1e-9).all() and (oxides <= hi + 1e-9).all()

    at.button(key="evaluate").click()
    run(at)
    assert not at.error, texts(at.error)
    assert any(t.startswith("Model-evaluated 2 glasses (round 1).") for t in texts(at.success))
    campaign = at.session_state[CAMPAIGN]
    assert campaign.n_rounds == 1 and len(campaign.measured) == 7
    added = campaign.measured[campaign.measured["round"] == 1]
    assert np.isfinite(added[["Tg", "Tliquidus"]].to_numpy()).all()
