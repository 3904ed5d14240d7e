"""Upload limits live in one place (core.config) and every reader checks them before it
parses anything (issue #22: 20 MB molecules, 10 MB campaigns, none for glass CSV)."""

from __future__ import annotations

import pytest

from core import config
from core.exceptions import InvalidInputError


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(
        config, "UPLOAD_LIMITS_BYTES", dict.fromkeys(config.UPLOAD_LIMITS_BYTES, 100)
    )


def test_every_upload_reader_checks_its_limit_first(small_limits):
    from core.chem.molecules import mol_from_file
    from core.models.glass_report import read_batch_csv
    from core.models.molecules import read_batch, read_batch_table

    big = b"smiles\n" + b"C\n" * 200  # valid content: only its size is wrong
    for call in (
        lambda: read_batch(big, "m.csv"),
        lambda: read_batch_table(big, "m.csv"),
        lambda: mol_from_file(big, "x.sdf"),
        lambda: read_batch_csv(b"SiO2\n" + b"100\n" * 100, "g.csv"),
    ):
        with pytest.raises(InvalidInputError, match="at most 0 MB|MB"):
            call()


def test_the_limits_are_the_documented_ones():
    mb = 2**20
    assert config.UPLOAD_LIMITS_BYTES == {
        "molecule_batch": 20 * mb,
        "structure_file": 20 * mb,
        "glass_batch": 10 * mb,
        "campaign_table": 10 * mb,
    }


def test_glass_batch_rows_are_capped(monkeypatch):
    from core.models.glass_report import read_batch_csv

    monkeypatch.setattr(config, "GLASS_BATCH_MAX_ROWS", 5)
    with pytest.raises(InvalidInputError, match="more than 5 rows"):
        read_batch_csv(b"SiO2,Na2O\n" + b"75,25\n" * 6, "g.csv")
    assert len(read_batch_csv(b"SiO2,Na2O\n" + b"75,25\n" * 5, "g.csv")) == 5
