"""Recipe optimisation page (AppTest): create a concrete campaign, get 4 suggestions that meet
the constraints, save it, and reopen it after a restart (a new AppTest on the same DB file)."""

from __future__ import annotations

import threading

import pytest
import torch
from recipe_helpers import PAGE, ROUND_WAIT_S, finish_round, run
from streamlit.testing.v1 import AppTest

from core.jobs import heavy_jobs
from core.optimize.builtins import concrete_space

pytestmark = pytest.mark.data


@pytest.fixture
def database(tmp_path, monkeypatch, prepared) -> str:
    prepared("concrete")
    url = f"sqlite:///{tmp_path / 'studio.sqlite'}"
    monkeypatch.setenv("MDS_DATABASE_URL", url)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 shared cores: avoid thread thrashing in the GP fit
    yield url
    torch.set_num_threads(threads)


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_create_suggest_save_and_reopen_after_restart(database):
    at = run(AppTest.from_file(PAGE, default_timeout=180))
    assert "Open a saved campaign or create one to start." in texts(at.info)
    at.number_input(key="concrete_n").set_value(40)
    at.button(key="create_builtin").click()
    run(at)
    assert texts(at.header) == ["Concrete strength"]
    created = [t for t in texts(at.success) if t.startswith("Created")]
    assert created, texts(at.success)
    # the panel folds once the campaign is open, then keeps whatever the user chose
    assert at.session_state["recipe_panel"] is False
    at.session_state["recipe_panel"] = True  # the user opens it again
    at.number_input(key="q").set_value(4)
    at.button(key="suggest").click()
    finish_round(run(at))
    assert at.session_state["recipe_panel"] is True  # not folded by the reruns
    assert not at.error, texts(at.error)
    # the notice is about the state before the click: it goes in the run that suggests
    assert not set(created) & set(texts(at.success))
    (suggestions,) = [
        df.value for df in at.dataframe if "compressive_strength_mean" in df.value.columns
    ]
    assert len(suggestions) == 4
    space, _ = concrete_space()
    assert space.is_feasible(suggestions).all(), space.violations(suggestions).max()
    assert (suggestions["age"] == 28).all()
    at.button(key="save").click()
    run(at)
    assert any("Saved 'Concrete strength'" in t for t in texts(at.success))

    # A restart: a fresh script run with empty session state, same database file.
    again = run(AppTest.from_file(PAGE, default_timeout=180))
    assert "Concrete strength (40 recipes, 0 rounds)" in again.selectbox(key="saved_id").options
    again.button(key="open_saved").click()
    run(again)
    assert texts(again.header) == ["Concrete strength"]
    (restored,) = [
        df.value for df in again.dataframe if "compressive_strength_mean" in df.value.columns
    ]
    assert restored[space.names].round(9).equals(suggestions[space.names].round(9))


def test_bad_upload_shows_the_reason_and_keeps_the_page(database):
    at = run(AppTest.from_file(PAGE, default_timeout=60))
    at.button(key="create_builtin")  # the built-in tab renders
    at.number_input(key="concrete_n").set_value(2)
    at.button(key="create_builtin").click()
    run(at)
    assert any("n_initial" in t for t in texts(at.error))
    assert at.number_input(key="concrete_n").value == 2  # what the user typed is kept


def test_two_objectives_draw_the_pareto_front(database):
    at = run(AppTest.from_file(PAGE, default_timeout=120))
    at.number_input(key="concrete_n").set_value(25)
    at.checkbox(key="concrete_cement").check()
    at.button(key="create_builtin").click()
    run(at)
    assert not at.error, texts(at.error)
    assert "maximize compressive_strength (MPa), minimize cement (kg/m^3)" in " ".join(
        texts(at.markdown)
    )
    assert not any("no trade-off" in t for t in texts(at.caption))
    # plotly: progress as hypervolume, the Pareto front, the prediction map, LOO parity
    assert len(at.get("plotly_chart")) == 4
    assert any("hypervolume" in t for t in texts(at.caption))


