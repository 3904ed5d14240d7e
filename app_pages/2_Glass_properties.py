"""Glass properties: a formulation -> Tg, liquidus, nD, Abbe, CTE, E and the viscosity curve.

Layout and session state only; every number comes from :mod:`core.models.glass`.
"""

from __future__ import annotations

import streamlit as st

from core.chem.composition import entered_total, parse_composition, to_mass_fractions
from core.exceptions import InvalidInputError, ModelNotAvailableError
from core.exports import csv_bytes
from core.models.glass import PROPERTIES, load_predictor
from core.models.glass_report import (
    SCIGLASS_NOTE,
    UNCERTAINTY_NOTE,
    GlassReport,
    batch_template,
    card_tables,
    comparison_curves,
    comparison_table,
    composition_table,
    editor_rows,
    read_batch_csv,
    total_note,
)
from core.plots import glass as plots

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

# Session-state keys
ROWS = "glass_rows"  # base table of the editor (changed by presets and pasted text)
EDITOR_VERSION = "glass_editor_version"  # bump to reset the editor to ROWS
BASIS = "glass_basis"
PRESET = "glass_preset"
OWN = "(your formulation)"  # the preset box after a paste: it no longer shows a preset's name
TEXT = "glass_text"
TEXT_ERROR = "glass_text_error"
COMPARE = "glass_compare"  # list of {"name": str, "composition": {formula: mole fraction}}
ONCE_NOTE = "glass_once_note"  # said once: the unit was switched, amounts were scaled
LINKED = "glass_linked"  # the ?composition= of the URL, once loaded (links from glass design)


def init_state() -> None:
    basis, amounts = PRESETS["Soda-lime (float glass)"]
    st.session_state.setdefault(ROWS, editor_rows(amounts))
    st.session_state.setdefault(EDITOR_VERSION, 0)
    st.session_state.setdefault(BASIS, "wt%" if basis == "wt" else "mol%")
    st.session_state.setdefault(PRESET, "Soda-lime (float glass)")
    st.session_state.setdefault(TEXT, "")
    st.session_state.setdefault(TEXT_ERROR, "")
    st.session_state.setdefault(COMPARE, [])
    st.session_state.setdefault(ONCE_NOTE, "")
    link = st.query_params.get("composition")
    if link and st.session_state.get(LINKED) != link:  # a composition handed over in the URL
        st.session_state[LINKED] = link
        st.session_state[BASIS] = "mol%"
        st.session_state[TEXT] = link
        use_text()


def basis_changed() -> None:
    st.session_state[ONCE_NOTE] = (
        f"The amounts are now read as {st.session_state[BASIS]}: the same numbers describe "
        "another glass. Load a preset or paste the composition again if that was not meant."
    )


def load_preset() -> None:
    if st.session_state[PRESET] not in PRESETS:
        return
    basis, amounts = PRESETS[st.session_state[PRESET]]
    st.session_state[ROWS] = editor_rows(amounts)
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
    st.session_state[ROWS] = editor_rows({f: round(100 * x, 4) for f, x in shown.items()})
    st.session_state[EDITOR_VERSION] += 1
    st.session_state[TEXT_ERROR] = ""
    st.session_state[PRESET] = OWN
    st.session_state[ONCE_NOTE] = total_note([entered_total(st.session_state[TEXT], basis)], basis)


@st.cache_resource(show_spinner="Loading the glass model…")
def predictor():
    return load_predictor()


@st.cache_data(show_spinner="Predicting and searching SciGlass…", max_entries=256)
def report(composition: tuple[tuple[str, float], ...], neighbours: int = 5) -> GlassReport:
    return predictor().report(dict(composition), neighbours=neighbours)


