"""Home: what the studio does, which capabilities this build has, and what data/models it holds."""

from __future__ import annotations

import streamlit as st

from app import COMPOSITION, DESIGN, STRUCTURE, registered_pages
from core import config
from core.data import status as data_status
from core.models.registry import cards_table, list_model_cards
from core.properties import QM9 as QM9_PROPERTIES

DATASET_COLUMNS = ("title", "package", "licence", "prepared", "rows", "description")

CAPABILITIES = (
    (
        STRUCTURE,
        "1. Structure → property: molecules",
        "Draw or paste molecules (SMILES) and get their quantum-chemical properties (HOMO, "
        "LUMO, gap, dipole moment, polarizability, …) with an uncertainty, a flag for "
        "molecules unlike the training data, and per-atom contributions.",
        "Data: QM9, 130,831 small organic molecules (up to 9 heavy atoms: C, N, O, F) with "
        f"DFT geometries; {len(QM9_PROPERTIES)} of their computed properties are predicted.",
    ),
    (
        COMPOSITION,
        "2. Composition → property: glasses",
        "Enter an oxide composition (mol% or wt%) and get glass transition and liquidus "
        "temperatures, refractive index, Abbe number, thermal expansion and Young's modulus, "
        "and the viscosity–temperature curve fitted with the MYEGA equation.",
        "Data: SciGlass, about 214,000 glasses and 177,000 viscosity points (ODbL).",
    ),
    (
        DESIGN,
        "3. Property → design: recipes and generators",
        "State what you want and get candidates: Bayesian optimisation proposes the next "
        "recipes to try (variables, constraints, several objectives; campaigns are saved). "
        "The molecule generator writes new molecules with the logP, synthetic "
        "accessibility, weight, QED or polar surface area you ask for, around a fragment "
        "you choose, and sends any of them to the property page. The glass structure "
        "generator builds atomistic silica and sodium silicate glasses for a composition, "
        "density and cooling rate, and measures them beside molecular-dynamics glasses.",
        "Data: concrete mixes (Yeh, 1,030 recipes), your own recipe tables, and the glass "
        "property model for glass campaigns; MOSES (1.6 M drug-like molecules from ZINC) "
        "for the molecule generator; our SHIK melt-quench MD of SiO2 and Na2O-SiO2 glasses "
        "for the glass structure generator.",
    ),
)

st.title("Materials Design Studio")
st.markdown(
    "Predict the properties of molecules and glasses from their structure or composition, "
    "and go the other way: from the properties you need to recipes and structures worth "
    "making. Every prediction comes with an uncertainty and a warning when the input is "
    "unlike the data the model learned from. Models are trained here from public datasets, "
    "and everything a page does can be done from Python with the same call into `core`."
)

for group, heading, what, data in CAPABILITIES:
    with st.container(border=True):
        st.subheader(heading)
        st.markdown(what)
        st.caption(data)
        pages = registered_pages(group)
        for spec in pages:
            st.page_link(spec.path, label=spec.title, icon=spec.icon)
        if not pages:
            st.caption("Not in this build yet.")

st.header("Data & models")
st.subheader("Datasets in the local cache")
datasets = data_status()
st.dataframe(datasets[list(DATASET_COLUMNS)], hide_index=True)
if not datasets["prepared"].all():
    st.caption("Prepare the missing datasets with `make data` (or `python -m core.data prepare`).")
st.caption(f"Cache folder: `{config.cache_dir()}` (set `MDS_CACHE_DIR` to move it).")

st.subheader("Trained models")
cards = list_model_cards()
if cards:
    st.dataframe(cards_table(cards), hide_index=True)
else:
    st.info(
        f"No trained models in `{config.models_dir()}` yet. "
        "Train one with `python -m core.train.<model>`."
    )
