"""Glass properties: a formulation -> Tg, liquidus, nD, Abbe, CTE, E and the viscosity curve.

Layout and session state only; every number comes from :mod:`core.models.glass`.
"""

from __future__ import annotations

import io

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.chem.composition import parse_composition, to_mass_fractions
from core.exceptions import DataNotAvailableError, InvalidInputError, ModelNotAvailableError
from core.models.glass import LABELS, PROPERTIES, UNITS, load_predictor

# Presets: (basis, amounts). Typical industrial compositions, rounded.
PRESETS: dict[str, tuple[str, dict[str, float]]] = {
    "Fused silica": ("mol", {"SiO2": 100.0}),
    "Soda-lime (float glass)": (
        "wt",
        {"SiO2": 72.6, "Na2O": 13.9, "CaO": 8.4, "MgO": 3.9, "Al2O3": 1.1, "K2O": 0.1},
    ),
    "Borosilicate (Pyrex type)": ("wt", {"SiO2": 80.6, "B2O3": 13.0, "Na2O": 4.0, "Al2O3": 2.3}),
    "E-glass": (
        "wt",
        {"SiO2": 54.0, "Al2O3": 14.0, "CaO": 22.0, "B2O3": 7.5, "MgO": 1.0, "Na2O": 0.5},
    ),
}
BASES = {"mol%": "mol", "wt%": "wt"}
MAX_COMPARE = 4
SHOWN = {  # property -> (format, scale, unit shown)
    "Tg": ("{:.0f}", 1.0, "K"),
    "Tliquidus": ("{:.0f}", 1.0, "K"),
    "RefractiveIndex": ("{:.4f}", 1.0, ""),
    "AbbeNumber": ("{:.1f}", 1.0, ""),
    "CTE": ("{:.2f}", 1e6, "ppm/K"),
    "ElasticModulus": ("{:.1f}", 1.0, "GPa"),
}

# Session-state keys
ROWS = "glass_rows"  # base table of the editor (changed by presets and pasted text)
EDITOR_VERSION = "glass_editor_version"  # bump to reset the editor to ROWS
BASIS = "glass_basis"
PRESET = "glass_preset"
TEXT = "glass_text"
TEXT_ERROR = "glass_text_error"
COMPARE = "glass_compare"  # list of {"name": str, "composition": {formula: mole fraction}}


def _rows(amounts: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"component": list(amounts), "amount": [float(v) for v in amounts.values()]}
    )


def init_state() -> None:
    basis, amounts = PRESETS["Soda-lime (float glass)"]
    st.session_state.setdefault(ROWS, _rows(amounts))
    st.session_state.setdefault(EDITOR_VERSION, 0)
    st.session_state.setdefault(BASIS, "wt%" if basis == "wt" else "mol%")
    st.session_state.setdefault(PRESET, "Soda-lime (float glass)")
    st.session_state.setdefault(TEXT, "")
    st.session_state.setdefault(TEXT_ERROR, "")
    st.session_state.setdefault(COMPARE, [])


def load_preset() -> None:
    basis, amounts = PRESETS[st.session_state[PRESET]]
    st.session_state[ROWS] = _rows(amounts)
    st.session_state[BASIS] = "wt%" if basis == "wt" else "mol%"
    st.session_state[EDITOR_VERSION] += 1
    st.session_state[TEXT_ERROR] = ""


def use_text() -> None:
    """Replace the editor rows by the pasted composition (kept, with the error, if invalid)."""
    basis = BASES[st.session_state[BASIS]]
    try:
        mole = parse_composition(st.session_state[TEXT], basis)
    except InvalidInputError as err:
        st.session_state[TEXT_ERROR] = str(err)
        return
    shown = to_mass_fractions(mole) if basis == "wt" else mole
    st.session_state[ROWS] = _rows({f: round(100 * x, 4) for f, x in shown.items()})
    st.session_state[EDITOR_VERSION] += 1
    st.session_state[TEXT_ERROR] = ""


