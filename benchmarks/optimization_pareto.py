"""Simulated two-objective concrete campaigns: hypervolume found, and CPU seconds per round.

    .venv/bin/python benchmarks/optimization_pareto.py [--seeds 5] [--rounds 8] [--q 4]
        [--settings '{"front_mc_samples": 128}'] [--label name]

The referee for changes to the multi-objective recommender (qLogNEHVI): a change that makes
rounds cheaper must not lower the hypervolume the campaigns find.

- **Problem**: the built-in concrete campaign with its second objective (maximise 28-day
  strength, minimise cement; mixture total 2,350 kg/m^3, water/binder 0.25-0.60), the
  strength given by the oracle of ``benchmarks/optimization.py`` (gradient boosting fitted
  on all 1,030 Yeh mixes), noise-free.
- **Protocol** per seed: 10 random feasible mixes (the same per seed for every variant),
  then ``--rounds`` rounds of ``recommend(q)`` + oracle results; one torch thread.
- **Score**: hypervolume dominated by the measured mixes in (strength, -cement), from the
  reference point (20 MPa, 540 kg/m^3 cement: weaker than any structural concrete, the
  cement bound), in MPa x kg/m^3, after each round; median over seeds, and the median CPU
  seconds of a round.

Runs are appended to ``benchmarks/results/optimization_pareto_runs.jsonl`` and the table of
every label so far to ``optimization_pareto_table.txt``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)
import numpy as np
import torch
from optimization import fit_oracle, oracle_strength, sample_feasible

from core.optimize import Campaign, RecommenderSettings
from core.optimize.builtins import concrete_space
from core.optimize.campaign import dominated_hypervolume

RESULTS = Path(__file__).resolve().parent / "results"
REFERENCE = (20.0, 540.0)  # strength MPa, cement kg/m^3


def hypervolume(strength: np.ndarray, cement: np.ndarray) -> float:
    points = np.column_stack([strength - REFERENCE[0], REFERENCE[1] - cement])
    points = points[(points > 0).all(axis=1)]
    return float(dominated_hypervolume(points)) if len(points) else 0.0


def run_seed(seed: int, oracle, rounds: int, q: int, n_init: int, overrides: dict) -> dict:
    space, _ = concrete_space(minimize_cement=True)
    start = sample_feasible(space, n_init, 1000 + seed)
    start["compressive_strength"] = oracle_strength(oracle, start)
    campaign = Campaign(
        space, start, settings=RecommenderSettings(seed=seed, **overrides), name=f"pareto {seed}"
    )
    m = campaign.measured
    curve = [hypervolume(m["compressive_strength"].to_numpy(), m["cement"].to_numpy())]
    cpu = []
    for _ in range(rounds):
        t0 = time.process_time()
        batch = campaign.recommend(q)
        cpu.append(time.process_time() - t0)
        assert space.is_feasible(batch).all()
        batch["compressive_strength"] = oracle_strength(oracle, batch)
        campaign.add_results(batch)
        m = campaign.measured
        curve.append(hypervolume(m["compressive_strength"].to_numpy(), m["cement"].to_numpy()))
    return {"seed": seed, "hypervolume": curve, "round_cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds from this one on")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--q", type=int, default=4)
    parser.add_argument("--initial", type=int, default=10)
    parser.add_argument("--settings", default="{}", help="RecommenderSettings overrides (JSON)")
    parser.add_argument("--label", default="defaults")
    args = parser.parse_args()
    torch.set_num_threads(1)
    overrides = json.loads(args.settings)
    from core.provenance import git_version

    oracle, r2 = fit_oracle()
    print(f"oracle 5-fold CV R^2 {r2:.3f}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    runs_file = RESULTS / "optimization_pareto_runs.jsonl"
    protocol = {"rounds": args.rounds, "q": args.q, "initial": args.initial}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run = run_seed(seed, oracle, args.rounds, args.q, args.initial, overrides)
        record = {"label": args.label, "settings": overrides, "commit": git_version()}
        with open(runs_file, "a") as fh:
            fh.write(json.dumps({**record, **protocol, **run}) + "\n")
        print(f"seed {seed}: hypervolume {run['hypervolume'][-1]:.0f}", flush=True)

    by_label: dict[str, list[dict]] = {}
    for line in runs_file.read_text().splitlines():
        rec = json.loads(line)
        if all(rec[k] == v for k, v in protocol.items()):
            by_label.setdefault(rec["label"], {})[rec["seed"]] = rec  # latest per seed
    lines = [
        f"Two-objective concrete (max strength, min cement), {args.initial} random start + "
        f"{args.rounds} rounds x q={args.q}; hypervolume from (20 MPa, 540 kg/m^3) in "
        "MPa*kg/m^3, median (min-max) over seeds; CPU-s per round, one torch thread",
        "| variant | settings | seeds | start | after half | final | CPU-s/round median (max) |",
        "|---|---|---|---|---|---|---|",
    ]
    half = args.rounds // 2
    for label, seeds in by_label.items():
        runs = list(seeds.values())

        def cell(i, runs=runs):
            values = [r["hypervolume"][i] for r in runs]
            return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"

        cpu = [c for r in runs for c in r["round_cpu_s"]]
        lines.append(
            f"| {label} | `{json.dumps(runs[0]['settings'])}` | {len(runs)} | {cell(0)} | "
            f"{cell(half)} | {cell(-1)} | {statistics.median(cpu):.1f} ({max(cpu):.1f}) |"
        )
    table = "\n".join(lines)
    print(table)
    (RESULTS / "optimization_pareto_table.txt").write_text(table + "\n")


if __name__ == "__main__":
    main()
