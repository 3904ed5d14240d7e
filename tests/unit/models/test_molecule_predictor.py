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
    batch = predictor.predict(smiles, batch_size=2)  # four batches: embedding runs ahead
    assert torch.get_num_threads() == threads  # the one-thread setting is undone
    single = pd.concat([predictor.predict([s]) for s in smiles], ignore_index=True)
    assert list(batch["input"]) == smiles
    # float32 sums depend on the batch, so equal up to rounding
    pd.testing.assert_frame_equal(batch, single, check_exact=False, rtol=1e-4, atol=1e-5)
    bad = batch["error"] != ""
    assert bad.tolist() == [False, False, True, False, True, False, False]
    assert batch.loc[bad, "homo"].isna().all()
    assert not batch.loc[6, "in_domain"] and "S" in batch.loc[6, "domain_warning"]


def test_every_prediction_has_a_positive_std(predictor) -> None:
    table = predictor.predict(["c1ccncc1", "C", "O=C=O", "CC#N"])
    stds = table[[f"{p}_std" for p in predictor.properties]].to_numpy()
    assert np.isfinite(stds).all() and (stds > 0).all()
