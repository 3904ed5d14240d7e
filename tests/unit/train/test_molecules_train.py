"""The molecule training loop on a few real QM9 molecules: it learns, checkpoints, resumes."""

from __future__ import annotations

import dataclasses
import json
import zlib

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from core.featurizers.molecules import geometry_from_smiles
from core.train.molecules.training import ALL_TARGETS, QM9Geometries, TrainConfig, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_qm9() -> QM9Geometries:
    """60 molecules with made-up targets (one value per molecule, not a linear function of
    element counts, so there is something to learn), featurised through the app's path."""
    smiles = [
        "C",
        "N",
        "O",
        "CC",
        "CO",
        "CN",
        "CF",
        "C=O",
        "C#N",
        "CCO",
        "CCN",
        "CC=O",
        "OCO",
        "NCO",
        "FCF",
        "C1CC1",
        "C1CO1",
        "C1CN1",
        "CC#C",
        "CCC",
    ] * 3
    rows = []
    for i, smi in enumerate(smiles):
        geo = geometry_from_smiles(smi)
        heavy = int((geo.atomic_numbers > 1).sum())
        offset = np.random.default_rng(zlib.crc32(smi.encode())).normal(0, 1, len(ALL_TARGETS))
        targets = {t: float(heavy + offset[k]) for k, t in enumerate(ALL_TARGETS)}
        rows.append(
            {
                "index": i + 1,
                "atomic_numbers": geo.atomic_numbers.astype(np.int8),
                "positions": geo.positions.reshape(-1),
                "split": "train" if i < 50 else "val",
                **targets,
            }
        )
    return QM9Geometries(pd.DataFrame(rows))


def test_trains_checkpoints_and_resumes(tiny_qm9, tmp_path):
    cfg = TrainConfig(
        hidden=16,
        layers=2,
        rbf=8,
        epochs=1,
        batch_size=10,
        lr=1e-2,
        val_molecules=10,
        warmup_epochs=0.1,
    )
    first = train(cfg, tmp_path, data=tiny_qm9)
    assert first["epoch"] == 1
    assert (tmp_path / "member0.ckpt").exists() and (tmp_path / "member0.safetensors").exists()
    ckpt = torch.load(tmp_path / "member0.ckpt", weights_only=True)  # no pickle needed
    assert ckpt["state"]["epoch"] == 1

    cfg.epochs = 40
    state = train(cfg, tmp_path, data=tiny_qm9)  # resumes at epoch 1, not from scratch
    assert [h["epoch"] for h in state["history"]] == list(range(1, 41))
    losses = [h["train_loss"] for h in state["history"]]
    assert losses[-1] < 0.5 * losses[0], losses
    weights = load_file(tmp_path / "member0.safetensors")
    assert "atomref" in weights and weights["scale"].shape == (len(ALL_TARGETS) - 1,)
    meta = json.loads((tmp_path / "member0.json").read_text())
    assert meta["model_config"]["hidden"] == 16 and meta["best_epoch"] >= 1


def test_training_state_can_live_apart_from_the_shipped_weights(tiny_qm9, tmp_path):
    cfg = TrainConfig(hidden=16, layers=2, rbf=8, epochs=1, batch_size=10, val_molecules=10)
    out, state = tmp_path / "model", tmp_path / "state"
    train(cfg, out, data=tiny_qm9, state_dir=state)
    assert (out / "member0.safetensors").exists() and not list(out.glob("*.ckpt"))
    assert (state / "member0.ckpt").exists()
    resumed = train(dataclasses.replace(cfg, epochs=2), out, data=tiny_qm9, state_dir=state)
    assert resumed["epoch"] == 2  # continued from the state folder, not from scratch


def test_no_optimiser_state_ships_with_the_models():
    from core.config import REPO_ROOT

    assert not list((REPO_ROOT / "trained_models").rglob("*.ckpt"))
    assert not list((REPO_ROOT / "trained_models").rglob("optim*"))


def test_members_pack_into_one_model_file_that_loads_back(tiny_qm9, tmp_path):
    """Two members trained apart become one model.safetensors (member<i>. prefixes) whose
    members, rebuilt from the configs the card keeps, hold exactly the trained weights."""
    from core.models.molecules import MODEL_FILE, load_members
    from core.train.molecules.evaluation import pack_members

    members = tmp_path / "members"
    for k in (0, 1):
        cfg = TrainConfig(
            member=k, hidden=16, layers=2, rbf=8, epochs=1, batch_size=10, val_molecules=10
        )
        train(cfg, members, data=tiny_qm9)
    model = tmp_path / "model"
    metas = pack_members(members, model)
    assert [m["trained_as"] for m in metas] == ["member0", "member1"]
    assert sorted(p.name for p in model.iterdir()) == [MODEL_FILE]
    rebuilt = load_members(model, "cpu", metas)
    for k, member in enumerate(rebuilt):
        trained = load_file(members / f"member{k}.safetensors")
        for name, value in member.state_dict().items():
            assert torch.equal(value, trained[name]), name
    first, second = (m.state_dict()["embedding.weight"] for m in rebuilt)
    assert not torch.equal(first, second)  # two members, not one loaded twice


def test_code_version_is_the_one_each_leg_started_with(tiny_qm9, tmp_path, monkeypatch):
    """Bug: the version was read at each best epoch, so editing files during a clean
    run marked its weights '+dirty' (and a dirty leg could later be reported clean)."""
    import core.train.molecules.training as training

    calls = iter(["abc1234", "abc1234+dirty", "def5678", "def5678+dirty"])
    monkeypatch.setattr(training, "git_version", lambda *a, **k: next(calls))
    cfg = TrainConfig(hidden=16, layers=2, rbf=8, epochs=2, batch_size=10, val_molecules=10)
    train(cfg, tmp_path, data=tiny_qm9)  # one leg: reads the version once, at the start
    meta = json.loads((tmp_path / "member0.json").read_text())
    assert meta["code_version"] == "abc1234"
    assert meta["legs"] == [{"from_epoch": 0, "code_version": "abc1234"}]

    state = train(dataclasses.replace(cfg, epochs=4), tmp_path, data=tiny_qm9)  # dirty leg 2
    assert state["legs"] == [
        {"from_epoch": 0, "code_version": "abc1234"},
        {"from_epoch": 2, "code_version": "abc1234+dirty"},
    ]
    meta = json.loads((tmp_path / "member0.json").read_text())
    # weights the dirty leg wrote are reported dirty; weights from the first leg are not
    assert meta["code_version"] == ("abc1234+dirty" if meta["best_epoch"] > 2 else "abc1234")
