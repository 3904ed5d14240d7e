"""Recipe optimisation: pick or create a campaign, configure it, get suggestions, enter results.

Layout and session state only; every computation is a call into :mod:`core.optimize`, the
texts and tables come from :mod:`core.optimize.report`, the charts from
:mod:`core.plots.optimize`.
"""

from __future__ import annotations

import contextlib

import streamlit as st

from app import job_progress
from core.exceptions import InvalidInputError, ModelNotAvailableError, StudioError
from core.jobs import Job
from core.optimize import (
    Campaign,
    CampaignStore,
    StoreUnavailableError,
    builtin_campaigns,
    entries,
    evaluate,
)
from core.optimize import report as rep
from core.optimize.tables import read_csv_upload
from core.plots import optimize as plots

CAMPAIGN = "recipe_campaign"  # the open Campaign
NOTICE = "recipe_notice"
PENDING_DELETE = "recipe_pending_delete"  # the saved campaign a Delete click asks about
PANEL = "recipe_panel"  # open/closed state of the "Open or create" panel, kept across runs
FOLD_PANEL = "recipe_fold_panel"  # a campaign was just opened: fold the panel
ROUND_JOB = "recipe_round_job"  # the Job of the round running in the background


def show_error(err: Exception) -> None:
    st.error(str(err), icon=":material/error:")


@contextlib.contextmanager
def errors_shown(*kinds: type[Exception]):
    """Run the block; a domain error in it becomes a message (every entry stays as typed)."""
    try:
        yield
    except tuple(kinds or (StudioError, InvalidInputError)) as err:
        show_error(err)


def _stamp(campaign: Campaign) -> tuple:
    """What a notice is about: it disappears once the campaign moves on."""
    return id(campaign), campaign.n_rounds, campaign.suggestions is None


def set_notice(campaign: Campaign, text: str) -> None:
    st.session_state[NOTICE] = (text, _stamp(campaign))


def open_campaign(campaign: Campaign, notice: str) -> None:
    st.session_state[CAMPAIGN] = campaign
    set_notice(campaign, notice)
    st.session_state[FOLD_PANEL] = True  # the panel folds once, now
    st.rerun()


def autosaved(campaign: Campaign) -> str:
    """Save without asking (every created campaign, round and result: nothing lives only in
    this browser session); the sentence for the notice."""
    if store is None:
        return " Not saved: the campaign store is unavailable (see above)."
    try:
        store.autosave(campaign)
    except (StudioError, InvalidInputError) as err:
        return f" Not saved automatically: {err}"
    return f" Saved as {campaign.name!r} (version {campaign.version})."


def two_decimals(columns) -> dict:
    """Show numbers with 2 decimals (values stay exact: constraints hold to 1e-6)."""
    return {c: st.column_config.NumberColumn(format="%.2f") for c in columns}


# ------------------------------------------------------------------------- pick / create
def saved_section(store: CampaignStore) -> None:
    labels = rep.saved_labels(store.list())
    if not labels:
        st.caption("No saved campaigns yet: create one from a built-in or your own table.")
        return
    chosen = st.selectbox("Saved campaign", list(labels), format_func=labels.get, key="saved_id")
    c1, c2, c3 = st.columns([1, 2, 1])
    if c1.button("Open", key="open_saved", type="primary"):
        with errors_shown():
            campaign = store.load(chosen)
            open_campaign(campaign, f"Opened {campaign.name!r}.")
    new_name = c2.text_input(
        "New name", key="rename_to", label_visibility="collapsed", placeholder="New name"
    )
    current = st.session_state[CAMPAIGN]
    is_open = current is not None and current.store_id == chosen
    if c2.button("Rename", key="rename"):
        with errors_shown():
            store.rename(chosen, new_name)
            if is_open:
                st.session_state[CAMPAIGN] = store.load(chosen)
            st.rerun()
    if c3.button("Delete…", key="delete"):  # asks first: one click lost a campaign
        st.session_state[PENDING_DELETE] = chosen
    if st.session_state.get(PENDING_DELETE) == chosen:
        st.warning(
            f"Delete {labels[chosen]} for good? Its measured rounds cannot be recovered"
            + (" (the copy open below stays, unsaved)." if is_open else "."),
            icon=":material/delete:",
        )
        yes, no = st.columns(2)
        if yes.button("Yes, delete it", key="delete_confirm", type="primary"):
            with errors_shown():
                store.delete(chosen)
                if is_open:
                    current.store_id, current.version = None, 0
            st.session_state[PENDING_DELETE] = None
            st.rerun()
        if no.button("Keep it", key="delete_cancel"):
            st.session_state[PENDING_DELETE] = None
            st.rerun()


