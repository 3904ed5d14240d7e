"""End to end: a page opened by its URL on a freshly started server (a bookmark, a shared
link) gets the app's navigation and sidebar, not Streamlit's legacy ``pages/`` menu.

Before any session has run ``st.navigation``, Streamlit routes a page URL through a
``pages/`` folder next to the entry point if there is one, and runs that page without
app.py. The pages therefore live in ``app_pages/``. This module starts its own server, so
this test is the first session it serves.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 90_000


def test_a_page_url_on_a_fresh_server_gets_the_app_navigation(page, server_url) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server_url}/Glass_properties", wait_until="domcontentloaded")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Glass properties")).to_be_visible(timeout=TIMEOUT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    # app.py's sections and its model summary, not a menu built from file names
    expect(sidebar.get_by_text("Composition → property")).to_be_visible(timeout=TIMEOUT_MS)
    expect(sidebar.get_by_text("Trained models")).to_be_visible(timeout=TIMEOUT_MS)
    links = page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()
    assert "app" not in [text.strip() for text in links], links
