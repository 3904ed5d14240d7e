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

**Peers** (``--peer baybe``, issue #23): per seed, on the same start set, also random search
(uniform feasible mixes, ``q`` per round) and BayBE's multi-objective mode
(``baybe==0.15.0``, ``ParetoObjective`` of strength (max) and cement (min): a GP per target,
qLogNEHVI; BayBE cannot put an objective on a recipe variable, so cement is reported to it as
a measured target, its exact value). BayBE's suggestions are scored as suggested and the
ones breaking a rule are counted. Below the table, paired by seed: our final hypervolume
minus each peer's, wins, and the Wilcoxon signed-rank p (``--fresh-seeds``: seeds 100-129).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)
import numpy as np
import pandas as pd
import torch
from optimization import (
    FRESH_SEEDS,
    PEERS,
    PeerServer,
    fit_oracle,
    oracle_strength,
    peer_problem,
    sample_feasible,
)

from core.optimize import Campaign, RecommenderSettings
from core.optimize.builtins import concrete_space
from core.optimize.campaign import dominated_hypervolume

RESULTS = Path(__file__).resolve().parent / "results"
REFERENCE = (20.0, 540.0)  # strength MPa, cement kg/m^3


def hypervolume(strength: np.ndarray, cement: np.ndarray) -> float:
    points = np.column_stack([strength - REFERENCE[0], REFERENCE[1] - cement])
    points = points[(points > 0).all(axis=1)]
    return float(dominated_hypervolume(points)) if len(points) else 0.0


def shape(args) -> tuple[int, int, int]:
    """(rounds, q, initial) of the protocol."""
    return args.rounds, args.q, args.initial


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


def run_random(seed: int, oracle, rounds: int, q: int, n_init: int) -> dict:
    """Random search from the same start set: ``q`` uniform feasible mixes per round."""
    space, _ = concrete_space(minimize_cement=True)
    mixes = sample_feasible(space, n_init, 1000 + seed)
    extra = sample_feasible(space, rounds * q, 1000 + seed + 77)
    mixes = pd.concat([mixes, extra], ignore_index=True)
    strength = oracle_strength(oracle, mixes)
    cement = mixes["cement"].to_numpy()
    curve = [
        hypervolume(strength[: n_init + k * q], cement[: n_init + k * q]) for k in range(rounds + 1)
    ]
    return {"seed": seed, "hypervolume": curve, "round_cpu_s": [0.0] * rounds}


def run_peer(seed: int, server: PeerServer, oracle, rounds: int, q: int, n_init: int) -> dict:
    """The peer's Pareto campaign from the same start set, scored as suggested."""
    from core.optimize.search_space import FEASIBILITY_TOL

    space, _ = concrete_space(minimize_cement=True)
    problem = peer_problem(space)
    free = [p["name"] for p in problem["parameters"]]
    target = "compressive_strength"
    start = sample_feasible(space, n_init, 1000 + seed)
    start[target] = oracle_strength(oracle, start)
    # cement is a recipe variable to us; to BayBE a second measured target (its exact value)
    measured = start[free].assign(**{target: start[target], "cement_target": start["cement"]})
    server.ask(
        cmd="start",
        seed=seed,
        parameters=problem["parameters"],
        constraints=problem["constraints"],
        targets=[
            {"name": target, "minimize": False},
            {"name": "cement_target", "minimize": True},
        ],
        measurements=measured.to_dict(orient="records"),
    )
    strength, cement = list(start[target]), list(start["cement"])
    curve = [hypervolume(np.array(strength), np.array(cement))]
    seconds, infeasible = [], 0
    for _ in range(rounds):
        reply = server.ask(cmd="recommend", q=q)
        seconds.append(reply["seconds"])
        batch = pd.DataFrame(reply["recommendations"])[free]
        for name, value in problem["fixed"].items():
            batch[name] = value
        batch = batch[space.names]
        infeasible += int((space.violations(batch) > FEASIBILITY_TOL).any(axis=1).sum())
        batch[target] = oracle_strength(oracle, batch)
        rows = batch[free].assign(**{target: batch[target], "cement_target": batch["cement"]})
        server.ask(cmd="add", measurements=rows.to_dict(orient="records"))
        strength += list(batch[target])
        cement += list(batch["cement"])
        curve.append(hypervolume(np.array(strength), np.array(cement)))
    return {
        "seed": seed,
        "hypervolume": curve,
        "round_cpu_s": seconds,  # the peer process's wall seconds (one thread)
        "infeasible": infeasible,
        "suggested": rounds * q,
    }


def paired_lines(ours: dict, other: dict, name: str) -> list[str]:
    """Final hypervolume, ours minus ``name``'s, paired by seed."""
    from scipy.stats import wilcoxon

    seeds = sorted(set(ours) & set(other))
    if not seeds:
        return []
    diff = np.array([ours[s]["hypervolume"][-1] - other[s]["hypervolume"][-1] for s in seeds])
    p = wilcoxon(diff).pvalue if np.any(diff != 0) else 1.0
    return [
        f"Paired by seed ({len(seeds)} seeds, {seeds[0]}-{seeds[-1]}), final hypervolume ours "
        f"minus {name}: better in {int((diff > 0).sum())}, worse in {int((diff < 0).sum())}; "
        f"median {np.median(diff):+.0f}, mean {diff.mean():+.0f} MPa*kg/m^3; Wilcoxon "
        f"signed-rank p = {p:.3g}"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds from this one on")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--q", type=int, default=4)
    parser.add_argument("--initial", type=int, default=10)
    parser.add_argument("--settings", default="{}", help="RecommenderSettings overrides (JSON)")
    parser.add_argument("--label", default="defaults")
    parser.add_argument(
        "--peer",
        choices=sorted(PEERS),
        help="also run random search and this peer's multi-objective mode on each seed",
    )
    parser.add_argument(
        "--fresh-seeds",
        action="store_true",
        help=f"seeds {FRESH_SEEDS[0]}-{FRESH_SEEDS[-1]} (never used for tuning)",
    )
    args = parser.parse_args()
    if args.fresh_seeds:
        args.first_seed, args.seeds = FRESH_SEEDS[0], len(FRESH_SEEDS)
    torch.set_num_threads(1)
    overrides = json.loads(args.settings)
    from core.provenance import git_version

    oracle, r2 = fit_oracle()
    print(f"oracle 5-fold CV R^2 {r2:.3f}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    runs_file = RESULTS / "optimization_pareto_runs.jsonl"
    protocol = {"rounds": args.rounds, "q": args.q, "initial": args.initial}
    server = PeerServer(args.peer) if args.peer else None
    peer_label = f"{PEERS[args.peer][0]} ParetoObjective (qLogNEHVI)" if args.peer else ""
    run_seeds = range(args.first_seed, args.first_seed + args.seeds)
    try:
        for seed in run_seeds:
            runs = [(args.label, overrides, run_seed(seed, oracle, *shape(args), overrides))]
            if server is not None:
                runs.append(("random search", {}, run_random(seed, oracle, *shape(args))))
                runs.append((peer_label, {}, run_peer(seed, server, oracle, *shape(args))))
            for label, settings, run in runs:
                record = {"label": label, "settings": settings, "commit": git_version()}
                with open(runs_file, "a") as fh:
                    fh.write(json.dumps({**record, **protocol, **run}) + "\n")
            print(
                f"seed {seed}: "
                + ", ".join(f"{label} {run['hypervolume'][-1]:.0f}" for label, _, run in runs),
                flush=True,
            )
    finally:
        if server is not None:
            server.close()

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
    if args.peer:
        # every seed run so far with this label and the peers (runs may be added a few
        # seeds at a time)
        ours = by_label.get(args.label, {})
        for label in ("random search", peer_label):
            lines += [""] + paired_lines(ours, by_label.get(label, {}), label)
        peer_runs = [r for s, r in by_label.get(peer_label, {}).items() if s in ours]
        lines.append(
            f"{peer_label}: {sum(r['infeasible'] for r in peer_runs)} of "
            f"{sum(r['suggested'] for r in peer_runs)} suggestions break a rule (scored as "
            "suggested); its CPU-s/round column is the peer process's wall seconds"
        )
    table = "\n".join(lines)
    print(table)
    (RESULTS / "optimization_pareto_table.txt").write_text(table + "\n")


if __name__ == "__main__":
    main()
