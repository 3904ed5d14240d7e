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


# ---------------------------------------------------------------- packed (accelerator) data


def _pack(tmp_path, labelled=6):
    """A pack of SMILES: the first ``labelled`` molecules carry all five labels, the rest
    none (as most of MOSES train); built with one worker process."""
    from core.train.molecule_generator.packed import build_pack, save_input

    data = _data()
    props = np.array([[r[k] for k in PROPERTIES] for r in smiles_properties(SMILES)])
    props[labelled:] = np.nan
    meta = {
        "properties": list(PROPERTIES),
        "stats": data.stats,
        "vocab": list(data.vocab.tokens),
    }
    save_input(tmp_path / "in.npz", SMILES, props, SMILES[:3], props[:3], meta)
    info = build_pack(tmp_path / "in.npz", tmp_path / "pack", variants=3, seed=7, workers=1)
    return data, info


def test_pack_holds_every_molecule_and_its_randomised_smiles(tmp_path):
    from rdkit import Chem

    from core.train.molecule_generator.packed import PackedData

    data, info = _pack(tmp_path)
    assert info["packed_molecules"] == len(SMILES) and info["dropped_molecules"] == 0
    # cheap labels fill in the unlabelled molecules; SAS and QED stay missing there
    assert info["conditions_given"] == {"logp": 8, "sas": 6, "mw": 8, "qed": 6, "tpsa": 8}
    pack = PackedData(tmp_path / "pack")
    canon = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in SMILES]
    for i in range(len(SMILES)):
        rows = pack.tokens[i].tolist()
        assert data.vocab.decode(rows[0]) == SMILES[i] and rows[0][0] == data.vocab.bos_id
        for row in rows[1:]:
            assert row[0] == data.vocab.bos_random_id
            assert Chem.MolToSmiles(Chem.MolFromSmiles(data.vocab.decode(row))) == canon[i]
    # standardised exactly as MoleculeData does
    assert np.allclose(pack.cond[:6].numpy(), data.cond[:6], atol=1e-5)
    # the same seed gives the same pack, whatever the worker count
    from core.train.molecule_generator.packed import build_pack

    build_pack(tmp_path / "in.npz", tmp_path / "pack2", variants=3, seed=7, workers=2)
    assert torch.equal(PackedData(tmp_path / "pack2").tokens, pack.tokens)


def test_packed_batches_mask_missing_labels(tmp_path):
    from core.train.molecule_generator.packed import PackedData

    data, _ = _pack(tmp_path, labelled=0)
    pack = PackedData(tmp_path / "pack")
    rng = np.random.default_rng(0)
    idx, cond, mask = pack.batch(rng, TrainConfig(batch_size=512, p_uncond=0.0), max_len=59)
    assert idx.dtype == torch.long and cond.shape == mask.shape == (512, 5)
    assert set(idx[:, 0].tolist()) == {data.vocab.bos_id, data.vocab.bos_random_id}
    sas, qed = PROPERTIES.index("sas"), PROPERTIES.index("qed")
    assert not mask[:, sas].any() and not mask[:, qed].any()  # nobody has them
    assert mask[:, PROPERTIES.index("logp")].any()
    assert 0.3 < (idx[:, 0] == data.vocab.bos_random_id).float().mean() < 0.5


def test_training_on_a_pack_resumes_and_records_its_legs(tmp_path):
    _pack(tmp_path)
    cfg = _cfg(steps=12, packed=str(tmp_path / "pack"))
    state = train(cfg, tmp_path / "run")
    assert state["step"] == 12 and state["pack"]["packed_molecules"] == len(SMILES)
    state = train(_cfg(steps=20, packed=str(tmp_path / "pack")), tmp_path / "run")
    assert state["step"] == 20
    assert [(leg["start_step"], leg["end_step"]) for leg in state["legs"]] == [(0, 12), (12, 20)]
    assert all(leg["device"] == "cpu" and leg["packed"] for leg in state["legs"])


def test_time_budget_sizes_the_schedule(tmp_path):
    data = _data()
    cfg = _cfg(steps=10**6, time_budget_minutes=0.05, eval_every=10**6, log_every=10**6)
    state = train(cfg, tmp_path, data=data, val=_val(data))
    sized = state["legs"][0]["steps_sized"]  # how many fit depends on the machine's load
    assert 250 <= sized["steps"] < 10**6 and state["train"]["steps"] == sized["steps"]
    assert state["step"] == sized["steps"]


def test_budget_steps():
    from core.train.molecule_generator.training import budget_steps

    assert budget_steps(250, 100.0, 60.0) == 250 + 5520
    assert budget_steps(250, 100.0, -5.0) == 250  # over budget already: stop here


def test_pack_workers_start_under_a_borrowed_main(tmp_path, monkeypatch):
    """Under an AppTest (the suite runs them first) ``__main__`` is a page module; spawned
    workers imported it, died, and the pack's process pool restarted them for ever (the
    suite hung here). The workers must start, and the page's main be back afterwards."""
    import sys
    import types

    page = tmp_path / "page.py"
    page.write_text("raise SystemExit('a worker ran the page')\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    from core.train.molecule_generator.packed import build_pack, save_input

    data = _data()
    props = np.array([[r[k] for k in PROPERTIES] for r in smiles_properties(SMILES)])
    meta = {"properties": list(PROPERTIES), "stats": data.stats, "vocab": list(data.vocab.tokens)}
    save_input(tmp_path / "in.npz", SMILES, props, SMILES[:2], props[:2], meta)
    info = build_pack(tmp_path / "in.npz", tmp_path / "pack", variants=1, workers=2)
    assert info["packed_molecules"] == len(SMILES)
    assert sys.modules["__main__"] is fake


def test_export_adds_guided_mads_only_for_a_guided_default(monkeypatch):
    from core.generate.molecules import MoleculeGenerator
    from core.nn.smiles_gpt import SmilesGPT, SmilesGPTConfig
    from core.train.molecule_generator import export

    data = _data()
    torch.manual_seed(0)
    model = SmilesGPT(SmilesGPTConfig(vocab_size=len(data.vocab), n_layer=1, n_head=2, n_embd=16))
    ranges = {k: (-1e3, 1e3) for k in PROPERTIES}
    gen = MoleculeGenerator(model, data.vocab, data.stats, ranges, training_smiles=frozenset)
    targets = data.cond[:4] * 0 + np.array([data.stats[k]["mean"] for k in PROPERTIES])
    seen = []
    real = export.conditional_mad
    monkeypatch.setattr(
        export,
        "conditional_mad",
        lambda *a, **kw: seen.append(kw.get("guidance")) or real(*a, **kw),
    )
    assert export._guided(gen, targets, ["logp", "sas"], 0, 1.0) == {}
    out = export._guided(gen, targets, ["logp", "sas"], 0, 2.0)["conditional_single_T1_guided"]
    assert out["guidance"] == 2.0 and set(out) == {"guidance", "logp", "sas"}
    assert seen == [2.0, 2.0] and out["logp"]["targets"] == 4
    metrics = {"conditional_single_T1_guided": {"guidance": 1.5, "logp": {"logp_mad": 0.304}}}
    assert export._guided_note(metrics, "logp") == "; guidance 1.5: 0.30"
    assert export._guided_note({}, "logp") == ""
    assert export._guided_note({"conditional_single_T1_guided": out}, "logp") in (
        "",  # no valid sample from the untrained model
        f"; guidance 2: {out['logp'].get('logp_mad', 0):.2f}",
    )
