"""The "Open or create a campaign" panel of the recipe page: saved campaigns (open, rename,
delete after asking), the built-in campaigns, and the from-your-table form
(:mod:`app_pages.widgets.recipe_table_form`)."""

from __future__ import annotations

import streamlit as st

from app_pages.widgets.recipe_state import (
    CAMPAIGN,
    FOLD_PANEL,
    PANEL,
    PENDING_DELETE,
    autosaved,
    errors_shown,
    open_campaign,
)
from app_pages.widgets.recipe_table_form import upload_section
from core.optimize import Campaign, CampaignStore, builtin_campaigns
from core.optimize import report as rep


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


def builtin_section(store: CampaignStore | None) -> None:
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
            saved = autosaved(campaign, store)
            open_campaign(
                campaign, f"Created {campaign.name!r} with {n_measured} measured recipes.{saved}"
            )


# What the user typed in the panel, kept while it is hidden (Streamlit forgets the values of
# widgets that are not drawn in a run; a key set by the script is kept)
KEPT = (
    "rename_to",
    "builtin_name",
    "concrete_n",
    "concrete_total",
    "concrete_wb",
    "concrete_cement",
    "glass_n",
    "glass_tg",
)


def open_or_create(store: CampaignStore | None) -> None:
    """The "Open or create a campaign" panel: folded once a campaign has been opened, and
    kept open or closed across reruns as the user left it."""
    st.session_state.setdefault(PANEL, st.session_state[CAMPAIGN] is None)
    if st.session_state.pop(FOLD_PANEL, False):
        st.session_state[PANEL] = False
    # A toggle, not an expander: a toggle's value is an ordinary widget value the server
    # owns, so a fresh load always shows what the session says. (A stateful expander once
    # loaded folded on a busy machine, issue 22 item 16; a plain one folds on every rerun.)
    for key in KEPT:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    if not st.toggle("Open or create a campaign", key=PANEL):
        return
    with st.container(border=True):
        saved, builtin, upload = st.tabs(["Saved", "Built-in", "Upload CSV"])
        with saved:
            if store is not None:
                saved_section(store)
        with builtin:
            builtin_section(store)
        with upload:
            upload_section(store)
