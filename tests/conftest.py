"""Shared fixtures: an isolated studio (empty data cache, empty models folder, auto device)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core.config import REPO_ROOT


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def studio_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point the data cache and the models folder at empty temporary folders."""
    paths = {"cache": tmp_path / "cache", "models": tmp_path / "trained_models"}
    paths["models"].mkdir()
    monkeypatch.setenv("MDS_CACHE_DIR", str(paths["cache"]))
    monkeypatch.setenv("MDS_MODELS_DIR", str(paths["models"]))
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
