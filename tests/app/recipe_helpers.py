"""What the two recipe-page AppTest files share: run the page, and wait for a round."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT

PAGE = str(REPO_ROOT / "app_pages" / "4_Recipe_optimisation.py")
ROUND_WAIT_S = 900  # a bound for a hung round, far above any real one


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def finish_round(at: AppTest) -> AppTest:
    """After *Suggest*: wait until the background round has ended (done, failed or
    cancelled; a visible state, no time guess), then rerun the page to show it."""
    job = at.session_state["recipe_round_job"]
    assert job is not None, "no round was started"
    assert job.wait(ROUND_WAIT_S), "the round did not end"
    return run(at)
