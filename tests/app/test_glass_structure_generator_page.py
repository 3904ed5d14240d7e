"""The glass structure generator page with the shipped diffusion model, run headless.

Only the page's behaviour is checked (widgets, tables, figures, downloads, errors), never the
structural quality of what the model samples: the shipped model is replaced as it improves.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT, models_dir
from core.generate.glass import DEFAULT_STEPS, MODEL_NAME

PAGE = str(REPO_ROOT / "app_pages" / "6_Glass_structure_generator.py")
HAS_MODEL = (models_dir() / MODEL_NAME / "model.safetensors").exists()
pytestmark = pytest.mark.skipif(not HAS_MODEL, reason="no shipped glass_diffusion weights")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=600)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _generate(at: AppTest) -> AppTest:
    at.button(key="gs_run").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_loads_with_its_inputs_limited_to_the_trained_domain():
    from core.generate.glass import load_generator

    gen = load_generator()
    at = _page()
    assert at.title[0].value == "Glass structure generator"
    assert at.text_input(key="gs_composition").value == "SiO2 100"
    assert "Na2O" in at.text_input(key="gs_composition").help
    density = at.number_input(key="gs_density")
    lo, hi = gen.density_range
    assert (density.min, density.max) == (pytest.approx(lo), pytest.approx(hi))
    assert f"{lo:.2f}" in density.label and f"{hi:.2f}" in density.label
    rate = at.selectbox(key="gs_rate")
    assert rate.value == min(gen.cooling_rates)  # the slowest trained rate
    assert all(option.endswith(" K/s") for option in rate.options)
    assert at.number_input(key="gs_atoms").value is None  # the model's default
    assert at.number_input(key="gs_n").value == 2
    assert at.number_input(key="gs_steps").value == DEFAULT_STEPS == 20  # the facade's
    assert at.toggle(key="gs_relax").label == "Relax with SHIK (LAMMPS)"
    assert at.button(key="gs_run").label == "Generate"
    assert not at.error


@pytest.mark.slow
def test_one_structure_shows_the_comparison_figures_viewer_and_downloads():
    at = _page()
    at.number_input(key="gs_n").set_value(1)
    at.number_input(key="gs_steps").set_value(20)
    at = _generate(at)
    assert not at.error, [e.value for e in at.error]
    assert any("MD reference" in info.value for info in at.info)
    tables = {df.value.columns[0]: df.value for df in at.dataframe}
    metrics = tables["measure"]
    assert list(metrics.columns) == [
        "measure",
        "generated",
        "MD",
        "MD spread",
        "difference",
        "target",
        "meets",
    ]
    assert "Si 4-fold (fraction)" in set(metrics["measure"])
    assert set(metrics["meets"]) <= {"✓", "✗", ""}
    assert len(tables["structure"]) == 1  # the per-structure analysis
    assert len(at.get("plotly_chart")) == 4  # RDF, angles, rings, S(q)
    assert [t.label for t in at.tabs] == ["RDF", "Angles", "Rings", "S(q)"]
    assert len(at.get("iframe")) == 1  # the 3D viewer
    assert [b.label for b in at.get("download_button")] == [
        "extended XYZ",
        "CIF",
        "LAMMPS data",
        "All structures (multi-frame extended XYZ)",
    ]
    # the result stays when the page reruns for another widget
    at.toggle(key="gs_relax").set_value(True).run()
    assert len(at.get("plotly_chart")) == 4


def test_unsupported_oxide_is_an_error_naming_it_and_keeps_the_inputs():
    at = _page()
    at.text_input(key="gs_composition").set_value("SiO2 70, B2O3 30")
    at.number_input(key="gs_seed").set_value(7)
    at = _generate(at)
    assert len(at.error) == 1 and "B2O3" in at.error[0].value
    assert at.text_input(key="gs_composition").value == "SiO2 70, B2O3 30"
    assert at.number_input(key="gs_seed").value == 7
    assert not at.get("plotly_chart")


def test_density_outside_the_trained_range_is_not_accepted():
    at = _page()
    density = at.number_input(key="gs_density")
    hi = density.max
    density.set_value(hi + 0.3).run()
    assert not at.exception, [e.value for e in at.exception]
    value = at.number_input(key="gs_density").value
    # the widget refuses the value (keeps one inside the range) or the page says why
    assert value <= hi + 1e-9 or any("Density" in e.value for e in at.error)


@pytest.mark.slow
def test_relaxed_structures_carry_their_shik_energy(missing):
    from core.md.lammps_run import lammps_available

    if not lammps_available():
        missing("LAMMPS is not installed")
    at = _page()
    at.number_input(key="gs_n").set_value(1)
    at.number_input(key="gs_steps").set_value(10)
    at.toggle(key="gs_relax").set_value(True)
    at = _generate(at)
    assert not at.error, [e.value for e in at.error]
    tables = {df.value.columns[0]: df.value for df in at.dataframe}
    assert "energy per atom (eV, SHIK)" in set(tables["measure"]["measure"])
    assert "energy_per_atom_eV" in tables["structure"].columns
