"""The studio works offline (issue #22 item 14): opening every page sends no request to any
address but this machine's (icons, fonts, 3Dmol.js and plotly are served by the app)."""

from __future__ import annotations

import pytest

from app import PAGES

pytestmark = pytest.mark.e2e


def _settled(page) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("stMain").get_by_role("heading").first.wait_for(timeout=120_000)
    for placeholder in ("stAppSkeleton", "stStatusWidgetRunningIcon"):
        expect(page.get_by_test_id(placeholder)).to_have_count(0, timeout=120_000)


def test_every_page_loads_without_a_request_off_this_machine(page, server_url):
    for spec in PAGES:
        slug = spec.path.split("/")[-1].removesuffix(".py").split("_", 1)[1]
        page.goto(f"{server_url}/{slug}", wait_until="domcontentloaded")
        _settled(page)
    page.goto(server_url, wait_until="domcontentloaded")
    _settled(page)
    assert page.external_requests == []
