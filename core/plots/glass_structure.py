"""Charts and the comparison table of generated glass structures beside the MD glasses.

Every figure takes the ``{"generated": profiles, "md": profiles}`` dict of
:meth:`core.generate.glass.GlassStructureReport.profiles` (``"md"`` may be absent) with the
curves of :func:`core.generate.glass_analysis.profiles`. Generated curves are solid, MD
dashed, in the same colour per pair or angle, so the two read as one series each.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.plots._style import COLOURS, layout

Profiles = Mapping[str, Mapping[str, pd.DataFrame]]

PAIRS = ("Si-O", "O-O", "Si-Si", "Na-O")
R_RANGE = (0.0, 8.0)  # Å
RDF_BIN_A = 0.04  # display bins: the 0.01 Å bins of one small box are mostly counting noise
SOURCES = (("generated", "generated", "solid"), ("md", "MD", "dash"))
ANGLES = (("OSiO", "O-Si-O"), ("SiOSi", "Si-O-Si"))
SOURCE_COLOURS = {"generated": COLOURS[0], "md": "#7F7F7F"}

MEASURE_LABELS = {
    "density_g_cm3": "density (g/cm³)",
    "si_4fold_frac": "Si 4-fold (fraction)",
    "si_3fold_frac": "Si ≤3-fold (fraction)",
    "si_5fold_frac": "Si ≥5-fold (fraction)",
    "si_cn_mean": "Si coordination (mean)",
    "o_2fold_frac": "O 2-fold, bridging (fraction)",
    "o_1fold_frac": "O 1-fold, non-bridging (fraction)",
    "o_3fold_frac": "O ≥3-fold (fraction)",
    "na_cn_mean": "Na coordination (mean)",
    "sio_bond_mean_A": "Si-O bond length (Å)",
    "oo_tetra_mean_A": "O-O tetrahedron edge (Å)",
    "sisi_bridged_mean_A": "Si-Si across a bridging O (Å)",
    "peak_SiO_A": "Si-O RDF peak (Å)",
    "peak_OO_A": "O-O RDF peak (Å)",
    "peak_SiSi_A": "Si-Si RDF peak (Å)",
    "peak_NaO_A": "Na-O RDF peak (Å)",
    "OSiO_mean_deg": "O-Si-O angle, mean (°)",
    "OSiO_std_deg": "O-Si-O angle, spread (°)",
    "SiOSi_mean_deg": "Si-O-Si angle, mean (°)",
    "SiOSi_std_deg": "Si-O-Si angle, spread (°)",
    "ring_mean_size": "ring size, mean (Si per ring)",
    "rings_per_si": "rings per Si",
    "fsdp_q_inv_A": "first sharp diffraction peak (1/Å)",
    "energy_per_atom_eV": "energy per atom (eV, SHIK)",
    **{f"q{n}_frac": f"Q{n} Si (fraction)" for n in range(5)},
    **{f"ring_frac_{n}": f"rings of {n} Si (fraction)" for n in range(2, 13)},
}
TABLE_COLUMNS = ("measure", "generated", "MD", "MD spread", "difference", "target", "meets")


def _sources(profiles: Profiles, table: str) -> Iterator[tuple[str, str, str, pd.DataFrame]]:
    """(key, legend label, line dash, frame) of the profiles present, generated first."""
    for key, label, dash in SOURCES:
        if key in profiles and table in profiles[key]:
            yield key, label, dash, profiles[key][table]


def rebin(df: pd.DataFrame, width: float, x: str = "r") -> pd.DataFrame:
    """Average consecutive bins of an evenly binned curve into bins of about ``width``
    (the mean of a density over sub-bins is its value on the wider bin)."""
    if len(df) < 2:
        return df
    k = max(1, round(width / float(df[x].iloc[1] - df[x].iloc[0])))
    if k == 1:
        return df
    n = len(df) // k * k
    return df.iloc[:n].groupby(np.arange(n) // k).mean().reset_index(drop=True)


def rdf_figure(
    profiles: Profiles, bin_width: float = RDF_BIN_A, height_per_pair: int = 170
) -> go.Figure:
    """Partial RDFs g(r), one panel per pair (Si-O, O-O, Si-Si and Na-O when present),
    shown on bins of ``bin_width`` Å."""
    present = [p for p in PAIRS if any(p in df for *_, df in _sources(profiles, "rdf"))]
    rows = max(1, len(present))
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=present
    )
    for row, pair in enumerate(present, start=1):
        colour = COLOURS[PAIRS.index(pair) % len(COLOURS)]
        for _, label, dash, df in _sources(profiles, "rdf"):
            if pair not in df:
                continue
            df = rebin(df[["r", pair]], bin_width)
            fig.add_trace(
                go.Scatter(
                    x=df["r"],
                    y=df[pair],
                    mode="lines",
                    line={"color": colour, "dash": dash, "width": 2 if dash == "solid" else 1.5},
                    name=f"{pair} {label}",
                    legendgroup=pair,
                    hovertemplate="%{x:.2f} Å: g %{y:.2f}<extra>" + f"{pair} {label}</extra>",
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(title_text="g(r)", row=row, col=1)
    fig.update_xaxes(range=list(R_RANGE))
    fig.update_xaxes(title_text="r (Å)", row=rows, col=1)
    return layout(fig, height=80 + height_per_pair * rows, title="Partial radial distributions")


def angle_figure(profiles: Profiles) -> go.Figure:
    """O-Si-O and Si-O-Si angle distributions (probability density, 1/deg), side by side."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=[name for _, name in ANGLES])
    for col, (column, name) in enumerate(ANGLES, start=1):
        colour = COLOURS[(col + 3) % len(COLOURS)]
        for _, label, dash, df in _sources(profiles, "angles"):
            if column not in df:
                continue
            fig.add_trace(
                go.Scatter(
                    x=df["angle_deg"],
                    y=df[column],
                    mode="lines",
                    line={"color": colour, "dash": dash, "width": 2 if dash == "solid" else 1.5},
                    name=f"{name} {label}",
                    legendgroup=name,
                    hovertemplate="%{x:.0f}°: %{y:.4f} /°<extra>" + f"{name} {label}</extra>",
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text=f"{name} angle (°)", range=[0, 180], row=1, col=col)
    fig.update_yaxes(title_text="probability density (1/°)", row=1, col=1)
    return layout(fig, height=400, title="Bond angles")


def ring_figure(profiles: Profiles) -> go.Figure:
    """Shortest-path ring sizes (fraction of rings with n Si): generated and MD bars."""
    fig = go.Figure()
    for key, label, _, df in _sources(profiles, "rings"):
        fig.add_trace(
            go.Bar(
                x=df["n_si"],
                y=df["fraction"],
                name=label,
                marker={"color": SOURCE_COLOURS[key]},
                hovertemplate="%{x}-rings: %{y:.3f}<extra>" + label + "</extra>",
            )
        )
    fig.update_xaxes(title_text="ring size (Si per ring)", dtick=1)
    fig.update_yaxes(title_text="fraction of rings", rangemode="tozero")
    return layout(fig, height=400, barmode="group", title="Ring statistics")


def sq_figure(profiles: Profiles) -> go.Figure:
    """Total neutron structure factor S(q) (Faber-Ziman, from the partial RDFs)."""
    fig = go.Figure()
    for _, label, dash, df in _sources(profiles, "sq"):
        fig.add_trace(
            go.Scatter(
                x=df["q_inv_A"],
                y=df["S"],
                mode="lines",
                line={"color": COLOURS[2], "dash": dash, "width": 2 if dash == "solid" else 1.5},
                name=f"S(q) {label}",
                hovertemplate="%{x:.2f} 1/Å: S %{y:.3f}<extra>" + label + "</extra>",
            )
        )
    fig.update_xaxes(title_text="q (1/Å)", rangemode="tozero")
    fig.update_yaxes(title_text="S(q)")
    return layout(fig, height=400, title="Total neutron structure factor")


# ----------------------------------------------------------------------------- table
def _number(value, spec: str = ".4g") -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return ""
    return format(x, spec) if math.isfinite(x) else ""


def comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison of :meth:`GlassStructureReport.comparison` for reading: one row per
    measure with its label, the generated mean (± std over structures), the MD mean and
    spread, the difference, the target (``|Δ| ≤ tolerance`` or ``≥ floor``) and ✓ / ✗."""
    rows = []
    for measure, r in comparison.iterrows():
        generated = _number(r["generated_mean"])
        spread = _number(r["generated_std"], ".2g")
        if spread:
            generated += f" ± {spread}"
        if _number(r["floor"]):
            target = f"≥ {_number(r['floor'])}"
        elif _number(r["tolerance"]):
            target = f"|Δ| ≤ {_number(r['tolerance'])}"
        else:
            target = ""
        meets = r["meets_target"]
        rows.append(
            {
                "measure": MEASURE_LABELS.get(str(measure), str(measure)),
                "generated": generated,
                "MD": _number(r["reference_mean"]),
                "MD spread": _number(r["reference_std"], ".2g"),
                "difference": _number(r["difference"], "+.3g"),
                "target": target,
                "meets": "" if pd.isna(meets) else ("✓" if meets else "✗"),
            }
        )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


__all__ = [
    "rdf_figure",
    "angle_figure",
    "ring_figure",
    "sq_figure",
    "comparison_table",
    "MEASURE_LABELS",
]
