"""End to end: generate molecules around a fragment in a real browser, send one to the
property page and see its predicted HOMO."""

from __future__ import annotations

import re

import pytest

from core.config import REPO_ROOT, models_dir
from core.generate.molecules import MODELS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (models_dir() / MODELS["moses"] / "model.safetensors").exists(),
        reason="no committed smiles_gpt_moses weights",
    ),
]
RENDER_TIMEOUT_MS = 180_000


def test_generate_around_a_fragment_and_send_to_properties(page, drawn) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("stSidebarNav").get_by_text("Molecule generator").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Molecule generator")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    main.get_by_role("button", name="Piperidine", exact=True).click()
    expect(main.get_by_role("textbox", name=re.compile("Fragment SMILES"))).to_have_value(
        "C1CCNCC1", timeout=RENDER_TIMEOUT_MS
    )
    count = main.get_by_role("spinbutton", name="Molecules")
    count.fill("12")
    count.press("Enter")
    main.get_by_role("button", name="Generate", exact=True).click()
    expect(main.get_by_role("heading", name=re.compile(r"\d+ molecules"))).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    drawn(page)
    metrics = main.get_by_test_id("stDataFrame").first
    expect(metrics).to_contain_text("fragment kept", timeout=RENDER_TIMEOUT_MS)
    expect(main.get_by_test_id("stImage").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert not page.get_by_test_id("stException").count()
    out = REPO_ROOT / "artifacts" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "molecule_generator.png"), full_page=True)

    main.get_by_role("button", name="Send to Molecule properties").click()
    expect(main.get_by_role("heading", name="Molecule properties")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    box = main.get_by_role("textbox", name="SMILES")
    # the page may first draw with its default SMILES; wait for the one sent
    expect(box).not_to_have_value("CCO", timeout=RENDER_TIMEOUT_MS)
    drawn(page)
    smiles = box.input_value()
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    assert mol is not None and mol.HasSubstructMatch(Chem.MolFromSmiles("C1CCNCC1"))
    main.get_by_role("button", name="Predict", exact=True).click()
    expect(main.get_by_text(re.compile("Predicted properties of"))).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    expect(main.get_by_test_id("stDataFrame").first).to_contain_text(
        "HOMO", timeout=RENDER_TIMEOUT_MS
    )
