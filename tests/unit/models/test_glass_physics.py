"""Textbook composition trends the committed glass model must reproduce (Varshneya & Mauro,
*Fundamentals of Inorganic Glasses*; Shelby, *Introduction to Glass Science*). Each is a
large, well-established effect, so a model that gets the sign wrong is wrong, not noisy."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import REPO_ROOT
from core.models.glass import GlassPredictor, load_predictor


@pytest.fixture(scope="module")
def model() -> GlassPredictor:
    return load_predictor(REPO_ROOT / "trained_models" / "glass")


def series(model, oxide: str, matrix: dict[str, float], amounts, prop: str) -> np.ndarray:
    """``prop`` along ``amounts`` mol% of ``oxide`` replacing the ``matrix`` (in its ratio)."""
    total = sum(matrix.values())
    comps = [{oxide: x, **{k: v * (100 - x) / total for k, v in matrix.items()}} for x in amounts]
    frame = model.predict(comps)
    assert (frame["error"] == "").all(), frame["error"].tolist()
    return frame[prop].to_numpy()


def test_soda_lowers_tg_and_raises_expansion_of_silica(model):
    tg = series(model, "Na2O", {"SiO2": 1}, [15, 25, 35], "Tg")
    cte = series(model, "Na2O", {"SiO2": 1}, [15, 25, 35], "CTE")
    assert np.all(np.diff(tg) < -5), tg  # depolymerisation: ~780 K -> ~720 K
    assert np.all(np.diff(cte) > 1e-6), cte  # ~12 -> ~20 ppm/K


def test_fused_silica_has_the_highest_tg_and_lowest_expansion(model):
    silica = model.predict([{"SiO2": 100}]).loc[0]
    soda_lime = model.predict([{"SiO2": 72, "Na2O": 14, "CaO": 10, "MgO": 4}]).loc[0]
    assert silica["Tg"] > soda_lime["Tg"] + 300  # ~1450 K vs ~830 K
    assert silica["CTE"] < 2e-6 < soda_lime["CTE"]  # ~0.5 vs ~9 ppm/K


def test_boron_anomaly_soda_raises_tg_of_borate(model):
    # Na2O turns BO3 triangles into BO4 tetrahedra: Tg rises from ~530 K (B2O3) up to ~30 %
    tg = series(model, "Na2O", {"B2O3": 1}, [5, 15, 25], "Tg")
    assert np.all(np.diff(tg) > 10), tg


def test_lead_raises_refractive_index_and_dispersion(model):
    nd = series(model, "PbO", {"SiO2": 1}, [10, 30, 50], "RefractiveIndex")
    abbe = series(model, "PbO", {"SiO2": 1}, [10, 30, 50], "AbbeNumber")
    assert np.all(np.diff(nd) > 0.03), nd  # flint glasses: ~1.55 -> ~1.9
    assert np.all(np.diff(abbe) < -2), abbe  # lower Abbe number = more dispersion


def test_viscosity_falls_with_soda_at_fixed_temperature(model):
    t12 = series(model, "Na2O", {"SiO2": 1}, [15, 25, 35], "T12")
    assert np.all(np.diff(t12) < 0), t12


def test_a_well_measured_soda_lime_family_is_predicted_near_its_measurements(model):
    # Eight training glasses within 2 mol% of this one measured Tg 757-820 K. Its family's
    # viscosity series were filed in degrees C as K; trained on them, the network put T12 at
    # 512 K and Tg at 702 K (fixed by the viscosity/Tg consistency filter of the training data).
    row = model.predict([{"SiO2": 75.9, "Na2O": 12.4, "CaO": 7.3, "K2O": 2.4, "BaO": 2.0}]).loc[0]
    assert 740 < row["Tg"] < 850, row["Tg"]
    assert 700 < row["T12"] < 850, row["T12"]


def test_the_neighbour_correction_is_bounded(model):
    # unclipped residuals once moved a calcium silicate's Tg by +720 K
    for prop, fitted in model.card["neighbour_correction"].items():
        assert fitted["clip"] is not None and np.isfinite(fitted["clip"]), prop
    row = model.predict([{"SiO2": 58, "CaO": 28, "ZrO2": 7, "MgO": 5, "BaO": 2}]).loc[0]
    assert 900 < row["Tg"] < 1200, row["Tg"]
