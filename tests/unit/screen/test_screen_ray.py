"""The Ray engine: the same rows as the local engine (real shipped models, bad rows in the
input), resume without duplicated rows, and clear refusals. One local Ray for the module."""

from __future__ import annotations

import pandas as pd
import pytest

from core import config
from core.exceptions import InvalidInputError
from core.screen import screen

pytestmark = pytest.mark.skipif(
    not (config.models_dir() / "glass" / "card.json").exists()
    or not (config.models_dir() / "qm9_painn" / "card.json").exists(),
    reason="no committed models",
)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    import ray

    yield
    ray.shutdown()


GRID = "name,SiO2,Na2O,CaO\ng1,75,15,10\ng2,abc,10,5\ng3,70,30,0\ng4,,20,5\ng5,60,20,20\n"
LIB = "id,smiles\n001,CCO\nNA,C1CC\nm3,c1ccccc1\nm4,C(\nm5,\nm6,CC(=O)O\nm7,O\n"


@pytest.mark.parametrize(
    ("kind", "text", "out"),
    [("glasses", GRID, "o.parquet"), ("molecules", LIB, "o.parquet"), ("glasses", GRID, "o.csv")],
)
def test_ray_gives_the_local_engines_rows(tmp_path, kind, text, out):
    inp = tmp_path / "in.csv"
    inp.write_text(text)
    local = screen(kind, inp, tmp_path / f"local_{out}", chunk_rows=2)
    ray_s = screen(kind, inp, tmp_path / f"ray_{out}", chunk_rows=2, engine="ray", workers=2)
    read = (
        pd.read_parquet
        if out.endswith(".parquet")
        else lambda p: pd.read_csv(p, keep_default_na=False)
    )
    a, b = read(tmp_path / f"local_{out}"), read(tmp_path / f"ray_{out}")
    pd.testing.assert_frame_equal(a, b)
    assert ray_s.engine == "ray" and ray_s.workers == 2
    assert (ray_s.rows, ray_s.chunks, ray_s.failed) == (local.rows, local.chunks, local.failed)
    assert sum(ray_s.failed.values()) == (1 if kind == "glasses" else 3)
    # ids as written: "001" and "NA" are not turned into a number or a missing value
    if kind == "molecules":
        assert a["id"].tolist()[:2] == ["001", "NA"]


def test_ray_resume_writes_only_missing_parts_and_duplicates_no_row(tmp_path):
    inp = tmp_path / "grid.csv"
    inp.write_text(GRID)
    out = tmp_path / "o.parquet"
    screen("glasses", inp, out, chunk_rows=2, engine="ray", workers=1)
    full = pd.read_parquet(out)
    parts = out.with_name(out.name + ".parts")
    (parts / "part-00002.parquet").unlink()  # as if killed before the last chunk
    out.unlink()
    s = screen("glasses", inp, out, chunk_rows=2, engine="ray", workers=1, resume=True)
    assert s.chunks == 3 and s.chunks_resumed == 2
    pd.testing.assert_frame_equal(pd.read_parquet(out), full)


def test_ray_refuses_sdf_and_bad_worker_counts(tmp_path):
    sdf = tmp_path / "x.sdf"
    sdf.write_text("\n")
    with pytest.raises(InvalidInputError, match="not SDF"):
        screen("molecules", sdf, tmp_path / "o.parquet", engine="ray")
    grid = tmp_path / "grid.csv"
    grid.write_text(GRID)
    with pytest.raises(InvalidInputError, match="workers"):
        screen("glasses", grid, tmp_path / "o.parquet", engine="ray", workers=0)
    with pytest.raises(InvalidInputError, match="unknown engine"):
        screen("glasses", grid, tmp_path / "o.parquet", engine="dask")


def test_cli_runs_on_ray_and_says_so(tmp_path, capsys):
    from core.screen.__main__ import main

    grid = tmp_path / "grid.csv"
    grid.write_text(GRID)
    out = tmp_path / "o.csv"
    assert main(["glasses", str(grid), str(out), "--engine", "ray", "--workers", "1"]) == 0
    assert "engine ray (1 worker)" in capsys.readouterr().out
    assert pd.read_csv(out)["name"].tolist() == ["g1", "g2", "g3", "g4", "g5"]
