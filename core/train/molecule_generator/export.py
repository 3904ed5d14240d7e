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
from core.exceptions import DataNotAvailableError
from core.generate.molecules import DEFAULT_GUIDANCE, MoleculeGenerator, moses_training_smiles
from core.models.integrity import record_checksums
from core.provenance import data_provenance, git_version
from core.train.molecule_generator.training import (
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
    score=None,
    guidance: float = 1.0,
) -> dict:
    """One sample per target row (columns = ``gen.properties``); MAD over the valid samples.

    ``score(mols) -> list[dict]`` gives the achieved values (default: RDKit's
    :func:`mol_properties`; the QM9 model's predictions for QM9 conditions); ``guidance``
    is the classifier-free guidance weight (1: none)."""
    model, vocab, P = gen.model, gen.vocab, gen.model.config.n_cond
    props = list(gen.properties)
    cols = [props.index(k) for k in keys]
    mean = np.array([gen.stats[k]["mean"] for k in props])
    std = np.array([gen.stats[k]["std"] for k in props])
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
        guidance=guidance,
    )
    rows, mols = [], []
    with rdBase.BlockLogs():
        for row, s in zip(targets, seq.tolist(), strict=False):
            mol = Chem.MolFromSmiles(vocab.decode(s)) if vocab.eos_id in s else None
            if mol is not None:
                rows.append(row)
                mols.append(mol)
    achieved = (score or (lambda ms: [mol_properties(m) for m in ms]))(mols)
    err: dict[str, list[float]] = {k: [] for k in keys}
    for row, a in zip(rows, achieved, strict=True):
        for k in keys:
            if np.isfinite(a[k]):
                err[k].append(abs(a[k] - row[props.index(k)]))
    out = {"targets": len(targets), "validity": len(mols) / len(targets)}
    out.update({f"{k}_mad": float(np.mean(v)) for k, v in err.items() if v})
    if uncond:
        m = min(len(uncond), len(targets))
        for k in keys:
            base = [abs(uncond[i][k] - targets[i, props.index(k)]) for i in range(m)]
            base = [b for b in base if np.isfinite(b)]
            out[f"{k}_mad_unconditional"] = float(np.mean(base))
    return out


def _guided(gen, targets, keys: list[str], seed: int, w: float, score=None) -> dict:
    """The single-condition MADs again at the facade's default guidance ``w`` (what the
    page samples with), beside the unguided ones; nothing when ``w`` is 1."""
    if w == 1.0:
        return {}
    single = {k: conditional_mad(gen, targets, [k], seed, score=score, guidance=w) for k in keys}
    return {"conditional_single_T1_guided": {"guidance": w, **single}}


def _summary(metrics: dict) -> str:
    """The card's one-line headline (held-out MOSES-test numbers, temperature 1)."""
    u = metrics["unconditional_T1"]
    logp = metrics["conditional_single_T1"]["logp"]
    frag = metrics["fragment_murcko_test_T1"]
    return (
        f"validity {u['validity']:.1%}, novelty {u['novelty']:.1%}, logP MAD "
        f"{logp['logp_mad']:.2f} (unconditioned {logp['logp_mad_unconditional']:.2f}"
        f"{_guided_note(metrics, 'logp')}), "
        f"fragment kept {frag['match_rate_of_valid_unique']:.0%}"
    )


def _guided_note(metrics: dict, key: str) -> str:
    guided = metrics.get("conditional_single_T1_guided")
    if not guided or f"{key}_mad" not in guided[key]:
        return ""
    return f"; guidance {guided['guidance']:g}: {guided[key][f'{key}_mad']:.2f}"


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
    train_set = moses_training_smiles()
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
    if len(targets) == 0:
        raise DataNotAvailableError(
            "no labelled MOSES test molecules for the conditional targets: run "
            "python -m core.data.moses_labels --split test --molecules 20000"
        )
    single = {}
    for k in PROPERTIES:
        single[k] = conditional_mad(gen, targets, [k], seed, uncond_props)
    metrics["conditional_single_T1"] = single
    metrics["conditional_all_five_T1"] = conditional_mad(
        gen, targets, list(PROPERTIES), seed, uncond_props
    )
    metrics.update(_guided(gen, targets, list(PROPERTIES), seed, DEFAULT_GUIDANCE["moses"]))
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
    record_checksums(out)  # the shipped files, checked when the model loads
    log.info("exported %s: %s", out, json.dumps(metrics)[:2000])
    return card


def _qm9_score(predictor, keys):
    """Achieved values of QM9 conditions: the studio's qm9_painn predictions."""

    def score(mols: list) -> list[dict]:
        if not mols:
            return []
        pred = predictor.predict([Chem.MolToSmiles(m) for m in mols])
        return [
            {k: (float(r[k]) if not r["error"] else float("nan")) for k in keys}
            | {"in_domain": bool(r["in_domain"]) and not r["error"]}
            for _, r in pred.iterrows()
        ]

    return score


