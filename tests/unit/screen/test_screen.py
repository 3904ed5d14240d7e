"""Batch screening (local engine): bad rows, formats, resume, and the CLI."""

from __future__ import annotations

import pandas as pd
import pytest

from core.exceptions import InvalidInputError
from core.screen import screen
from core.screen.__main__ import main


class _FakeMolecules:
    """Scripted stand-in for the QM9 predictor: gap = number of characters."""

    def __init__(self):
        self.calls = 0

    def predict(self, smiles, progress=None, budget=None):
        self.calls += 1
        rows = []
        for s in smiles:
            bad = not s or "(" in s and ")" not in s
            rows.append(
                {
                    "input": s,
                    "smiles": "" if bad else s,
                    "gap": float("nan") if bad else float(len(s)),
                    "gap_std": float("nan") if bad else 0.1,
                    "in_domain": False if bad else len(s) < 6,
                    "domain_message": "" if bad or len(s) < 6 else "too many heavy atoms",
                    "error": f"invalid SMILES: {s!r} could not be parsed" if bad else "",
                }
            )
        return pd.DataFrame(rows)


SMILES = ["CCO", "C1CC", "c1ccccc1", "C(", "", "CC(=O)O", "O", "CCN(CC)CC"]


def _library(tmp_path, name="lib.csv"):
    df = pd.DataFrame({"id": [f"m{i}" for i in range(len(SMILES))], "smiles": SMILES})
    path = tmp_path / name
    if name.endswith(".csv"):
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize(("inp", "out"), [("lib.csv", "o.parquet"), ("lib.parquet", "o.csv")])
def test_every_row_comes_back_in_order_with_its_id_and_error(tmp_path, inp, out):
    s = screen(
        "molecules",
        _library(tmp_path, inp),
        tmp_path / out,
        chunk_rows=3,
        predictor=_FakeMolecules(),
    )
    res = (
        pd.read_parquet(tmp_path / out)
        if out.endswith(".parquet")
        else pd.read_csv(tmp_path / out, keep_default_na=False)
    )
    assert res["id"].tolist() == [f"m{i}" for i in range(len(SMILES))]
    assert res.loc[3, "error"].startswith("invalid SMILES") and res.loc[4, "error"]
    assert (res.loc[[0, 1, 2, 5, 6, 7], "error"] == "").all()
    assert s.rows == 8 and s.chunks == 3 and sum(s.failed.values()) == 2
    assert s.failed["invalid SMILES"] == 2  # values left out of the reason
    assert s.out_of_domain == 3  # c1ccccc1, CC(=O)O, CCN(CC)CC


def test_resume_skips_finished_chunks_and_gives_the_same_output(tmp_path):
    lib = _library(tmp_path)
    full = tmp_path / "full.parquet"
    screen("molecules", lib, full, chunk_rows=3, predictor=_FakeMolecules())

    class Dies(_FakeMolecules):
        def predict(self, smiles, progress=None, budget=None):
            if self.calls == 2:
                raise KeyboardInterrupt  # killed during the third chunk
            return super().predict(smiles, progress)

    out = tmp_path / "o.parquet"
    with pytest.raises(KeyboardInterrupt):
        screen("molecules", lib, out, chunk_rows=3, predictor=Dies())
    assert not out.exists()
    again = _FakeMolecules()
    s = screen("molecules", lib, out, chunk_rows=3, resume=True, predictor=again)
    assert s.chunks_resumed == 2 and again.calls == 1
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(full))


def test_resume_against_other_settings_is_refused(tmp_path):
    lib = _library(tmp_path)
    out = tmp_path / "o.parquet"
    screen("molecules", lib, out, chunk_rows=3, predictor=_FakeMolecules())
    with pytest.raises(InvalidInputError, match="cannot resume"):
        screen("molecules", lib, out, chunk_rows=4, resume=True, predictor=_FakeMolecules())


def test_limit_and_bad_requests(tmp_path):
    lib = _library(tmp_path)
    s = screen(
        "molecules", lib, tmp_path / "o.csv", limit=5, chunk_rows=2, predictor=_FakeMolecules()
    )
    assert s.rows == 5 and len(pd.read_csv(tmp_path / "o.csv")) == 5
    with pytest.raises(InvalidInputError, match="does not exist"):
        screen("molecules", tmp_path / "nope.csv", tmp_path / "o.csv")
    with pytest.raises(InvalidInputError, match="output file type"):
        screen("molecules", lib, tmp_path / "o.xlsx")
    with pytest.raises(InvalidInputError, match="no column 'smi'"):
        screen("molecules", lib, tmp_path / "o.csv", column="smi", predictor=_FakeMolecules())


def test_cli_prints_a_summary_and_a_clear_error(tmp_path, capsys):
    assert main(["molecules", str(tmp_path / "missing.csv"), str(tmp_path / "o.csv")]) == 2
    assert "error: the input file does not exist" in capsys.readouterr().err


def test_reasons_leave_the_rows_values_out():
    from core.screen.chunks import failure_reason as _reason

    assert _reason("amount of SiO2 is not a number ('abc'). Got: 'abc'") == (
        "amount of SiO2 is not a number"
    )
    assert _reason("unknown component 'Xx2O3': not an oxide") == "unknown component …"


