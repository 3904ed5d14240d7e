"""Structure analysis on known crystals and on the committed MD glasses."""

import numpy as np
import pytest
from ase import Atoms
from ase.spacegroup import crystal

from core.exceptions import InvalidInputError
from core.generate import glass_analysis as ga


@pytest.fixture(scope="module")
def cristobalite():
    """Ideal beta-cristobalite (Fd-3m, a = 7.16 A), 2x2x2 cells: 192 atoms."""
    cell = crystal(
        ["Si", "O"],
        basis=[(0, 0, 0), (0.125, 0.125, 0.125)],
        spacegroup=227,
        cellpar=[7.16, 7.16, 7.16, 90, 90, 90],
    )
    return cell.repeat(2)


@pytest.fixture(scope="module")
def quartz():
    """Alpha-quartz (P3_221, Levien et al. 1980), 3x3x3 cells: 243 atoms, hexagonal cell."""
    cell = crystal(
        ["Si", "O"],
        basis=[(0.4697, 0, 2 / 3), (0.4135, 0.2669, 0.1191 + 2 / 3)],
        spacegroup=154,
        cellpar=[4.916, 4.916, 5.405, 90, 90, 120],
    )
    return cell.repeat(3)


@pytest.fixture(scope="module")
def cristobalite_result(cristobalite):
    return ga.analyse(cristobalite)


@pytest.fixture(scope="module")
def quartz_result(quartz):
    return ga.analyse(quartz)


def test_cristobalite(cristobalite_result):
    r = cristobalite_result
    assert r["si_4fold_frac"] == 1.0 and r["o_2fold_frac"] == 1.0
    assert r["sio_bond_mean_A"] == pytest.approx(7.16 * np.sqrt(3) / 8, abs=1e-6)
    assert r["peak_SiO_A"] == pytest.approx(1.550, abs=0.01)
    assert r["OSiO_mean_deg"] == pytest.approx(109.47, abs=0.01)
    assert r["SiOSi_mean_deg"] == pytest.approx(180.0, abs=1e-3)
    bond = r["sio_bond_mean_A"]
    assert r["oo_tetra_mean_A"] == pytest.approx(bond * np.sqrt(8 / 3), abs=1e-6)
    assert r["sisi_bridged_mean_A"] == pytest.approx(2 * bond, abs=1e-6)
    assert r["ring_frac_6"] == 1.0 and r["rings_per_si"] == pytest.approx(2.0)
    assert r["density_g_cm3"] == pytest.approx(2.175, abs=0.01)


def test_quartz(quartz_result):
    r = quartz_result
    assert r["si_4fold_frac"] == 1.0 and r["o_2fold_frac"] == 1.0
    assert r["density_g_cm3"] == pytest.approx(2.65, abs=0.01)
    assert r["peak_SiO_A"] == pytest.approx(1.61, abs=0.01)
    assert r["peak_SiSi_A"] == pytest.approx(3.06, abs=0.02)
    assert r["SiOSi_mean_deg"] == pytest.approx(143.7, abs=0.3)
    assert r["OSiO_mean_deg"] == pytest.approx(109.47, abs=0.1)
    # shortest-path rings of quartz: 6- and 8-rings only
    assert r["ring_frac_6"] + r["ring_frac_8"] == pytest.approx(1.0)
    assert r["ring_frac_6"] > 0 and r["ring_frac_8"] > 0


def test_rdf_is_normalised():
    """An ideal gas (uniform random positions) has g(r) = 1 for every pair."""
    rng = np.random.default_rng(0)
    gas = Atoms("Si150O300", positions=rng.uniform(0, 18, (450, 3)), cell=[18] * 3, pbc=True)
    rdf = ga.partial_rdfs(gas, r_max=8.0, dr=0.1)
    shell = (rdf["r"] > 3) & (rdf["r"] < 8)
    for key in ("Si-O", "O-O", "Si-Si"):
        assert np.mean(rdf[key][shell]) == pytest.approx(1.0, abs=0.03)
    assert "Na-O" not in rdf
    sq = ga.neutron_structure_factor(gas)
    assert np.abs(sq[ga.Q_GRID > 2] - 1).max() < 0.1  # no structure, S(q) = 1


