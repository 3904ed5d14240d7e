import json

import numpy as np
import pytest
import torch

from core.chem.descriptors import PROPERTIES, smiles_properties
from core.chem.smiles_tokens import SmilesVocab
from core.train.molecule_generator.training import (
    MoleculeData,
    TrainConfig,
    lr_factor,
    train,
    validity_uniqueness,
)

SMILES = [
    "CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1",
    "CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1",
    "Cc1c(Cl)cccc1Nc1ncccc1C(=O)OCC(O)CO",
    "Cn1cnc2c1c(=O)n(CC(O)CO)c(=O)n2C",
    "CC1Oc2ccc(Cl)cc2N(CC(O)CO)C1=O",
    "O=C(Nc1ccccc1)c1ccc(F)cc1",
    "COc1ccc(CC(=O)N2CCCC2)cc1",
    "CC(=O)Nc1ccc(S(=O)(=O)N2CCOCC2)cc1",
]


def _data(smiles=SMILES):
    props = np.array([[r[k] for k in PROPERTIES] for r in smiles_properties(smiles)])
    stats = {
        k: {"mean": float(props[:, j].mean()), "std": float(props[:, j].std() + 1e-6)}
        for j, k in enumerate(PROPERTIES)
    }
    return MoleculeData(list(smiles), props, SmilesVocab.build(smiles), stats)


def _val(data):
    seqs = [data.vocab.encode(s) for s in data.smiles]
    idx = torch.zeros(len(seqs), max(map(len, seqs)), dtype=torch.long)
    for b, s in enumerate(seqs):
        idx[b, : len(s)] = torch.tensor(s)
    return idx, torch.from_numpy(data.cond)


def _cfg(**kw):
    base = dict(
        steps=20,
        batch_size=8,
        warmup=5,
        eval_every=10,
        eval_samples=8,
        log_every=5,
        ckpt_minutes=0.0,
        model={"n_layer": 1, "n_head": 2, "n_embd": 16},
    )
    return TrainConfig(**{**base, **kw})


def test_lr_schedule_warms_up_then_decays_to_the_floor():
    cfg = TrainConfig(steps=1000, warmup=100, min_lr_frac=0.1)
    assert lr_factor(0, cfg) == pytest.approx(0.01)
    assert lr_factor(99, cfg) == pytest.approx(1.0)
    assert lr_factor(550, cfg) == pytest.approx(0.55)
    assert lr_factor(1000, cfg) == pytest.approx(0.1)
    assert lr_factor(5000, cfg) == pytest.approx(0.1)


def test_batches_mix_modes_and_drop_conditions_per_sample():
    data = _data()
    rng = np.random.default_rng(0)
    idx, cond, mask = data.batch(rng, TrainConfig(batch_size=256), max_len=59)
    assert idx.shape[0] == 256 and cond.shape == mask.shape == (256, 5)
    starts = set(idx[:, 0].tolist())
    assert starts == {data.vocab.bos_id, data.vocab.bos_random_id}
    given = mask.sum(1)
    assert (given == 0).any() and (given == 5).any() and ((given > 0) & (given < 5)).any()
    # every randomised sample decodes to one of the training molecules
    from rdkit import Chem

    canon = {Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in SMILES}
    for row in idx[idx[:, 0] == data.vocab.bos_random_id].tolist():
        assert Chem.MolToSmiles(Chem.MolFromSmiles(data.vocab.decode(row))) in canon


def test_checkpoint_every_step_and_resume(tmp_path):
    data = _data()
    state = train(_cfg(steps=12), tmp_path, data=data, val=_val(data))
    assert state["step"] == 12
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["step"] == 12 and saved["molecules_seen"] == 96
    blob = torch.load(tmp_path / "optim.pt", weights_only=True)
    assert all(s["exp_avg"].dtype == torch.bfloat16 for s in blob["optimizer"]["state"].values())
    state = train(_cfg(steps=20), tmp_path, data=data, val=_val(data))
    assert state["step"] == 20 and state["molecules_seen"] == 160
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "validity_T1" in r] == [10, 12, 20]  # + each run end


def test_validity_uniqueness():
    v, u, canon = validity_uniqueness(["CCO", "OCC", "C1CC", ""])
    assert v == 0.5 and u == 0.5 and canon == ["CCO", "CCO"]


@pytest.mark.slow
def test_tiny_model_overfits_a_few_molecules(tmp_path):
    """End to end: train, checkpoint, sample; a tiny model memorises 8 molecules."""
    from core.train.molecule_generator.training import load_model, sample_unconditional

    torch.manual_seed(0)
    data = _data()
    cfg = _cfg(
        steps=600,
        batch_size=16,
        lr=3e-3,
        warmup=50,
        p_random=0.0,
        eval_every=600,
        eval_samples=64,
        log_every=100,
        ckpt_minutes=1.0,
        weight_decay=0.0,
        model={"n_layer": 2, "n_head": 2, "n_embd": 64},
    )
    state = train(cfg, tmp_path, data=data, val=_val(data))
    log = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert log[-2]["loss"] < 0.3
    model = load_model(tmp_path, state["model_config"])
    valid, _, canon = validity_uniqueness(sample_unconditional(model, data.vocab, 64, seed=1))
    assert valid > 0.8
    assert len(set(canon) & set(SMILES)) >= 4  # memorised training molecules come back
