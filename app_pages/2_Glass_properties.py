"""Glass properties: a formulation -> Tg, liquidus, nD, Abbe, CTE, E and the viscosity curve.

Layout and session state only; every number comes from :mod:`core.models.glass`. The
formulation entry and the batch / model-card tabs live in :mod:`app_pages.widgets`.
"""

from __future__ import annotations

import streamlit as st

from app_pages.widgets.glass_entry import TEXT_ERROR, composition_entry
from app_pages.widgets.glass_tabs import show_batch, show_card
from core.exceptions import ModelNotAvailableError
from core.models.glass import load_predictor
from core.models.glass_report import (
    SCIGLASS_NOTE,
    UNCERTAINTY_NOTE,
    GlassReport,
    comparison_curves,
    comparison_table,
)
from core.plots import glass as plots

MAX_COMPARE = 4
COMPARE = "glass_compare"  # list of {"name": str, "composition": {formula: mole fraction}}


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


# ---------------------------------------------------------------------------- page
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

st.session_state.setdefault(COMPARE, [])
composition, basis = composition_entry()

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
