"""Export the SMILES generator's work checkpoint to ``trained_models/smiles_gpt_moses``.

Metrics are measured on held-out data only: unconditional validity/uniqueness/novelty of raw
samples (T=1, no top-k/top-p); conditional MAD between requested and achieved (RDKit) values
for targets taken from MOSES *test* molecules (one sample per target, one property at a time
and all five together), beside the MAD of unconditional samples against the same targets;
the fragment match rate on fragments (Murcko scaffolds) of MOSES test molecules.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

from core import config
from core.chem.descriptors import PROPERTIES, UNITS, mol_properties
from core.chem.smiles_tokens import SMILES_REGEX, SmilesVocab
from core.generate.molecules import MoleculeGenerator, _moses_training_smiles
from core.train._common import data_provenance, git_version
from core.train.molecule_generator import (
    MODEL_NAME,
    load_model,
    sample_unconditional,
    validity_uniqueness,
)

log = logging.getLogger(__name__)


def conditional_mad(
    gen: MoleculeGenerator,
    targets: np.ndarray,
    keys: list[str],
    seed: int,
    uncond: list[dict] | None = None,
) -> dict:
    """One sample per target row (columns = PROPERTIES); MAD over the valid samples."""
    model, vocab, P = gen.model, gen.vocab, gen.model.config.n_cond
    cols = [PROPERTIES.index(k) for k in keys]
    mean = np.array([gen.stats[k]["mean"] for k in PROPERTIES])
    std = np.array([gen.stats[k]["std"] for k in PROPERTIES])
    z = torch.tensor((targets - mean) / std, dtype=torch.float32)
    mask = torch.zeros(len(targets), P, dtype=torch.bool)
    mask[:, cols] = True
    g = torch.Generator().manual_seed(seed)
    seq = model.generate(
        torch.full((len(targets), 1), vocab.bos_id),
        z,
        mask,
        max_new_tokens=model.config.block_size,
        eos_id=vocab.eos_id,
        generator=g,
    )
    err: dict[str, list[float]] = {k: [] for k in keys}
    n_valid = 0
    with rdBase.BlockLogs():
        for row, s in zip(targets, seq.tolist(), strict=False):
            mol = Chem.MolFromSmiles(vocab.decode(s)) if vocab.eos_id in s else None
            if mol is None:
                continue
            n_valid += 1
            props = mol_properties(mol)
            for k in keys:
                err[k].append(abs(props[k] - row[PROPERTIES.index(k)]))
    out = {"targets": len(targets), "validity": n_valid / len(targets)}
    out.update({f"{k}_mad": float(np.mean(v)) for k, v in err.items() if v})
    if uncond:
        m = min(len(uncond), len(targets))
        for k in keys:
            base = [abs(uncond[i][k] - targets[i, PROPERTIES.index(k)]) for i in range(m)]
            out[f"{k}_mad_unconditional"] = float(np.mean(base))
    return out


def _summary(metrics: dict) -> str:
    """The card's one-line headline (held-out MOSES-test numbers, temperature 1)."""
    u = metrics["unconditional_T1"]
    logp = metrics["conditional_single_T1"]["logp"]
    frag = metrics["fragment_murcko_test_T1"]
    return (
        f"validity {u['validity']:.1%}, novelty {u['novelty']:.1%}, logP MAD "
        f"{logp['logp_mad']:.2f} (unconditioned {logp['logp_mad_unconditional']:.2f}), "
        f"fragment kept {frag['match_rate_of_valid_unique']:.0%}"
    )


