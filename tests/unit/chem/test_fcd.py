"""FCD in chunks equals fcd_torch's own computation (the reference MOSES uses)."""

import numpy as np
import pytest

pytest.importorskip("fcd_torch")

from core.chem.fcd import ChemNetStats, activation_stats, fcd  # noqa: E402

A = [
    "CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1",
    "CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1",
    "Cc1c(Cl)cccc1Nc1ncccc1C(=O)OCC(O)CO",
    "Cn1cnc2c1c(=O)n(CC(O)CO)c(=O)n2C",
    "CC1Oc2ccc(Cl)cc2N(CC(O)CO)C1=O",
    "O=C(Nc1ccccc1)c1ccc(F)cc1",
    "COc1ccc(CC(=O)N2CCCC2)cc1",
    "CC(=O)Nc1ccc(S(=O)(=O)N2CCOCC2)cc1",
    "OC(c1ccccc1)c1ccccc1",
    "Brc1ccc2[nH]ccc2c1",
]
B = ["CCO", "CCN", "CCCCCC", "c1ccccc1", "CC(=O)O", "OCCO", "CCOC(C)=O", "C1CCNCC1", "CN", "CCC#N"]


def test_chunked_statistics_equal_fcd_torch():
    from fcd_torch import FCD

    ref = FCD(device="cpu", n_jobs=1)
    want = ref.precalc(A)
    got = activation_stats(A, chunk=3)  # chunks of 3, 3, 3, 1
    assert got.n == len(A) and got.skipped == 0
    np.testing.assert_allclose(got.mu, want["mu"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sigma, want["sigma"], rtol=1e-4, atol=1e-6)
    assert fcd(got, activation_stats(B)) == pytest.approx(ref(A, B), rel=1e-4)


def test_fcd_is_zero_for_the_same_set_and_grows_with_difference(tmp_path):
    a = activation_stats(A)
    same = fcd(a, activation_stats(list(reversed(A))))
    assert same == pytest.approx(0.0, abs=1e-3)  # sqrtm of a rank-9 matrix: not exactly 0
    assert fcd(a, activation_stats(B)) > 1.0
    a.save(tmp_path / "a.npz")
    back = ChemNetStats.load(tmp_path / "a.npz")
    assert back.n == a.n and np.array_equal(back.sigma, a.sigma)


def test_invalid_smiles_are_skipped_and_counted():
    s = activation_stats([*B, "not a smiles", "C1CC", ""])
    assert s.n == len(B) and s.skipped == 3
    with pytest.raises(ValueError, match="at least 2 valid"):
        activation_stats(["CCO", "xyz"])
