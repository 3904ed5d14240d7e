"""End to end: the glass page in a real browser: edit a formulation, see the curve change."""

from __future__ import annotations

import re

import pytest

from core.config import REPO_ROOT

pytestmark = pytest.mark.e2e

SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module", autouse=True)
def empty_data_cache(tmp_path_factory):
    """The server starts without the SciGlass cache: predictions need only the committed
    model, and the page must say how to get the nearest measured glasses (fast to render)."""
    import os

    old = os.environ.get("MDS_CACHE_DIR")
    os.environ["MDS_CACHE_DIR"] = str(tmp_path_factory.mktemp("empty_cache"))
    yield
    if old is None:
        os.environ.pop("MDS_CACHE_DIR", None)
    else:
        os.environ["MDS_CACHE_DIR"] = old


def settled(page) -> None:
    from playwright.sync_api import expect

    for placeholder in ("stAppSkeleton", "stSkeleton", "stStatusWidgetRunningIcon"):
        expect(page.get_by_test_id(placeholder)).to_have_count(0, timeout=TIMEOUT_MS)
    # elements of the previous run that this run has not redrawn yet are marked stale
    expect(page.locator('[data-testid="stElementContainer"][data-stale="true"]')).to_have_count(
        0, timeout=TIMEOUT_MS
    )


def expected_t12(text: str, basis: str) -> str:
    """The page's T12 summary for a composition, computed by core in the test process."""
    from core.chem.composition import parse_composition
    from core.models.glass import load_predictor

    first = load_predictor().report(parse_composition(text, basis)).curve.iloc[0]
    return f"T12 = {first['T12']:.0f} ± {first['T12_std']:.0f} K"


def tg_text(main) -> str:
    return (
        main.get_by_test_id("stMetric")
        .filter(has_text="Glass transition Tg")
        .get_by_test_id("stMetricValue")
        .inner_text()
    )


def test_edit_formulation_and_see_the_curve(page, server_url) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server_url}/Glass_properties", wait_until="domcontentloaded")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Glass properties")).to_be_visible(timeout=TIMEOUT_MS)
    chart = main.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible(timeout=TIMEOUT_MS)
    settled(page)
    before = tg_text(main)
    assert re.match(r"\d+ ± \d+ K", before), before

    # Edit the formulation: a lead silicate pasted as text replaces the editor rows.
    main.get_by_label("…or paste a composition").fill("SiO2 60, PbO 40")
    main.get_by_role("button", name="Use this text").click()
    expect(
        main.get_by_test_id("stMetric")
        .filter(has_text="Glass transition Tg")
        .get_by_test_id("stMetricValue")
    ).not_to_have_text(before, timeout=TIMEOUT_MS)
    settled(page)
    expect(main.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=TIMEOUT_MS)
    # the curve is drawn: plotly renders its traces into svg layers
    expect(main.get_by_test_id("stPlotlyChart").first.locator("canvas, svg").first).to_be_visible()
    assert not page.get_by_test_id("stException").count()
    assert not main.get_by_test_id("stAlert").filter(has_text="How to fix").count()

    # A bad entry shows the message and keeps the text.
    main.get_by_label("…or paste a composition").fill("SiO2 70, XyO 30")
    main.get_by_role("button", name="Use this text").click()
    expect(main.get_by_text("unknown element symbol 'Xy'")).to_be_visible(timeout=TIMEOUT_MS)
    expect(main.get_by_label("…or paste a composition")).to_have_value("SiO2 70, XyO 30")
    settled(page)
    # Everything on the page still belongs to the lead silicate (the bad text changed nothing):
    # the metrics, and the viscosity summary under the curve.
    assert tg_text(main) != before
    expect(main.get_by_text(expected_t12("SiO2 60, PbO 40", "wt"))).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "glass.png"), full_page=True)
