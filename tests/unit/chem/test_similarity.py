"""ECFP4 Tanimoto search, checked against RDKit's own Tanimoto on the same fingerprints."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from core.chem.similarity import N_BITS, RADIUS, FingerprintIndex, morgan_bits

SMILES = ["CCO", "CCCO", "c1ccccc1", "c1ccncc1", "CC(=O)O", "OCC(O)CO", "C#N", "FC(F)F"]


def test_similarity_equals_rdkit_tanimoto() -> None:
    mols = [Chem.MolFromSmiles(s) for s in SMILES]
    packed, ok = morgan_bits(mols)
    assert ok.all() and packed.shape == (len(SMILES), N_BITS // 64)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=RADIUS, fpSize=N_BITS)
    fps = [gen.GetFingerprint(m) for m in mols]
    index = FingerprintIndex(packed)
    for i, fp in enumerate(fps):
        expected = DataStructs.BulkTanimotoSimilarity(fp, fps)
        np.testing.assert_allclose(index.similarity(packed[i]), expected, atol=1e-12)


def test_nearest_is_ordered_and_finds_the_molecule_itself() -> None:
    packed, _ = morgan_bits(Chem.MolFromSmiles(s) for s in SMILES)
    index = FingerprintIndex(packed)
    query, _ = morgan_bits([Chem.MolFromSmiles("OCC")])  # ethanol written another way
    sim, rows = index.nearest(query[0], k=3)
    assert rows[0] == 0 and sim[0] == 1.0
    assert np.all(np.diff(sim) <= 0)
    assert index.max_similarity(packed[[2, 3]]).tolist() == [1.0, 1.0]


def test_explicit_hydrogens_do_not_change_the_fingerprint() -> None:
    plain, _ = morgan_bits([Chem.MolFromSmiles("c1ccncc1")])
    with_h, _ = morgan_bits([Chem.AddHs(Chem.MolFromSmiles("c1ccncc1"))])
    assert np.array_equal(plain, with_h)


def test_unparsed_molecules_are_flagged_and_bad_shapes_rejected() -> None:
    packed, ok = morgan_bits([None, Chem.MolFromSmiles("C")])
    assert ok.tolist() == [False, True] and not packed[0].any()
    with pytest.raises(ValueError, match="uint64"):
        FingerprintIndex(np.zeros((3, 10), dtype=np.uint64))