@st.cache_resource(show_spinner="Loading the glass model…")
def predictor():
    return load_predictor()


@st.cache_data(show_spinner=False, max_entries=256)
def report(composition: tuple[tuple[str, float], ...]) -> dict:
    return predictor().report(dict(composition))


@st.cache_data(show_spinner="Searching SciGlass for the nearest measured glasses…")
def nearest(composition: tuple[tuple[str, float], ...], with_viscosity: bool) -> pd.DataFrame:
    return predictor().nearest(dict(composition), k=5, with_viscosity=with_viscosity)


def value_text(row: pd.Series, prop: str) -> str:
    fmt, scale, unit = SHOWN[prop]
    text = f"{fmt.format(row[prop] * scale)} ± {fmt.format(row[f'{prop}_std'] * scale)}"
    return f"{text} {unit}".strip()


def correction_text(row: pd.Series, prop: str) -> str:
    fmt, scale, unit = SHOWN[prop]
    return f"{'+' if row[f'{prop}_correction'] >= 0 else '−'}" + (
        f"{fmt.format(abs(row[f'{prop}_correction']) * scale)} {unit}".strip()
    )


def viscosity_chart(curves: pd.DataFrame, points: pd.DataFrame, measured: pd.DataFrame):
    """log10 eta vs T: mean line, ±2 std band, characteristic points, measured points."""
    curves = curves.assign(
        lo=curves["log10_viscosity"] - 2 * curves["log10_viscosity_std"],
        hi=curves["log10_viscosity"] + 2 * curves["log10_viscosity_std"],
    )
    x = alt.X("T_K:Q", title="Temperature (K)", scale=alt.Scale(zero=False))
    y_scale = alt.Scale(domain=[-1, 15], clamp=True)
    color = alt.Color("formulation:N", legend=alt.Legend(orient="bottom", title=None))
    band = (
        alt.Chart(curves)
        .mark_area(opacity=0.2)
        .encode(
            x=x,
            y=alt.Y("lo:Q", scale=y_scale, title="log10 viscosity (Pa s)"),
            y2="hi:Q",
            color=color,
        )
    )
    line = (
        alt.Chart(curves)
        .mark_line()
        .encode(
            x=x,
            y=alt.Y("log10_viscosity:Q", scale=y_scale),
            color=color,
            tooltip=[
                "formulation",
                alt.Tooltip("T_K:Q", format=".0f"),
                alt.Tooltip("log10_viscosity:Q", format=".2f"),
            ],
        )
    )
    layers = [band, line]
    if not points.empty:
        layers.append(
            alt.Chart(points)
            .mark_point(filled=True, size=70, shape="diamond")
            .encode(
                x="T_K:Q",
                y=alt.Y("log10_viscosity:Q", scale=y_scale),
                color=color,
                tooltip=["formulation", "point", alt.Tooltip("T_K:Q", format=".0f")],
            )
        )
        layers.append(
            alt.Chart(points)
            .mark_text(dx=8, dy=-8, align="left")
            .encode(x="T_K:Q", y=alt.Y("log10_viscosity:Q", scale=y_scale), text="point:N")
        )
    if not measured.empty:
        layers.append(
            alt.Chart(measured)
            .mark_circle(size=35, opacity=0.8, color="black")
            .encode(
                x="T_K:Q",
                y=alt.Y("log10_viscosity:Q", scale=y_scale),
                shape=alt.Shape(
                    "glass:N", legend=alt.Legend(orient="bottom", title="measured (SciGlass)")
                ),
                tooltip=["glass", alt.Tooltip("T_K:Q", format=".0f"), "log10_viscosity"],
            )
        )
    return alt.layer(*layers).properties(height=420)


