"""core/plots: pure functions from frames to plotly figures (no streamlit)."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.plots import glass as glass_plots
from core.plots import optimize as opt_plots


def _curve(name: str, shift: float = 0.0) -> pd.DataFrame:
    t = np.linspace(800, 1800, 50)
    return pd.DataFrame(
        {
            "formulation": name,
            "T_K": t,
            "log10_viscosity": 14 - (t - 800) / 80 + shift,
            "log10_viscosity_std": 0.2,
        }
    )


def test_viscosity_figure_has_a_band_line_and_a_legend_entry_per_measured_glass():
    curves = pd.concat([_curve("#1"), _curve("#2", 1.0)])
    points = pd.DataFrame(
        {"formulation": ["#1"], "point": ["annealing"], "T_K": [820.0], "log10_viscosity": [12.0]}
    )
    measured = pd.DataFrame(
        {"glass": ["a", "a", "b"], "T_K": [900.0, 1000.0, 950.0], "log10_viscosity": [9, 8, 8.5]}
    )
    fig = glass_plots.viscosity_figure(curves, points, measured)
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert {"#1", "#2", "measured: a", "measured: b"} <= set(names)
    band = next(t for t in fig.data if t.fill == "toself")
    assert len(band.x) == 100  # the band goes out along hi and back along lo
    legend = [t for t in fig.data if t.name.startswith("measured") and t.showlegend is not False]
    assert len(legend) == 2
    assert tuple(fig.layout.yaxis.range) == glass_plots.Y_RANGE


def test_parity_figure_scales_cte_to_ppm_and_uses_webgl():
    rng = np.random.default_rng(0)
    test = pd.DataFrame({"CTE": rng.uniform(5e-6, 1e-5, 200)})
    test["CTE_pred"] = test["CTE"] * 1.01
    fig = glass_plots.parity_figure(test, ["CTE"])
    scatter = next(t for t in fig.data if isinstance(t, go.Scattergl))
    assert 4 < np.min(scatter.x) and np.max(scatter.x) < 11  # ppm/K, not 1/K
    assert "ppm/K" in fig.layout.annotations[0].text


def test_pareto_figure_is_3d_for_three_objectives_and_marks_the_front():
    rng = np.random.default_rng(1)
    measured = pd.DataFrame(rng.normal(size=(20, 3)), columns=["a", "b", "c"]).assign(round=0)
    mask = np.zeros(20, dtype=bool)
    mask[:4] = True
    fig = opt_plots.pareto_figure(measured, ["a", "b", "c"], mask, "round")
    assert all(isinstance(t, go.Scatter3d) for t in fig.data)
    front = next(t for t in fig.data if t.name == "Pareto-optimal")
    assert len(front.x) == 4
    fig2 = opt_plots.pareto_figure(measured, ["a", "b"], mask, "round", units={"a": "MPa"})
    assert all(isinstance(t, go.Scatter) for t in fig2.data)
    assert fig2.layout.xaxis.title.text == "a (MPa)" and fig2.layout.yaxis.title.text == "b"


def test_progress_figure_shows_hypervolume_for_several_objectives():
    history = pd.DataFrame(
        {"round": [0, 1], "experiments": [10, 14], "best a": [1, 2], "hypervolume": [0.3, 0.5]}
    )
    fig = opt_plots.progress_figure(history)
    assert list(fig.data[0].y) == [0.3, 0.5]
    assert "hypervolume" in fig.layout.yaxis.title.text
    single = opt_plots.progress_figure(history.drop(columns="hypervolume"), {"a": "MPa"})
    assert list(single.data[0].y) == [1, 2]
    assert single.layout.yaxis.title.text == "best a (MPa)"


def test_progress_figure_ticks_whole_experiments():
    # bug seen in the browser: a campaign with no round yet (one point at 1,030 mixes) or a
    # short history (30 -> 34) got ticks at 1,029.5 / 30.5 experiments
    one = pd.DataFrame({"round": [0], "experiments": [1030], "best a": [82.6]})
    fig = opt_plots.progress_figure(one)
    assert list(fig.layout.xaxis.tickvals) == [1030]
    assert list(fig.layout.xaxis.range) == [1029, 1031]
    short = pd.DataFrame({"round": [0, 1], "experiments": [30, 34], "best a": [79.3, 79.3]})
    fig = opt_plots.progress_figure(short)
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.tickformat == "d"
    long = pd.DataFrame({"round": [0, 15], "experiments": [10, 70], "best a": [60, 80]})
    assert opt_plots.progress_figure(long).layout.xaxis.dtick is None  # plotly's own ticks


def test_prediction_map_fades_infeasible_cells():
    xs, ys = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 2, 4))
    grid = pd.DataFrame({"x": xs.ravel(), "y": ys.ravel()})
    grid["mean"], grid["std"] = grid["x"] + grid["y"], 0.1
    grid["feasible"] = grid["x"] < 0.6
    fig = opt_plots.prediction_map_figure(grid, grid.head(3), "x", "y", "z")
    heat, blocked = fig.data[0], fig.data[1]
    assert np.asarray(heat.z).shape == (4, 5)
    assert np.isfinite(np.asarray(blocked.z, dtype=float)).sum() == 8  # x = 0.75 and 1.0


def test_plots_do_not_import_streamlit():
    import subprocess
    import sys

    code = (
        "import core.plots.glass, core.plots.optimize, core.plots.molecules, sys; "
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_molecule_parity_and_calibration_figures():
    from core.plots import molecules as mol_plots

    parity = pd.DataFrame({"gap": [5.0, 6.0, 7.0], "gap_pred": [5.1, 5.9, 7.2]})
    fig = mol_plots.parity_figure(parity, "gap")
    assert fig.layout.xaxis.title.text == "DFT (eV)" and len(fig.data[1].x) == 3
    curve = pd.DataFrame(
        {"property": ["gap"] * 3, "nominal": [0.2, 0.5, 0.9], "observed": [0.18, 0.45, 0.85]}
    )
    assert [t.name for t in mol_plots.calibration_figure(curve).data][1:] == ["gap"]


def test_3d_viewers_load_the_served_script_and_fill_their_column():
    from ase.build import bulk

    from core.plots import viewer

    html = viewer.molecule_html(
        "\n  RDKit          3D\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n"
    )
    assert viewer.JS in html and "cdn" not in html.lower()
    assert "width: 100%" in html
    cell = viewer.periodic_structure_html(bulk("Si", "diamond", a=5.43))
    assert viewer.JS in cell and "addUnitCell" in cell
