"""Uploaded batch files for the molecule predictor: every bad file is a clear message."""

from __future__ import annotations

import pytest

from core.exceptions import InvalidInputError
from core.models.molecules import read_batch


def test_csv_smiles_column_in_any_capitalisation_keeps_blank_rows() -> None:
    data = b"name,SMILES\nethanol,CCO\nnothing,\nwater, O \n"
    assert read_batch(data, "mols.csv") == ["CCO", "", "O"]


def test_latin1_and_bom_files_are_read() -> None:
    assert read_batch("name,smiles\néthanol,CCO\n".encode("latin-1"), "a.csv") == ["CCO"]
    assert read_batch("\ufeffsmiles\nCCO\n".encode(), "b.csv") == ["CCO"]


@pytest.mark.parametrize(
    ("data", "filename", "match"),
    [
        (b"", "empty.csv", "is empty"),
        (b"  \n\n", "blank.csv", "is empty"),
        (b"\x00\x01\x02smiles", "binary.csv", "binary file"),
        (b"name,formula\nwater,H2O\n", "nosmiles.csv", "no SMILES column"),
        (b"smiles\n", "header.csv", "no rows"),
        (b'smiles,name\n"CCO,ethanol\n', "quote.csv", "cannot be read as CSV"),
        (b"CCO", "mols.xlsx", "unsupported batch file type"),
        (b"", "empty.sdf", "is empty"),
    ],
)
def test_bad_files_are_clear_messages(data: bytes, filename: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        read_batch(data, filename)


def test_too_many_molecules() -> None:
    data = ("smiles\n" + "C\n" * 11).encode()
    with pytest.raises(InvalidInputError, match="holds 11 molecules"):
        read_batch(data, "big.csv", max_molecules=10)
    assert len(read_batch(data, "big.csv", max_molecules=11)) == 11


def test_batch_keeps_the_users_columns_and_renames_collisions():
    import pandas as pd

    from core.models.molecules import read_batch_table, with_user_columns

    data = b"id,SMILES,homo,error\n001,CCO,-7.0,x\nNA,C1CC,,\n"
    items, own = read_batch_table(data, "mols.csv")
    assert items == ["CCO", "C1CC"]
    assert list(own.columns) == ["id", "homo", "error"]
    assert own["id"].tolist() == ["001", "NA"]  # ids kept as written, not numbers or NaN
    result = pd.DataFrame({"input": items, "homo": [-7.2, float("nan")], "error": ["", "bad"]})
    out = with_user_columns(result, own)
    assert list(out.columns) == ["id", "homo (yours)", "error (yours)", "input", "homo", "error"]
    assert out["homo (yours)"].tolist() == ["-7.0", ""] and out["error"].tolist() == ["", "bad"]
    assert with_user_columns(result, None) is result
    items, own = read_batch_table(b"smiles\nCCO\n", "only.csv")
    assert with_user_columns(pd.DataFrame({"input": items}), own).columns.tolist() == ["input"]