@pytest.mark.skipif(
    not (__import__("core.config").config.models_dir() / "glass" / "card.json").exists(),
    reason="no committed glass model",
)
def test_glasses_with_the_shipped_model_keep_names_and_flag_bad_rows(tmp_path):
    grid = tmp_path / "grid.csv"
    grid.write_text("name,SiO2,Na2O,CaO\ng1,75,15,10\ng2,abc,10,5\ng3,70,30,0\n")
    s = screen("glasses", grid, tmp_path / "o.parquet", chunk_rows=2)
    res = pd.read_parquet(tmp_path / "o.parquet")
    assert res["name"].tolist() == ["g1", "g2", "g3"]
    assert res.loc[1, "error"] and not res.loc[0, "error"] and not res.loc[2, "error"]
    assert 700 < res.loc[0, "Tg"] < 900 and res.loc[0, "Tg_std"] > 0  # soda-lime: ~820 K
    assert s.failed == {"amount of SiO2 is not a number": 1}


_SHIPPED = pytest.mark.skipif(
    not (__import__("core.config").config.models_dir() / "qm9_painn" / "card.json").exists()
    or not (__import__("core.config").config.models_dir() / "glass" / "card.json").exists(),
    reason="no committed models",
)
GRID = "name,SiO2,Na2O,CaO\ng1,75,15,10\ng2,abc,10,5\ng3,70,30,0\ng4,,20,5\ng5,60,20,20\n"
LIB = "id,smiles\n001,CCO\nNA,C1CC\nm3,c1ccccc1\nm4,C(\nm5,\nm6,CC(=O)O\nm7,O\n"


@_SHIPPED
@pytest.mark.parametrize(("kind", "text"), [("glasses", GRID), ("molecules", LIB)])
def test_worker_processes_give_the_rows_of_one_process(tmp_path, kind, text):
    """Two worker processes (each with its own model) write the same file, in input order,
    as the model in this process; molecules say how their conformer was made."""
    inp = tmp_path / "in.csv"
    inp.write_text(text)
    one = screen(kind, inp, tmp_path / "one.parquet", chunk_rows=2, workers=1)
    two = screen(kind, inp, tmp_path / "two.parquet", chunk_rows=2, workers=2)
    a, b = pd.read_parquet(tmp_path / "one.parquet"), pd.read_parquet(tmp_path / "two.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert (one.rows, one.chunks, one.failed) == (two.rows, two.chunks, two.failed)
    assert two.workers == 2 and one.workers == 1
    if kind == "molecules":
        ok = a["error"] == ""
        assert set(a.loc[ok, "conformer"]) == {"etkdg"} and (a.loc[~ok, "conformer"] == "").all()


@_SHIPPED
def test_cli_budget_flags_reach_the_conformers_and_the_manifest(tmp_path, capsys):
    inp = tmp_path / "in.csv"
    inp.write_text(LIB)
    out = tmp_path / "o.csv"
    args = ["molecules", str(inp), str(out), "--workers", "1", "--mmff-iters", "1"]
    assert main(args) == 0
    res = pd.read_csv(out, keep_default_na=False)
    assert "7 rows" in capsys.readouterr().out
    # ethanol and acetic acid need force-field steps: the budget of one cut them
    assert res.set_index("id").loc[["001", "m6"], "conformer"].tolist() == ["etkdg-budget"] * 2
    assert main([*args[:3], "--workers", "1", "--full-conformers", "--resume"]) == 2
    assert "cannot resume" in capsys.readouterr().err  # other settings: refused
    assert main([*args[:3], "--workers", "1", "--full-conformers"]) == 0
    full = pd.read_csv(out, keep_default_na=False)
    assert set(full.loc[full["error"] == "", "conformer"]) == {"etkdg"}
    with pytest.raises(SystemExit):
        main([*args[:3], "--embed-attempts", "0"])
    assert "must be positive" in capsys.readouterr().err


def test_row_counts_for_the_progress_bar(tmp_path):
    from core.screen.chunks import count_rows

    (tmp_path / "a.csv").write_text("id,smiles\n1,C\n2,CC\n3,CCC")  # no final newline
    (tmp_path / "b.csv").write_text("id,smiles\n1,C\n2,CC\n")
    pd.DataFrame({"smiles": ["C"] * 4}).to_parquet(tmp_path / "c.parquet")
    (tmp_path / "d.parquet").write_text("not parquet")
    assert [count_rows(tmp_path / n) for n in ("a.csv", "b.csv", "c.parquet")] == [3, 2, 4]
    assert count_rows(tmp_path / "d.parquet") is None


def test_no_more_worker_processes_than_chunks(tmp_path):
    """A small file does not start (and load a model in) workers it has no chunk for."""
    lib = _library(tmp_path)
    s = screen(
        "molecules",
        lib,
        tmp_path / "o.csv",
        chunk_rows=100,
        workers=4,
        predictor_factory=_FakeMolecules,
    )
    assert s.workers == 1 and s.rows == len(SMILES)  # one chunk: this process
    s = screen(
        "molecules",
        lib,
        tmp_path / "o.csv",
        chunk_rows=3,
        limit=4,
        workers=4,
        predictor_factory=_FakeMolecules,
    )
    assert s.workers == 2 and s.rows == 4  # two chunks of the first four rows


def test_workers_start_under_a_page_main(tmp_path, monkeypatch):
    """Streamlit's script runner (and AppTest) installs the page as ``__main__`` and leaves
    it there; spawned workers would import it and run the page. They start anyway, and the
    page is ``__main__`` again afterwards. (It failed in CI after the AppTests.)"""
    import sys
    import types

    page = tmp_path / "page.py"
    page.write_text("raise SystemExit('a worker ran the page')\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    lib = _library(tmp_path)
    s = screen(
        "molecules",
        lib,
        tmp_path / "o.csv",
        chunk_rows=3,
        workers=2,
        predictor_factory=_FakeMolecules,
    )
    assert s.workers == 2 and s.rows == len(SMILES)
    assert sys.modules["__main__"] is fake