def show_prediction(model, composition: dict[str, float]) -> None:
    result = report(tuple(composition.items()))
    row = result["prediction"].iloc[0]
    if not row["in_domain"]:
        st.warning(row["domain_message"], icon=":material/warning:")
    elif row["domain_message"]:
        st.info(row["domain_message"])
    else:
        st.caption(
            f"In the training domain: the nearest training glass differs by "
            f"{row['nearest_distance_molpct']:.1f} mol%."
        )
    cols = st.columns(2)  # two wide columns: "1.5168 ± 0.0012" must not be cut
    for i, prop in enumerate(PROPERTIES):
        cols[i % 2].metric(LABELS[prop], value_text(row, prop))
    moved = [
        f"{LABELS[p].split(' (')[0]} {correction_text(row, p)}"
        for p in PROPERTIES
        if abs(row[f"{p}_correction"]) >= 0.1 * row[f"{p}_std"]
    ]
    if moved:
        st.caption(
            "Measured SciGlass glasses close to this one moved the network's values by: "
            + "; ".join(moved)
            + " (model card: measured-neighbour correction)."
        )
    st.caption(
        "± combines the spread (standard deviation) of the ensemble members with a "
        "per-property floor (the scatter the members do not see, e.g. between papers), fitted "
        "so that about 68 % of held-out errors fall within it (model card: uncertainty "
        "calibration); the viscosity band, T12, fragility and characteristic temperatures "
        "use one factor fitted on measured viscosity points."
    )

    st.subheader("Viscosity curve (MYEGA)")
    curve = result["curve"].assign(formulation="this formulation")
    char = result["characteristic"].assign(formulation="this formulation")
    overlay = st.toggle("Show measured points of the nearest SciGlass glasses", value=True)
    measured = pd.DataFrame()
    near_visc = None
    if overlay:
        try:
            near_visc = nearest(tuple(composition.items()), True)
            measured = model.measured_viscosity(near_visc["key"].tolist())
            names = {
                k: f"{d:.1f} mol% away: {c[:60]}"
                for k, d, c in zip(
                    near_visc["key"],
                    near_visc["distance_molpct"],
                    near_visc["composition"],
                    strict=True,
                )
            }
            measured = measured.assign(glass=measured["key"].map(names))
        except DataNotAvailableError as err:
            st.info(f"Measured points need the data cache: {err}")
    st.altair_chart(viscosity_chart(curve, char, measured), width="stretch")
    first = result["curve"].iloc[0]
    coverage = model.card.get("calibration", {}).get("log10_viscosity", {}).get("within_2std")
    band = "Band: ± 2 std" + (
        f" (it holds {coverage:.0%} of the measured held-out test points; model card)."
        if coverage is not None
        else "."
    )
    st.markdown(
        f"Fragility **m = {first['fragility']:.1f} ± {first['fragility_std']:.1f}**, "
        f"T12 = **{first['T12']:.0f} ± {first['T12_std']:.0f} K**, "
        f"log10 η∞ = {first['A']:.2f} ± {first['A_std']:.2f} (Pa s). {band}"
    )
    if row["tie_message"]:
        st.info(row["tie_message"], icon=":material/info:")
    table = char[["point", "log10_viscosity", "T_K", "T_K_std"]].assign(T_C=char["T_K"] - 273.15)
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "point": "Point",
            "log10_viscosity": st.column_config.NumberColumn("log10 η (Pa s)", format="%.1f"),
            "T_K": st.column_config.NumberColumn("T (K)", format="%.0f"),
            "T_K_std": st.column_config.NumberColumn("± (K)", format="%.0f"),
            "T_C": st.column_config.NumberColumn("T (°C)", format="%.0f"),
        },
    )

    st.subheader("Nearest measured glasses (SciGlass)")
    try:
        near = nearest(tuple(composition.items()), False)
        st.dataframe(
            near,
            hide_index=True,
            column_config={
                "distance_molpct": st.column_config.NumberColumn("distance (mol%)", format="%.2f"),
                "CTE": st.column_config.NumberColumn("CTE (1/K)", format="%.2e"),
            },
        )
        st.caption(
            "Distance: mol% that would have to change to turn one composition into the "
            "other. SciGlass data: ODbL 1.0, © 2019 EPAM Systems."
        )
    except DataNotAvailableError as err:
        st.info(f"{err} The predictions above do not need it.")

    if st.button(
        "Add to comparison",
        key="glass_add_compare",
        disabled=len(st.session_state[COMPARE]) >= MAX_COMPARE,
    ):
        name = row["composition"]
        if all(c["name"] != name for c in st.session_state[COMPARE]):
            st.session_state[COMPARE].append({"name": name, "composition": composition})
        st.rerun()


