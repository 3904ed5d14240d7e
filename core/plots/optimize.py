"""Recipe-optimisation charts: progress, the Pareto front, the prediction map, parity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.plots._style import COLOURS, MUTED, STRONG, diagonal, layout

HYPERVOLUME = "hypervolume"


def _titled(name: str, units: Mapping[str, str] | None) -> str:
    unit = (units or {}).get(name, "")
    return f"{name} ({unit})" if unit else name


def progress_figure(history: pd.DataFrame, units: Mapping[str, str] | None = None) -> go.Figure:
    """Best so far per round (one objective) or the dominated hypervolume (several).

    ``history`` is :meth:`core.optimize.Campaign.best_so_far`: ``round``, ``experiments``,
    a column per objective and, with several objectives, ``hypervolume`` (a fraction of
    the box between the worst and the best measured value of every objective). ``units``:
    objective name -> unit, for the axis title."""
    several = HYPERVOLUME in history.columns
    value = (
        HYPERVOLUME
        if several
        else next(c for c in history.columns if c not in ("round", "experiments"))
    )
    fig = go.Figure(
        go.Scatter(
            x=history["experiments"],
            y=history[value],
            mode="lines+markers",
            line={"color": COLOURS[0]},
            customdata=history["round"],
            hovertemplate="round %{customdata}, %{x} experiments: %{y:.4g}<extra></extra>",
            name=value,
        )
    )
    # experiments are counted in whole recipes: no 30.5 ticks on a short history
    n = history["experiments"].to_numpy(dtype=float)
    fig.update_xaxes(title="experiments so far", tickformat="d")
    if len(n) and n.max() == n.min():  # no round yet: one tick, at the measured count
        fig.update_xaxes(tickvals=[n[0]], range=[n[0] - 1, n[0] + 1])
    elif len(n) and n.max() - n.min() <= 12:
        fig.update_xaxes(dtick=1)
    fig.update_yaxes(
        title="hypervolume (fraction of the worst-to-best box)"
        if several
        else _titled(value, {f"best {k}": u for k, u in (units or {}).items()}),
        rangemode="tozero" if several else "normal",
    )
    return layout(fig, height=320)


def pareto_figure(
    measured: pd.DataFrame,
    objectives: Sequence[str],
    pareto: np.ndarray,
    round_col: str = "round",
    units: Mapping[str, str] | None = None,
) -> go.Figure:
    """Measured recipes in objective space, Pareto-optimal ones in the strong colour: a 2-D
    scatter for two objectives, ``scatter_3d`` for three (more: the first three); axes
    titled with ``units`` (objective name -> unit)."""
    objs = list(objectives)[:3]
    mask = np.asarray(pareto, dtype=bool)
    fig = go.Figure()
    for on_front, colour, name in ((False, MUTED, "dominated"), (True, STRONG, "Pareto-optimal")):
        sub = measured[mask == on_front]
        hover = "<br>".join(f"{o} %{{customdata[{i}]:.4g}}" for i, o in enumerate(objs))
        common = dict(
            mode="markers",
            name=name,
            customdata=np.column_stack([sub[o] for o in objs] + [sub[round_col]]),
            hovertemplate=hover + f"<br>round %{{customdata[{len(objs)}]}}<extra>{name}</extra>",
        )
        if len(objs) == 3:
            fig.add_trace(
                go.Scatter3d(
                    x=sub[objs[0]],
                    y=sub[objs[1]],
                    z=sub[objs[2]],
                    marker={"size": 4, "color": colour},
                    **common,
                )
            )
        else:
            fig.add_trace(
                go.Scatter(
                    x=sub[objs[0]], y=sub[objs[1]], marker={"size": 8, "color": colour}, **common
                )
            )
    if len(objs) == 3:
        fig.update_layout(
            scene={
                "xaxis_title": _titled(objs[0], units),
                "yaxis_title": _titled(objs[1], units),
                "zaxis_title": _titled(objs[2], units),
            }
        )
        return layout(fig, height=520)
    fig.update_xaxes(title=_titled(objs[0], units))
    fig.update_yaxes(title=_titled(objs[1], units))
    return layout(fig, height=380)


def prediction_map_figure(
    grid: pd.DataFrame, points: pd.DataFrame, x: str, y: str, objective: str
) -> go.Figure:
    """Predicted ``objective`` over two variables (:meth:`Campaign.prediction_map`), the
    cells that break a constraint faded, the measured recipes as dots."""
    xs, ys = np.sort(grid[x].unique()), np.sort(grid[y].unique())
    table = grid.pivot_table(index=y, columns=x, values="mean").reindex(index=ys, columns=xs)
    feasible = grid.pivot_table(index=y, columns=x, values="feasible").reindex(index=ys, columns=xs)
    std = grid.pivot_table(index=y, columns=x, values="std").reindex(index=ys, columns=xs)
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            x=xs,
            y=ys,
            z=table.to_numpy(),
            customdata=std.to_numpy(),
            colorscale="Viridis",
            colorbar={"title": f"predicted {objective}"},
            hovertemplate=f"{x} %{{x:.4g}}<br>{y} %{{y:.4g}}<br>{objective} %{{z:.4g}} ± "
            "%{customdata:.2g}<extra></extra>",
            name="prediction",
        )
    )
    blocked = np.where(feasible.to_numpy() > 0.5, np.nan, 1.0)
    if np.isfinite(blocked).any():
        fig.add_trace(
            go.Heatmap(
                x=xs,
                y=ys,
                z=blocked,
                colorscale=[[0, "rgba(255,255,255,0.65)"], [1, "rgba(255,255,255,0.65)"]],
                showscale=False,
                hoverinfo="skip",
                name="breaks a constraint",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=points[x],
            y=points[y],
            mode="markers",
            marker={"color": "black", "size": 6},
            name="measured recipes",
            hovertemplate=f"{x} %{{x:.4g}}<br>{y} %{{y:.4g}}<extra>measured</extra>",
        )
    )
    fig.update_xaxes(title=x, range=[xs.min(), xs.max()])
    fig.update_yaxes(title=y, range=[ys.min(), ys.max()])
    return layout(fig, height=440)


def loo_parity_figure(loo: pd.DataFrame, objectives: Sequence[str]) -> go.Figure:
    """Leave-one-out surrogate prediction vs measured value, a panel per objective, with
    the leave-one-out RMSE in each panel's title."""
    objs = list(objectives)
    titles = []
    for o in objs:
        rmse = float(np.sqrt(((loo[o] - loo[f"{o}_loo_mean"]) ** 2).mean()))
        titles.append(f"{o}: leave-one-out RMSE {rmse:.3g} ({len(loo)} recipes)")
    fig = make_subplots(rows=1, cols=len(objs), subplot_titles=titles)
    for i, o in enumerate(objs, 1):
        lo = float(min(loo[o].min(), loo[f"{o}_loo_mean"].min()))
        hi = float(max(loo[o].max(), loo[f"{o}_loo_mean"].max()))
        fig.add_trace(
            diagonal(lo, hi),
            row=1,
            col=i,
        )
        fig.add_trace(
            go.Scattergl(
                x=loo[o],
                y=loo[f"{o}_loo_mean"],
                mode="markers",
                marker={"size": 6, "color": COLOURS[0]},
                error_y={"array": loo[f"{o}_loo_std"], "thickness": 0.6, "color": MUTED},
                showlegend=False,
                hovertemplate="measured %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
            ),
            row=1,
            col=i,
        )
        fig.update_xaxes(title=f"measured {o}", row=1, col=i)
        fig.update_yaxes(title="leave-one-out prediction", row=1, col=i)
    return layout(fig, height=380)
