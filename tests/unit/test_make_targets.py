"""The README's two commands, as make would run them (dry run: nothing is executed)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(target: str) -> list[str]:
    out = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return out.splitlines()


def _position(lines: list[str], needle: str) -> int:
    hits = [i for i, line in enumerate(lines) if needle in line]
    assert hits, f"{needle!r} not among the commands: {lines}"
    return hits[0]


def test_run_prepares_the_data_cache_before_starting_the_app():
    # Without the cache the app starts but shows no nearest measured glasses, no closest
    # training molecules and no concrete campaign.
    lines = _dry_run("run")
    assert _position(lines, "core.data prepare") < _position(lines, "streamlit run")


def test_test_prepares_the_data_cache_before_pytest():
    lines = _dry_run("test")
    assert _position(lines, "core.data prepare") < _position(lines, "pytest")
