"""Downloads are safe to open in a spreadsheet: formula-like text is escaped (issue #22,
item 11), numbers stay numbers."""

from __future__ import annotations

import io

import pandas as pd

from core.exports import csv_bytes, safe_frame


def test_formula_like_text_is_escaped_and_numbers_are_not():
    frame = pd.DataFrame(
        {
            "name": ["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3", "\tx", "ethanol"],
            "homo": [-7.1, -6.5, -5.0, 1.0, 2.0, 3.0],
        }
    )
    back = pd.read_csv(io.BytesIO(csv_bytes(frame)))
    assert back["name"].tolist() == [
        "'=cmd|' /C calc'!A0",
        "'+1+1",
        "'@SUM(A1)",
        "'-2+3",
        "'\tx",
        "ethanol",
    ]
    assert back["homo"].tolist() == [-7.1, -6.5, -5.0, 1.0, 2.0, 3.0]  # negative numbers kept
    assert frame["name"].iloc[0] == "=cmd|' /C calc'!A0"  # the input is not changed


def test_column_names_are_escaped_too():
    assert list(safe_frame(pd.DataFrame({"=HYPERLINK(1)": [1]})).columns) == ["'=HYPERLINK(1)"]


def test_generated_molecules_and_batch_downloads_use_the_safe_writer():
    from core.generate.molecules import GenerationReport

    report = GenerationReport.__new__(GenerationReport)
    object.__setattr__(report, "molecules", pd.DataFrame({"smiles": ["CCO"], "note": ["=1+1"]}))
    assert b"'=1+1" in report.to_csv()
