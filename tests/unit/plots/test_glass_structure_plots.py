"""core/plots/glass_structure: generated vs MD curves on small synthetic profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.plots import glass_structure as gs


def _profile(pairs=("Si-O", "O-O", "Si-Si"), shift: float = 0.0) -> dict[str, pd.DataFrame]:
    r = np.linspace(0.005, 7.995, 800)
    rdf = pd.DataFrame({"r": r, **{p: 1 + np.exp(-((r - 1.6 - k - shift) ** 2) / 0.01)
                                   for k, p in enumerate(pairs)}})  # fmt: skip
    angle = np.arange(0.5, 180, 1.0)
    angles = pd.DataFrame(
        {
            "angle_deg": angle,
            "OSiO": np.exp(-((angle - 109.5) ** 2) / 50) / 12.5,
            "SiOSi": np.exp(-((angle - 150 + shift) ** 2) / 300) / 30.7,
        }
    )
    rings = pd.DataFrame({"n_si": np.arange(3, 13), "fraction": np.full(10, 0.1)})
    q = np.linspace(0.3, 20, 50)
    sq = pd.DataFrame({"q_inv_A": q, "S": 1 + np.sin(q + shift) / q})
    return {"rdf": rdf, "angles": angles, "rings": rings, "sq": sq}


def _both(pairs=("Si-O", "O-O", "Si-Si")):
    return {"generated": _profile(pairs, 0.05), "md": _profile(pairs)}


def _names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data]


def test_rdf_has_a_panel_per_pair_generated_solid_and_md_dashed_in_one_colour():
    fig = gs.rdf_figure(_both())
    assert _names(fig) == [
        "Si-O generated",
        "Si-O MD",
        "O-O generated",
        "O-O MD",
        "Si-Si generated",
        "Si-Si MD",
    ]
    by_name = {t.name: t for t in fig.data}
    for pair in ("Si-O", "O-O", "Si-Si"):
        gen, md = by_name[f"{pair} generated"], by_name[f"{pair} MD"]
        assert gen.line.color == md.line.color
        assert gen.line.dash == "solid" and md.line.dash == "dash"
    assert len({by_name[f"{p} MD"].line.color for p in ("Si-O", "O-O", "Si-Si")}) == 3
    assert [a.text for a in fig.layout.annotations] == ["Si-O", "O-O", "Si-Si"]
    assert tuple(fig.layout.xaxis.range) == (0.0, 8.0)
    # one panel per pair: the traces sit on three different y axes
    assert len({t.yaxis for t in fig.data}) == 3
    # shown on 0.04 Å bins: 800 bins of 0.01 Å become 200
    assert all(len(t.x) == 200 for t in fig.data)


def test_rebin_averages_a_density_over_wider_bins():
    df = pd.DataFrame({"r": np.arange(0.005, 1.0, 0.01), "g": np.arange(100.0)})
    wide = gs.rebin(df, 0.05)
    assert len(wide) == 20
    assert wide["r"].iloc[0] == pytest.approx(0.025) and wide["g"].iloc[0] == 2.0
    assert wide["g"].mean() == pytest.approx(df["g"].mean())
    assert gs.rebin(df, 0.01) is df


def test_rdf_adds_na_o_for_sodium_glasses():
    fig = gs.rdf_figure(_both(("Si-O", "O-O", "Si-Si", "Na-O")))
    assert {"Na-O generated", "Na-O MD"} <= set(_names(fig))
    assert len(fig.layout.annotations) == 4


def test_figures_without_md_show_only_the_generated_curves():
    only = {"generated": _profile()}
    for build in (gs.rdf_figure, gs.angle_figure, gs.ring_figure, gs.sq_figure):
        fig = build(only)
        assert fig.data, build.__name__
        assert all("MD" not in t.name for t in fig.data), build.__name__


def test_angle_figure_has_both_angles_for_generated_and_md():
    fig = gs.angle_figure(_both())
    assert set(_names(fig)) == {
        "O-Si-O generated",
        "O-Si-O MD",
        "Si-O-Si generated",
        "Si-O-Si MD",
    }
    osio = [t for t in fig.data if t.name.startswith("O-Si-O")]
    sioso = [t for t in fig.data if t.name.startswith("Si-O-Si")]
    assert {t.xaxis for t in osio} != {t.xaxis for t in sioso}  # side by side
    assert all(len(t.x) == 180 for t in fig.data)


def test_ring_figure_groups_bars_of_generated_and_md():
    fig = gs.ring_figure(_both())
    assert all(isinstance(t, go.Bar) for t in fig.data)
    assert _names(fig) == ["generated", "MD"]
    assert fig.layout.barmode == "group"
    assert list(fig.data[0].x) == list(range(3, 13))


def test_sq_figure_draws_total_s_of_q():
    fig = gs.sq_figure(_both())
    assert _names(fig) == ["S(q) generated", "S(q) MD"]
    assert fig.data[1].line.dash == "dash"
    assert "q" in fig.layout.xaxis.title.text


def test_comparison_table_is_readable():
    comparison = pd.DataFrame(
        {
            "generated_mean": [0.93, 1.6251, 150.2],
            "generated_std": [0.01, np.nan, 2.0],
            "reference_mean": [0.9986, 1.6240, 149.2],
            "reference_std": [0.0003, 0.002, 1.4],
            "difference": [-0.0686, 0.0011, 1.0],
            "tolerance": [np.nan, 0.01, np.nan],
            "floor": [0.995, np.nan, np.nan],
            "meets_target": [0.0, 1.0, np.nan],
            "n_generated": [2, 2, 2],
            "n_reference": [4, 4, 4],
        },
        index=pd.Index(["si_4fold_frac", "peak_SiO_A", "SiOSi_mean_deg"], name="measure"),
    )
    table = gs.comparison_table(comparison)
    assert list(table.columns) == list(gs.TABLE_COLUMNS)
    rows = table.set_index("measure")
    si = rows.loc["Si 4-fold (fraction)"]
    assert si["generated"] == "0.93 ± 0.01" and si["target"] == "≥ 0.995" and si["meets"] == "✗"
    peak = rows.loc["Si-O RDF peak (Å)"]
    assert peak["generated"] == "1.625" and peak["target"] == "|Δ| ≤ 0.01"
    assert peak["meets"] == "✓" and peak["difference"] == "+0.0011"
    angle = rows.loc["Si-O-Si angle, mean (°)"]
    assert angle["target"] == "" and angle["meets"] == ""
