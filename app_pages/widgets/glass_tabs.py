"""The batch-CSV and model-card tabs of the glass page."""

from __future__ import annotations

import streamlit as st

from core.exceptions import InvalidInputError
from core.exports import csv_bytes
from core.models.glass import PROPERTIES
from core.models.glass_report import batch_template, card_tables, read_batch_csv
from core.plots import glass as plots


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
    if not tables.trees.empty:
        st.subheader("Gradient-boosted trees blended with the networks")
        st.markdown(tables.trees_method)
        st.dataframe(tables.trees, hide_index=True)
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
