"""The app shell and the home page, run headless with Streamlit's AppTest."""

from __future__ import annotations

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from app import COMPOSITION, DESIGN, GROUPS, HOME, PAGES, STRUCTURE, registered_pages
from core.config import REPO_ROOT
from core.device import describe_device, select_device

CAPABILITY_HEADINGS = (
    "1. Structure → property",
    "2. Composition → property",
    "3. Property → design",
)


def run_app() -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def test_home_renders_with_no_models_and_no_data(studio_env):
    at = run_app()
    assert texts(at.title) == ["Materials Design Studio"]
    headings = texts(at.subheader)
    for heading in CAPABILITY_HEADINGS:
        assert any(h.startswith(heading) for h in headings), (heading, headings)
    assert "Data & models" in texts(at.header)
    assert any("No trained models" in text for text in texts(at.info))


def test_sidebar_shows_device_and_model_versions(studio_env, write_card):
    write_card(
        "qm9_schnet",
        {
            "name": "qm9-schnet",
            "version": "1.2",
            "date": "2026-01-02T10:11:12+00:00",
            "metrics": {"test": {"homo_mae_eV": 0.041}},
        },
    )
    at = run_app()
    sidebar = " ".join(texts(at.sidebar.markdown))
    assert describe_device(select_device()) in sidebar
    assert "qm9-schnet" in sidebar and "1.2" in sidebar and "homo_mae_eV=0.041" in sidebar
    assert "2 Jan 2026" in sidebar and "10:11" not in sidebar  # the day, not the clock time
    models = next(df.value for df in at.dataframe if "model" in df.value.columns)
    assert list(models.columns) == ["model", "trained", "code version", "test metrics"]
    assert models.loc[0, "trained"] == "2 Jan 2026"  # no raw ISO time stamp


def test_home_counts_the_qm9_properties_the_model_predicts(studio_env):
    from core.properties import QM9

    captions = " ".join(texts(run_app().caption))
    assert f"{len(QM9)} of their computed properties are predicted" in captions
    assert "15 properties" not in captions


def test_unavailable_device_is_an_error_in_the_sidebar_not_a_crash(studio_env, monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv("MDS_DEVICE", "cuda")
    st.cache_resource.clear()  # the device label is cached per process
    try:
        at = run_app()
        assert any("not available" in text for text in texts(at.sidebar.error))
    finally:
        st.cache_resource.clear()


def test_missing_capability_pages_say_so(studio_env):
    at = run_app()
    captions = texts(at.caption)
    for group in (STRUCTURE, COMPOSITION, DESIGN):
        if not registered_pages(group):
            assert "Not in this build yet." in captions


def test_registry_only_lists_existing_files(tmp_path):
    assert registered_pages()[0] == HOME
    assert registered_pages(root=tmp_path) == []
    spec = PAGES[1]
    (tmp_path / spec.path).parent.mkdir(parents=True)
    (tmp_path / spec.path).write_text("")
    assert registered_pages(root=tmp_path) == [spec]
    assert registered_pages(spec.group, root=tmp_path) == [spec]
    assert all(p.group in GROUPS for p in PAGES if p is not HOME)


def test_data_section_lists_the_empty_cache(studio_env):
    at = run_app()
    tables = [df.value for df in at.dataframe if "licence" in df.value.columns]
    assert len(tables) == 1
    assert list(tables[0]["title"]) == [
        "QM9",
        "MOSES",
        "SciGlass properties",
        "SciGlass viscosity",
        "Concrete (Yeh)",
    ]
    assert tables[0]["licence"].str.contains("ODbL").any()
    assert not tables[0]["prepared"].any()  # an empty cache: nothing prepared
    assert any("make data" in text for text in texts(at.caption))


def test_models_table_shows_an_error_column_only_for_unreadable_cards(studio_env, write_card):
    write_card("good", {"name": "good", "version": "1", "metrics": {"m": 1.0}})
    table = next(df.value for df in run_app().dataframe if "test metrics" in df.value.columns)
    assert "problem" not in table.columns and list(table["model"]) == ["good"]
    write_card("broken", "{not json")
    table = next(df.value for df in run_app().dataframe if "test metrics" in df.value.columns)
    assert "problem" in table.columns and table["problem"].str.contains("unreadable").any()


def test_each_page_run_is_bounded_to_the_request_threads(monkeypatch):
    """Streamlit runs each session's script in its own thread; app.py limits that thread's
    torch threads (MDS_REQUEST_THREADS) and leaves every other thread alone."""
    import threading

    import torch

    import app

    before = torch.get_num_threads()
    monkeypatch.setenv("MDS_REQUEST_THREADS", "1")
    seen = []

    def script_run():
        torch.set_num_threads(2)  # what a fresh thread may start with on 2 cores
        app._bound_threads()
        seen.append(torch.get_num_threads())

    thread = threading.Thread(target=script_run)
    thread.start()
    thread.join()
    assert seen == [1]
    assert torch.get_num_threads() == before
