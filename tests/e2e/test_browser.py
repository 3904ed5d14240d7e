"""End to end: the home page in a real browser."""

from __future__ import annotations

import pytest

from core.config import REPO_ROOT

pytestmark = pytest.mark.e2e

SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
VIEWPORT_WIDTH = 1400
RENDER_TIMEOUT_MS = 60_000


def test_home_renders_and_navigates(page, drawn) -> None:
    from playwright.sync_api import expect

    main = page.get_by_test_id("stMain")
    # Streamlit first paints a skeleton: wait for the script's own output.
    expect(main.get_by_role("heading", name="Materials Design Studio")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    for heading in (
        "1. Structure → property",
        "2. Composition → property",
        "3. Property → design",
        "Data & models",
    ):
        expect(main.get_by_role("heading", name=heading)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(main.get_by_text("Trained models", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text("torch ")).to_be_visible()
    assert not page.get_by_test_id("stException").count()

    drawn(page)
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    if (
        height > page.viewport_size["height"]
    ):  # the page outgrew the viewport: grow it to show it all
        page.set_viewport_size({"width": VIEWPORT_WIDTH, "height": height})
        drawn(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "home.png"))

    # Navigate if this build has another page: a link on a capability card, else the menu.
    card_links = main.get_by_test_id("stPageLink-NavLink")
    menu_links = page.get_by_test_id("stSidebarNavLink")
    if card_links.count():
        target = card_links.first
    elif menu_links.count() > 1:
        target = menu_links.last
    else:
        return  # Home is the only page in this build: nothing to navigate to.
    href = target.get_attribute("href")
    home_url = page.url
    target.click()
    expect(page).not_to_have_url(home_url, timeout=RENDER_TIMEOUT_MS)
    expect(main.get_by_role("heading", name="Materials Design Studio")).to_have_count(
        0, timeout=RENDER_TIMEOUT_MS
    )
    expect(main.get_by_test_id("stHeading").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    drawn(page)
    assert not page.get_by_test_id("stException").count(), f"page {href!r} raised"