def test_defects_are_counted(cristobalite):
    broken = cristobalite.copy()
    del broken[[i for i, s in enumerate(broken.get_chemical_symbols()) if s == "O"][:1]]
    r = ga.analyse(broken, rings=False)
    assert r["si_4fold_frac"] == pytest.approx(62 / 64)
    assert r["si_3fold_frac"] == pytest.approx(2 / 64)
    assert "ring_frac_6" not in r


def test_sodium_measures():
    a = crystal(
        ["Si", "O"],
        basis=[(0, 0, 0), (0.125, 0.125, 0.125)],
        spacegroup=227,
        cellpar=[7.16] * 3 + [90] * 3,
    )
    a += Atoms("Na", positions=[[3.58, 3.58, 0.0]])
    r = ga.analyse(a, rings=False)
    assert "peak_NaO_A" in r and "na_cn_mean" in r and r["q4_frac"] == 1.0


def test_bad_inputs():
    with pytest.raises(InvalidInputError, match="periodic"):
        ga.analyse(Atoms("SiO2", positions=np.eye(3), cell=[5] * 3, pbc=False))
    with pytest.raises(InvalidInputError, match="Si and O"):
        ga.analyse(Atoms("Na2", positions=np.eye(2, 3), cell=[5] * 3, pbc=True))
    with pytest.raises(InvalidInputError, match="Nothing"):
        ga.compare([], [{"si_4fold_frac": 1.0}])


def test_compare_reports_targets_and_spread(cristobalite_result, quartz_result):
    table = ga.compare([quartz_result], [cristobalite_result, cristobalite_result])
    assert table.loc["si_4fold_frac", "meets_target"] == 1.0
    assert table.loc["SiOSi_mean_deg", "difference"] == pytest.approx(143.7 - 180.0, abs=0.3)
    assert table.loc["SiOSi_mean_deg", "meets_target"] == 0.0
    assert table.loc["SiOSi_mean_deg", "reference_std"] == pytest.approx(0.0)
    assert np.isnan(table.loc["density_g_cm3", "tolerance"])
    assert {"generated_mean", "reference_mean", "n_reference"} <= set(table.columns)


def test_profiles(quartz):
    p = ga.profiles([quartz])
    assert set(p) == {"rdf", "angles", "rings", "sq"}
    assert p["angles"]["OSiO"].sum() == pytest.approx(1.0)  # density, 1-degree bins
    assert p["rings"]["fraction"].sum() == pytest.approx(1.0)


def test_md_glass_from_the_committed_checkpoint(repo_root, missing):
    """The melt-quench glasses are real silica glass (192 atoms, 2.20 g/cm3, 1e14 K/s)."""
    from core.md import generate as gen

    records, structs = gen.read_checkpoint(repo_root / "reference_data" / "glass_md")
    ids = [
        r["run_id"]
        for r in records
        if r["run_id"].startswith("SiO2_n192_d2.20_s1_") and r["run_id"].endswith("r1e14")
    ][:2]
    if not ids:
        missing("no committed MD checkpoint yet")
    for rid in ids:
        s = structs[rid]
        atoms = Atoms(numbers=s["numbers"], positions=s["positions_min"], cell=s["cell"], pbc=True)
        r = ga.analyse(atoms)
        assert r["density_g_cm3"] == pytest.approx(2.20, abs=1e-3)
        assert r["si_4fold_frac"] >= 0.97 and r["o_2fold_frac"] >= 0.95
        assert 1.60 < r["peak_SiO_A"] < 1.64
        assert 2.5 < r["peak_OO_A"] < 2.7 and 3.0 < r["peak_SiSi_A"] < 3.3
        assert 108.5 < r["OSiO_mean_deg"] < 110.0 and 140 < r["SiOSi_mean_deg"] < 155
        assert 5.0 < r["ring_mean_size"] < 7.5 and r["ring_frac_3"] < 0.08
        assert 1.45 < r["fsdp_q_inv_A"] < 1.65  # experiment: about 1.52 1/A
