"""Materials Design Studio: entry point (``streamlit run app.py``).

Builds the navigation from :data:`PAGES` (only pages whose file exists are registered, so a
build without a capability shows no placeholder) and the sidebar every page shares: the
device models run on and the trained model versions that are available.

The module is importable without side effects (pages import :func:`registered_pages`, the
group names and :func:`job_progress` from it); the UI is built only when Streamlit runs it
as the main script.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

APP_DIR = Path(__file__).resolve().parent

STRUCTURE = "Structure → property"
COMPOSITION = "Composition → property"
DESIGN = "Property → design"
REFERENCE = "Reference"
GROUPS = (STRUCTURE, COMPOSITION, DESIGN, REFERENCE)


@dataclass(frozen=True)
class PageSpec:
    """One page of the app: file under ``app_pages/`` (relative to app.py), menu title, icon, group.

    ``group`` is a capability from :data:`GROUPS`, or ``""`` for the pages shown above the
    sections (Home).
    """

    path: str
    title: str
    icon: str
    group: str

    def exists(self, root: Path = APP_DIR) -> bool:
        return (root / self.path).is_file()


HOME = PageSpec("app_pages/0_Home.py", "Home", ":material/home:", "")
PAGES: tuple[PageSpec, ...] = (
    HOME,
    PageSpec(
        "app_pages/1_Molecule_properties.py", "Molecule properties", ":material/science:", STRUCTURE
    ),
    PageSpec(
        "app_pages/2_Glass_properties.py",
        "Glass properties",
        ":material/lab_research:",
        COMPOSITION,
    ),
    PageSpec(
        "app_pages/4_Recipe_optimisation.py", "Recipe optimisation", ":material/tune:", DESIGN
    ),
    PageSpec(
        "app_pages/5_Molecule_generator.py", "Molecule generator", ":material/auto_awesome:", DESIGN
    ),
    PageSpec(
        "app_pages/7_Glass_design.py", "Glass inverse design", ":material/travel_explore:", DESIGN
    ),
    PageSpec(
        "app_pages/6_Glass_structure_generator.py",
        "Glass structure generator",
        ":material/grain:",
        DESIGN,
    ),
    PageSpec("app_pages/8_Data_and_models.py", "Data & models", ":material/dataset:", REFERENCE),
    PageSpec("app_pages/9_About.py", "About", ":material/info:", REFERENCE),
)


def registered_pages(group: str | None = None, root: Path = APP_DIR) -> list[PageSpec]:
    """Pages of :data:`PAGES` whose file exists, in menu order; only ``group``'s if given."""
    return [p for p in PAGES if p.exists(root) and (group is None or p.group == group)]


def job_progress(
    key: str,
    on_done: Callable[[Any], None],
    still_wanted: Callable[[Any], bool] = lambda job: True,
) -> None:
    """The background job (:mod:`core.jobs`) held in ``st.session_state[key]``: its stage,
    a progress bar and a Cancel button, redrawn every second while it runs (in a fragment:
    the rest of the page stays usable); when it has ended, ``on_done(job)`` for a finished
    job, else its message (cancelled: info, failed: error), and the whole page reruns.
    ``still_wanted(job)`` False (e.g. another campaign was opened) forgets the job."""
    message_key = f"{key}:message"
    job = st.session_state.get(key)
    running = job is not None and not job.status().finished

    def progress() -> None:
        job = st.session_state.get(key)
        if job is None:
            return
        if not still_wanted(job):
            st.session_state[key] = None
            return
        status = job.status()
        if not status.finished:
            where = f" · {status.elapsed_s:.0f} s" if status.state == "running" else ""
            label = "Cancelling…" if job.progress.cancelled else status.label
            st.progress(status.fraction, text=f"{label}{where}")
            if st.button("Cancel", key=f"{key}:cancel"):
                job.cancel()
            return
        st.session_state[key] = None
        if status.state == "done":
            on_done(job)
        else:
            st.session_state[message_key] = (status.state, status.error or status.label)
        st.rerun()

    st.fragment(progress, run_every=1.0 if running else None)()
    if message := st.session_state.pop(message_key, None):
        (st.info if message[0] == "cancelled" else st.error)(message[1])


@st.cache_resource(show_spinner=False)
def _device_label() -> str:
    # Imported here: torch is only needed once the sidebar is drawn.
    from core.device import describe_device, select_device

    return describe_device(select_device())


def _sidebar() -> None:
    from core.exceptions import InvalidInputError
    from core.models.registry import list_model_cards

    with st.sidebar:
        st.caption("Device")
        try:
            st.markdown(_device_label())
        except InvalidInputError as err:
            st.error(str(err))
        st.caption("Trained models")
        cards = list_model_cards()
        if not cards:
            st.markdown("None yet.")
        for card in cards:
            if card["error"]:
                st.warning(f"{card['name']}: {card['error']}")
                continue
            when = " · ".join(str(v) for v in (card["version"], card["day"]) if v)
            line = f"**{card['name']}**" + (f" ({when})" if when else "")
            st.markdown(line + (f"  \n{card['metrics']}" if card["metrics"] else ""))


def _bound_threads() -> None:
    """Each page run (a session's request, in its own script thread) uses at most
    ``MDS_REQUEST_THREADS`` torch threads; torch's OpenMP count is per thread, so sessions at
    once do not oversubscribe the cores (see :mod:`core.jobs`)."""
    import torch

    from core.jobs import request_threads

    torch.set_num_threads(request_threads())


def main() -> None:
    _bound_threads()
    # An emoji favicon is drawn in the browser; a :material/...: page icon would make the
    # tab fetch its SVG from a font CDN on every page (offline: no icon, a failed request)
    st.set_page_config(page_title="Materials Design Studio", page_icon="🧪", layout="wide")
    sections: dict[str, list[st.Page]] = {}
    for spec in registered_pages():
        page = st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec is HOME)
        sections.setdefault(spec.group, []).append(page)
    navigation = st.navigation(sections)
    _sidebar()
    navigation.run()


if __name__ == "__main__":
    main()
