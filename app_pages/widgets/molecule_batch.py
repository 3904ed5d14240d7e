"""The batch tab of the molecule page: a CSV of SMILES or an SDF in, a table of predictions
(the user's own columns kept) and its CSV out."""

from __future__ import annotations

import streamlit as st

from core.exceptions import InvalidInputError
from core.exports import csv_bytes
from core.models.molecule_report import labelled_columns
from core.models.molecules import MAX_BATCH, read_batch_table, with_user_columns

BATCH_KEY = "mol_batch_result"


def batch_tab(predictor) -> None:
    upload = st.file_uploader(
        f"CSV with a SMILES column, or SDF (up to {MAX_BATCH:,} molecules)",
        type=["csv", "sdf"],
        key="mol_batch_file",
    )
    if upload is None:
        return
    data = upload.getvalue()
    try:
        items, own_columns = read_batch_table(data, upload.name, MAX_BATCH)
    except InvalidInputError as err:
        st.error(str(err))
        return
    count = len(items)
    if st.button(f"Predict {count:,} molecules", key="mol_batch_run"):
        bar = st.progress(0.0, text="Predicting ...")
        run = predictor.predict if isinstance(items[0], str) else predictor.predict_structures
        result = run(
            items, progress=lambda done, total: bar.progress(done / total, f"{done}/{total}")
        )
        bar.progress(1.0, text="Done")
        st.session_state[BATCH_KEY] = with_user_columns(result, own_columns)
    result = st.session_state[BATCH_KEY]
    if result is not None:
        failed = int((result["error"] != "").sum())
        st.write(f"{len(result):,} rows, {failed:,} with an error (see the `error` column).")
        st.dataframe(labelled_columns(result), hide_index=True)
        st.download_button(
            "Download predictions (CSV)",
            csv_bytes(result),
            file_name="molecule_predictions.csv",
            mime="text/csv",
        )
