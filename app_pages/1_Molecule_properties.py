"""Molecule properties: SMILES, drawing or 3D file -> QM9 properties with uncertainty."""

from __future__ import annotations

import html

import streamlit as st

from app_pages.widgets.molecule_batch import BATCH_KEY, batch_tab
from app_pages.widgets.molecule_card import model_card
from core.exceptions import InvalidInputError, ModelNotAvailableError
from core.models.molecule_report import (
    EXPLANATION_NOTE,
    NEIGHBOUR_SHORT,
    UNCERTAINTY_NOTE,
    MoleculeReport,
    labelled_columns,
)
from core.plots import viewer
from core.properties import QM9

SMILES_KEY = "mol_smiles"
RESULT_KEY = "mol_result"
EXPLAIN_KEY = "mol_explain_prop"
DRAWN_KEY = "mol_drawn_pending"  # a drawing to copy into the SMILES box on the next run
STRUCTURE_KEY = "mol_structure_pick"
EXAMPLES = {
    "Ethanol": "CCO",
    "Benzene": "c1ccccc1",
    "Acetic acid": "CC(=O)O",
    "Pyridine": "c1ccncc1",
    "Trifluoroethanol": "OCC(F)(F)F",
    "Aspirin (13 heavy atoms: outside QM9)": "CC(=O)Oc1ccccc1C(=O)O",
    "Thiophene (S: outside QM9)": "c1ccsc1",
}


def _init_state() -> None:
    st.session_state.setdefault(SMILES_KEY, "CCO")
    st.session_state.setdefault(RESULT_KEY, None)
    st.session_state.setdefault(BATCH_KEY, None)


@st.cache_resource(show_spinner="Loading the molecule model ...")
def _predictor():
    from core.models.molecules import load_predictor

    return load_predictor()


def _show_single(predictor) -> None:
    report = st.session_state[RESULT_KEY]
    if report is None:
        return
    if report.domain_text:
        st.warning(report.domain_text, icon="⚠️")
    left, right = st.columns([3, 2])
    with left:
        title = report.title.replace("`", "'")  # a file's record name is the user's text
        st.subheader(f"Predicted properties of `{title}`")
        st.dataframe(report.properties.drop(columns="key"), hide_index=True, height=460)
        st.caption(UNCERTAINTY_NOTE)
    with right:
        st.subheader("3D conformer")
        st.iframe(viewer.molecule_html(report.molblock), height=370)
    _show_training_neighbours(predictor, report)
    st.subheader("Which atoms drive the prediction")
    prop = st.selectbox(
        "Property to explain",
        predictor.properties,
        format_func=lambda p: QM9[p].title if p in QM9 else p,
        key=EXPLAIN_KEY,
    )
    if report.explained != prop:  # the same conformer, explained for another property
        report = st.session_state[RESULT_KEY] = predictor.explain_report(report, prop)
    st.image(report.explanation_svg)
    st.caption(EXPLANATION_NOTE)


def _show_training_neighbours(predictor, report: MoleculeReport) -> None:
    st.subheader("Closest molecules the model was trained on")
    if report.neighbours is None:
        st.info(report.neighbours_note)
        return
    if report.similarity_level == "low":
        st.warning(report.similarity_text, icon="⚠️")
    else:
        st.caption(report.similarity_text)
    units = predictor.units
    st.dataframe(
        report.neighbours.drop(columns=["same_molecule"]),
        hide_index=True,
        column_config={
            "similarity": st.column_config.NumberColumn("Tanimoto", format="%.2f"),
            "qm9_index": st.column_config.NumberColumn("QM9 #", format="%d"),
            **{
                p: st.column_config.NumberColumn(f"{short} ({units[p]}, DFT)", format="%.3f")
                for p, short in NEIGHBOUR_SHORT.items()
            },
        },
        key="mol_neighbours",
    )


def _run_single(predictor, smiles: str) -> None:
    explain = st.session_state.get(EXPLAIN_KEY)  # what the selectbox below will show
    if explain not in predictor.properties:
        explain = predictor.properties[0]
    report = predictor.report(smiles, explain=explain)
    st.session_state[RESULT_KEY] = None if report.error else report
    if report.error:
        st.error(report.error)


