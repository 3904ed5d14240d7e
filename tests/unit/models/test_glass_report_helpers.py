"""Table helpers of the glass page that live in core (the page only lays them out)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.exceptions import InvalidInputError
from core.models.glass_report import batch_template, curve_note, editor_rows, read_batch_csv


def test_editor_rows_and_template():
    rows = editor_rows({"SiO2": 75, "Na2O": 25.0})
    assert rows.to_dict("list") == {"component": ["SiO2", "Na2O"], "amount": [75.0, 25.0]}
    assert {"name", "SiO2"} <= set(batch_template().columns)


def test_batch_csv_is_read_or_refused_with_a_reason():
    table = read_batch_csv(b"name,SiO2,Na2O\nA,75,25\n", "ok.csv")
    assert table["SiO2"].tolist() == [75]
    with pytest.raises(InvalidInputError, match="Cannot read 'empty.csv' as CSV"):
        read_batch_csv(b"", "empty.csv")
    with pytest.raises(InvalidInputError, match="export the sheet as CSV"):
        read_batch_csv(b'a,b\n"1,2\n3,4,5,6\n', "broken.csv")


def test_a_column_named_twice_is_refused_not_a_phantom_compound():
    with pytest.raises(InvalidInputError, match="'SiO2' appears twice"):
        read_batch_csv(b"SiO2,Na2O,SiO2\n70,20,10\n", "dup.csv")


def test_nan_text_stays_text_and_blank_cells_stay_empty():
    table = read_batch_csv(b"SiO2,Na2O,CaO\n75,25,\n70,nan,10\n", "cells.csv")
    assert table["Na2O"].tolist() == ["25", "nan"]  # 'nan' is not read as a missing 0
    assert table["CaO"].isna().tolist() == [True, False]


def test_curve_note_says_where_the_curve_is_a_lower_bound():
    curve = pd.DataFrame(
        {
            "T_K": [700.0, 750.0, 800.0],
            "at_ceiling": [True, True, False],
            "fragility": 36.0,
            "fragility_std": 1.0,
            "T12": 819.0,
            "T12_std": 7.0,
            "A": -1.6,
            "A_std": 0.1,
        }
    )
    note = curve_note(curve, 0.88)
    assert "At and below 750 K" in note and "lower bound" in note and "10^15 Pa s" in note
    assert "88%" in note
    assert "lower bound" not in curve_note(curve.assign(at_ceiling=False), None)


def test_card_tables_show_the_trees_only_when_the_card_has_them():
    import json

    from core.config import REPO_ROOT
    from core.models.glass_report import card_tables

    card = json.loads((REPO_ROOT / "trained_models" / "glass" / "card.json").read_text())
    card.pop("trees", None)
    assert card_tables(card).trees.empty and card_tables(card).trees_method == ""
    card["trees"] = {
        "method": "trees blended with the networks",
        "properties": {
            "Tg": {
                "weight": 0.25,
                "n_trees": 3000,
                "val_rmse_networks": 27.49,
                "val_rmse_trees": 30.08,
                "val_rmse_blend": 27.17,
            },
            "CTE": {  # did not help: no trees shipped for it
                "weight": 0.0,
                "n_trees": 3000,
                "val_rmse_networks": 1.0e-6,
                "val_rmse_trees": 1.2e-6,
                "val_rmse_blend": 1.0e-6,
            },
        },
    }
    tables = card_tables(card)
    rows = tables.trees.set_index("blend weight")
    assert tables.trees_method == "trees blended with the networks"
    assert list(tables.trees["trees"]) == [3000, 0]
    assert rows.loc[0.25, "validation RMSE, blend"] == 27.17
    assert rows.loc[0.0, "validation RMSE, networks"] == 1.0  # CTE shown in ppm/K
    assert rows.loc[0.0, "unit"] == "ppm/K"