def show_prediction(composition: dict[str, float]) -> None:
    result = report(tuple(composition.items()))
    st.caption(f"For {result.row['composition']} (mol%)")
    if result.domain_level == "outside":
        st.warning(result.domain_text, icon=":material/warning:")
    elif result.domain_level == "note":
        st.info(result.domain_text)
    else:
        st.caption(result.domain_text)
    cols = st.columns(2)  # two wide columns: "1.5168 ± 0.0012" must not be cut
    for i, (label, text) in enumerate(result.values):
        cols[i % 2].metric(label, text)
    if result.correction_note:
        st.caption(result.correction_note)
    st.caption(UNCERTAINTY_NOTE)

    st.subheader("Viscosity curve (MYEGA)")
    overlay = st.toggle("Show measured points of the nearest SciGlass glasses", value=True)
    measured = result.measured_viscosity if overlay else None
    st.plotly_chart(
        plots.viscosity_figure(result.curve, result.characteristic, measured),
        key="glass_viscosity_chart",
    )
    if overlay and result.neighbours_note:
        st.info(f"Measured points need the data cache: {result.neighbours_note}")
    st.markdown(result.curve_note)
    if result.tie_message:
        st.info(result.tie_message, icon=":material/info:")
    st.dataframe(result.characteristic_table, hide_index=True)

    st.subheader("Nearest measured glasses (SciGlass)")
    if result.neighbours is None:
        st.info(result.neighbours_note)
    else:
        st.dataframe(result.neighbours, hide_index=True)
        st.caption(SCIGLASS_NOTE)

    if st.button(
        "Add to comparison",
        key="glass_add_compare",
        disabled=len(st.session_state[COMPARE]) >= MAX_COMPARE,
    ):
        name = result.row["composition"]
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
    names = [f"#{i + 1}" for i in range(len(saved))]
    frame = model.predict([c["composition"] for c in saved])
    st.dataframe(comparison_table(frame, names), hide_index=True)
    results = [report(tuple(c["composition"].items()), 0) for c in saved]
    curves, points = comparison_curves(results, names)
    st.plotly_chart(plots.viscosity_figure(curves, points), key="glass_compare_chart")
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
    st.download_button(
        "Template CSV",
        batch_template().to_csv(index=False),
        "glass_template.csv",
        "text/csv",
        key="glass_template",
    )
    upload = st.file_uploader("Formulations (CSV)", type=["csv"], key="glass_upload")
    if upload is None:
        return
    try:
        result = model.predict_table(read_batch_csv(upload.getvalue(), upload.name), basis)
    except InvalidInputError as err:
        st.error(str(err))
        return
    n_err = int((result["error"] != "").sum())
    st.write(f"{len(result)} rows predicted, {n_err} with an error.")
    st.dataframe(result, hide_index=True)
    st.download_button(
        "Download predictions (CSV)",
        csv_bytes(result),
        "glass_predictions.csv",
        "text/csv",
        key="glass_download",
    )


def show_card(model) -> None:
    tables = card_tables(model.card)
    st.markdown(tables.summary)
    if tables.viscosity_filter:
        st.caption(tables.viscosity_filter)
    st.subheader("Test metrics (held-out test split)")
    st.dataframe(tables.metrics, hide_index=True)
    if not tables.calibration.empty:
        st.subheader("Uncertainty calibration (test glasses)")
        st.markdown(tables.calibration_method)
        st.dataframe(tables.calibration, hide_index=True)
    if not tables.correction.empty:
        st.subheader("Measured-neighbour correction")
        st.markdown(tables.correction_method)
        st.dataframe(tables.correction, hide_index=True)
    st.markdown(tables.tie)
    if tables.nkas:
        st.markdown(tables.nkas)
    st.subheader("Parity plots (test glasses)")
    st.plotly_chart(
        plots.parity_figure(model.test_predictions(), PROPERTIES), key="glass_parity_chart"
    )
    st.plotly_chart(
        plots.viscosity_parity_figure(model.test_viscosity()), key="glass_visc_parity_chart"
    )
    st.subheader("Test RMSE by group")
    for frame in tables.by_group.values():
        st.dataframe(frame, hide_index=True)
    st.caption(tables.domain)


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
    # stacked, not side by side: at 900 px with the sidebar open a button beside the
    # selectbox was cut to "Lo…"
    st.selectbox("Preset", [OWN, *PRESETS], key=PRESET)
    st.button(
        "Load preset",
        on_click=load_preset,
        key="glass_load_preset",
        disabled=st.session_state[PRESET] not in PRESETS,
    )
    st.radio("Amounts in", list(BASES), key=BASIS, horizontal=True, on_change=basis_changed)
    if st.session_state[ONCE_NOTE]:
        st.info(st.session_state[ONCE_NOTE])
        st.session_state[ONCE_NOTE] = ""
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
else:
    if note := total_note(rows["amount"], basis):
        with left:
            st.info(note)
with right:
    st.markdown("**Normalised composition**")
    if composition:
        st.dataframe(
            composition_table(composition),
            hide_index=True,
            column_config={  # narrow enough for a 900 px window with the sidebar open
                "component": st.column_config.TextColumn(width="small"),
                "mol%": st.column_config.NumberColumn(format="%.2f", width="small"),
                "wt%": st.column_config.NumberColumn(format="%.2f", width="small"),
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
    if composition and st.session_state[TEXT_ERROR]:
        st.warning(
            "The pasted text could not be read (see above): the results below are for the "
            "formulation in the table, not for that text.",
            icon=":material/warning:",
        )
    if composition:
        show_prediction(composition)
    else:
        st.info("Predictions appear once the formulation can be read.")
with tabs[1]:
    show_compare(model)
with tabs[2]:
    show_batch(model, basis)
with tabs[3]:
    show_card(model)