def show_compare(model) -> None:
    saved = st.session_state[COMPARE]
    if not saved:
        st.info(
            f"Add up to {MAX_COMPARE} formulations with **Add to comparison** on the "
            "Prediction tab."
        )
        return
    frame = model.predict([c["composition"] for c in saved])
    frame.insert(0, "formulation", [f"#{i + 1}" for i in range(len(saved))])
    shown = frame[["formulation", "composition"]].copy()
    for prop in PROPERTIES:
        shown[f"{LABELS[prop]} ({SHOWN[prop][2] or '-'})"] = [
            value_text(r, prop) for _, r in frame.iterrows()
        ]
    shown["in domain"] = frame["in_domain"]
    st.dataframe(shown, hide_index=True)
    curves, points = [], []
    for i, c in enumerate(saved):
        r = report(tuple(c["composition"].items()))
        curves.append(r["curve"].assign(formulation=f"#{i + 1}"))
        points.append(r["characteristic"].assign(formulation=f"#{i + 1}"))
    st.altair_chart(
        viscosity_chart(pd.concat(curves), pd.concat(points), pd.DataFrame()),
        width="stretch",
    )
    if st.button("Clear the comparison", key="glass_clear_compare"):
        st.session_state[COMPARE] = []
        st.rerun()


def show_batch(model, basis: str) -> None:
    st.markdown(
        "Upload a CSV with either a `composition` column (text such as `SiO2 75, Na2O 25`) "
        "or one column per component named by its formula (`SiO2`, `Na2O`, …). Amounts are "
        f"read as **{'wt%' if basis == 'wt' else 'mol%'}** (the toggle above); other columns "
        "are kept. Rows that cannot be read get a message in the `error` column."
    )
    template = pd.DataFrame(
        {
            "name": ["window glass", "silica"],
            "SiO2": [72.6, 100],
            "Na2O": [13.9, 0],
            "CaO": [8.4, 0],
            "MgO": [3.9, 0],
        }
    )
    st.download_button(
        "Template CSV",
        template.to_csv(index=False),
        "glass_template.csv",
        "text/csv",
        key="glass_template",
    )
    upload = st.file_uploader("Formulations (CSV)", type=["csv"], key="glass_upload")
    if upload is None:
        return
    try:
        table = pd.read_csv(io.BytesIO(upload.getvalue()))
        result = model.predict_table(table, basis)
    except InvalidInputError as err:
        st.error(str(err))
        return
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        st.error(
            f"Cannot read the file as CSV: {err}. Expected: comma-separated text with a "
            "header row. How to fix: export the sheet as CSV (UTF-8)."
        )
        return
    n_err = int((result["error"] != "").sum())
    st.write(f"{len(result)} rows predicted, {n_err} with an error.")
    st.dataframe(result, hide_index=True)
    st.download_button(
        "Download predictions (CSV)",
        result.to_csv(index=False),
        "glass_predictions.csv",
        "text/csv",
        key="glass_download",
    )


