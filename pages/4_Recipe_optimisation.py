"""Recipe optimisation: pick or create a campaign, configure it, get suggestions, enter results.

Layout and session state only; every computation is a call into :mod:`core.optimize`.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.exceptions import InvalidInputError, ModelNotAvailableError, StudioError
from core.optimize import (
    Campaign,
    CampaignStore,
    ContinuousVariable,
    FixedVariable,
    MixtureConstraint,
    Objective,
    SearchSpace,
    builtin_campaigns,
    evaluate,
)
from core.optimize.searchspace import ROUND, read_csv_upload
from core.optimize.space import CategoricalVariable

CAMPAIGN = "recipe_campaign"  # the open Campaign
NOTICE = "recipe_notice"


def init_state() -> None:
    st.session_state.setdefault(CAMPAIGN, None)
    st.session_state.setdefault(NOTICE, None)


def show_error(err: Exception) -> None:
    st.error(str(err), icon=":material/error:")


def _stamp(campaign: Campaign) -> tuple:
    """What a notice is about: it disappears once the campaign moves on."""
    return id(campaign), campaign.n_rounds, campaign.suggestions is None


def set_notice(campaign: Campaign, text: str) -> None:
    st.session_state[NOTICE] = (text, _stamp(campaign))


def open_campaign(campaign: Campaign, notice: str) -> None:
    st.session_state[CAMPAIGN] = campaign
    set_notice(campaign, notice)


# ------------------------------------------------------------------------- pick / create
def saved_section(store: CampaignStore) -> None:
    listing = store.list()
    if listing.empty:
        st.caption("No saved campaigns yet: create one from a built-in or your own table.")
        return
    labels = {
        row.id: f"{row.name} ({row.n_measured} recipes, {row.n_rounds} rounds)"
        for row in listing.itertuples()
    }
    chosen = st.selectbox("Saved campaign", list(labels), format_func=labels.get, key="saved_id")
    c1, c2, c3 = st.columns([1, 2, 1])
    if c1.button("Open", key="open_saved", type="primary"):
        try:
            campaign = store.load(chosen)
            open_campaign(campaign, f"Opened {campaign.name!r}.")
        except (StudioError, InvalidInputError) as err:
            show_error(err)
    new_name = c2.text_input(
        "New name", key="rename_to", label_visibility="collapsed", placeholder="New name"
    )
    if c2.button("Rename", key="rename"):
        try:
            store.rename(chosen, new_name)
            current = st.session_state[CAMPAIGN]
            if current is not None and current.store_id == chosen:
                st.session_state[CAMPAIGN] = store.load(chosen)
            st.rerun()
        except (StudioError, InvalidInputError) as err:
            show_error(err)
    if c3.button("Delete", key="delete"):
        store.delete(chosen)
        current = st.session_state[CAMPAIGN]
        if current is not None and current.store_id == chosen:
            current.store_id, current.version = None, 0
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
        options = dict(
            n_initial=int(n) or None,
            total_mass=float(total),
            wb_window=tuple(wb),
            minimize_cement=bool(cement),
        )
    else:
        c1, c2 = st.columns(2)
        n = c1.number_input("Start from N model-evaluated glasses", 5, 100, 12, key="glass_n")
        tg = c2.number_input("Tg at least, K", 500.0, 1300.0, 800.0, key="glass_tg")
        options = dict(n_initial=int(n), tg_min=float(tg))
    if st.button("Create campaign", key="create_builtin", type="primary"):
        try:
            with st.spinner("Building the campaign…"):
                campaign = Campaign.from_builtin(name, **options)
            open_campaign(
                campaign,
                f"Created {campaign.name!r} with {len(campaign.measured)} measured recipes.",
            )
        except (StudioError, InvalidInputError) as err:
            show_error(err)


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
    variables = st.multiselect(
        "Recipe variables (bounds from the data)", columns, key="upload_variables"
    )
    objectives = st.multiselect(
        "Objectives (measured columns)",
        [c for c in columns if c not in variables],
        key="upload_objectives",
    )
    directions = {
        o: st.selectbox(f"{o}", ["maximize", "minimize"], key=f"upload_dir_{o}") for o in objectives
    }
    mixture = st.multiselect(
        "Mixture: these variables sum to a fixed total (optional)", variables, key="upload_mixture"
    )
    total = st.number_input("Mixture total", 0.0, value=100.0, key="upload_total")
    name = st.text_input("Campaign name", "My campaign", key="upload_name")
    if st.button("Create campaign", key="create_upload", type="primary"):
        try:
            constraints = [MixtureConstraint(tuple(mixture), total)] if mixture else []
            campaign = Campaign.from_table(
                df,
                variables,
                [Objective(o, directions[o]) for o in objectives],
                constraints,
                name=name,
            )
            open_campaign(campaign, f"Created {campaign.name!r} from {upload.name}.")
        except (StudioError, InvalidInputError) as err:
            show_error(err)


# ---------------------------------------------------------------------------- configure
def configure_section(campaign: Campaign) -> None:
    space = campaign.space
    rows = [
        {
            "variable": v.name,
            "kind": v.kind,
            "lower": getattr(v, "lower", getattr(v, "value", None)),
            "upper": getattr(v, "upper", getattr(v, "value", None)),
            "unit": getattr(v, "unit", ""),
        }
        for v in space.variables
        if not isinstance(v, CategoricalVariable)
    ]
    st.caption(
        "Bounds (a fixed variable: lower = upper = its value). Constraints: "
        + "; ".join(c.describe() for c in space.constraints)
        if space.constraints
        else "Bounds (a fixed variable: lower = upper = its value). No constraints."
    )
    bounds = st.data_editor(
        pd.DataFrame(rows),
        hide_index=True,
        key="bounds_editor",
        disabled=["variable", "kind", "unit"],
    )
    objectives = st.data_editor(
        pd.DataFrame(
            [
                {"objective": o.name, "direction": o.direction, "low": o.low, "high": o.high}
                for o in space.objectives
            ]
        ),
        hide_index=True,
        key="objectives_editor",
        disabled=["objective"],
        column_config={
            "direction": st.column_config.SelectboxColumn(
                options=["maximize", "minimize", "target"], required=True
            )
        },
    )
    if st.button("Apply configuration", key="apply_config"):
        try:
            by_name = bounds.set_index("variable")
            variables = []
            for v in space.variables:
                if isinstance(v, CategoricalVariable):
                    variables.append(v)
                    continue
                lo, hi = by_name.loc[v.name, "lower"], by_name.loc[v.name, "upper"]
                variables.append(
                    FixedVariable(v.name, lo, v.unit)
                    if lo == hi
                    else ContinuousVariable(v.name, lo, hi, v.unit)
                )
            objs = []
            for row, o in zip(objectives.itertuples(), space.objectives, strict=True):
                low = None if pd.isna(row.low) else row.low
                high = None if pd.isna(row.high) else row.high
                objs.append(Objective(o.name, row.direction, low, high, o.unit))
            new_space = SearchSpace(tuple(variables), tuple(objs), space.constraints)
            measured = campaign.measured
            new = Campaign(
                new_space,
                measured,
                name=campaign.name,
                settings=campaign.settings,
                builtin=campaign.builtin,
                rounds=measured[ROUND],
            )
            new.store_id, new.version = campaign.store_id, campaign.version
            open_campaign(new, "Configuration applied.")
            st.rerun()
        except (StudioError, InvalidInputError) as err:
            show_error(err)


# -------------------------------------------------------------------- suggest / results
def suggest_section(campaign: Campaign) -> None:
    c1, c2 = st.columns([1, 3])
    q = c1.number_input("Suggestions per round", 1, 12, 4, key="q")
    if c2.button("Suggest next recipes", key="suggest", type="primary"):
        try:
            with st.spinner("Fitting the surrogate and optimising the acquisition…"):
                campaign.recommend(int(q))
        except (StudioError, InvalidInputError) as err:
            show_error(err)
    if campaign.suggestions is None:
        return
    suggestions = campaign.suggestions
    worst = float(campaign.space.violations(suggestions).to_numpy().max())
    st.dataframe(
        suggestions,
        hide_index=True,
        key="suggestions_table",
        column_config=_two_decimals(suggestions),
    )
    st.caption(
        f"Every suggestion meets every constraint (largest deviation {worst:.1e}). "
        "Columns `_mean`/`_std`: the surrogate's prediction and its uncertainty."
    )
    template = campaign.results_template()
    export = pd.concat([template, suggestions.drop(columns=campaign.space.names)], axis=1)
    st.download_button(
        "Download suggestions (CSV)",
        export.to_csv(index=False),
        file_name=f"{campaign.name}_round{campaign.n_rounds + 1}.csv",
        mime="text/csv",
        key="download",
    )


def _two_decimals(frame: pd.DataFrame) -> dict:
    """Show numbers with 2 decimals (values stay exact: constraints hold to 1e-6)."""
    return {
        c: st.column_config.NumberColumn(format="%.2f")
        for c in frame.columns
        if pd.api.types.is_float_dtype(frame[c])
    }


def results_section(campaign: Campaign) -> None:
    st.caption(
        "Fill in the measured values of the recipes you made (delete the rows you did "
        "not make), or upload the downloaded CSV with the results filled in."
    )
    if campaign.suggestions is not None:
        template = campaign.results_template()
        entered = st.data_editor(
            template,
            column_config=_two_decimals(template),
            hide_index=True,
            num_rows="dynamic",
            key=f"results_editor_{campaign.n_rounds}",
        )
    else:
        entered = None
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
    if c1.button("Add results", key="add_results", type="primary"):
        try:
            if upload is not None and uploaded is None:
                raise InvalidInputError(
                    "The uploaded file cannot be read",
                    got=upload.name,
                    expected="a CSV table of recipes with their measured results",
                    fix="see the message above the button, fix the file and upload it again",
                )
            table = uploaded if uploaded is not None else entered
            if table is None:
                raise InvalidInputError(
                    "No results to add",
                    got="nothing entered",
                    expected="a results table",
                    fix="get suggestions first or upload a CSV",
                )
            added = campaign.add_results(table)
            set_notice(campaign, f"Added {added} results as round {campaign.n_rounds}.")
            st.rerun()
        except (StudioError, InvalidInputError) as err:
            show_error(err)
    if (
        campaign.builtin == "glass"
        and campaign.suggestions is not None
        and c2.button("Evaluate suggestions with the glass model", key="evaluate")
    ):
        try:
            added = campaign.add_results(evaluate(campaign, campaign.suggestions))
            set_notice(campaign, f"Model-evaluated {added} glasses (round {campaign.n_rounds}).")
            st.rerun()
        except (StudioError, ModelNotAvailableError) as err:
            show_error(err)


# --------------------------------------------------------------------------------- plots
def plots_section(campaign: Campaign) -> None:
    best, pareto, landscape, parity = st.tabs(
        ["Best so far", "Pareto front", "Prediction map", "Surrogate parity"]
    )
    with best:
        history = campaign.best_so_far()
        long = history.melt(["round", "experiments"], var_name="objective")
        st.altair_chart(
            alt.Chart(long)
            .mark_line(point=True)
            .encode(
                x=alt.X("round:O", title="round"),
                y=alt.Y("value:Q", title="best so far"),
                color="objective:N",
                tooltip=["round", "experiments", "objective", "value"],
            )
            .properties(height=300),
        )
        st.dataframe(history, hide_index=True)
    with pareto:
        objs = [o.name for o in campaign.space.objectives]
        if len(objs) < 2:
            st.caption(
                "One objective: there is no trade-off to show. Add a second objective "
                "(e.g. minimise cement) to see the Pareto front."
            )
        else:
            data = campaign.measured.assign(pareto=campaign.pareto_mask())
            st.altair_chart(
                alt.Chart(data)
                .mark_circle(size=60)
                .encode(
                    x=alt.X(f"{objs[0]}:Q", scale=alt.Scale(zero=False)),
                    y=alt.Y(f"{objs[1]}:Q", scale=alt.Scale(zero=False)),
                    color=alt.Color("pareto:N", title="Pareto-optimal"),
                    tooltip=[*objs, ROUND],
                )
                .properties(height=350),
            )
    with landscape:
        continuous = [v.name for v in campaign.space.variables if isinstance(v, ContinuousVariable)]
        if len(continuous) < 2:
            st.caption("The map needs two continuous variables.")
        else:
            c1, c2, c3 = st.columns(3)
            x = c1.selectbox("x", continuous, 0, key="map_x")
            y = c2.selectbox("y", continuous, 1, key="map_y")
            measured_objs = [o.name for o in campaign.space.measured_objectives]
            obj = c3.selectbox("Objective", measured_objs, key="map_objective")
            try:
                n = 30
                grid = campaign.prediction_map(x, y, obj, n=n)
                points = campaign.measured
                for axis in (x, y):  # cell edges: half a grid step either side
                    step = (grid[axis].max() - grid[axis].min()) / (n - 1)
                    grid[f"{axis}_from"] = grid[axis] - step / 2
                    grid[f"{axis}_to"] = grid[axis] + step / 2
                heat = (
                    alt.Chart(grid)
                    .mark_rect()
                    .encode(
                        x=alt.X(f"{x}_from:Q", title=x),
                        x2=f"{x}_to:Q",
                        y=alt.Y(f"{y}_from:Q", title=y),
                        y2=f"{y}_to:Q",
                        color=alt.Color("mean:Q", title=f"predicted {obj}"),
                        opacity=alt.condition("datum.feasible", alt.value(1.0), alt.value(0.35)),
                        tooltip=[x, y, "mean", "std", "feasible"],
                    )
                )
                dots = (
                    alt.Chart(points)
                    .mark_circle(color="black", size=25)
                    .encode(x=f"{x}:Q", y=f"{y}:Q", tooltip=[x, y, obj, ROUND])
                )
                st.altair_chart((heat + dots).properties(height=400))
                balance = grid.attrs.get("balance", [])
                st.caption(
                    "Other variables held at the best measured recipe"
                    + (
                        f", except {', '.join(balance)}, which keeps the mixture total"
                        if balance
                        else ""
                    )
                    + "; faded cells break a constraint. Dots: measured recipes."
                )
            except (StudioError, InvalidInputError) as err:
                show_error(err)
    with parity:
        loo = campaign.parity()
        for o in campaign.space.measured_objectives:
            lo = float(min(loo[o.name].min(), loo[f"{o.name}_loo_mean"].min()))
            hi = float(max(loo[o.name].max(), loo[f"{o.name}_loo_mean"].max()))
            rmse = float(np.sqrt(((loo[o.name] - loo[f"{o.name}_loo_mean"]) ** 2).mean()))
            diagonal = (
                alt.Chart(pd.DataFrame({"a": [lo, hi], "b": [lo, hi]}))
                .mark_line(color="grey", strokeDash=[4, 4])
                .encode(x="a:Q", y="b:Q")
            )
            dots = (
                alt.Chart(loo)
                .mark_circle(size=30)
                .encode(
                    x=alt.X(f"{o.name}:Q", title=f"measured {o.name}", scale=alt.Scale(zero=False)),
                    y=alt.Y(
                        f"{o.name}_loo_mean:Q",
                        title="leave-one-out prediction",
                        scale=alt.Scale(zero=False),
                    ),
                    tooltip=[o.name, f"{o.name}_loo_mean", f"{o.name}_loo_std"],
                )
            )
            st.altair_chart((diagonal + dots).properties(height=350, title=o.name))
            st.caption(f"{o.name}: leave-one-out RMSE {rmse:.3g} over {len(loo)} recipes.")


# ---------------------------------------------------------------------------------- page
init_state()
st.title("Recipe optimisation")
st.markdown(
    "Bayesian optimisation proposes the next recipes to make: a Gaussian-process surrogate "
    "learns from the recipes measured so far, and every suggestion meets the recipe's rules "
    "(batch total, ratio windows, fixed settings). Enter what you measured and ask again."
)
try:
    store = CampaignStore()
except Exception as err:  # noqa: BLE001 - an unreachable database must not hide the page
    store = None
    st.error(f"The campaign store is not reachable ({err}); campaigns cannot be saved.")

with st.expander("Open or create a campaign", expanded=st.session_state[CAMPAIGN] is None):
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

notice = st.session_state[NOTICE]
if notice and notice[1] == _stamp(campaign):  # shown until the campaign changes again
    st.success(notice[0])
st.header(campaign.name)
objectives = ", ".join(o.describe() for o in campaign.space.objectives)
st.markdown(
    f"{len(campaign.measured)} measured recipes, {campaign.n_rounds} rounds · "
    f"objectives: {objectives}"
)
c1, c2 = st.columns([1, 3])
if store is not None and c1.button("Save campaign", key="save"):
    try:
        store.save(campaign)
        st.success(f"Saved {campaign.name!r} (version {campaign.version}).")
    except (StudioError, InvalidInputError) as err:
        show_error(err)
c2.caption(
    "Saved campaigns survive restarts; if another session saved this campaign since "
    "you opened it, saving says so instead of overwriting."
)

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
