"""Recipe optimisation: pick or create a campaign, configure it, get suggestions, enter results.

Layout and session state only; every computation is a call into :mod:`core.optimize`, the
texts and tables come from :mod:`core.optimize.report`, the charts from
:mod:`core.plots.optimize`, and the open-or-create forms from
:mod:`app_pages.widgets.recipe_campaigns`.
"""

from __future__ import annotations

import streamlit as st

from app import job_progress
from app_pages.widgets.recipe_campaigns import open_or_create
from app_pages.widgets.recipe_state import (
    CAMPAIGN,
    NOTICE,
    ROUND_JOB,
    autosaved,
    errors_shown,
    notice_stamp,
    open_campaign,
    set_notice,
    show_error,
    two_decimals,
)
from core.exceptions import InvalidInputError, ModelNotAvailableError, StudioError
from core.jobs import Job
from core.optimize import Campaign, CampaignStore, StoreUnavailableError, entries, evaluate
from core.optimize import report as rep
from core.optimize.tables import read_csv_upload
from core.plots import optimize as plots


# ---------------------------------------------------------------------------- configure
def configure_section(campaign: Campaign) -> None:
    space = campaign.space
    if constraints := rep.constraints_markdown(space):
        st.markdown(constraints)
    else:
        st.caption("No constraints.")
    for note in rep.categorical_notes(space):
        st.caption(note)
    st.caption("Bounds (a fixed variable: lower = upper = its value).")
    bounds = st.data_editor(
        entries.bounds_table(space.variables),
        hide_index=True,
        key="bounds_editor",
        disabled=["variable", "kind", "unit"],
    )
    directions = ["maximize", "minimize", "target"]
    objectives = st.data_editor(
        entries.objectives_table(space.objectives),
        hide_index=True,
        key="objectives_editor",
        disabled=["objective"],
        column_config={
            "direction": st.column_config.SelectboxColumn(options=directions, required=True)
        },
    )
    if st.button("Apply configuration", key="apply_config"):
        with errors_shown():
            new = campaign.reconfigure(
                entries.bounds_from_table(bounds), objectives.to_dict("records")
            )
            open_campaign(new, "Configuration applied.")
            st.rerun()


# -------------------------------------------------------------------- suggest / results
def running_round(campaign: Campaign) -> Job | None:
    """The background round of this campaign, while it has not finished."""
    job = st.session_state.get(ROUND_JOB)
    if job is None or job.owner is not campaign or job.status().finished:
        return None
    return job


def round_done(job: Job) -> None:
    took = f"{len(job.result)} new suggestions ({job.status().elapsed_s:.0f} s)."
    set_notice(job.owner, took + autosaved(job.owner, store))


def suggest_section(campaign: Campaign) -> None:
    c1, c2 = st.columns([1, 3])
    q = c1.number_input("Suggestions per round", 1, 12, 4, key="q")
    busy = running_round(campaign) is not None
    if c2.button("Suggest next recipes", key="suggest", type="primary", disabled=busy):
        st.session_state[ROUND_JOB] = campaign.recommend_in_background(int(q))
        st.rerun()  # drawn again with the buttons that would disturb the round disabled
    job_progress(
        ROUND_JOB, round_done, still_wanted=lambda j: j.owner is st.session_state[CAMPAIGN]
    )
    report = rep.suggestions_report(campaign)
    if report is None:
        return
    st.dataframe(
        report.table,
        hide_index=True,
        key="suggestions_table",
        column_config=two_decimals(report.float_columns),
    )
    st.caption(report.note)
    st.download_button(
        "Download suggestions (CSV)",
        report.export,
        file_name=report.file_name,
        mime="text/csv",
        key="download",
    )


