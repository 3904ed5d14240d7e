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
