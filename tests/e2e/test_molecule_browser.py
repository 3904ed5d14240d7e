"""End to end: type a SMILES on the molecule page in a real browser and see its HOMO."""

from __future__ import annotations

import re

import pytest

from core.config import REPO_ROOT, models_dir
from core.models.molecules import MODEL_NAME

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (models_dir() / MODEL_NAME / "model.safetensors").exists(),
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
    drawn(page)
    main.get_by_role("tab", name="SMILES").click()
    box = main.get_by_role("textbox", name="SMILES")
    expect(box).to_be_editable(timeout=RENDER_TIMEOUT_MS)
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
    # The 3D viewer: 3Dmol.js served by the app itself (no internet here) draws a canvas.
    viewer = main.frame_locator('iframe[title="st.iframe"]')
    expect(viewer.locator("canvas").first).to_be_attached(timeout=RENDER_TIMEOUT_MS)
    assert drawn_share(main.locator('iframe[title="st.iframe"]')) > 0.01  # atoms, not blank

    out = REPO_ROOT / "artifacts" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "molecule.png"), full_page=True)


def test_batch_csv_and_3d_file_uploads(page, drawn, tmp_path) -> None:
    from playwright.sync_api import expect
    from rdkit import Chem

    from core.chem.molecules import embed_conformer, parse_smiles

    page.get_by_test_id("stSidebarNav").get_by_text("Molecule properties").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Molecule properties")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    # Batch: a CSV with one bad row -> a table with an error column, not a failed batch.
    csv = tmp_path / "three.csv"
    csv.write_text("name,smiles\nethanol,CCO\nbroken,C1CC\npyridine,c1ccncc1\n")
    main.get_by_role("tab", name="Batch").click()
    main.get_by_test_id("stFileUploaderDropzoneInput").last.set_input_files(str(csv))
    run = main.get_by_role("button", name="Predict 3 molecules")
    expect(run).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    run.click()
    expect(main.get_by_text("3 rows, 1 with an error")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    # the user's own name column is kept, and headers have units
    table = main.get_by_test_id("stDataFrame").filter(has_text="HOMO (eV)")
    expect(table.filter(has_text="pyridine")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(main.get_by_role("button", name="Download predictions (CSV)")).to_be_visible()
    # 3D file: an SDF conformer is predicted as given.
    mol = embed_conformer(parse_smiles("OCC(F)(F)F"))
    mol.SetProp("_Name", "trifluoroethanol")
    sdf = tmp_path / "tfe.sdf"
    sdf.write_text(Chem.MolToMolBlock(mol) + "$$$$\n")
    main.get_by_role("tab", name="3D file").click()
    main.get_by_test_id("stFileUploaderDropzoneInput").nth(0).set_input_files(str(sdf))
    # one structure: its full result (3D view from the file's geometry, units), on request
    show = main.get_by_role("button", name="Show this structure's result")
    expect(show).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    show.click()
    expect(
        main.get_by_role("heading", name="Predicted properties of trifluoroethanol (OCC(F)(F)F)")
    ).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(main.get_by_role("heading", name="3D conformer")).to_be_visible()
    drawn(page)
    assert not page.get_by_test_id("stException").count()


def test_tiny_and_foreign_molecules_are_flagged_not_trusted(page, drawn) -> None:
    """Issue 22 item 13, as a chemist sees it: methane (1 heavy atom, QM9 holds few this
    small) gets a domain warning and its QM9 DFT values beside the prediction; chloroform
    (Cl, no per-element reference) gets a warning and its extensive properties withheld."""
    from playwright.sync_api import expect

    page.get_by_test_id("stSidebarNav").get_by_text("Molecule properties").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Molecule properties")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    drawn(page)  # a busy machine: the SMILES box comes after the heading
    main.get_by_role("tab", name="SMILES").click()  # another test may have left another tab
    box = main.get_by_role("textbox", name="SMILES")
    predict = main.get_by_role("button", name="Predict", exact=True)
    expect(box).to_be_editable(timeout=RENDER_TIMEOUT_MS)

    box.fill("C")
    box.press("Enter")
    predict.click()
    expect(main.get_by_role("heading", name="Predicted properties of C", exact=True)).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    warning = main.get_by_test_id("stAlertContentWarning").filter(has_text="1 heavy atom")
    expect(warning).to_contain_text("Outside the training domain")
    properties = main.get_by_test_id("stDataFrame").filter(has_text="HOMO-LUMO gap")
    expect(properties).to_contain_text("QM9 DFT", timeout=RENDER_TIMEOUT_MS)
    drawn(page)
    expect(box).to_be_editable(timeout=RENDER_TIMEOUT_MS)

    box.fill("ClC(Cl)Cl")
    box.press("Enter")
    predict.click()
    expect(
        main.get_by_role("heading", name="Predicted properties of ClC(Cl)Cl", exact=True)
    ).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    warning = main.get_by_test_id("stAlertContentWarning").filter(has_text="contains Cl")
    expect(warning).to_contain_text("withheld")
    properties = main.get_by_test_id("stDataFrame").filter(has_text="HOMO-LUMO gap")
    expect(properties).to_contain_text("withheld", timeout=RENDER_TIMEOUT_MS)
    drawn(page)
    assert not page.get_by_test_id("stException").count()
    out = REPO_ROOT / "artifacts" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "molecule_outside_domain.png"), full_page=True)


def drawn_share(element, attempts: int = 20) -> float:
    """Share of non-white pixels of an element's screenshot (waits for WebGL to draw)."""
    import io

    import numpy as np
    from PIL import Image

    share = 0.0
    for _ in range(attempts):
        pixels = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("L"))
        share = float((pixels < 200).mean())
        if share > 0.01:
            break
        element.page.wait_for_timeout(500)
    return share
