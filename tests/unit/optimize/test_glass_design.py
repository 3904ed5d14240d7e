"""Glass inverse design: goals are checked, the search honours the design space, and every
number shown is what the glass model (and so the glass page) says for that composition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.exceptions import InvalidInputError
from core.models.glass import load_predictor
from core.optimize import glass_design as gd
from core.optimize.builtins import GLASS_OXIDES

SMALL = dict(population=300, generations=2, elite=16)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: gd.GlassDesignRequest({"SiO2": (0, 1)}, objective=("Tg", "maximize")), "two"),
        (
            lambda: gd.GlassDesignRequest(
                {"SiO2": (0.5, 1), "Xq2O": (0, 0.5)}, objective=("Tg", "maximize")
            ),
            "Unknown oxide",
        ),
        (
            lambda: gd.GlassDesignRequest(
                {"SiO2": (0.5, 1), "NaCl": (0, 0.5)}, objective=("Tg", "maximize")
            ),
            "not an oxide",
        ),
        (
            lambda: gd.GlassDesignRequest(
                {"SiO2": (0.7, 1), "Na2O": (0.4, 0.5)}, objective=("Tg", "maximize")
            ),
            "No composition fits",
        ),
        (lambda: gd.PropertyWindow("Tg", 900, 800), "upside down"),
        (lambda: gd.PropertyWindow("Tg"), "empty"),
        (lambda: gd.PropertyWindow("Density", 1, 2), "Unknown glass property"),
        (lambda: gd.GlassDesignRequest({"SiO2": (0.5, 1), "Na2O": (0, 0.5)}), "Nothing"),
        (
            lambda: gd.GlassDesignRequest(
                {"SiO2": (0.5, 1), "Na2O": (0, 0.5)}, objective=("Tg", "sideways")
            ),
            "minimised or maximised",
        ),
    ],
)
def test_bad_requests_say_what_is_wrong(make, message):
    with pytest.raises(InvalidInputError, match=message):
        make()


def test_projection_lands_on_the_bounded_simplex():
    rng = np.random.default_rng(0)
    lo = np.array([0.45, 0, 0, 0, 0.05])
    hi = np.array([0.8, 0.2, 0.15, 0.2, 0.1])
    y = rng.normal(0.2, 0.3, (500, 5))
    x = gd.project(y, lo, hi)
    assert np.allclose(x.sum(axis=1), 1.0, atol=1e-12)
    assert (x >= lo - 1e-12).all() and (x <= hi + 1e-12).all()
    inside = gd.project(x, lo, hi)  # a point already there stays
    assert np.allclose(inside, x, atol=1e-9)


@pytest.fixture(scope="module")
def predictor():
    return load_predictor()


def test_design_honours_the_space_and_shows_the_models_own_numbers(predictor):
    oxides = {o: b for o, b in GLASS_OXIDES.items() if o != "K2O"}  # "no K2O"
    request = gd.GlassDesignRequest(
        oxides,
        (gd.PropertyWindow("RefractiveIndex", 1.50, 1.54), gd.PropertyWindow("Tg", 780, None)),
        ("Tliquidus", "minimize"),
        n_results=6,
        **SMALL,
    )
    report = gd.design_glasses(request, predictor)
    table = report.table
    assert 1 <= len(table) <= 6 and report.evaluated == 300 * 3
    molpct = table[[f"{o} (mol%)" for o in oxides]]
    assert np.allclose(molpct.sum(axis=1), 100.0, atol=0.05)
    for o, (lo, hi) in oxides.items():
        assert molpct[f"{o} (mol%)"].between(100 * lo - 0.01, 100 * hi + 0.01).all()
    assert not any("K2O" in c for c in table.columns) and "K2O" not in " ".join(table.composition)
    # the values shown are the glass model's predictions for that composition (as on the
    # glass page), CTE in ppm/K
    comps = [{o: row[f"{o} (mol%)"] for o in oxides} for _, row in table.iterrows()]
    page = predictor.predict(comps)
    assert np.allclose(table["Tg"], page["Tg"], rtol=0, atol=1.0)  # mol% rounded to 0.01
    assert np.allclose(table["CTE"], page["CTE_ppm_per_K"], rtol=0, atol=0.05)
    assert (table["in_domain"] == page["in_domain"]).all()
    # ranked: inside the domain first; within it, goals met (P >= 0.5) before the rest
    assert list(table["in_domain"]) == sorted(table["in_domain"], reverse=True)
    inside = table[table["in_domain"]]
    passing = (inside["P(all goals)"] >= gd.PASS_PROBABILITY).to_numpy()
    assert list(passing) == sorted(passing, reverse=True)
    liquidus = inside[passing]["Tliquidus"].to_numpy()
    assert (np.diff(liquidus) >= 0).all()  # the objective, best first
    assert report.goals == (
        "1.5 ≤ Refractive index nD ≤ 1.54",
        "Glass transition Tg ≥ 780 K",
        "minimize Liquidus temperature",
    )


def test_probability_of_a_window_follows_the_uncertainty():
    request = gd.GlassDesignRequest(
        {"SiO2": (0.5, 1), "Na2O": (0, 0.5)}, (gd.PropertyWindow("Tg", 800, None),)
    )
    mean = np.zeros((3, len(gd.DESIGN_PROPERTIES)))
    std = np.ones_like(mean)
    j = gd.DESIGN_PROPERTIES.index("Tg")
    mean[:, j] = [800.0, 820.0, 780.0]
    std[:, j] = 10.0
    p = gd._probability(request, mean, std)
    assert p[0] == pytest.approx(0.5) and p[1] == pytest.approx(0.977, abs=1e-3)
    assert p[2] == pytest.approx(0.023, abs=1e-3)


def test_page_entries_become_a_request_and_bad_cells_a_message():
    request = gd.request_from_entries(
        gd.default_oxide_rows(), gd.default_window_rows(), "Liquidus temperature (K)", "minimize"
    )
    assert request.oxides["SiO2"] == pytest.approx((0.45, 0.80))
    assert request.windows[0] == gd.PropertyWindow("RefractiveIndex", 1.52, 1.53)
    assert request.objective == ("Tliquidus", "minimize")
    rows = pd.concat(
        [gd.default_oxide_rows(), pd.DataFrame([["SiO2", 0, 10]], columns=gd.OXIDE_COLUMNS)]
    )
    with pytest.raises(InvalidInputError, match="listed twice"):
        gd.request_from_entries(rows, gd.default_window_rows(), None, "minimize")
    bad = gd.default_window_rows().assign(**{"at least": ["abc", 820.0]})
    with pytest.raises(InvalidInputError, match="not a number"):
        gd.request_from_entries(gd.default_oxide_rows(), bad, None, "minimize")


def test_links_open_the_glass_page_with_the_composition():
    table = pd.DataFrame({"SiO2 (mol%)": [70.0], "Na2O (mol%)": [30.0], "K2O (mol%)": [0.0]})
    (link,) = gd.glass_page_link(table)
    assert link == "Glass_properties?composition=SiO2%2070%2C%20Na2O%2030"
