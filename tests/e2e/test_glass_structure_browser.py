"""End to end: generate a glass structure in a real browser and see it in 3D beside its RDF."""

from __future__ import annotations

import re

import pytest

from core.config import REPO_ROOT, models_dir
from core.generate.glass import MODEL_NAME

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (models_dir() / MODEL_NAME / "model.safetensors").exists(),
        reason="no shipped glass_diffusion weights",
    ),
]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
RENDER_TIMEOUT_MS = 300_000  # sampling, analysis and the MD comparison on a busy CPU


def _set_number(main, name: str, value: int) -> None:
    from playwright.sync_api import expect

    box = main.get_by_role("spinbutton", name=name)
    box.fill(str(value))
    box.press("Enter")
    expect(box).to_have_value(str(value))


def _drawn_share(element, attempts: int = 20) -> float:
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


def test_generate_one_structure_and_see_viewer_and_rdf(page, server_url, drawn) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server_url}/Glass_structure_generator", wait_until="domcontentloaded")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Glass structure generator")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    drawn(page)
    main.get_by_test_id("stExpander").filter(has_text="Sampler").get_by_text("Sampler").click()
    _set_number(main, "Denoising steps", 20)
    _set_number(main, "Structures", 1)
    main.get_by_role("button", name="Generate", exact=True).click()
    expect(main.get_by_role("heading", name=re.compile(r"1 structure\(s\) of SiO2"))).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    drawn(page)
    assert not page.get_by_test_id("stException").count()
    assert not main.get_by_test_id("stAlert").filter(has_text="How to fix").count()
    expect(main.get_by_text(re.compile("MD reference"))).to_be_visible()
    metrics = main.get_by_test_id("stDataFrame").filter(has_text="Si 4-fold (fraction)")
    expect(metrics).to_be_visible(timeout=RENDER_TIMEOUT_MS)

    # The 3D viewer: 3Dmol.js served by the app draws the structure and its cell on a canvas.
    frame = main.locator('iframe[title="st.iframe"]')
    expect(frame).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(main.frame_locator('iframe[title="st.iframe"]').locator("canvas").first).to_be_attached(
        timeout=RENDER_TIMEOUT_MS
    )
    assert _drawn_share(frame) > 0.01  # atoms, not a blank canvas

    # The RDF tab is open first: its plotly chart with the partial RDF panels.
    chart = main.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(chart.locator("svg").first).to_be_visible()
    expect(chart).to_contain_text("Partial radial distributions")
    expect(main.get_by_role("button", name="CIF")).to_be_visible()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "glass_structure_generator.png"), full_page=True)
