"""Import hygiene of ``core`` (after BayBE's tests/test_imports.py): every module imports in
a fresh process, none pulls in streamlit, and the light layers do not pull in torch."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import core

# Modules a page or script imports for parsing, data, metadata or display: torch (about a
# second and hundreds of MB) must stay out of them.
NO_TORCH = (
    "core.config",
    "core.exceptions",
    "core.properties",
    "core.chem.composition",
    "core.chem.molecules",
    "core.chem.smiles_tokens",
    "core.data",
    "core.data.sciglass",
    "core.data.qm9",
    "core.data.moses",
    "core.data.glass_md",
    "core.models.registry",
    "core.models.glass_report",
    "core.models.molecule_report",
    "core.plots.glass",
    "core.plots.optimize",
    "core.plots.molecules",
    "core.md.shik",
)


def _modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(core.__path__, prefix="core.")
        if not m.name.endswith("__main__")
    )


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_every_core_module_imports_without_streamlit():
    modules = _modules()
    assert len(modules) > 40  # the walk found the package
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    assert _run(code).strip() == "False"


@pytest.mark.parametrize("module", NO_TORCH)
def test_light_modules_do_not_import_torch(module):
    code = f"import sys, {module}\nprint('torch' in sys.modules, 'streamlit' in sys.modules)"
    assert _run(code).split() == ["False", "False"]
