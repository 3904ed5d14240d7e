"""Molecule generator: target properties (any subset) and a fragment -> new molecules."""

from __future__ import annotations

import streamlit as st

from core.chem.descriptors import LABELS, PROPERTIES
from core.exceptions import InvalidInputError, ModelNotAvailableError

REPORT_KEY = "gen_report"
FRAGMENT_KEY = "gen_fragment"
SEND_KEY = "mol_smiles"  # the Molecule properties page's SMILES field
PROPERTY_PAGE = "app_pages/1_Molecule_properties.py"
SHOWN = 24
HELP = {
    "logp": "Wildman-Crippen logP (RDKit)",
    "sas": "Synthetic accessibility, 1 easy .. 10 hard (Ertl & Schuffenhauer 2009)",
    "mw": "Average molecular weight",
    "qed": "Quantitative estimate of drug-likeness, 0..1 (Bickerton et al. 2012)",
    "tpsa": "Topological polar surface area",
}
HELP_QM9 = {
    "homo": "HOMO energy (DFT B3LYP/6-31G(2df,p) in QM9); achieved = the QM9 model's value",
    "lumo": "LUMO energy (DFT); achieved = the QM9 model's value",
    "gap": "HOMO-LUMO gap (DFT); achieved = the QM9 model's value",
    "mu": "Dipole moment (DFT); achieved = the QM9 model's value",
}
LABELS_QM9 = {"homo": "HOMO", "lumo": "LUMO", "gap": "HOMO-LUMO gap", "mu": "Dipole moment"}
FRAGMENT_EXAMPLES = {
    "moses": {
        "Indole": "c1ccc2[nH]ccc2c1",
        "Piperidine": "C1CCNCC1",
        "Benzamide": "NC(=O)c1ccccc1",
        "Thiophene": "c1ccsc1",
    },
    "qm9": {"Furan": "c1ccoc1", "Pyrrole": "c1cc[nH]c1", "Oxetane": "C1COC1", "Amide": "CC(N)=O"},
}
MODEL_NAMES = {
    "moses": "MOSES: drug-like molecules; logP, SA, MW, QED, TPSA (RDKit)",
    "qm9": "QM9: small molecules (up to 9 C/N/O/F); HOMO, LUMO, gap, dipole (DFT)",
}


@st.cache_resource(show_spinner="Loading the molecule generator ...")
def _generator(model: str = "moses"):
    from core.generate.molecules import load_generator

    return load_generator(model)


def _model_choice() -> str:
    from core.generate.molecules import available_models

    models = available_models() or ["moses"]
    if len(models) == 1:
        return models[0]
    return st.radio("Model", models, format_func=MODEL_NAMES.get, key="gen_model")


def _conditions(gen) -> dict[str, float]:
    st.subheader("Target properties")
    st.caption(
        "Switch on any subset; the rest are left to the model. Values are limited to the "
        "range of the training molecules (0.5-99.5 percentiles of MOSES), which the model "
        "is not asked to leave."
    )
    out = {}
    for key in gen.properties:
        lo, hi = gen.ranges[key]
        mean = gen.stats[key]["mean"]
        unit = "" if gen.units[key] == "-" else f" ({gen.units[key]})"
        label = LABELS.get(key) or LABELS_QM9[key]
        on, value = st.columns([2, 3], vertical_alignment="bottom")
        enabled = on.toggle(label + unit, key=f"gen_on_{key}", help=HELP.get(key) or HELP_QM9[key])
        target = value.number_input(
            f"{key} target, {lo:.3g} to {hi:.3g}",
            min_value=float(lo),
            max_value=float(hi),
            value=float(round(mean, 2)),
            step=0.01 if key == "qed" else 0.1 if hi - lo < 50 else 5.0,
            disabled=not enabled,
            key=f"gen_value_{key}",
        )
        if enabled:
            out[key] = float(target)
    return out


def _fragment(dataset: str) -> str | None:
    st.subheader("Fragment to keep (optional)")
    row = st.container(horizontal=True, gap="small")
    for name, smi in FRAGMENT_EXAMPLES[dataset].items():
        if row.button(name, key=f"gen_frag_{name}"):
            st.session_state[FRAGMENT_KEY] = smi
    text = st.text_input(
        "Fragment SMILES (empty: none)",
        key=FRAGMENT_KEY,
        help="Every molecule contains it: the model continues a SMILES of the fragment "
        "from an atom with a free valence.",
    )
    with st.expander("Draw the fragment"):
        from streamlit_ketcher import st_ketcher

        drawn = st_ketcher(st.session_state.get(FRAGMENT_KEY, ""), height=380, key="gen_ketcher")
        if drawn and drawn != st.session_state.get(FRAGMENT_KEY):
            st.session_state[FRAGMENT_KEY] = drawn
            st.rerun()
    return text.strip() or None


