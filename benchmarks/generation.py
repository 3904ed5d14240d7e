"""Benchmark the shipped molecule generator (MOSES metrics, conditioning, fragments, speed).

    python benchmarks/generation.py [--samples 10000] [--ref-limit 0] [--targets 200]

Everything goes through the app's path, ``core.generate.molecules.load_generator()``, at
temperature 1 with a fixed seed, and is scored against the **MOSES test split** (never seen
in training):

- unconditional: raw validity (what the model wrote, before any filtering), uniqueness
  among the valid samples (unique@1k on the first 1,000 valid, unique@N on all), novelty
  (not in the MOSES training split), IntDiv1 (1 - mean pairwise Tanimoto, Morgan r=2 1024
  bits), SNN (mean nearest-neighbour Tanimoto to the test set), Frag and Scaff (cosine
  similarity of BRICS-fragment and Bemis-Murcko-scaffold counts with the test set), all as
  MOSES defines them but computed with RDKit; FCD with fcd_torch's ChemNet in constant
  memory (:mod:`core.chem.fcd`) on the valid unique samples against the test set, whose
  ChemNet statistics are cached beside the dataset after the first run (about 10 CPU-min);
- conditional: MAD between requested and achieved value on MolGPT's targets (logP 1/2/3,
  SAS 2/2.75/3.5, QED 0.6/0.725/0.85, TPSA 30/60/90) and MW 275/300/325, one target at a
  time, with the validity of those samples, at the facade's default classifier-free
  guidance (chosen on validation molecules by ``benchmarks/generation_guidance.py``); then
  two at once, logP x SAS and logP x MW on every combination of those grids, each MAD also
  as a multiple of the same property's single-condition MAD; LLamol's wider grids fall
  outside the MOSES range the model accepts (it refuses them with the range) and are not run;
- fragments: share of valid molecules containing the fragment, for 20 Murcko scaffolds
  drawn from the test set;
- speed: valid molecules per CPU-second of sampling (one thread unless ``--threads``).

``--ref-limit N`` scores against the first N test molecules (0: all 176,074) to keep a
run short on a busy machine; the table says which was used. The published MOSES CharRNN
row is printed beside ours, named as published (MolGPT's published MADs are not, since
they could not be checked against the paper here).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time
from collections import Counter
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)
import numpy as np
import torch
from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import BRICS, rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold

RESULTS = Path(__file__).resolve().parent / "results"
# Published: Polykovskiy et al., Front. Pharmacol. 2020 (MOSES, CharRNN row, test set).
CHARRNN = {
    "validity": 0.9748,
    "unique@10k": 0.9994,
    "novelty": 0.8419,
    "intdiv1": 0.8562,
    "snn": 0.6015,
    "frag": 0.9998,
    "scaff": 0.9242,
    "fcd": 0.0732,
}
MOLGPT_TARGETS = {
    "logp": (1.0, 2.0, 3.0),
    "sas": (2.0, 2.75, 3.5),
    "qed": (0.6, 0.725, 0.85),
    "tpsa": (30.0, 60.0, 90.0),
}
# MW alone, for the pair ratios (not a MolGPT target: MOSES spans 250-350 g/mol only)
MW_TARGETS = (275.0, 300.0, 325.0)
# Two conditions at once (issue #18: logP x SAS and logP x MW), every combination of the grids
PAIRS = {
    ("logp", "sas"): (MOLGPT_TARGETS["logp"], MOLGPT_TARGETS["sas"]),
    ("logp", "mw"): (MOLGPT_TARGETS["logp"], MW_TARGETS),
}

_FP = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)


def _fps(mols):
    return [_FP.GetFingerprint(m) for m in mols]


def _cos(a: Counter, b: Counter) -> float:
    keys = set(a) | set(b)
    va = np.array([a.get(k, 0) for k in keys], float)
    vb = np.array([b.get(k, 0) for k in keys], float)
    den = np.linalg.norm(va) * np.linalg.norm(vb)
    return float(va @ vb / den) if den else math.nan


def _frags(mols) -> Counter:
    c: Counter = Counter()
    for m in mols:
        c.update(BRICS.BRICSDecompose(m))
    return c


def _scaffolds(mols) -> Counter:
    c: Counter = Counter()
    for m in mols:
        try:
            c[Chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(m))] += 1
        except Exception:  # noqa: BLE001 - RDKit fails on a few odd molecules
            continue
    return c


def reference_fcd_stats(test_smiles: list[str]):
    """ChemNet statistics of the reference molecules, cached by their hash."""
    import hashlib

    from core.chem.fcd import ChemNetStats, activation_stats
    from core.data import moses

    key = hashlib.sha256("\n".join(test_smiles).encode()).hexdigest()[:16]
    path = moses.INFO.folder / "fcd" / f"chemnet_{key}.npz"
    if path.exists():
        return ChemNetStats.load(path)
    stats = activation_stats(test_smiles)
    path.parent.mkdir(parents=True, exist_ok=True)
    stats.save(path)
    return stats


def unconditional(gen, n: int, seed: int, test_mols, ref_stats) -> dict:
    t0 = time.process_time()
    df = gen.sample(n, seed=seed, max_samples=n)
    cpu = time.process_time() - t0
    with rdBase.BlockLogs():
        mols = [Chem.MolFromSmiles(s) for s in df["smiles"]]
    fps = _fps(mols)
    sims = [np.mean(DataStructs.BulkTanimotoSimilarity(f, fps)) for f in fps[:2000]]
    ref_fps = _fps(test_mols)
    snn = [max(DataStructs.BulkTanimotoSimilarity(f, ref_fps)) for f in fps[:2000]]
    valid = df.attrs["raw_validity"] * df.attrs["samples"]
    from core.chem.fcd import activation_stats, fcd

    return {
        "fcd": fcd(ref_stats, activation_stats(df["smiles"].tolist())),
        "samples": df.attrs["samples"],
        "validity": df.attrs["raw_validity"],
        "unique@10k": df.attrs["raw_uniqueness"],
        "novelty": float(df["novel"].mean()) if df["novel"].notna().all() else math.nan,
        "intdiv1": 1 - float(np.mean(sims)),
        "snn": float(np.mean(snn)),
        "frag": _cos(_frags(mols), _frags(test_mols)),
        "scaff": _cos(_scaffolds(mols), _scaffolds(test_mols)),
        "valid_per_cpu_s": valid / cpu,
        "valid_unique": len(df),
    }


def conditional(gen, per_target: int, seed: int) -> dict:
    """One property at a time (MolGPT's targets, and MW), at the facade's default guidance."""
    out = {}
    for key, targets in {**MOLGPT_TARGETS, "mw": MW_TARGETS}.items():
        errors, validity = [], []
        for i, target in enumerate(targets):
            df = gen.sample(per_target, {key: target}, seed=seed + i, max_samples=per_target)
            errors += df[f"{key}_error"].abs().tolist()
            validity.append(df.attrs["raw_validity"])
        out[key] = {"mad": float(np.mean(errors)), "validity": float(np.mean(validity))}
    return out


def pairs(gen, per_target: int, seed: int) -> dict:
    """Two conditions at once on every combination of the two grids."""
    out = {}
    for (a, b), (ta, tb) in PAIRS.items():
        errors: dict[str, list[float]] = {a: [], b: []}
        validity = []
        for i, (va, vb) in enumerate((x, y) for x in ta for y in tb):
            df = gen.sample(per_target, {a: va, b: vb}, seed=seed + i, max_samples=per_target)
            for k in (a, b):
                errors[k] += df[f"{k}_error"].abs().tolist()
            validity.append(df.attrs["raw_validity"])
        out[(a, b)] = {
            "mad": {k: float(np.mean(v)) for k, v in errors.items()},
            "validity": float(np.mean(validity)),
            "combinations": len(ta) * len(tb),
        }
    return out


def fragments(gen, test_mols, n_frag: int, per_frag: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    scaffolds = sorted(s for s in _scaffolds(test_mols) if s and Chem.MolFromSmiles(s))
    chosen = rng.choice(scaffolds, size=min(n_frag, len(scaffolds)), replace=False)
    kept = total = 0
    used, validity, uniqueness = [], [], []
    for i, frag in enumerate(chosen):
        try:
            df = gen.sample(per_frag, seed=seed + i, fragment=str(frag), max_samples=per_frag)
        except Exception:  # noqa: BLE001 - a scaffold with no free valence is refused
            continue
        kept += int(df["fragment_matched"].sum())
        total += len(df)
        used.append(str(frag))
        validity.append(df.attrs["raw_validity"])
        uniqueness.append(df.attrs["raw_uniqueness"])
    return {
        "fragments": len(used),
        "molecules": total,
        "kept": kept / max(1, total),
        "validity": float(np.mean(validity)) if validity else float("nan"),
        "uniqueness": float(np.mean(uniqueness)) if uniqueness else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=200, help="samples per MolGPT target")
    parser.add_argument("--ref-limit", type=int, default=0, help="first N test molecules")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fcd-samples", type=int, default=30_000, help="samples for MOSES-sized FCD (0: skip)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from core.data import moses
    from core.generate.molecules import load_generator

    gen = load_generator()
    test = moses.load_split("test", columns=["smiles"])["smiles"]
    if args.ref_limit:
        test = test.iloc[: args.ref_limit]
    with rdBase.BlockLogs():
        test_mols = [m for m in map(Chem.MolFromSmiles, test) if m is not None]

    t0 = time.time()
    ref_stats = reference_fcd_stats(test.tolist())
    u = unconditional(gen, args.samples, args.seed, test_mols, ref_stats)
    fcd_moses = None
    if args.fcd_samples:  # as MOSES scores it: 30,000 samples (its valid ones)
        from core.chem.fcd import activation_stats, fcd

        big: list[str] = []  # the sampler serves at most 10,000 a call: chunks, own seeds
        for k, start in enumerate(range(0, args.fcd_samples, 10_000)):
            n = min(10_000, args.fcd_samples - start)
            big += gen.sample(n, seed=args.seed + 1 + k, max_samples=n)["smiles"].tolist()
        fcd_moses = (fcd(ref_stats, activation_stats(big)), len(big))
    c = conditional(gen, args.targets, args.seed)
    pr = pairs(gen, max(1, args.targets // 2), args.seed)
    f = fragments(gen, test_mols, 20, 50, args.seed)
    card = gen.card
    lines = [
        f"# Molecule generator benchmark, {dt.date.today()} "
        f"(benchmarks/generation.py --samples {args.samples} --targets {args.targets} "
        f"--ref-limit {args.ref_limit})",
        f"model {card.get('name')} {card.get('version')}, step "
        f"{card.get('training', {}).get('step')}, "
        f"{card.get('training', {}).get('molecules_seen', 0):,} molecules seen; "
        f"reference: MOSES test, {len(test_mols):,} molecules; temperature 1, seed {args.seed}",
        "",
        "## Unconditional (raw model output; IntDiv/SNN on the first 2,000 unique)",
        f"{'metric':<16}{'ours':>10}{'CharRNN (published)':>22}",
    ]
    for key in ("validity", "unique@10k", "novelty", "intdiv1", "snn", "frag", "scaff", "fcd"):
        label = f"unique@{u['samples']:,}" if key == "unique@10k" else key
        lines.append(f"{label:<16}{u[key]:>10.3f}{CHARRNN[key]:>22.3f}")
    if fcd_moses:
        label = f"fcd@{args.fcd_samples // 1000}k"
        lines.append(f"{label:<16}{fcd_moses[0]:>10.3f}{CHARRNN['fcd']:>22.3f}")
    lines.append(
        f"(FCD on the valid unique samples ({u['valid_unique']:,} of {u['samples']:,}"
        + (f"; {fcd_moses[1]:,} of {args.fcd_samples:,} for fcd@" if fcd_moses else "")
        + f") vs {ref_stats.n:,} test molecules; MOSES scores 30,000 samples, and fewer "
        "samples bias FCD upwards)"
    )
    lines += [
        f"samples {u['samples']:,}; {u['valid_per_cpu_s']:.0f} valid molecules per CPU-s "
        f"({args.threads} thread)",
        "",
        f"## Conditional, one property at a time (MolGPT's targets, {args.targets} samples each)",
        f"classifier-free guidance {gen.default_guidance:g} (the facade's default for this "
        "model; benchmarks/results/generation_guidance_table.txt)",
        f"{'property':<10}{'targets':>22}{'MAD':>9}{'validity':>10}",
    ]
    for key, targets in {**MOLGPT_TARGETS, "mw": MW_TARGETS}.items():
        t = "/".join(f"{v:g}" for v in targets) + ("" if key in MOLGPT_TARGETS else " (ours)")
        lines.append(f"{key:<10}{t:>22}{c[key]['mad']:>9.3f}{c[key]['validity']:>10.3f}")
    lines += [
        "",
        f"## Two conditions at once (every combination of the grids above, "
        f"{max(1, args.targets // 2)} samples each)",
        f"{'pair':<12}{'MAD (x single)':>40}{'validity':>10}",
    ]
    for (a, b), r in pr.items():
        cells = ", ".join(
            f"{k} {r['mad'][k]:.3f} ({r['mad'][k] / c[k]['mad']:.2f}x)" for k in (a, b)
        )
        lines.append(f"{a + ' x ' + b:<12}{cells:>40}{r['validity']:>10.3f}")
    lines += [
        "",
        f"## Fragments: {f['fragments']} Murcko scaffolds of the test set, 50 samples each",
        f"fragment kept in {f['kept']:.1%} of {f['molecules']:,} valid unique molecules; "
        f"per prompt, mean raw validity {f['validity']:.3f} and uniqueness among the valid "
        f"{f['uniqueness']:.3f}",
        "",
        f"wall time {time.time() - t0:.0f} s",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generation_table.txt").write_text(text)


if __name__ == "__main__":
    main()
