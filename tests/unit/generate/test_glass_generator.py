"""The glass-structure generator facade on the shipped model: inputs, cells, reports."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from core.exceptions import InvalidInputError
from core.generate import glass as G


@pytest.fixture(scope="module")
def gen():
    return G.load_generator()


@pytest.fixture(scope="module")
def pair(gen):
    return gen.sample(2, "SiO2 100", density=2.2, seed=7, steps=10)


def test_card_declares_the_trained_domain(gen):
    lo, hi = gen.density_range
    assert 2.0 <= lo < hi <= 2.6
    assert gen.x_na2o_range[0] == 0.0 and 0.0 < gen.x_na2o_range[1] <= 0.5
    assert 1e13 in gen.cooling_rates and 1e14 in gen.cooling_rates
    assert {"composition_label", "density_g_cm3", "n_structures"} <= set(
        gen.training_conditions.columns
    )


def test_sample_has_exact_stoichiometry_and_the_requested_density(pair, gen):
    from core.generate.glass_analysis import density_g_cm3

    assert len(pair) == 2
    for atoms in pair:
        assert atoms.get_chemical_symbols().count("Si") == 64
        assert atoms.get_chemical_symbols().count("O") == 128
        assert all(atoms.pbc)
        # ASE masses vs the MD masses (core.md.lammps_run.MASSES) differ by 2e-5
        assert math.isclose(density_g_cm3(atoms), 2.2, rel_tol=1e-4)
        frac = atoms.get_scaled_positions(wrap=False)
        assert np.all((frac >= 0) & (frac < 1))
        assert atoms.info["cooling_rate_K_s"] == min(gen.cooling_rates)
        assert atoms.info["composition"] == "SiO2"
    assert not np.allclose(pair[0].positions, pair[1].positions)


def test_same_seed_same_structures(gen, pair):
    again = gen.sample(2, {"SiO2": 1.0}, density=2.2, seed=7, steps=10)
    assert np.allclose(again[1].positions, pair[1].positions)


def test_sodium_silicate_default_size(gen):
    (atoms,) = gen.sample(1, "SiO2 80, Na2O 20", density=2.4, seed=0, steps=10)
    counts = {s: atoms.get_chemical_symbols().count(s) for s in ("Si", "O", "Na")}
    assert counts == {"Si": 48, "O": 108, "Na": 24}
    assert atoms.info["x_na2o"] == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"composition": "SiO2 70, B2O3 30"}, ["SiO2 and Na2O", "B2O3"]),
        ({"composition": "Na2O 100"}, ["SiO2"]),
        ({"composition": "SiO2 50, Na2O 50"}, ["Na2O", "mol%"]),
        ({"composition": "SiO2 banana"}, []),
        ({"density": 3.1}, ["Density", "g/cm3"]),
        ({"density": float("nan")}, ["finite"]),
        ({"density": "dense"}, ["number"]),
        ({"n": 0}, ["1 to 20"]),
        ({"n": 500}, ["1 to 20"]),
        ({"n_atoms": 10}, ["atoms"]),
        ({"n_atoms": 100}, ["stoichiometry"]),
        ({"cooling_rate": 1e10}, ["Cooling rate", "K/s"]),
        ({"steps": 2}, ["steps"]),
    ],
)
def test_bad_requests_say_what_is_wrong(gen, kwargs, words):
    args = {"n": 1, "composition": "SiO2 100", "density": 2.2, "steps": 10, **kwargs}
    with pytest.raises(InvalidInputError) as err:
        gen.sample(**args)
    for w in words:
        assert w in str(err.value)


def test_default_atom_counts():
    assert G.default_n_atoms(0.0) == 192
    for x in (0.1, 0.2, 0.3, 0.25):
        assert G.default_n_atoms(x) == 180


def test_report_compares_with_md_and_exports(pair, gen):
    from ase.io import read

    report = gen.report(pair)
    refs, note = report.reference()
    assert refs and "SiO2" in note and "192 atoms" in note and "1e13 K/s" in note
    table = report.comparison()
    assert {"si_4fold_frac", "peak_SiO_A", "SiOSi_mean_deg"} <= set(table.index)
    assert (table["n_generated"] == 2).all()
    prof = report.profiles()
    assert set(prof) == {"generated", "md"} and "Si-O" in prof["md"]["rdf"]
    assert len(report.analysis()) == 2
    for fmt, reader in (("extxyz", "extxyz"), ("cif", "cif"), ("lammps-data", "lammps-data")):
        blob = report.export(1, fmt)
        kwargs = {"atom_style": "atomic"} if fmt == "lammps-data" else {}
        back = read(io.StringIO(blob.decode()), format=reader, **kwargs)
        assert len(back) == 192
        assert np.allclose(back.cell.lengths(), pair[1].cell.lengths(), atol=1e-4)
    frames = read(io.StringIO(report.export_all().decode()), index=":", format="extxyz")
    assert len(frames) == 2
    with pytest.raises(InvalidInputError):
        report.export(0, "pdbx")


def test_a_report_refuses_mixed_conditions(gen, pair):
    (other,) = gen.sample(1, "SiO2 100", density=2.3, seed=0, steps=10)
    with pytest.raises(InvalidInputError, match="one condition"):
        gen.report([pair[0], other])


def test_random_placement_control_matches_the_request():
    """The benchmark's control: random non-overlapping atoms at the requested density."""
    from core.generate.glass_analysis import density_g_cm3
    from core.train.glass_generator.export import RandomPlacement

    control = RandomPlacement()
    a, b = control.sample(2, "SiO2 80, Na2O 20", 2.4, seed=3)
    counts = {s: a.get_chemical_symbols().count(s) for s in ("Si", "O", "Na")}
    assert counts == {"Si": 48, "O": 108, "Na": 24}
    assert math.isclose(density_g_cm3(a), 2.4, rel_tol=1e-4)
    assert not np.allclose(a.positions, b.positions)
    d = a.get_all_distances(mic=True)[np.triu_indices(len(a), 1)]
    assert d.min() > 1.0  # non-overlapping, as at the start of a melt-quench
    (again,) = control.sample(1, {"SiO2": 0.8, "Na2O": 0.2}, 2.4, seed=3)
    assert np.allclose(again.positions, a.positions)
    with pytest.raises(InvalidInputError, match="SiO2 and Na2O"):
        control.sample(1, "SiO2 80, Al2O3 20", 2.4)


def test_held_out_conditions_outside_the_trained_domain_are_left_out(gen):
    """Regression: the benchmark crashed on a held-out 1e12 K/s MD run the model never saw."""
    from core.train.glass_generator.export import test_conditions

    every = test_conditions()
    inside = test_conditions(gen)
    assert 0 < len(inside) <= len(every)
    assert set(inside["cooling_rate_K_s"]) <= set(gen.cooling_rates)
    lo, hi = gen.density_range
    assert inside["density_g_cm3"].between(lo, hi).all()
    outside = every[~every["cooling_rate_K_s"].isin(gen.cooling_rates)]
    assert len(every) - len(inside) >= len(outside)