def _run(gen, conditions, fragment, n, temperature, seed, guidance, qm9: bool) -> None:
    bar = st.progress(0.0, text="Sampling ...")
    try:
        report = gen.report(
            n,
            conditions,
            seed=seed,
            fragment=fragment,
            temperature=temperature,
            guidance=guidance,
            progress=lambda f: bar.progress(f, text=f"{f:.0%} of {n} molecules"),
        )
        if qm9:
            report = report.score_qm9(
                progress=lambda done, total: bar.progress(
                    done / total, text=f"QM9 model: {done}/{total} molecules"
                )
            )
    except (InvalidInputError, ModelNotAvailableError) as err:
        bar.empty()
        st.error(str(err))
        return
    bar.progress(1.0, text="Done")
    st.session_state[REPORT_KEY] = report


def _show(report) -> None:
    from core.chem.depict import grid_svg

    df = report.molecules
    if df.empty:
        st.warning(
            f"No valid molecule in {report.samples:,} samples; try a higher temperature, "
            "fewer conditions or another fragment."
        )
        return
    st.subheader(f"{len(df):,} molecules")
    st.dataframe(report.metrics_table(), hide_index=True)
    if len(df) < report.requested:
        st.info(f"The sample budget ran out at {len(df):,} of {report.requested:,} molecules.")
    sort_keys = [*report.conditions, *(k for k in PROPERTIES if k not in report.conditions)]
    c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")
    sort_by = c1.selectbox(
        "Sort by",
        sort_keys,
        format_func=lambda k: f"closest to the {k} target" if k in report.conditions else k,
        key="gen_sort",
    )
    descending = c2.toggle("Descending", key="gen_desc")
    fragment_only = c3.toggle("Fragment kept only", key="gen_frag_only")
    novel_only = c4.toggle("Novel only", key="gen_novel_only")
    view = report.view(sort_by, descending, fragment_only, novel_only)
    legends = [
        " ".join(f"{k} {row[k]:.3g}" for k in (report.conditions or {"mw": 0, "logp": 0}))
        for _, row in view.head(SHOWN).iterrows()
    ]
    st.image(grid_svg(view["smiles"].head(SHOWN).tolist(), legends, highlight=report.fragment))
    st.caption(
        f"The first {min(SHOWN, len(view))} of {len(view):,} in this order; the fragment in red."
    )
    st.dataframe(view, hide_index=True, key="gen_table")
    pick, send = st.columns([4, 1], vertical_alignment="bottom")
    chosen = pick.selectbox("Molecule", view["smiles"].tolist(), key="gen_pick")
    if send.button("Send to Molecule properties", key="gen_send", disabled=chosen is None):
        st.session_state[SEND_KEY] = chosen
        st.switch_page(PROPERTY_PAGE)
    d1, d2 = st.columns(2)
    d1.download_button("Download CSV", report.to_csv(), "generated.csv", "text/csv", key="gen_csv")
    d2.download_button(
        "Download SDF", report.to_sdf(), "generated.sdf", "chemical/x-mdl-sdfile", key="gen_sdf"
    )


st.title("Molecule generator")
st.markdown(
    "Ask for molecules with given properties, in any combination, optionally built around a "
    "fragment. A SMILES transformer writes them. The **MOSES** model takes logP, synthetic "
    "accessibility, molecular weight, QED and polar surface area, and RDKit measures what each "
    "molecule achieved. The **QM9** model takes DFT HOMO, LUMO, gap and dipole, and the "
    "studio's QM9 model predicts what each molecule achieved, with its uncertainty."
)
model = _model_choice()
try:
    generator = _generator(model)
except ModelNotAvailableError as err:
    st.error(str(err))
    st.stop()

st.caption(generator.summary())
left, right = st.columns(2)
with left:
    conditions = _conditions(generator)
with right:
    fragment = _fragment(generator.dataset)
    st.subheader("Sampling")
    a, b, c = st.columns(3)
    n = a.number_input("Molecules", 1, 2000, 48, step=16, key="gen_n")
    temperature = b.slider("Temperature", 0.2, 1.5, 1.0, 0.05, key="gen_temperature")
    seed = c.number_input("Seed", 0, 2**31 - 1, 0, key="gen_seed")
    guidance = st.number_input(
        "Guidance",
        *generator.guidance_range,
        generator.default_guidance,
        0.5,
        key=f"gen_guidance_{model}",
        disabled=not conditions,
        help="Classifier-free guidance for the conditions: 1 samples the model as trained; "
        "higher values follow the targets more closely but fewer samples are valid, the more "
        "so the more conditions are given (benchmarks/results/generation_guidance_table.txt). "
        "The default was chosen on validation molecules.",
    )
    qm9 = False
    if not generator.scored_by_qm9:
        qm9 = st.toggle(
            "Also predict HOMO, LUMO and gap with the QM9 model",
            key="gen_qm9",
            help="The studio's PaiNN ensemble (value ± std, eV). QM9 holds molecules of up to 9 "
            "heavy atoms; most generated drug-like molecules are larger, and each row says so "
            "in qm9_domain: their values are extrapolations. About 0.2 s per molecule.",
        )
    else:
        st.caption("HOMO, LUMO, gap and dipole of every molecule come from the QM9 model.")
if st.button("Generate", type="primary", key="gen_run"):
    _run(
        generator,
        conditions,
        fragment,
        int(n),
        float(temperature),
        int(seed),
        float(guidance),
        qm9,
    )
if st.session_state.get(REPORT_KEY) is not None:
    _show(st.session_state[REPORT_KEY])
