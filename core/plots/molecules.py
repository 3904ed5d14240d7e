"""Molecule-model charts: the card's parity plot and calibration curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core import properties
from core.plots._style import COLOURS, diagonal, layout


def parity_figure(parity: pd.DataFrame, key: str) -> go.Figure:
    """DFT vs predicted ``key`` on held-out QM9 molecules (WebGL, display units)."""
    prop = properties.QM9[key]
    sub = parity[[key, f"{key}_pred"]].dropna() * prop.scale
    lo, hi = (
        (float(np.nanmin(sub.to_numpy())), float(np.nanmax(sub.to_numpy()))) if len(sub) else (0, 1)
    )
    fig = go.Figure(
        [
            diagonal(lo, hi),
            go.Scattergl(
                x=sub[key],
                y=sub[f"{key}_pred"],
                mode="markers",
                marker={"size": 3, "opacity": 0.4, "color": COLOURS[0]},
                showlegend=False,
                hovertemplate="DFT %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
            ),
        ]
    )
    fig.update_xaxes(title=f"DFT ({prop.display_unit})")
    fig.update_yaxes(title=f"predicted ({prop.display_unit})")
    return layout(fig, height=380, title=prop.label)


def calibration_figure(curve: pd.DataFrame) -> go.Figure:
    """Observed vs nominal coverage of mean ± z·std, a line per property; the diagonal is
    a calibrated model, below it the ± values are too small."""
    fig = go.Figure(diagonal(0, 1))
    for i, (name, c) in enumerate(curve.groupby("property", sort=False)):
        fig.add_trace(
            go.Scatter(
                x=c["nominal"],
                y=c["observed"],
                mode="lines+markers",
                line={"color": COLOURS[i % len(COLOURS)]},
                name=str(name),
            )
        )
    fig.update_xaxes(title="nominal coverage of mean ± z·std", range=[0, 1])
    fig.update_yaxes(title="share of test errors inside", range=[0, 1])
    return layout(fig, height=300)
