"""Glass structure generator: composition, density, cooling rate -> periodic glass structures,
set beside our SHIK melt-quench MD glasses."""

from __future__ import annotations

import streamlit as st

from core.exceptions import DataNotAvailableError, InvalidInputError, ModelNotAvailableError
from core.generate.glass import DEFAULT_STEPS
from core.plots import viewer

RESULT_KEY = "gs_result"
EXPORTS = {  # format -> (button label, file extension, mime type)
    "extxyz": ("extended XYZ", "xyz", "chemical/x-xyz"),
    "cif": ("CIF", "cif", "chemical/x-cif"),
    "lammps-data": ("LAMMPS data", "data", "text/plain"),
}


@st.cache_resource(show_spinner="Loading the glass-structure generator ...")
def _generator():
    from core.generate.glass import load_generator

    return load_generator()


def _rate_label(rate: float) -> str:
    mantissa, exponent = f"{rate:.2e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)} K/s"


def _inputs(gen) -> dict:
    from core.generate.glass import MAX_STRUCTURES, N_ATOMS_RANGE, SUPPORTED_OXIDES

    lo, hi = gen.x_na2o_range
    dlo, dhi = gen.density_range
    rates = sorted(gen.cooling_rates)
    left, right = st.columns(2)
    composition = left.text_input(
        "Composition (mol%)",
        value="SiO2 100",
        key="gs_composition",
        help=f"Oxides this model knows: {', '.join(SUPPORTED_OXIDES)}; trained on "
        f"{100 * lo:g}-{100 * hi:g} mol% Na2O, the rest SiO2. E.g. 'SiO2 80, Na2O 20'.",
    )
    density = left.number_input(
        f"Density (g/cm³), {dlo:.2f} to {dhi:.2f}",
        min_value=float(dlo),
        max_value=float(dhi),
        value=min(max(2.20, float(dlo)), float(dhi)),
        step=0.01,
        format="%.2f",
        key="gs_density",
        help="Sets the cubic cell; limited to the densities of the MD training glasses.",
    )
    rate = left.selectbox("Cooling rate", rates, format_func=_rate_label, key="gs_rate")
    n_atoms = right.number_input(
        "Atoms per structure (empty: 192 for SiO2, 180 with Na2O)",
        min_value=N_ATOMS_RANGE[0],
        max_value=N_ATOMS_RANGE[1],
        value=None,
        step=6,
        placeholder="model default",
        key="gs_atoms",
        help="Must give whole formula units (e.g. a multiple of 3 for SiO2).",
    )
    a, b = right.columns(2)
    n = a.number_input("Structures", 1, MAX_STRUCTURES, 2, key="gs_n")
    seed = b.number_input("Seed", 0, 2**31 - 1, 0, key="gs_seed")
    relax = right.toggle(
        "Relax with SHIK (LAMMPS)",
        key="gs_relax",
        help="Minimise each structure at fixed cell with the SHIK potential the MD used "
        "(a few seconds each); adds the energy per atom before and after.",
    )
    with st.expander("Sampler"):
        steps = st.number_input("Denoising steps", 10, 300, DEFAULT_STEPS, 10, key="gs_steps")
        st.caption(
            f"{DEFAULT_STEPS} to 50 steps give the same structural statistics (benchmark); "
            "more steps cost more time, fewer are rougher."
        )
    return {
        "composition": composition,
        "density": float(density),
        "cooling_rate": float(rate),
        "n_atoms": None if n_atoms is None else int(n_atoms),
        "n": int(n),
        "seed": int(seed),
        "relax": bool(relax),
        "steps": int(steps),
    }


