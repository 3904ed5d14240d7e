"""The resumable job, its checkpoint and the loader, on a two-run smoke plan."""

import dataclasses
import json

import numpy as np
import pytest

from core.data import glass_md
from core.exceptions import DataNotAvailableError, InvalidInputError
from core.md import generate as gen


@pytest.fixture
def smoke_out(lammps, tiny_protocol, studio_env):
    out = studio_env["cache"] / "glass_md"
    ckpt = studio_env["reference"] / "glass_md"
    done = gen.generate("smoke", out, checkpoint_dir=ckpt, protocol=tiny_protocol)
    return out, ckpt, done


def test_generate_writes_manifest_structures_and_checkpoint(smoke_out, tiny_protocol):
    out, ckpt, done = smoke_out
    assert [r["run_id"] for r in done] == [
        "SiO2_n24_d2.20_s1_b0_r1e15",
        "SiO2_n24_d2.20_s1_b1_r1e15",
    ]
    rec = gen.read_manifest(out)[0]
    for key in (
        "potential",
        "protocol",
        "seed",
        "density_g_cm3",
        "cooling_rate_K_s",
        "composition",
        "n_atoms",
        "energy_per_atom_300K_eV",
        "energy_per_atom_min_eV",
        "wall_s",
        "cpu_s",
        "code_commit",
    ):
        assert key in rec
    assert rec["potential"]["name"] == "SHIK" and len(rec["potential"]["table_sha256"]) == 64
    assert rec["protocol"]["name"] == "tiny-test"
    assert (out / "tables").glob("shik_*.table")
    for state in gen.STATES:
        assert gen.structure_path(out, rec["run_id"], state).exists()
    assert len(gen.read_manifest(ckpt)) == 2 and (ckpt / gen.CHECKPOINT_NPZ).exists()
    # resuming does nothing
    assert gen.generate("smoke", out, checkpoint_dir=ckpt, protocol=tiny_protocol) == []


def test_a_new_machine_restores_from_the_checkpoint(smoke_out, tmp_path, tiny_protocol):
    out, ckpt, _ = smoke_out
    fresh = tmp_path / "fresh"
    assert gen.restore_from_checkpoint(ckpt, fresh) == 2
    assert gen.restore_from_checkpoint(ckpt, fresh) == 0
    assert gen.generate("smoke", fresh, checkpoint_dir=ckpt, protocol=tiny_protocol) == []
    from ase.io import read

    for rid in ("SiO2_n24_d2.20_s1_b0_r1e15", "SiO2_n24_d2.20_s1_b1_r1e15"):
        a = read(gen.structure_path(out, rid, "min"))
        b = read(gen.structure_path(fresh, rid, "min"))
        assert np.allclose(a.positions, b.positions, atol=1e-4)
        assert a.info["energy_per_atom_eV"] == b.info["energy_per_atom_eV"]


def test_a_cut_manifest_line_is_ignored(smoke_out):
    out, _, _ = smoke_out
    with open(out / gen.MANIFEST, "a") as fh:
        fh.write('{"run_id": "half')
    assert len(gen.read_manifest(out)) == 2


def test_loader_reads_runs_and_structures(smoke_out):
    df = glass_md.load_runs()
    assert len(df) == 2 and set(df["split"]) <= {"train", "test"}
    assert "potential_table_sha256" in df.columns
    atoms = glass_md.load_structures(state="300K")
    assert len(atoms) == 2 and atoms[0].info["state"] == "300K"
    assert glass_md.load_structures(composition="Na2O-SiO2") == []
    assert len(glass_md.load_structures(cooling_rate=1e15, density=2.2)) == 2
    with pytest.raises(InvalidInputError, match="split"):
        glass_md.load_structures(split="val")


def test_loader_without_data_says_how_to_get_it(studio_env):
    with pytest.raises(DataNotAvailableError, match="core.md generate"):
        glass_md.load_runs()