def show_card(model) -> None:
    card = model.card
    data = card["data"]["sciglass"]
    st.markdown(
        f"**{card['model']}**, {card['ensemble_size']} members (seeds {card['seeds']}), trained "
        f"{card['date'][:10]} (commit `{card['git_commit']}`) on SciGlass "
        f"({data['package']}=={data['version']}, {data['licence']}). "
        f"Filter: {card['filter']}. Split: {card['split']}. Glasses: {card['n_glasses']}; "
        f"viscosity points: {card['n_viscosity_points']}."
    )
    vf = card.get("viscosity_filter")
    if vf:
        st.caption(
            f"Viscosity data check: {vf['rule']}. Dropped {vf['series_dropped']} series "
            f"({vf['points_dropped']} points), {vf['of_them_about_273_K_low']} of them about "
            "273 K low."
        )
    rows = []
    for prop in PROPERTIES:
        m = card["test_metrics"][prop]
        scale = 1e6 if prop == "CTE" else 1.0
        unit = "ppm/K" if prop == "CTE" else UNITS[prop]
        rows.append(
            {
                "property": LABELS[prop],
                "unit": unit,
                "test glasses": m["n"],
                "RMSE": m["rmse"] * scale,
                "MAE": m["mae"] * scale,
                "R²": m["r2"],
            }
        )
    for key, label in (
        ("log10_viscosity", "Viscosity (MYEGA curve), all test points"),
        ("log10_viscosity_consistent", "Viscosity, series consistent with their own Tg"),
    ):
        v = card["test_metrics"].get(key)
        if v is None:
            continue
        rows.append(
            {
                "property": label,
                "unit": "log10 Pa s",
                "test glasses": v["glasses"],
                "RMSE": v["rmse"],
                "MAE": v["mae"],
                "R²": v["r2"],
            }
        )
    st.subheader("Test metrics (held-out test split)")
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(c, format="%.4g") for c in ("RMSE", "MAE", "R²")
        },
    )
    calibration = card.get("calibration")
    if calibration:
        st.subheader("Uncertainty calibration (test glasses)")
        st.markdown(card["calibration_method"])
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "property": LABELS.get(p, "Viscosity (log10 η at measured points)"),
                        "std factor": c["std_scale"],
                        "std floor (property units)": c.get("std_floor"),
                        "within 1 std": c["within_1std"],
                        "within 2 std": c["within_2std"],
                        "within 1 std (unscaled)": c["raw_within_1std"],
                        "within 2 std (unscaled)": c["raw_within_2std"],
                        "test glasses (viscosity: points)": c["n"],
                    }
                    for p, c in calibration.items()
                ]
            ),
            hide_index=True,
            column_config={
                "std floor (property units)": st.column_config.NumberColumn(format="%.3g"),
                **{
                    c: st.column_config.NumberColumn(c, format="%.2f")
                    for c in (
                        "std factor",
                        "within 1 std",
                        "within 2 std",
                        "within 1 std (unscaled)",
                        "within 2 std (unscaled)",
                    )
                },
            },
        )
    correction = card.get("neighbour_correction")
    if correction:
        st.subheader("Measured-neighbour correction")
        st.markdown(card["neighbour_correction_method"])
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "property": LABELS[p],
                        "neighbours k": c["k"],
                        "width h (mol%)": c["h_molpct"],
                        "shrinkage λ": c["lambda"],
                        "validation RMSE, network": c["val_rmse_network"] * SHOWN[p][1],
                        "validation RMSE, corrected": c["val_rmse_corrected"] * SHOWN[p][1],
                        "unit": SHOWN[p][2] or "-",
                    }
                    for p, c in correction.items()
                ]
            ),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(c, format="%.4g")
                for c in ("validation RMSE, network", "validation RMSE, corrected")
            },
        )
    tie = card["tg_t12_agreement"]
    if tie.get("tg_network"):
        st.markdown(
            "**Tg and T12.** Tg comes from a network trained on Tg alone (every task a network "
            "shares with Tg, the viscosity above all, cost Tg accuracy). The viscosity curve "
            "comes from the joint property + viscosity network, whose T12 (10^12 Pa s) is its "
            f"own Tg plus a bounded offset (on average {tie['mean_abs_T12_minus_joint_Tg_K']:.1f}"
            " K apart). Forcing T12 onto the better Tg made held-out viscosity worse, so the "
            f"two are reported, not forced together: on the {tie['n_test_glasses']} test "
            f"glasses T12 and the Tg shown differ by {tie['mean_abs_T12_minus_Tg_pred_K']:.1f} K"
            f" on average, by more than 50 K for "
            f"{tie['share_abs_T12_minus_Tg_pred_over_50_K']:.1%} of them (the result then says "
            f"so). RMSE against measured Tg: Tg shown {tie['rmse_Tg_pred_vs_measured_Tg_K']:.1f}"
            f" K, the joint network's Tg {tie['rmse_joint_Tg_vs_measured_Tg_K']:.1f} K, T12 "
            f"{tie['rmse_T12_vs_measured_Tg_K']:.1f} K."
        )
    else:
        network_gap = tie.get(
            "mean_abs_T12_minus_network_Tg_K", tie["mean_abs_T12_minus_Tg_pred_K"]
        )
        network_max = tie.get("max_abs_T12_minus_network_Tg_K", tie["max_abs_T12_minus_Tg_pred_K"])
        st.markdown(
            f"**Tg and T12.** T12 (10^12 Pa s) of the viscosity head is the network's Tg plus a "
            f"bounded offset: on the {tie['n_test_glasses']} test glasses they differ by "
            f"{network_gap:.1f} K on average (at most {network_max:.1f} K)"
            + (
                f"; the Tg shown, with the measured-neighbour correction, differs from T12 by "
                f"{tie['mean_abs_T12_minus_Tg_pred_K']:.1f} K on average"
                if correction
                else ""
            )
            + f". RMSE against measured Tg: Tg {tie['rmse_Tg_pred_vs_measured_Tg_K']:.1f} K, "
            f"T12 {tie['rmse_T12_vs_measured_Tg_K']:.1f} K."
        )
    nkas = card["test_metrics"].get("Tg_NKAS", {})
    if nkas.get("n"):
        st.markdown(
            f"Tg on Na2O-K2O-Al2O3-SiO2 test glasses: RMSE {nkas['rmse']:.1f} K "
            f"({nkas['n']} glasses)."
        )
    st.subheader("Parity plots (test glasses)")
    test = model.test_predictions()
    cols = st.columns(3)
    for i, prop in enumerate(PROPERTIES):
        sub = test[test[prop].notna()][[prop, f"{prop}_pred"]]
        sub = sub.sample(min(len(sub), 3000), random_state=0)
        scale = 1e6 if prop == "CTE" else 1.0
        sub = sub * scale
        lo, hi = np.nanpercentile(sub.to_numpy(), [0.5, 99.5])
        base = (
            alt.Chart(sub)
            .mark_circle(size=8, opacity=0.35)
            .encode(
                x=alt.X(
                    f"{prop}:Q", title="measured", scale=alt.Scale(domain=[lo, hi], clamp=True)
                ),
                y=alt.Y(
                    f"{prop}_pred:Q",
                    title="predicted",
                    scale=alt.Scale(domain=[lo, hi], clamp=True),
                ),
            )
        )
        diag = (
            alt.Chart(pd.DataFrame({"a": [lo, hi]}))
            .mark_line(color="grey")
            .encode(x="a:Q", y="a:Q")
        )
        cols[i % 3].altair_chart(
            (base + diag).properties(
                title=f"{LABELS[prop]} ({'ppm/K' if prop == 'CTE' else UNITS[prop]})", height=260
            ),
            width="stretch",
        )
    visc = model.test_viscosity().sample(frac=1.0, random_state=0).head(4000)
    diag = alt.Chart(pd.DataFrame({"a": [-2, 14]})).mark_line(color="grey").encode(x="a:Q", y="a:Q")
    points = (
        alt.Chart(visc)
        .mark_circle(size=8, opacity=0.35)
        .encode(
            x=alt.X(
                "log10_viscosity:Q",
                title="measured log10 η (Pa s)",
                scale=alt.Scale(domain=[-2, 14], clamp=True),
            ),
            y=alt.Y(
                "log10_viscosity_pred:Q",
                title="predicted (MYEGA curve)",
                scale=alt.Scale(domain=[-2, 14], clamp=True),
            ),
        )
    )
    cols[0].altair_chart(
        (points + diag).properties(title="Viscosity, held-out glasses", height=260),
        width="stretch",
    )
    st.subheader("Test RMSE by group")
    for group, title in (("n_components", "number of components"), ("family", "glass family")):
        rows = []
        for name, metrics in card["test_metrics_by_group"][group].items():
            row = {title: name}
            for prop in PROPERTIES:
                m = metrics[prop]
                scale = 1e6 if prop == "CTE" else 1.0
                row[f"{prop} (n)"] = m["n"]
                row[f"{prop} RMSE"] = m["rmse"] * scale if m["n"] else None
            rows.append(row)
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    dom = card["domain"]
    st.caption(
        f"Applicability domain: a component in fewer than {dom['rare_threshold']} training "
        f"glasses is rare; a composition is flagged when more than "
        f"{100 * dom['max_rare_share']:.0f} mol% is rare or unseen, a component is not an oxide, "
        f"or the nearest of the {dom['knn_glasses']} training glasses differs by more than "
        f"{dom['distance_threshold_molpct']:.1f} mol% (95th percentile over validation glasses)."
    )