def builtin_section() -> None:
    infos = {info.name: info for info in builtin_campaigns()}
    name = st.radio(
        "Built-in campaign",
        list(infos),
        format_func=lambda n: infos[n].title,
        key="builtin_name",
        horizontal=True,
    )
    info = infos[name]
    if not info.available:
        st.warning(f"{info.title} is unavailable: {info.reason}")
        return
    st.caption(info.description)
    if name == "concrete":
        c1, c2, c3, c4 = st.columns(4)
        n = c1.number_input(
            "Start from N random mixes (0 = all 1,030)", 0, 1030, 0, key="concrete_n"
        )
        total = c2.number_input(
            "Total mass, kg/m³", 2000.0, 2700.0, 2350.0, step=10.0, key="concrete_total"
        )
        wb = c3.slider("Water / binder window", 0.2, 0.9, (0.25, 0.60), 0.01, key="concrete_wb")
        cement = c4.checkbox("Also minimise cement", key="concrete_cement")
        options = dict(n_initial=int(n) or None, total_mass=float(total), wb_window=tuple(wb))
        options["minimize_cement"] = bool(cement)
    else:
        c1, c2 = st.columns(2)
        n = c1.number_input("Start from N model-evaluated glasses", 5, 100, 12, key="glass_n")
        tg = c2.number_input("Tg at least, K", 500.0, 1300.0, 800.0, key="glass_tg")
        options = dict(n_initial=int(n), tg_min=float(tg))
    if st.button("Create campaign", key="create_builtin", type="primary"):
        with errors_shown():
            with st.spinner("Building the campaign…"):
                campaign = Campaign.from_builtin(name, **options)
            n_measured = len(campaign.measured)
            saved = autosaved(campaign)
            open_campaign(
                campaign, f"Created {campaign.name!r} with {n_measured} measured recipes.{saved}"
            )


def upload_section() -> None:
    upload = st.file_uploader("Recipes and results (CSV)", type=["csv", "txt"], key="upload")
    if upload is None:
        st.caption("One row per recipe: ingredient/setting columns and measured result columns.")
        return
    try:
        df = read_csv_upload(upload.getvalue())
    except InvalidInputError as err:
        show_error(err)
        return
    st.dataframe(df.head(20), hide_index=True)
    columns = list(df.columns)

    # Variables: continuous (bounds from the data, editable), fixed, categorical.
    variables = st.multiselect(
        "Recipe variables (continuous; bounds from the data)", columns, key="upload_variables"
    )
    inferred, problems = rep.infer_each(df, variables)  # say so at once, keep the rest
    for err in problems:
        show_error(err)
    if problems:
        st.caption(rep.ROLE_HINT)
    bounds = None
    if inferred:
        with st.expander("Edit bounds (optional)"):
            st.caption(rep.BOUNDS_NOTE)
            bounds = st.data_editor(
                rep.bounds_rows(inferred),
                hide_index=True,
                key=f"upload_bounds:{'|'.join(v.name for v in inferred)}",  # edits per row
                disabled=["variable"],
            )
    c1, c2 = st.columns(2)
    fixed = c1.multiselect(
        "Fixed variables (held at one value in every suggestion)",
        [c for c in columns if c not in variables],
        key="upload_fixed",
        help=rep.FIXED_HELP,
    )
    categorical = c2.multiselect(
        "Categorical variables (a choice among the column's labels)",
        [c for c in columns if c not in variables and c not in fixed],
        key="upload_categorical",
    )
    fixed_values = {
        column: st.number_input(
            f"{column} held at",
            value=entries.fixed_default(df, column),
            key=f"upload_fixed_value_{column}",
        )
        for column in fixed
    }
    choices = {column: entries.category_choices(df, column) for column in categorical}
    for column, labels in choices.items():
        st.caption(f"{column}: choices {', '.join(labels) or '(none)'} (from the data)")

    # Objectives: maximize, minimize, or a target window.
    taken = {*variables, *fixed, *categorical}
    objectives = st.multiselect(
        "Objectives (measured columns)",
        [c for c in columns if c not in taken],
        key="upload_objectives",
    )
    goals = {o: objective_inputs(o) for o in objectives}

    # Constraints on the numeric (continuous and fixed) variables.
    st.markdown("**Constraints (optional)**")
    continuous = [v.name for v in inferred]
    rules = constraint_inputs(numeric=[*continuous, *fixed], continuous=continuous)

    name = st.text_input("Campaign name", "My campaign", key="upload_name")
    if st.button("Create campaign", key="create_upload", type="primary"):
        with errors_shown():
            campaign = entries.campaign_from_entries(
                df, bounds, fixed_values, choices, goals, rules, name=name, problems=problems
            )
            saved = autosaved(campaign)
            open_campaign(campaign, f"Created {campaign.name!r} from {upload.name}.{saved}")


