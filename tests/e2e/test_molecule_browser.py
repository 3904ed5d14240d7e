"""End to end: type a SMILES on the molecule page in a real browser and see its HOMO."""

from __future__ import annotations

import re

import pytest

from core.config import REPO_ROOT, models_dir
from core.models.molecules import MODEL_NAME

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (models_dir() / MODEL_NAME / "member0.safetensors").exists(),
        reason="no committed qm9_painn weights",
    ),
]
RENDER_TIMEOUT_MS = 120_000


def test_smiles_to_homo(page, drawn) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("stSidebarNav").get_by_text("Molecule properties").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Molecule properties")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    box = main.get_by_role("textbox", name="SMILES")
    box.fill("c1ccncc1")
    box.press("Enter")
    main.get_by_role("button", name="Predict", exact=True).click()
    expect(main.get_by_text(re.compile("Predicted properties of"))).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    drawn(page)
    table = main.get_by_test_id("stDataFrame").first
    expect(table).to_contain_text("HOMO", timeout=RENDER_TIMEOUT_MS)
    assert not page.get_by_test_id("stException").count()
    out = REPO_ROOT / "artifacts" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "molecule.png"), full_page=True)