# ---------------------------------------------------------------------------- page
init_state()
st.title("Glass properties")
st.markdown(
    "Enter an oxide formulation and get Tg, liquidus, refractive index, Abbe number, thermal "
    "expansion, Young's modulus and the viscosity–temperature curve, each with an "
    "uncertainty, a check against the training data, and the nearest measured SciGlass glasses."
)
try:
    model = predictor()
except ModelNotAvailableError as err:
    st.error(str(err))
    st.stop()

left, right = st.columns([3, 2])
with left:
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.selectbox("Preset", list(PRESETS), key=PRESET)
    c2.button("Load preset", on_click=load_preset, key="glass_load_preset")
    st.radio("Amounts in", list(BASES), key=BASIS, horizontal=True)
    edited = st.data_editor(
        st.session_state[ROWS],
        num_rows="dynamic",
        key=f"glass_editor_{st.session_state[EDITOR_VERSION]}",
        column_config={
            "component": st.column_config.TextColumn("Component", help="formula, e.g. SiO2"),
            "amount": st.column_config.NumberColumn("Amount", min_value=0.0, format="%.3f"),
        },
        hide_index=True,
        width="stretch",
    )
    st.text_input(
        "…or paste a composition",
        key=TEXT,
        placeholder="SiO2 75, Na2O 15, CaO 10   or   75SiO2-15Na2O-10CaO",
    )
    st.button("Use this text", on_click=use_text, key="glass_use_text")
    if st.session_state[TEXT_ERROR]:
        st.error(st.session_state[TEXT_ERROR])

