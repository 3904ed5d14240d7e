"""Pages are layout: widgets, one call into ``core`` and display. A page imports only
streamlit (and its components), ``core``, the app's own navigation module, the widget
modules a long page is split into (``app_pages/widgets/``) and the standard library, so
every chart, table and parser it shows lives in ``core`` where scripts and tests can reach
it too."""

from __future__ import annotations

import ast
import sys

import pytest

from core.config import REPO_ROOT

PAGES = sorted((REPO_ROOT / "app_pages").rglob("*.py"))
ALLOWED = {"streamlit", "streamlit_ketcher", "core", "app", "app_pages", "__future__"}


def _top_level_imports(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_pages_are_found():
    assert len(PAGES) >= 5


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_page_imports_only_streamlit_core_and_the_standard_library(page):
    foreign = {
        name
        for name in _top_level_imports(page)
        if name not in ALLOWED and name not in sys.stdlib_module_names
    }
    assert not foreign, f"{page.name} imports {sorted(foreign)}: move that work into core"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_pages_and_their_widget_modules_stay_short(page):
    """Issue 20: a page is layout, about 250 lines at most; a longer one is split at a seam
    (a form, a tab) into ``app_pages/widgets/``, which obeys the same bound."""
    lines = len(page.read_text(encoding="utf-8").splitlines())
    assert lines <= 260, f"{page.name}: {lines} lines"
