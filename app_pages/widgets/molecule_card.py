"""The model card of the molecule page: test metrics, parity, errors by size, element and
similarity, and calibration, from the shipped card."""

from __future__ import annotations

import streamlit as st

from core.models.molecule_report import card_summary
from core.models.molecules import LABELS, card_tables
from core.plots import molecules as mol_plots


def model_card(predictor) -> None:
    tables = card_tables(predictor)
    with st.expander("Model card: how good is this model?", expanded=False):
        if not tables:
            st.info("This model has no card yet (run `python -m core.train.molecules evaluate`).")
            return
        card = predictor.card
        st.markdown(card_summary(card))
        st.dataframe(tables["metrics"].drop(columns="key"), hide_index=True)
        parity = tables["parity"]
        if not parity.empty:
            prop = st.selectbox(
                "Parity plot for",
                list(tables["metrics"]["key"]),
                format_func=lambda k: LABELS.get(k, k),
                key="mol_card_prop",
            )
            st.plotly_chart(mol_plots.parity_figure(parity, prop), key="mol_parity_chart")
        st.markdown(
            "**Test MAE by number of heavy atoms** (QM9 has few very small molecules; "
            "\u2013: no test molecule of that size, so no measured error)"
        )
        st.dataframe(tables["by_size"].style.format(precision=3, na_rep="\u2013"), width="stretch")
        st.markdown(
            "**Test MAE by element** (molecules with / without it; fluorine is rare in QM9)"
        )
        st.dataframe(tables["by_element"], width="stretch")
        if not tables["by_similarity"].empty:
            st.markdown(
                "**Test MAE by similarity to the training set** (Tanimoto, ECFP4, of each test "
                "molecule to its closest QM9 training molecule)"
            )
            st.dataframe(tables["by_similarity"], width="stretch")
        if not tables["calibration"].empty:
            st.markdown(
                "**Calibration**: share of test errors within 1 and 2 ± values "
                "(0.68 and 0.95 for a well-calibrated Gaussian)"
            )
            st.dataframe(tables["calibration"], hide_index=True)
            st.caption(card.get("calibration_method", ""))
        curve = tables["calibration_curve"]
        if not curve.empty:
            shown = curve[curve["property"] == prop] if not parity.empty else curve
            st.markdown(
                f"**Calibration curve** ({LABELS.get(prop, prop) if not parity.empty else 'all'}"
                "): on the diagonal the ± values mean what they say; below it they are too small"
            )
            st.plotly_chart(mol_plots.calibration_figure(shown), key="mol_calibration_chart")
