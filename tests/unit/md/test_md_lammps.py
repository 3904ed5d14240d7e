"""LAMMPS against the Python formula, and short smoke runs (a few hundred steps, 24 atoms)."""

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list

from core.exceptions import InvalidInputError
from core.md import lammps_run as L
from core.md import shik


def _python_energy_forces(atoms):
    q = shik.charges(L.species_counts(atoms.get_chemical_symbols()))
    i, j, d, D = neighbor_list("ijdD", atoms, shik.R_WOLF)
    symbols = np.array(atoms.get_chemical_symbols())
    energy, forces = 0.0, np.zeros((len(atoms), 3))
    for a in set(symbols):
        for b in set(symbols):
            mask = (symbols[i] == a) & (symbols[j] == b)
            e, f = shik.pair_energy_force(d[mask], a, b, q)
            energy += 0.5 * e.sum()
            # force on i from j: F(r) along (r_i - r_j) = -D / d
            np.add.at(forces, i[mask], -(f / d[mask])[:, None] * D[mask])
    return energy, forces


def test_lammps_energy_and_forces_match_the_formula(lammps):
    counts = L.atom_counts(0.2, 30)  # 2 Na2O + 8 SiO2: all three species
    atoms = L.random_structure(counts, 2.4, seed=3)
    with L.Simulation.from_atoms(atoms) as sim:
        pe = sim.potential_energy()
        f = np.array(sim.lmp.gather_atoms("f", 1, 3)).reshape(-1, 3)
    e_ref, f_ref = _python_energy_forces(atoms)
    assert pe == pytest.approx(e_ref, abs=1e-4 * len(atoms))
    assert np.allclose(f, f_ref, atol=2e-3 * max(1.0, np.abs(f_ref).max()))


def test_random_structure_is_exact_and_apart():
    counts = L.atom_counts(0.0, 48)
    atoms = L.random_structure(counts, 2.2, seed=1)
    assert atoms.get_chemical_formula() == "O32Si16"
    assert atoms.get_volume() == pytest.approx(L.box_length(counts, 2.2) ** 3)
    d = atoms.get_all_distances(mic=True)[np.triu_indices(len(atoms), 1)]
    assert d.min() >= 1.5 - 1e-9


def test_melt_and_quench_smoke(lammps, tiny_protocol):
    counts = L.atom_counts(0.0, 24)
    m = L.melt(counts, 2.2, seed=1, n_snapshots=2, protocol=tiny_protocol)
    assert len(m.snapshots) == 2 and m.cpu_s_initial > 0
    assert not np.allclose(m.snapshots[0][0], m.snapshots[1][0])
    x, v = m.snapshots[0]
    res = L.quench(m.symbols, m.length, x, v, 1e15, tiny_protocol)
    assert res["steps"]["cool"] == round(2700 / 1e15 * 1e12 / 0.0016)
    assert res["pe_min"] <= res["pe_300K"] + 1e-9
    assert -11 < res["pe_min"] < -8  # eV/atom, SiO2 under SHIK is about -9.7
    for key in ("atoms_300K", "atoms_min"):
        a = res[key]
        assert len(a) == 24 and np.all(a.get_scaled_positions(wrap=False) >= -1e-9)
    with pytest.raises(InvalidInputError, match="Cooling rate"):
        L.quench(m.symbols, m.length, x, v, 0.0, tiny_protocol)


def test_relax_lowers_the_energy_and_records_it(lammps):
    atoms = L.random_structure(L.atom_counts(0.0, 24), 2.2, seed=2)
    relaxed, info = L.relax(atoms)
    assert info["energy_per_atom_after_eV"] < info["energy_per_atom_before_eV"]
    assert relaxed.info["energy_per_atom_after_eV"] == info["energy_per_atom_after_eV"]
    assert relaxed.get_chemical_symbols() == atoms.get_chemical_symbols()
    assert np.allclose(relaxed.cell.array, atoms.cell.array)
    # relaxing again from the minimum changes little
    _, again = L.relax(relaxed)
    assert again["energy_per_atom_before_eV"] == pytest.approx(
        info["energy_per_atom_after_eV"], abs=1e-4
    )


def test_relax_rejects_bad_structures(lammps):
    good = L.random_structure(L.atom_counts(0.0, 24), 2.2, seed=2)
    tilted = good.copy()
    tilted.set_cell([[7, 0, 0], [1, 7, 0], [0, 0, 7]])
    with pytest.raises(InvalidInputError, match="orthorhombic"):
        L.relax(tilted)
    with pytest.raises(InvalidInputError, match="Si, O and Na"):
        L.relax(Atoms("SiO2Al", positions=np.eye(4, 3) * 2, cell=[6] * 3, pbc=True))
    nan = good.copy()
    nan.positions[0, 0] = np.nan
    with pytest.raises(InvalidInputError, match="finite"):
        L.relax(nan)


def test_a_lammps_run_leaves_torch_threads_alone(lammps):
    """LAMMPS's OpenMP package shares the runtime with torch: it must not change torch's
    thread count for the rest of the process (found as an order-dependent test failure)."""
    import torch

    from core.md import lammps_run

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        atoms = lammps_run.random_structure({"Si": 8, "O": 16}, density=2.2, seed=0)
        lammps_run.relax(atoms, max_iter=50)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_close_pairs_are_pushed_apart_before_lammps_sees_them():
    # LAMMPS aborts the whole process on a pair inside its table (0.5 Å): regression test
    # for a crash when relaxing an early generator sample
    from ase.neighborlist import neighbor_list

    atoms = L.random_structure({"Si": 8, "O": 16}, density=2.2, seed=0)
    atoms.positions[1] = atoms.positions[0] + [0.2, 0.0, 0.0]
    atoms.positions[2] = atoms.positions[0]  # coincident
    out = L.separate_close_pairs(atoms)
    d = neighbor_list("d", out, L.SAFE_DISTANCE - 1e-6)
    assert len(d) == 0
    assert len(out) == len(atoms)
    assert np.allclose(out.cell.array, atoms.cell.array)


def test_relax_survives_overlapping_atoms(lammps):
    atoms = L.random_structure({"Si": 8, "O": 16}, density=2.2, seed=1)
    atoms.positions[3] = atoms.positions[4] + [0.1, 0.1, 0.0]
    relaxed, info = L.relax(atoms, max_iter=200)
    assert np.isfinite(info["energy_per_atom_after_eV"])
    assert info["energy_per_atom_after_eV"] <= info["energy_per_atom_before_eV"]