def _show_structures(predictor, mols: list) -> None:
    """The structures of an uploaded file: a table of all (up to 100), and the full result
    (3D view, neighbours, explanation) of the one picked, from its own geometry."""
    table = predictor.predict_structures(mols[:100])
    if len(mols) > 1:
        st.dataframe(labelled_columns(table), hide_index=True)
        if len(mols) > 100:
            st.info(f"{len(mols)} structures: the first 100 are shown; use Batch for more.")
    readable = [i for i, m in enumerate(mols[:100]) if not isinstance(m, Exception)]
    if not readable:
        st.error("No structure in the file could be read: see the error column.")
        return
    pick = readable[0]
    if len(readable) > 1:
        pick = st.selectbox(
            "Show one structure in full",
            readable,
            format_func=lambda i: f"{i + 1}: {table.loc[i, 'input']}",
            key=STRUCTURE_KEY,
        )
    elif table.loc[pick, "error"]:
        st.error(table.loc[pick, "error"])
        return
    if st.button("Show this structure's result", key="mol_structure_show", type="primary"):
        explain = st.session_state.get(EXPLAIN_KEY)
        if explain not in predictor.properties:
            explain = predictor.properties[0]
        report = predictor.report_structure(mols[pick], explain=explain)
        st.session_state[RESULT_KEY] = None if report.error else report
        if report.error:
            st.error(report.error)


_init_state()
st.title("Molecule properties")
st.markdown(
    "Quantum-chemical properties of small organic molecules, learned from QM9 (130,831 "
    "molecules with up to 9 heavy atoms of C, N, O, F). Enter a SMILES, draw the molecule, "
    "or upload a file."
)
try:
    predictor = _predictor()
except ModelNotAvailableError as err:
    st.error(str(err))
    st.stop()

single, draw, upload_tab, batch = st.tabs(["SMILES", "Draw", "3D file", "Batch"])
with single:
    row = st.container(horizontal=True, gap="small")  # buttons as wide as their names
    for label, smi in EXAMPLES.items():
        if row.button(label.split(" (")[0], key=f"example_{smi}", help=label):
            st.session_state[SMILES_KEY] = smi
    if st.session_state.get(DRAWN_KEY):  # a drawing was predicted: the box shows it too
        st.session_state[SMILES_KEY] = st.session_state.pop(DRAWN_KEY)
    smiles = st.text_input("SMILES", key=SMILES_KEY)
    if st.button("Predict", type="primary", key="mol_predict"):
        _run_single(predictor, smiles)
with draw:
    from streamlit_ketcher import st_ketcher

    drawn = st_ketcher(st.session_state[SMILES_KEY], height=420, key="mol_ketcher")
    st.caption("Draw, then press Apply in the editor; the SMILES is predicted below.")
    # The editor returns its initial value too: act only on a new drawing.
    if drawn and drawn not in (
        st.session_state.get("mol_last_drawn"),
        st.session_state[SMILES_KEY],
    ):
        st.session_state["mol_last_drawn"] = drawn
        _run_single(predictor, drawn)
        # the SMILES box was drawn above in this run: copy the drawing into it on a rerun,
        # so the box, the drawing and the result below show the same molecule
        st.session_state[DRAWN_KEY] = drawn
        st.rerun()
with upload_tab:
    from core.chem.molecules import mol_from_file

    file = st.file_uploader(
        "A 3D structure (.sdf, .mol, .xyz), used as given",
        type=["sdf", "mol", "xyz"],
        key="mol_3d_file",
    )
    if file is not None:
        try:
            mols = mol_from_file(file.getvalue(), file.name)
        except InvalidInputError as err:
            st.error(str(err))
        else:
            _show_structures(predictor, mols)
with batch:
    batch_tab(predictor)

_show_single(predictor)
model_card(predictor)
st.caption(
    html.escape(
        f"Model: {predictor.card.get('name', 'qm9_painn')} "
        f"{predictor.card.get('version', '')}, {len(predictor.members)} member(s)."
    )
)
