"""What the recipe page and its forms share: session-state keys, the open campaign and its
notice, autosave, and domain errors shown as messages (entries stay as typed)."""

from __future__ import annotations

import contextlib

import streamlit as st

from core.exceptions import InvalidInputError, StudioError
from core.optimize import Campaign, CampaignStore

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


def notice_stamp(campaign: Campaign) -> tuple:
    """What a notice is about: it disappears once the campaign moves on."""
    return id(campaign), campaign.n_rounds, campaign.suggestions is None


def set_notice(campaign: Campaign, text: str) -> None:
    st.session_state[NOTICE] = (text, notice_stamp(campaign))


def open_campaign(campaign: Campaign, notice: str) -> None:
    st.session_state[CAMPAIGN] = campaign
    set_notice(campaign, notice)
    st.session_state[FOLD_PANEL] = True  # the panel folds once, now
    st.rerun()


def autosaved(campaign: Campaign, store: CampaignStore | None) -> str:
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