def export_qm9(
    ckpt: Path,
    samples: int = 2000,
    cond_samples: int = 150,
    seed: int = 12345,
    out: Path | None = None,
) -> dict:
    """Export the QM9-conditioned generator (``trained_models/smiles_gpt_qm9``).

    Held-out metrics only: unconditional validity/uniqueness/novelty (vs the QM9 training
    split) at T=1; for each of homo, lumo, gap, mu on its own, the MAD between the requested
    value (taken from QM9 *test* molecules) and the value the studio's QM9 model
    (``qm9_painn``) predicts for the sampled molecule, beside the same MAD for unconditional
    samples, and the share of samples inside the QM9 model's domain.
    """
    from core.data import qm9
    from core.data.moses_labels import property_stats
    from core.generate.molecules import QM9_UNITS, qm9_training_smiles
    from core.models.molecules import load_predictor
    from core.train.molecule_generator.training import MODEL_NAMES, QM9_PROPERTIES, qm9_labels

    torch.set_num_threads(1)
    t0 = time.process_time()
    state = json.loads((ckpt / "state.json").read_text())
    props = tuple(state.get("properties", QM9_PROPERTIES))
    model = load_model(ckpt, state["model_config"]).eval()
    vocab = SmilesVocab(tuple(state["vocab"]))
    train = qm9_labels("train")
    stats_all = property_stats(train, props)
    ranges = {k: (stats_all[k]["p0.5"], stats_all[k]["p99.5"]) for k in props}
    gen = MoleculeGenerator(
        model, vocab, state["stats"], ranges, {"dataset": "qm9"}, properties=props
    )
    predictor = load_predictor()
    score = _qm9_score(predictor, props)

    smi = sample_unconditional(model, vocab, samples, seed=seed)
    valid, unique, canon = validity_uniqueness(smi)
    train_set = qm9_training_smiles() or frozenset()
    uniq = sorted(set(canon))
    novelty = sum(s not in train_set for s in uniq) / max(1, len(uniq))
    with rdBase.BlockLogs():
        base_mols = [Chem.MolFromSmiles(s) for s in canon[:cond_samples]]
    uncond_scores = score(base_mols)
    metrics: dict = {
        "unconditional_T1": {
            "samples": samples,
            "validity": valid,
            "uniqueness": unique,
            "novelty": novelty,
            "in_qm9_domain": float(np.mean([u["in_domain"] for u in uncond_scores])),
        }
    }
    test = qm9_labels("test")
    inside = np.all([(test[k] >= ranges[k][0]) & (test[k] <= ranges[k][1]) for k in props], 0)
    targets = test.loc[inside, list(props)].to_numpy(float)[:cond_samples]
    single = {}
    for k in props:
        single[k] = conditional_mad(gen, targets, [k], seed, uncond_scores, score=score)
    metrics["conditional_single_T1"] = single
    metrics.update(_guided(gen, targets, list(props), seed, DEFAULT_GUIDANCE["qm9"], score))
    metrics["achieved_by"] = "qm9_painn predictions (the studio's QM9 model), not DFT"
    metrics["export_cpu_seconds"] = time.process_time() - t0

    name = MODEL_NAMES["qm9"]
    out = out or config.models_dir() / name
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ckpt / "model.safetensors", out / "model.safetensors")
    gap = single["gap"]
    card = {
        "name": name,
        "dataset": "qm9",
        "version": git_version(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "task": "SMILES generation of small organic molecules (QM9 chemistry, up to 9 heavy "
        "atoms of C, N, O, F) conditioned on any subset of DFT HOMO, LUMO, gap and dipole",
        "architecture": "decoder-only transformer (nanoGPT blocks) with condition tokens "
        "(core.nn.smiles_gpt.SmilesGPT)",
        "config": state["model_config"],
        "parameters": model.num_parameters(),
        "tokenizer": {"regex": SMILES_REGEX.pattern, "vocab": list(vocab.tokens)},
        "condition_order": list(props),
        "conditions": {
            k: {
                **stats_all[k],
                "mean": state["stats"][k]["mean"],
                "std": state["stats"][k]["std"],
                "range": list(ranges[k]),
                "unit": QM9_UNITS[k],
                "range_note": "accepted conditions: 0.5-99.5 percentiles of QM9 train (DFT)",
            }
            for k in props
        },
        "fragment_method": "randomised-SMILES mode, as smiles_gpt_moses",
        "data": data_provenance(qm9.INFO),
        "split": "core.data.qm9 train for training (canonical RDKit SMILES, DFT labels); "
        "val for the validation loss; test molecules give every conditional target below",
        "training": {
            "step": state["step"],
            "molecules_seen": state["molecules_seen"],
            "cpu_seconds": state["cpu_seconds"],
            "train_molecules": len(train),
            "recipe": state["train"],
            "checkpoint_saved": state.get("saved"),
        },
        "metrics": metrics,
        "summary": (
            f"validity {valid:.1%}, novelty {novelty:.1%}, gap MAD {gap['gap_mad']:.2f} eV "
            f"(unconditioned {gap['gap_mad_unconditional']:.2f}"
            f"{_guided_note(metrics, 'gap')}) by the QM9 model"
        ),
    }
    (out / "card.json").write_text(json.dumps(card, indent=1))
    record_checksums(out)  # the shipped files, checked when the model loads
    log.info("exported %s: %s", out, card["summary"])
    return card
