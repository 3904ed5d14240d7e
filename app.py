"""Materials Design Studio: entry point (``streamlit run app.py``).

Builds the navigation from :data:`PAGES` (only pages whose file exists are registered, so a
build without a capability shows no placeholder) and the sidebar every page shares: the
device models run on and the trained model versions that are available.

The module is importable without side effects (pages import :func:`registered_pages` and the
group names from it); the UI is built only when Streamlit runs it as the main script.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def main() -> None:
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
