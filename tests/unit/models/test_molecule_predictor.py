"""The shipped molecule ensemble through its batch path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from core.models.molecules import load_predictor


@pytest.fixture(scope="module")
def predictor():
    return load_predictor(device="cpu")


def test_batches_give_the_same_rows_as_one_molecule_at_a_time(predictor) -> None:
    smiles = ["CCO", "c1ccncc1", "not a smiles", "OCC(F)(F)F", "C1CC", "CC(=O)NC1CC1", "c1ccsc1"]
    threads = torch.get_num_threads()
    seen: list[tuple[int, int]] = []
    # 21 rows: the network runs in passes of 8 on the first conformers while the rest embed
    batch = predictor.predict(smiles * 3, progress=lambda done, total: seen.append((done, total)))
    assert torch.get_num_threads() == threads  # the one-thread setting is undone
    single = pd.concat([predictor.predict([s]) for s in smiles], ignore_index=True)
    assert list(batch["input"]) == smiles * 3
    expected = pd.concat([single] * 3, ignore_index=True)
    # float32 sums depend on the pass, so equal up to rounding
    pd.testing.assert_frame_equal(batch, expected, check_exact=False, rtol=1e-4, atol=1e-5)
    bad = single["error"] != ""
    assert bad.tolist() == [False, False, True, False, True, False, False]
    assert single.loc[bad, "homo"].isna().all()
    assert not single.loc[6, "in_domain"] and "S" in single.loc[6, "domain_message"]
    assert seen[-1] == (21, 21) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_every_prediction_has_a_positive_std(predictor) -> None:
    table = predictor.predict(["c1ccncc1", "C", "O=C=O", "CC#N"])
    stds = table[[f"{p}_std" for p in predictor.properties]].to_numpy()
    assert np.isfinite(stds).all() and (stds > 0).all()


def _sdf(*records: str) -> bytes:
    return "".join(records).encode()


def _record(smiles: str, name: str) -> str:
    from rdkit import Chem

    from core.chem.molecules import embed_conformer, parse_smiles

    mol = embed_conformer(parse_smiles(smiles))
    mol.SetProp("_Name", name)
    return Chem.MolToMolBlock(mol) + "$$$$\n"


def test_uploaded_structures_are_used_as_given_and_bad_records_become_error_rows(
    predictor,
) -> None:
    from core.models.molecules import read_batch

    broken = "broken\n  RDKit\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n$$$$\n"
    items = read_batch(
        _sdf(_record("CCO", "ethanol"), broken, _record("c1ccncc1", "")), "three.sdf"
    )
    assert len(items) == 3
    table = predictor.predict_structures(items)
    assert table["input"].tolist() == ["ethanol", "record 2", "record 3"]
    assert table["error"].tolist()[0] == "" and "record 2" in table.loc[1, "error"]
    assert np.isnan(table.loc[1, "homo"]) and table.loc[2, "smiles"] == "c1ccncc1"
    # the same ETKDG conformer as the SMILES path (written to 4 decimals), so the same numbers
    by_smiles = predictor.predict(["CCO", "c1ccncc1"])
    for prop in ("homo", "u0", "mu"):
        assert np.allclose(table.loc[[0, 2], prop], by_smiles[prop], rtol=0, atol=2e-3)


def test_a_structure_without_hydrogens_is_predicted_with_a_warning(predictor) -> None:
    from rdkit import Chem

    from core.chem.molecules import embed_conformer, parse_smiles

    heavy = Chem.RemoveHs(embed_conformer(parse_smiles("CCO")))
    row = predictor.predict_structures([heavy]).iloc[0]
    assert row["error"] == "" and not row["in_domain"]
    assert "no explicit hydrogens" in row["domain_message"]