def export(
    ckpt: Path,
    samples: int = 2000,
    cond_samples: int = 200,
    seed: int = 12345,
    out: Path | None = None,
) -> dict:
    from core.data import moses
    from core.data.moses_labels import load_labels, property_stats

    torch.set_num_threads(1)
    t0 = time.process_time()
    state = json.loads((ckpt / "state.json").read_text())
    model = load_model(ckpt, state["model_config"]).eval()
    vocab = SmilesVocab(tuple(state["vocab"]))
    train_labels = load_labels("train")
    ranges_stats = property_stats(train_labels)
    ranges = {k: (ranges_stats[k]["p0.5"], ranges_stats[k]["p99.5"]) for k in PROPERTIES}
    gen = MoleculeGenerator(model, vocab, state["stats"], ranges)

    # unconditional, raw
    smi = sample_unconditional(model, vocab, samples, seed=seed)
    valid, unique, canon = validity_uniqueness(smi)
    train_set = _moses_training_smiles()
    uniq = set(canon)
    novelty = sum(s not in train_set for s in uniq) / max(1, len(uniq)) if train_set else None
    with rdBase.BlockLogs():
        uncond_props = [mol_properties(Chem.MolFromSmiles(s)) for s in canon]
    metrics: dict = {
        "unconditional_T1": {
            "samples": samples,
            "validity": valid,
            "uniqueness": unique,
            "novelty": novelty,
            **{f"{k}_mean": float(np.mean([p[k] for p in uncond_props])) for k in PROPERTIES},
        },
        "moses_test_label_means": {k: float(load_labels("test")[k].mean()) for k in PROPERTIES},
    }
    # conditional MAD on held-out targets (MOSES test molecules inside the accepted range)
    test = load_labels("test")
    inside = np.all([(test[k] >= ranges[k][0]) & (test[k] <= ranges[k][1]) for k in PROPERTIES], 0)
    targets = test.loc[inside, list(PROPERTIES)].to_numpy(float)[:cond_samples]
    single = {}
    for k in PROPERTIES:
        single[k] = conditional_mad(gen, targets, [k], seed, uncond_props)
    metrics["conditional_single_T1"] = single
    metrics["conditional_all_five_T1"] = conditional_mad(
        gen, targets, list(PROPERTIES), seed, uncond_props
    )
    # fragments: Murcko scaffolds of MOSES test molecules
    frags, rows = [], []
    for s in test["smiles"].iloc[1000:]:
        scaf = MurckoScaffold.MurckoScaffoldSmiles(s)
        if scaf and 4 <= Chem.MolFromSmiles(scaf).GetNumAtoms() <= 14 and scaf not in frags:
            frags.append(scaf)
        if len(frags) == 20:
            break
    matched = valid_f = produced = 0
    for i, f in enumerate(frags):
        df = gen.sample(20, seed=seed + i, fragment=f, max_samples=64)
        matched += int(df["fragment_matched"].sum())
        rows.append(len(df))
        valid_f += df.attrs["raw_validity"] * df.attrs["samples"]
        produced += df.attrs["samples"]
    metrics["fragment_murcko_test_T1"] = {
        "fragments": frags,
        "raw_validity": valid_f / max(1, produced),
        "match_rate_of_valid_unique": matched / max(1, sum(rows)),
        "molecules": sum(rows),
    }
    metrics["export_cpu_seconds"] = time.process_time() - t0

    out = out or config.models_dir() / MODEL_NAME
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ckpt / "model.safetensors", out / "model.safetensors")
    card = {
        "name": MODEL_NAME,
        "version": git_version(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "task": "SMILES generation conditioned on any subset of logp, sas, mw, qed, tpsa, "
        "with optional fragment prompts",
        "architecture": "decoder-only transformer (nanoGPT blocks) with condition tokens "
        "(core.nn.smiles_gpt.SmilesGPT)",
        "config": state["model_config"],
        "parameters": model.num_parameters(),
        "tokenizer": {"regex": SMILES_REGEX.pattern, "vocab": list(vocab.tokens)},
        "conditions": {
            k: {
                **ranges_stats[k],
                "mean": state["stats"][k]["mean"],
                "std": state["stats"][k]["std"],
                "range": list(ranges[k]),
                "unit": UNITS[k],
                "range_note": "accepted conditions: 0.5-99.5 percentiles of labelled train",
            }
            for k in PROPERTIES
        },
        "fragment_method": "randomised-SMILES mode: '<bos_r>' + a SMILES of the fragment "
        "ending at a hydrogen-bearing atom, completed by the model",
        "data": data_provenance(moses.INFO),
        "split": "core.data.moses train (99% of MOSES train) for training; MOSES val for "
        "the validation loss; MOSES test for every metric below",
        "training": {
            "step": state["step"],
            "molecules_seen": state["molecules_seen"],
            "cpu_seconds": state["cpu_seconds"],
            "labelled_train_molecules": len(train_labels),
            "recipe": state["train"],
            "checkpoint_saved": state.get("saved"),
        },
        "metrics": metrics,
        "summary": _summary(metrics),
    }
    (out / "card.json").write_text(json.dumps(card, indent=1))
    log.info("exported %s: %s", out, json.dumps(metrics)[:2000])
    return card
