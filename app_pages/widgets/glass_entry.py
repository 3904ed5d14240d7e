"""The formulation entry of the glass page: presets, mol%/wt%, the editable component
table, pasted text, and the normalised composition beside it. The composition and the basis
come back to the page; nothing is predicted here."""

from __future__ import annotations

import streamlit as st

from core.chem.composition import entered_total, parse_composition, to_mass_fractions
from core.exceptions import InvalidInputError
from core.models.glass_report import composition_table, editor_rows, total_note

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


# Session-state keys
ROWS = "glass_rows"  # base table of the editor (changed by presets and pasted text)
EDITOR_VERSION = "glass_editor_version"  # bump to reset the editor to ROWS
BASIS = "glass_basis"
PRESET = "glass_preset"
OWN = "(your formulation)"  # the preset box after a paste: it no longer shows a preset's name
TEXT = "glass_text"
TEXT_ERROR = "glass_text_error"
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


def composition_entry() -> tuple[dict[str, float] | None, str]:
    """Draw the entry (left) and the normalised composition (right); the mole fractions
    (``None`` while the table cannot be read, with the reason shown) and the basis."""
    init_state()
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
    return composition, basis
