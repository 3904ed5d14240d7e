import numpy as np
import pytest

from core.exceptions import InvalidInputError
from core.md import shik


def test_charges_are_neutral_and_match_sio2():
    q = shik.charges({"Si": 64, "O": 128})
    assert q == pytest.approx({"Si": 1.7755, "O": -0.88775})
    counts = {"Si": 48, "O": 108, "Na": 24}  # 20 Na2O - 80 SiO2, 180 atoms
    q = shik.charges(counts)
    assert sum(q[s] * n for s, n in counts.items()) == pytest.approx(0.0, abs=1e-12)
    assert q["Na"] == 0.6018


def test_unsupported_species_and_no_oxygen_are_rejected():
    with pytest.raises(InvalidInputError, match="Si, O and Na"):
        shik.charges({"Si": 1, "O": 2, "Al": 1})
    with pytest.raises(InvalidInputError, match="oxygen"):
        shik.charges({"Si": 2})


@pytest.mark.parametrize(
    "pair", [("Si", "O"), ("O", "O"), ("Si", "Si"), ("Na", "O"), ("Na", "Si"), ("Na", "Na")]
)
def test_force_is_minus_derivative_of_energy(pair):
    q = shik.charges({"Si": 48, "O": 108, "Na": 24})
    r = np.linspace(0.9, 9.99, 2000)
    h = 1e-6
    _, f = shik.pair_energy_force(r, *pair, q)
    e_plus, _ = shik.pair_energy_force(r + h, *pair, q)
    e_minus, _ = shik.pair_energy_force(r - h, *pair, q)
    numeric = -(e_plus - e_minus) / (2 * h)
    assert np.allclose(f, numeric, rtol=1e-5, atol=1e-6)


def test_energy_goes_smoothly_to_zero_at_the_cutoffs():
    q = shik.charges({"Si": 1, "O": 2})
    e, f = shik.pair_energy_force(np.array([9.999, 10.0, 10.5]), "Si", "O", q)
    assert abs(e[0]) < 1e-8 and e[1] == 0 and e[2] == 0 and f[1] == 0
    # the short-range part alone vanishes at 8 A: with zero charges only it is left
    e, _ = shik.pair_energy_force(np.array([7.999, 8.0, 9.0]), "Si", "O", {"Si": 0, "O": 0})
    assert abs(e[0]) < 1e-8 and e[1] == 0 and e[2] == 0


def test_silica_pair_energies_have_the_published_shape():
    q = shik.charges({"Si": 1, "O": 2})
    r = np.linspace(1.2, 3.0, 1801)
    e, _ = shik.pair_energy_force(r, "Si", "O", q)
    # the isolated Si-O pair has its minimum at about 1.45 A (the O-O repulsion in the
    # network stretches the bond to the 1.62 A of the glass, see the MD tests)
    assert 1.40 < r[np.argmin(e)] < 1.50 and e.min() < -10
    for like in (("O", "O"), ("Si", "Si")):
        e_like, _ = shik.pair_energy_force(r, *like, q)
        assert np.all(e_like > 0)
    # the r^-24 wall: strongly repulsive at short range for every pair
    for pair in shik.PARAMETERS:
        e_short, _ = shik.pair_energy_force(0.6, *pair, {"Si": 1.7755, "O": -0.88775, "Na": 0.6018})
        assert e_short[0] > 100


def test_table_matches_the_formula(tmp_path):
    counts = {"Si": 8, "O": 16}
    table = shik.write_table(counts, tmp_path)
    assert table.species == ("Si", "O") and table.path.exists()
    again = shik.write_table(counts, tmp_path)
    assert again.sha256 == table.sha256 and again.path == table.path
    sections = {}
    lines = table.path.read_text().splitlines()
    k = 0
    while k < len(lines):
        line = lines[k].strip()
        if line in {"Si_Si", "O_Si", "O_O"}:
            n = int(lines[k + 1].split()[1])
            rows = np.array([lines[k + 3 + m].split()[1:] for m in range(n)], dtype=float)
            sections[line] = rows
            k += 3 + n
        else:
            k += 1
    assert set(sections) == {"Si_Si", "O_Si", "O_O"}
    for key, rows in sections.items():
        a, b = key.split("_")
        e, f = shik.pair_energy_force(rows[:, 0], a, b, table.charges)
        assert rows[0, 0] == shik.TABLE_R_MIN and rows[-1, 0] == shik.R_WOLF
        assert np.allclose(rows[:, 1], e, rtol=1e-11, atol=1e-12)
        assert np.allclose(rows[:, 2], f, rtol=1e-11, atol=1e-12)
    commands = table.lammps_commands()
    assert commands[0].startswith("pair_style table linear")
    assert len(commands) == 4  # 1-1, 1-2, 2-2


def test_na_tables_depend_on_composition(tmp_path):
    a = shik.write_table({"Si": 54, "O": 114, "Na": 12}, tmp_path)
    b = shik.write_table({"Si": 42, "O": 102, "Na": 36}, tmp_path)
    assert a.sha256 != b.sha256 and a.species == ("Si", "O", "Na")
    assert len(a.lammps_commands()) == 1 + 6