def results_section(campaign: Campaign) -> None:
    st.caption(rep.RESULTS_NOTE)
    entered = None
    if campaign.suggestions is not None:
        template = campaign.results_template()
        entered = st.data_editor(
            template,
            column_config=two_decimals(rep.float_columns(template)),
            hide_index=True,
            num_rows="dynamic",
            key=f"results_editor_{campaign.n_rounds}",
        )
    upload = st.file_uploader(
        "…or a results CSV", type=["csv", "txt"], key=f"results_upload_{campaign.n_rounds}"
    )
    uploaded = None
    if upload is not None:  # read at once: the user sees what will be added, or why not
        try:
            uploaded = read_csv_upload(upload.getvalue())
            st.caption(f"{upload.name}: {len(uploaded)} rows read; *Add results* adds them.")
        except InvalidInputError as err:
            show_error(err)
    c1, c2 = st.columns(2)
    busy = running_round(campaign) is not None  # the round in the background uses the data
    if c1.button("Add results", key="add_results", type="primary", disabled=busy):
        with errors_shown():
            table = rep.results_to_add(uploaded, entered, upload.name if upload else None)
            added = campaign.add_results(table)
            saved = autosaved(campaign, store)
            set_notice(campaign, f"Added {added} results as round {campaign.n_rounds}.{saved}")
            st.rerun()
    if (
        campaign.builtin == "glass"
        and campaign.suggestions is not None
        and c2.button("Evaluate suggestions with the glass model", key="evaluate", disabled=busy)
    ):
        with errors_shown(StudioError, ModelNotAvailableError):
            added = campaign.add_results(evaluate(campaign, campaign.suggestions))
            saved = autosaved(campaign, store)
            set_notice(
                campaign, f"Model-evaluated {added} glasses (round {campaign.n_rounds}).{saved}"
            )
            st.rerun()


# --------------------------------------------------------------------------------- plots
def plots_section(campaign: Campaign) -> None:
    best, pareto, landscape, parity = st.tabs(
        ["Best so far", "Pareto front", "Prediction map", "Surrogate parity"]
    )
    objs = [o.name for o in campaign.space.objectives]
    measured_objs = [o.name for o in campaign.space.measured_objectives]
    with best:
        history = campaign.best_so_far()
        units = {o.name: o.unit for o in campaign.space.objectives}
        st.plotly_chart(plots.progress_figure(history, units), key="progress_chart")
        if len(objs) > 1:
            st.caption(rep.HYPERVOLUME_NOTE)
        st.dataframe(history, hide_index=True)
    with pareto:
        if len(objs) < 2:
            st.caption(rep.NO_TRADEOFF_NOTE)
        else:
            figure = plots.pareto_figure(
                campaign.measured, objs, campaign.pareto_mask(), units=units
            )
            st.plotly_chart(figure, key="pareto_chart")
    with landscape:
        continuous = rep.continuous_names(campaign.space)
        if len(continuous) < 2:
            st.caption("The map needs two continuous variables.")
        else:
            c1, c2, c3 = st.columns(3)
            x = c1.selectbox("x", continuous, 0, key="map_x")
            y = c2.selectbox("y", continuous, 1, key="map_y")
            obj = c3.selectbox("Objective", measured_objs, key="map_objective")
            with errors_shown():
                grid = campaign.prediction_map(x, y, obj, n=30)
                figure = plots.prediction_map_figure(grid, campaign.measured, x, y, obj)
                st.plotly_chart(figure, key="map_chart")
                st.caption(rep.map_note(grid))
    with parity:
        figure = plots.loo_parity_figure(campaign.parity(), measured_objs)
        st.plotly_chart(figure, key="parity_chart")


# ---------------------------------------------------------------------------------- page
st.session_state.setdefault(CAMPAIGN, None)
st.session_state.setdefault(NOTICE, None)
st.title("Recipe optimisation")
st.markdown(rep.INTRO)
try:
    store = CampaignStore()
except StoreUnavailableError as err:  # the page works on; campaigns cannot be saved
    store = None
    st.error(str(err), icon=":material/database:")

open_or_create(store)

campaign: Campaign | None = st.session_state[CAMPAIGN]
if campaign is None:
    st.info("Open a saved campaign or create one to start.")
    st.stop()

notice_slot = st.empty()  # filled at the end: a click below may already have moved on
st.header(campaign.name)
st.markdown(rep.summary(campaign))
c1, c2 = st.columns([1, 3])
if store is not None and c1.button("Save campaign", key="save"):
    with errors_shown():
        store.save(campaign)
        st.success(f"Saved {campaign.name!r} (version {campaign.version}).")
c2.caption(rep.SAVE_NOTE)

with st.expander("Configure bounds and objectives"):
    configure_section(campaign)
st.subheader("Suggestions")
suggest_section(campaign)
st.subheader("Results")
results_section(campaign)
st.subheader("Measured recipes")
st.dataframe(campaign.measured, hide_index=True, key="measured_table")
st.subheader("Plots")
plots_section(campaign)
notice = st.session_state[NOTICE]
if notice and notice[1] == notice_stamp(campaign):  # shown until the campaign changes again
    notice_slot.success(notice[0])