def _run(gen, inputs: dict) -> None:
    bar = st.progress(0.0, text="Sampling ...")
    try:
        structures = gen.sample(
            **inputs, progress=lambda f, msg: bar.progress(0.6 * f, text=msg.capitalize())
        )
        report = gen.report(structures)
        bar.progress(0.6, text="Analysing and comparing with the MD glasses ...")
        try:
            comparison = report.comparison()
            bar.progress(0.8, text="Curves: RDF, angles, rings, S(q) ...")
            profiles, note = report.profiles(), report.reference()[1]
        except DataNotAvailableError as err:
            report.analysis()
            comparison, profiles, note = None, None, f"No MD reference to compare with: {err}"
    except (InvalidInputError, ModelNotAvailableError) as err:
        bar.empty()
        st.error(str(err))
        return
    bar.progress(1.0, text="Done")
    st.session_state[RESULT_KEY] = {
        "report": report,
        "comparison": comparison,
        "profiles": profiles,
        "note": note,
    }


def _show(result: dict) -> None:
    from core.plots import glass_structure as plots

    report, comparison, profiles = result["report"], result["comparison"], result["profiles"]
    info = report.info
    st.subheader(
        f"{len(report.structures)} structure(s) of {info['composition']}, "
        f"{len(report.structures[0])} atoms, {info['density_g_cm3']:.2f} g/cm³, "
        f"{_rate_label(info['cooling_rate_K_s'])}"
    )
    st.info(result["note"])
    if comparison is not None and not comparison.empty:
        st.markdown("**Generated vs MD** (MD spread: std between the MD glasses, the noise floor)")
        st.dataframe(plots.comparison_table(comparison), hide_index=True, key="gs_metrics")
    left, right = st.columns(2)
    with left:
        labels = [f"Structure {i + 1}" for i in range(len(report.structures))]
        chosen = st.selectbox(
            "Structure", range(len(labels)), format_func=labels.__getitem__, key="gs_pick"
        )
        st.iframe(viewer.periodic_structure_html(report.structures[chosen]), height=470)
        st.caption("Si beige, O red, Na violet; the box is the periodic cell.")
        cols = st.columns(len(EXPORTS))
        for col, (fmt, (label, ext, mime)) in zip(cols, EXPORTS.items(), strict=True):
            col.download_button(
                label,
                report.export(chosen, fmt),
                f"glass_{chosen + 1}.{ext}",
                mime,
                key=f"gs_download_{fmt}",
            )
        st.download_button(
            "All structures (multi-frame extended XYZ)",
            report.export_all(),
            "glass_structures.xyz",
            "chemical/x-xyz",
            key="gs_download_all",
        )
    with right:
        if profiles is not None:
            tabs = st.tabs(["RDF", "Angles", "Rings", "S(q)"])
            figures = (plots.rdf_figure, plots.angle_figure, plots.ring_figure, plots.sq_figure)
            for tab, build, name in zip(
                tabs, figures, ("rdf", "angles", "rings", "sq"), strict=True
            ):
                tab.plotly_chart(build(profiles), key=f"gs_{name}_chart")
    st.markdown("**Each generated structure**")
    table = report.analysis().copy()
    table.insert(0, "structure", range(1, len(table) + 1))
    st.dataframe(table, hide_index=True, key="gs_analysis")


st.title("Glass structure generator")
st.markdown(
    "Atomistic structures of silica and sodium silicate glasses in a periodic cubic cell, "
    "for a composition, density and cooling rate. A diffusion model trained on our SHIK "
    "melt-quench molecular dynamics places the atoms; each result is measured (coordination, "
    "bond lengths and angles, rings, structure factor) beside MD glasses of the same kind."
)
try:
    generator = _generator()
except ModelNotAvailableError as err:
    st.error(str(err))
    st.stop()

card = generator.card
if card.get("summary"):
    st.caption(f"Model card ({card.get('version', '')}): {card['summary']}.")
with st.expander("Conditions the model was trained on (MD glasses)"):
    st.dataframe(
        generator.training_conditions,
        hide_index=True,
        column_config={"cooling_rate_K_s": st.column_config.NumberColumn(format="scientific")},
        key="gs_conditions",
    )
inputs = _inputs(generator)
if st.button("Generate", type="primary", key="gs_run"):
    _run(generator, inputs)
if st.session_state.get(RESULT_KEY) is not None:
    _show(st.session_state[RESULT_KEY])
