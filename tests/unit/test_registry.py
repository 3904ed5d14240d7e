from __future__ import annotations

import subprocess
import sys

from core.config import REPO_ROOT
from core.models.registry import list_model_cards


def test_missing_or_empty_folder_gives_empty_list(tmp_path, studio_env):
    assert list_model_cards(tmp_path / "nope") == []
    assert list_model_cards() == []


def test_cards_are_summarized_and_sorted(write_card):
    write_card(
        "qm9_schnet",
        {
            "name": "qm9-schnet",
            "version": "1.0",
            "date": "2026-01-02",
            "metrics": {"test": {"homo_mae_eV": 0.0412345, "gap_mae_eV": 0.06}},
        },
    )
    write_card("a_glass", {"version": 2, "metrics": {f"m{i}": i for i in range(6)}})
    first, second = list_model_cards()
    assert first["name"] == "a_glass"  # folder name when the card has none
    assert first["version"] == "2"
    assert first["metrics"].endswith("… (+2 more)")
    assert second == {
        "name": "qm9-schnet",
        "version": "1.0",
        "date": "2026-01-02",
        "day": "2 Jan 2026",
        "metrics": "test.homo_mae_eV=0.04123, test.gap_mae_eV=0.06",
        "path": second["path"],
        "error": None,
    }


def test_code_version_wins_over_a_card_schema_version(write_card):
    write_card("glass", {"version": "1", "git_commit": "6d0004d", "date": "2026-11-22"})
    assert list_model_cards()[0]["version"] == "6d0004d"


def test_broken_card_is_listed_with_error(write_card):
    write_card("broken", "{not json")
    write_card("list", "[1, 2]")
    cards = {card["name"]: card for card in list_model_cards()}
    assert "unreadable card.json" in cards["broken"]["error"]
    assert "expected an object" in cards["list"]["error"]


def test_registry_does_not_import_torch():
    code = "import sys, core.models.registry; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


def test_display_day_reads_iso_dates_and_keeps_other_text():
    from core.models.registry import display_day

    assert display_day("2026-12-02T10:57:45+00:00") == "2 Dec 2026"
    assert display_day("2026-01-02") == "2 Jan 2026"
    assert display_day("last week") == "last week"
    assert display_day(None) is None