def objective_inputs(name: str) -> tuple[str, float | None, float | None]:
    """Direction of one objective and, for a target, its window (either side may be open)."""
    c1, c2, c3 = st.columns([2, 1, 1])
    direction = c1.selectbox(
        f"{name}: direction", ["maximize", "minimize", "target"], key=f"upload_dir_{name}"
    )
    if direction != "target":
        return direction, None, None
    low = c2.number_input(
        f"{name} at least", value=None, placeholder="no lower limit", key=f"upload_low_{name}"
    )
    high = c3.number_input(
        f"{name} at most", value=None, placeholder="no upper limit", key=f"upload_high_{name}"
    )
    return direction, low, high


def constraint_inputs(numeric: list[str], continuous: list[str]) -> list:
    """The constraint entries as builders (called on *Create*, so an invalid entry is an
    error message there while every entry stays as typed)."""
    mixture = st.multiselect(
        "Mixture: these variables sum to a fixed total", numeric, key="upload_mixture"
    )
    total = st.number_input("Mixture total", 0.0, value=100.0, key="upload_total")
    n_ratios = st.number_input(
        "Ratio windows (e.g. water / binder between 0.3 and 0.5)", 0, 5, 0, key="upload_n_ratios"
    )
    ratios = []
    for i in range(int(n_ratios)):
        c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
        num = c1.multiselect(
            f"Ratio {i + 1}: numerator (sum of)", numeric, key=f"upload_ratio_num_{i}"
        )
        den = c2.multiselect("denominator (sum of)", numeric, key=f"upload_ratio_den_{i}")
        lower = c3.number_input(
            "at least", 0.0, value=0.0, step=0.01, format="%.3f", key=f"upload_ratio_lo_{i}"
        )
        upper = c4.number_input(
            "at most", 0.0, value=1.0, step=0.01, format="%.3f", key=f"upload_ratio_hi_{i}"
        )
        ratios.append((num, den, lower, upper))
    rows = []
    if numeric:
        st.caption(rep.LINEAR_NOTE)
        table = st.data_editor(
            entries.linear_table(numeric), num_rows="dynamic", hide_index=True, key="upload_linear"
        )
        rows = table.to_dict("records")
    n_cards = st.number_input(
        "'At most k non-zero' rules (e.g. at most 2 of 3 additives)", 0, 3, 0, key="upload_n_cards"
    )
    cards = []
    for i in range(int(n_cards)):
        c1, c2 = st.columns([3, 1])
        comps = c1.multiselect(
            f"Rule {i + 1}: of these variables", continuous, key=f"upload_card_comps_{i}"
        )
        k = c2.number_input(
            "at most this many non-zero", 1, value=1, step=1, key=f"upload_card_k_{i}"
        )
        cards.append((comps, k))
    return entries.constraint_builders(mixture, total, ratios, rows, numeric, cards)


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
    set_notice(job.owner, took + autosaved(job.owner))


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
            saved = autosaved(campaign)
            set_notice(campaign, f"Added {added} results as round {campaign.n_rounds}.{saved}")
            st.rerun()
    if (
        campaign.builtin == "glass"
        and campaign.suggestions is not None
        and c2.button("Evaluate suggestions with the glass model", key="evaluate", disabled=busy)
    ):
        with errors_shown(StudioError, ModelNotAvailableError):
            added = campaign.add_results(evaluate(campaign, campaign.suggestions))
            saved = autosaved(campaign)
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

st.session_state.setdefault(PANEL, st.session_state[CAMPAIGN] is None)
if st.session_state.pop(FOLD_PANEL, False):
    st.session_state[PANEL] = False
# state kept on the server (key + on_change): it no longer folds up on every rerun
with st.expander("Open or create a campaign", key=PANEL, on_change="rerun"):
    saved, builtin, upload = st.tabs(["Saved", "Built-in", "Upload CSV"])
    with saved:
        if store is not None:
            saved_section(store)
    with builtin:
        builtin_section()
    with upload:
        upload_section()

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
if notice and notice[1] == _stamp(campaign):  # shown until the campaign changes again
    notice_slot.success(notice[0])
