"""The "Upload CSV" form of the recipe page: a campaign from the user's own table (variables
and their bounds, fixed and categorical columns, objectives, constraints). Every entry stays
as typed when *Create* reports a problem; building the campaign is one call into
:func:`core.optimize.entries.campaign_from_entries`."""

from __future__ import annotations

import streamlit as st

from app_pages.widgets.recipe_state import autosaved, errors_shown, open_campaign, show_error
from core.exceptions import InvalidInputError
from core.optimize import CampaignStore, entries
from core.optimize import report as rep
from core.optimize.tables import read_csv_upload


def upload_section(store: CampaignStore | None) -> None:
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
            saved = autosaved(campaign, store)
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
