import pytest

from core.exceptions import InvalidInputError
from core.md.lammps_run import atom_counts, box_length, composition_label
from core.md.plan import default_plan, get_plan, rate_text, snapshots_needed


def test_atom_counts_are_exact():
    assert atom_counts(0.0, 192) == {"Si": 64, "O": 128}
    assert atom_counts(0.2, 180) == {"Si": 48, "O": 108, "Na": 24}
    assert atom_counts(0.1, 180) == {"Si": 54, "O": 114, "Na": 12}
    with pytest.raises(InvalidInputError, match="multiple of 30"):
        atom_counts(0.1, 192)
    with pytest.raises(InvalidInputError):
        atom_counts(0.0, 100)


def test_box_is_sized_from_the_density():
    # 64 SiO2 at 2.20 g/cm3: 64 * 60.084 g/mol / N_A / 2.2 = 2903 A^3
    assert box_length({"Si": 64, "O": 128}, 2.20) == pytest.approx(2903.3 ** (1 / 3), rel=1e-4)
    with pytest.raises(InvalidInputError, match="Density"):
        box_length({"Si": 1, "O": 2}, float("nan"))


def test_default_plan_is_unique_exact_and_front_loaded():
    runs = get_plan("default")
    assert len({r.run_id for r in runs}) == len(runs)
    first = runs[:32]
    assert all(r.label == "SiO2" and r.n_atoms == 192 and r.rate == 1e14 for r in first)
    assert {r.density for r in first} == {2.10, 2.20, 2.30, 2.35}
    assert {r.label for r in runs} == {"SiO2", "10Na2O-90SiO2", "20Na2O-80SiO2", "30Na2O-70SiO2"}
    assert {r.rate for r in runs} >= {1e14, 1e13}
    need = snapshots_needed(runs)
    assert need["SiO2_n192_d2.20_s1"] == 10
    assert runs[0].run_id == "SiO2_n192_d2.20_s1_b0_r1e14"
    assert default_plan() == runs


def test_labels_and_rates():
    assert composition_label(0.0) == "SiO2"
    assert composition_label(0.2) == "20Na2O-80SiO2"
    assert rate_text(1e13) == "1e13" and rate_text(2.5e12) == "2.5e12"
    with pytest.raises(InvalidInputError, match="Unknown plan"):
        get_plan("nope")
