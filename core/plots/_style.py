"""Shared look of the studio's charts (colours, layout defaults)."""

from __future__ import annotations

import plotly.graph_objects as go

# Plotly's qualitative "Plotly" palette, in a fixed order so series keep their colour.
COLOURS = (
    "#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A",
    "#19D3F3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52",
)  # fmt: skip
STRONG = "#EF553B"  # Pareto-optimal / best points
MUTED = "rgba(120,120,120,0.45)"


def layout(fig: go.Figure, height: int = 420, **kwargs) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        template="plotly_white",
        **kwargs,
    )
    return fig


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def diagonal(lo: float, hi: float, dash: str = "dash") -> go.Scatter:
    """The y = x reference line of a parity or calibration plot."""
    return go.Scatter(
        x=[lo, hi],
        y=[lo, hi],
        mode="lines",
        line={"color": "grey", "dash": dash, "width": 1},
        hoverinfo="skip",
        showlegend=False,
    )
