"""Shared fixtures: an isolated studio (empty data cache, empty models folder, auto device)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from core.config import REPO_ROOT

# The glass-structure denoiser is compiled by default (core.config.torch_compile_enabled);
# a cold compile costs about a minute per process on this machine, so the suite (and the
# app servers it starts, which inherit this) runs it eagerly. The compiled path has its own
# test (tests/unit/nn/test_glass_diffusion.py) that compares it with the eager one.
os.environ.setdefault("MDS_TORCH_COMPILE", "0")


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def studio_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point the data cache, the models folder and the reference data at empty folders."""
    paths = {
        "cache": tmp_path / "cache",
        "models": tmp_path / "trained_models",
        "reference": tmp_path / "reference_data",
    }
    paths["models"].mkdir()
    paths["reference"].mkdir()
    monkeypatch.setenv("MDS_CACHE_DIR", str(paths["cache"]))
    monkeypatch.setenv("MDS_MODELS_DIR", str(paths["models"]))
    monkeypatch.setenv("MDS_REFERENCE_DIR", str(paths["reference"]))
    monkeypatch.delenv("MDS_DEVICE", raising=False)
    return paths


@pytest.fixture
def write_card(studio_env: dict[str, Path]) -> Callable[..., Path]:
    """Write ``<models>/<folder>/card.json`` (a dict, or raw text for broken cards)."""

    def write(folder: str, card: dict | str) -> Path:
        path = studio_env["models"] / folder / "card.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(card if isinstance(card, str) else json.dumps(card), encoding="utf-8")
        return path

    return write


def skip_or_fail(message: str) -> None:
    """Skip locally (a developer without the data cache or a model), fail under CI, where
    everything a test needs must be there: a skipped test there hides a broken setup."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def prepared():
    """Return ``need(name)``: the dataset module, or skip (locally) / fail (under CI) when
    the dataset is not in the cache. Checked before the code under test runs, so an error
    in that code is a failure, never a skip."""

    def need(name: str):
        from core.data import module
        from core.data._store import is_prepared

        mod = module(name)
        if not is_prepared(mod.INFO):
            skip_or_fail(f"{name} is not prepared: run `python -m core.data prepare {name}`")
        return mod

    return need


@pytest.fixture(scope="session")
def missing():
    """``missing(message)``: skip locally, fail under CI (see :func:`skip_or_fail`)."""
    return skip_or_fail
