"""What the screening conformer budget costs in accuracy and buys in time.

    python benchmarks/conformer_budget.py [--limit N] [--moses 2000]

The fixed QM9 test split (or its first N molecules) is predicted twice through the app's
path (SMILES -> conformer -> model, one embedding thread): with the full recipe the pages
use and with the default :class:`core.chem.molecules.EmbedBudget` of ``python -m
core.screen``. Prints the test MAE of every property both ways and the relative change
(the screening issue allows 1 %), how many molecules the budget touched (the ``conformer``
column), and the conformer stage's time per molecule both ways, on QM9 and on ``--moses``
drug-like MOSES test molecules (mean, p99 and worst molecule: the budget is there for the
tail), also with 200 force-field iterations.

Writes ``benchmarks/results/conformer_budget_table.txt`` (full test split only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)
import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0, help="first N test molecules (0: all)")
    parser.add_argument("--moses", type=int, default=2000, help="MOSES molecules timed")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    os.environ["MDS_WORKERS"] = "1"  # one embedding thread: per-molecule CPU cost
    torch.set_num_threads(1)

    from core.chem.molecules import EmbedBudget
    from core.data import moses, qm9
    from core.models.molecules import load_predictor

    budget = EmbedBudget()
    predictor = load_predictor()
    test = qm9.load_split("test", columns=["index", "smiles", *predictor.properties])
    if args.limit:
        test = test.iloc[: args.limit]
    smiles = test["smiles"].tolist()
    predictor.predict(smiles[:20])  # warm-up
    runs = {}
    for name, b in (("full", None), ("budget", budget)):
        t0 = time.perf_counter()
        runs[name] = predictor.predict(smiles, budget=b)
        runs[name + "_s"] = time.perf_counter() - t0
    ok = (runs["full"]["error"] == "") & (runs["budget"]["error"] == "")
    lines = [
        f"# Conformer budget of python -m core.screen, {dt.date.today()}, "
        f"python benchmarks/conformer_budget.py{f' --limit {args.limit}' if args.limit else ''}",
        f"# budget: {budget.attempts} ETKDG attempts, {budget.mmff_iters} MMFF iterations; "
        "full: the pages' recipe (RDKit's default attempts, 2000 MMFF iterations)",
        f"# QM9 test split: {len(test)} molecules, {int(ok.sum())} predicted both ways; "
        "one embedding thread, one torch thread",
        "",
        f"{'property':<8} {'unit':<12} {'MAE full':>10} {'MAE budget':>11} {'change':>8}",
    ]
    for p in predictor.properties:
        truth = test.loc[ok.to_numpy(), p].to_numpy()
        full = np.abs(runs["full"].loc[ok, p].to_numpy() - truth).mean()
        cut = np.abs(runs["budget"].loc[ok, p].to_numpy() - truth).mean()
        lines.append(
            f"{p:<8} {predictor.units[p]:<12} {full:>10.4f} {cut:>11.4f} "
            f"{100 * (cut - full) / full:>+7.2f}%"
        )
    kinds = runs["budget"].loc[ok, "conformer"].value_counts()
    lines += [
        "",
        "QM9 test molecules by conformer (budget run): "
        + ", ".join(f"{k} {v:,}" for k, v in kinds.items()),
        f"QM9 end to end (conformer + model): full {len(test) / runs['full_s']:.1f} mol/s, "
        f"budget {len(test) / runs['budget_s']:.1f} mol/s",
    ]
    from core.chem.molecules import embed_conformers, parse_smiles

    drug = moses.load_split("test", columns=["smiles"])["smiles"].iloc[: args.moses].tolist()
    for label, mols in (("QM9 test", smiles[: args.moses]), ("MOSES test", drug)):
        parsed = [parse_smiles(s) for s in mols]
        embed_conformers(parsed[:20], threads=1)  # warm-up: the first mode is not timed cold
        for name, b in (("full", None), ("budget", budget), ("mmff200", EmbedBudget(5, 200))):
            times, cut = [], 0
            for mol in parsed:
                t0 = time.perf_counter()
                out = embed_conformers([mol], threads=1, budget=b)[0]
                times.append(time.perf_counter() - t0)
                cut += (
                    not isinstance(out, Exception) and out.GetProp("_conformer") == "etkdg-budget"
                )
            t = np.array(times) * 1e3
            lines.append(
                f"{label} ({len(mols)}) conformer stage, {name:<7}: mean {t.mean():6.2f} ms, "
                f"p99 {np.percentile(t, 99):7.1f} ms, max {t.max():7.1f} ms per molecule; "
                f"cut {cut} ({cut / len(mols):.1%})"
            )
    lines.append("mmff200: 5 attempts and 200 force-field iterations (--mmff-iters 200)")
    lines.append(
        f"load average (1 min) at start {load_start:.2f}, at end {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} CPUs: timings compare the modes run side by side, not machines"
    )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.limit:
        out = Path(__file__).resolve().parent / "results" / "conformer_budget_table.txt"
        out.write_text(text)
        print(f"saved {out}")


if __name__ == "__main__":
    main()
