"""Glass charts: the MYEGA viscosity curve and the model card's parity plots."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import properties
from core.plots._style import COLOURS, diagonal, layout, rgba

Y_RANGE = (-1.0, 15.0)  # log10 Pa s: from a runny melt to beyond the strain point
MEASURED_SYMBOLS = ("circle", "square", "triangle-up", "x", "star", "cross", "pentagon")


def viscosity_figure(
    curves: pd.DataFrame,
    points: pd.DataFrame | None = None,
    measured: pd.DataFrame | None = None,
) -> go.Figure:
    """log10 eta vs T for one or more formulations.

    Args:
        curves: rows ``formulation``, ``T_K``, ``log10_viscosity``, ``log10_viscosity_std``
            (a ``formulation`` column is optional for one curve); drawn as the mean line and
            a ±2 std band.
        points: characteristic points (``formulation``, ``point``, ``T_K``,
            ``log10_viscosity``), drawn as labelled diamonds.
        measured: measured points (``glass``, ``T_K``, ``log10_viscosity``), one legend
            entry per measured glass.
    """
    curves = _with_name(curves)
    fig = go.Figure()
    for i, (name, c) in enumerate(curves.groupby("formulation", sort=False)):
        colour = COLOURS[i % len(COLOURS)]
        c = c.sort_values("T_K")
        hi = c["log10_viscosity"] + 2 * c["log10_viscosity_std"]
        lo = c["log10_viscosity"] - 2 * c["log10_viscosity_std"]
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([c["T_K"], c["T_K"][::-1]]),
                y=np.concatenate([hi, lo[::-1]]),
                fill="toself",
                fillcolor=rgba(colour, 0.18),
                line={"width": 0},
                hoverinfo="skip",
                name=f"{name}: ± 2 std",
                legendgroup=str(name),
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=c["T_K"],
                y=c["log10_viscosity"],
                mode="lines",
                line={"color": colour, "width": 2},
                name=str(name),
                legendgroup=str(name),
                hovertemplate="%{x:.0f} K: log10 η %{y:.2f}<extra>" + str(name) + "</extra>",
            )
        )
        if points is not None and not points.empty:
            p = _with_name(points)
            p = p[p["formulation"] == name]
            fig.add_trace(
                go.Scatter(
                    x=p["T_K"],
                    y=p["log10_viscosity"],
                    mode="markers+text",
                    marker={"symbol": "diamond", "size": 10, "color": colour},
                    text=p["point"],
                    textposition="top right",
                    name=f"{name}: characteristic points",
                    legendgroup=str(name),
                    showlegend=False,
                    hovertemplate="%{text}: %{x:.0f} K<extra></extra>",
                )
            )
    if measured is not None and not measured.empty:
        for j, (glass, m) in enumerate(measured.groupby("glass", sort=False)):
            fig.add_trace(
                go.Scatter(
                    x=m["T_K"],
                    y=m["log10_viscosity"],
                    mode="markers",
                    marker={
                        "symbol": MEASURED_SYMBOLS[j % len(MEASURED_SYMBOLS)],
                        "size": 7,
                        "color": "black",
                        "opacity": 0.8,
                    },
                    name=f"measured: {glass}",
                    legendgroup="measured",
                    legendgrouptitle={"text": "measured (SciGlass)"} if j == 0 else None,
                    hovertemplate="%{x:.0f} K: log10 η %{y:.2f}<extra>measured</extra>",
                )
            )
    fig.update_xaxes(title="Temperature (K)")
    fig.update_yaxes(title="log10 viscosity (Pa s)", range=list(Y_RANGE))
    return layout(fig, height=460)


def parity_figure(
    test: pd.DataFrame, keys: Sequence[str], max_points: int = 3000, seed: int = 0
) -> go.Figure:
    """Measured vs predicted (``<key>`` vs ``<key>_pred``) per property, display units, a
    WebGL scatter per panel (thousands of points stay fast) with the y = x line."""
    cols = 3
    rows = int(np.ceil(len(keys) / cols))
    titles = [properties.GLASS[k].title for k in keys]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles)
    for i, key in enumerate(keys):
        prop = properties.GLASS[key]
        sub = test[test[key].notna() & test[f"{key}_pred"].notna()][[key, f"{key}_pred"]]
        sub = sub.sample(min(len(sub), max_points), random_state=seed) * prop.scale
        r, c = divmod(i, cols)
        if sub.empty:
            continue
        lo, hi = np.nanpercentile(sub.to_numpy(), [0.5, 99.5])
        fig.add_trace(
            go.Scattergl(
                x=sub[key],
                y=sub[f"{key}_pred"],
                mode="markers",
                marker={"size": 3, "opacity": 0.35, "color": COLOURS[0]},
                name=prop.label,
                showlegend=False,
                hovertemplate="measured %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
            ),
            row=r + 1,
            col=c + 1,
        )
        _diagonal(fig, lo, hi, r + 1, c + 1)
        fig.update_xaxes(range=[lo, hi], title="measured", row=r + 1, col=c + 1)
        fig.update_yaxes(range=[lo, hi], title="predicted", row=r + 1, col=c + 1)
    return layout(fig, height=300 * rows)


def viscosity_parity_figure(points: pd.DataFrame, max_points: int = 4000) -> go.Figure:
    """Held-out viscosity points: measured vs the ensemble's MYEGA curve (log10 Pa s)."""
    sub = points.sample(min(len(points), max_points), random_state=0)
    fig = go.Figure(
        go.Scattergl(
            x=sub["log10_viscosity"],
            y=sub["log10_viscosity_pred"],
            mode="markers",
            marker={"size": 3, "opacity": 0.35, "color": COLOURS[0]},
            showlegend=False,
            hovertemplate="measured %{x:.2f}<br>predicted %{y:.2f}<extra></extra>",
        )
    )
    _diagonal(fig, -2, 14)
    fig.update_xaxes(title="measured log10 η (Pa s)", range=[-2, 14])
    fig.update_yaxes(title="predicted (MYEGA curve)", range=[-2, 14])
    return layout(fig, height=340, title="Viscosity, held-out glasses")


def _diagonal(fig: go.Figure, lo: float, hi: float, row=None, col=None) -> None:
    fig.add_trace(diagonal(lo, hi, dash="solid"), row=row, col=col)


def _with_name(frame: pd.DataFrame) -> pd.DataFrame:
    return frame if "formulation" in frame else frame.assign(formulation="this formulation")
