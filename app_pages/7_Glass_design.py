"""Glass inverse design: property goals -> ranked compositions from the glass model.

Layout and session state only; the search and the table come from
:mod:`core.optimize.glass_design`, run in the app's background queue (:mod:`core.jobs`).
"""

from __future__ import annotations

import streamlit as st

from app import job_progress
from core.exceptions import InvalidInputError
from core.jobs import heavy_jobs
from core.optimize import glass_design as gd

JOB = "glass_design_job"  # the Job of the running search
RESULT = "glass_design_result"  # the last GlassDesignReport
NONE = "(none)"

st.title("Glass inverse design")
st.markdown(
    "State the properties you need and the oxides you allow; the glass model searches the "
    "compositions and ranks what it finds, each with its uncertainty, the probability that "
    "every goal is met and whether it lies inside the data the model was trained on. "
    "Leave an oxide out to exclude it (no PbO: do not list it)."
)
st.session_state.setdefault(JOB, None)
st.session_state.setdefault(RESULT, None)

left, right = st.columns(2)
with left:
    st.markdown("**Oxides allowed** (mole percent; add rows for more)")
    oxides = st.data_editor(
        gd.default_oxide_rows(),
        num_rows="dynamic",
        hide_index=True,
        key="design_oxides",
        column_config={
            "min mol%": st.column_config.NumberColumn(min_value=0.0, max_value=100.0),
            "max mol%": st.column_config.NumberColumn(min_value=0.0, max_value=100.0),
        },
    )
with right:
    st.markdown("**Property goals** (CTE in ppm/K; leave a side empty for no limit)")
    labels = list(gd.property_labels())
    windows = st.data_editor(
        gd.default_window_rows(),
        num_rows="dynamic",
        hide_index=True,
        key="design_windows",
        column_config={"property": st.column_config.SelectboxColumn(options=labels)},
    )
    c1, c2 = st.columns([3, 2])
    objective = c1.selectbox(
        "Then make this as good as possible", [NONE, *labels], index=2, key="design_objective"
    )
    direction = c2.radio(
        "Direction", ["minimize", "maximize"], key="design_direction", horizontal=True
    )
n_results = st.number_input("Compositions to show", 1, 50, 10, key="design_n")

busy = st.session_state[JOB] is not None and not st.session_state[JOB].status().finished
if st.button("Design glasses", type="primary", key="design_run", disabled=busy):
    try:
        request = gd.request_from_entries(
            oxides, windows, None if objective == NONE else objective, direction, n_results
        )
    except InvalidInputError as err:
        st.error(str(err), icon=":material/error:")
    else:
        st.session_state[JOB] = heavy_jobs().submit(
            lambda progress: gd.design_glasses(request, progress=progress), "glass design"
        )
        st.rerun()


def search_done(job) -> None:
    st.session_state[RESULT] = job.result


job_progress(JOB, search_done)

report = st.session_state[RESULT]
if report is not None:
    st.subheader("Candidates")
    st.markdown("Goals: " + "; ".join(report.goals))
    if report.table.empty:
        st.warning("The search found no composition; widen the oxide ranges or the goals.")
    else:
        st.dataframe(
            gd.display_table(report),
            hide_index=True,
            key="design_table",
            column_config={
                "glass page": st.column_config.LinkColumn(display_text="open on the glass page")
            },
        )
    st.caption(report.note)
elif not busy:
    st.caption("Set the goals and press *Design glasses*; the search shows its progress here.")