def test_delete_asks_first_and_can_be_cancelled(database):
    """Issue #22 item 16: Delete acted on one click, next to the rename field."""
    from core.optimize import Campaign, CampaignStore

    store = CampaignStore(database)
    store.save(Campaign.from_builtin("concrete", n_initial=10))
    at = run(AppTest.from_file(PAGE, default_timeout=180))
    at.button(key="delete").click()
    run(at)
    assert store.count() == 1  # nothing deleted yet
    assert any("for good?" in w for w in texts(at.warning))
    at.button(key="delete_cancel").click()
    run(at)
    assert store.count() == 1 and not any("for good?" in w for w in texts(at.warning))
    at.button(key="delete").click()
    run(at)
    at.button(key="delete_confirm").click()
    run(at)
    assert store.count() == 0


def test_round_waits_for_a_worker_says_so_and_can_be_cancelled(database):
    """Every worker of the app's queue busy: the round waits visibly, the page stays usable
    (Suggest and Add results are disabled meanwhile), and Cancel withdraws it."""
    queue = heavy_jobs()
    release = threading.Event()
    started = [threading.Event() for _ in range(queue.workers)]
    blockers = [
        queue.submit(lambda p, e=e: (e.set(), release.wait(ROUND_WAIT_S)), "busy") for e in started
    ]
    try:
        assert all(e.wait(ROUND_WAIT_S) for e in started)
        at = run(AppTest.from_file(PAGE, default_timeout=180))
        at.number_input(key="concrete_n").set_value(20)
        at.button(key="create_builtin").click()
        run(at)
        at.button(key="suggest").click()
        run(at)
        (bar,) = at.get("progress")
        assert "Waiting for a free worker" in bar.proto.text, bar.proto.text
        assert at.button(key="suggest").disabled and at.button(key="add_results").disabled
        at.button(key="recipe_round_job:cancel").click()
        finish_round(run(at))
        assert "Cancelled before it finished; nothing was changed." in texts(at.info)
        assert not at.get("progress") and not at.button(key="suggest").disabled
        assert at.session_state["recipe_campaign"].suggestions is None
    finally:
        release.set()
        for job in blockers:
            job.wait(ROUND_WAIT_S)


def test_created_campaigns_and_their_rounds_are_saved_without_asking(database):
    """A campaign lives in the database from its creation on (a created 1,030-mix campaign
    was lost when the tab closed before Save); a second one with the same name gets '(2)'."""
    at = run(AppTest.from_file(PAGE, default_timeout=180))
    at.number_input(key="concrete_n").set_value(20)
    at.button(key="create_builtin").click()
    run(at)
    assert any("Saved as 'Concrete strength' (version 1)" in t for t in texts(at.success))
    at.button(key="suggest").click()
    finish_round(run(at))
    assert any("Saved as 'Concrete strength' (version 2)" in t for t in texts(at.success))
    # the panel hides while a campaign is open; shown again, it still holds the 20 typed
    # above (a hidden widget forgets its value unless the page keeps it)
    at.toggle(key="recipe_panel").set_value(True)
    run(at)
    at.button(key="create_builtin").click()
    run(at)
    assert any("Saved as 'Concrete strength (2)'" in t for t in texts(at.success))

    again = run(AppTest.from_file(PAGE, default_timeout=180))  # a restart, no Save clicked
    options = again.selectbox(key="saved_id").options
    assert "Concrete strength (20 recipes, 0 rounds)" in options, options
    assert "Concrete strength (2) (20 recipes, 0 rounds)" in options, options
    from core.optimize import CampaignStore

    store = CampaignStore()
    saved = store.list().set_index("name")
    first = store.load(saved.loc["Concrete strength", "id"])
    assert first.version == 2 and first.suggestions is not None and len(first.suggestions) == 4