basis = BASES[st.session_state[BASIS]]
composition = None
try:
    rows = edited.dropna(how="all")
    composition = parse_composition(rows[["component", "amount"]], basis)
except InvalidInputError as err:
    with left:
        st.error(str(err))
with right:
    st.markdown("**Normalised composition**")
    if composition:
        mass = to_mass_fractions(composition)
        st.dataframe(
            pd.DataFrame(
                {
                    "component": list(composition),
                    "mol%": [100 * x for x in composition.values()],
                    "wt%": [100 * mass[f] for f in composition],
                }
            ),
            hide_index=True,
            column_config={
                "mol%": st.column_config.NumberColumn(format="%.2f"),
                "wt%": st.column_config.NumberColumn(format="%.2f"),
            },
        )
    else:
        st.caption("Fix the formulation to see it normalised.")

tabs = st.tabs(
    [
        "Prediction",
        f"Compare ({len(st.session_state[COMPARE])}/{MAX_COMPARE})",
        "Batch CSV",
        "Model card",
    ]
)
with tabs[0]:
    if composition:
        show_prediction(model, composition)
    else:
        st.info("Predictions appear once the formulation can be read.")
with tabs[1]:
    show_compare(model)
with tabs[2]:
    show_batch(model, basis)
with tabs[3]:
    show_card(model)