def test_test_set_is_fixed_per_condition():
    from core.md.plan import get_plan

    runs = get_plan("default")
    test = glass_md.test_run_ids(runs)
    # appending runs (more seeds of a planned condition) does not move the test set
    sizes = {}
    for r in runs:
        sizes[r.condition] = sizes.get(r.condition, 0) + 1
    extra = [dataclasses.replace(r, seed=9) for r in runs if sizes[r.condition] >= 4]
    assert glass_md.test_run_ids(runs + extra) == test
    by_condition = {}
    for r in runs:
        by_condition.setdefault(r.condition, []).append(r.run_id in test)
    for flags in by_condition.values():
        assert sum(flags) == (1 if len(flags) <= 3 else 2)
        assert not any(flags[4:])  # runs appended to a condition always train
    splits = glass_md.split_of([r.run_id for r in runs])
    assert splits.count("test") == len(test)
    # the committed held-out ids of the first condition (changing them moves every metric)
    assert sorted(i for i in test if i.startswith("SiO2_n192_d2.20") and "r1e14" in i) == [
        "SiO2_n192_d2.20_s1_b0_r1e14",
        "SiO2_n192_d2.20_s1_b2_r1e14",
    ]


def test_committed_checkpoint_is_readable(repo_root, missing):
    ckpt = repo_root / "reference_data" / "glass_md"
    if not (ckpt / gen.MANIFEST).exists():
        missing("no committed MD checkpoint yet")
    records, structs = gen.read_checkpoint(ckpt)
    assert records and set(structs) == {r["run_id"] for r in records}
    for rec in records:
        s = structs[rec["run_id"]]
        assert len(s["numbers"]) == rec["n_atoms"] == len(s["positions_min"])
        assert json.dumps(rec)  # plain JSON


def test_summary_per_condition(smoke_out):
    from core.md.summary import analyse_runs, by_condition

    out, _, _ = smoke_out
    runs = analyse_runs(out)
    assert len(runs) == 2 and runs["density_g_cm3"].tolist() == [2.2, 2.2]
    assert {"si_4fold_frac", "SiOSi_mean_deg", "energy_per_atom_eV", "split"} <= set(runs)
    again = analyse_runs(out)  # from the per-run cache
    assert again.drop(columns="split").equals(runs.drop(columns="split"))
    table = by_condition(runs)
    assert table[("runs", "n")].tolist() == [2]


def test_rerun_reproduces_a_run_and_adopts_it_with_the_new_commit(
    smoke_out, tmp_path, tiny_protocol, monkeypatch
):
    """A run recomputed by the current code is bit-identical (LAMMPS, one thread, same seed);
    adopting it replaces only the record's provenance, and a run that differs is not adopted."""
    out, ckpt, _ = smoke_out
    rid = "SiO2_n24_d2.20_s1_b1_r1e15"
    before = gen.read_checkpoint(ckpt)[1][rid]["positions_min"].copy()
    monkeypatch.setattr(gen, "code_commit", lambda: "c0ffee1")
    rows = gen.rerun(
        [rid],
        tmp_path / "scratch",
        ckpt,
        adopt=True,
        out_dir=out,
        protocol=tiny_protocol,
        plan="smoke",
    )
    assert rows[0]["same"] and rows[0]["max_dpos_min_A"] == 0.0 and rows[0]["dE_min_eV"] == 0.0
    records, structs = gen.read_checkpoint(ckpt)
    by_id = {r["run_id"]: r for r in records}
    assert len(records) == 2 and by_id[rid]["code_commit"] == "c0ffee1"
    assert by_id["SiO2_n24_d2.20_s1_b0_r1e15"]["code_commit"] != "c0ffee1"
    np.testing.assert_array_equal(structs[rid]["positions_min"], before)

    # a different protocol gives another structure: reported, never adopted
    other = dataclasses.replace(tiny_protocol, hold_ps=0.32)
    rows = gen.rerun(
        [rid], tmp_path / "scratch2", ckpt, adopt=True, out_dir=out, protocol=other, plan="smoke"
    )
    assert not rows[0]["same"] and rows[0]["max_dpos_300K_A"] > 1e-3
    assert {r["run_id"]: r for r in gen.read_checkpoint(ckpt)[0]}[rid]["code_commit"] == "c0ffee1"
    with pytest.raises(InvalidInputError, match="Unknown run id"):
        gen.rerun(["nope"], tmp_path / "s3", ckpt, plan="smoke")
