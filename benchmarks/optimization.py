"""Simulated recipe campaigns on the concrete data: BoTorch (core.optimize) vs random search.

    .venv/bin/python benchmarks/optimization.py [--seeds 10] [--rounds 15] [--q 4]

- **Oracle**: scikit-learn ``GradientBoostingRegressor`` (400 trees of depth 4, learning
  rate 0.05, subsample 0.8) fitted on all 1,030 Yeh mixes (7 ingredients + age ->
  strength; its 5-fold CV R^2 is printed). Evaluated noise-free at age 28 days. A tree model,
  deliberately not a GP, so the oracle is not the surrogate's own model family.
- **Space**: the built-in concrete campaign: ingredients within the data's range, total
  mass 2,350 kg/m^3 (mixture equality), water/binder in [0.25, 0.60], age fixed at 28 d.
- **Oracle optimum**: best oracle value over 20,000 uniform feasible mixes (hit-and-run
  samples of the constrained polytope), every mix any run proposed and the long random runs;
  the 32 best are then hill-climbed on the oracle inside the feasible set.
- **Protocol** per seed: 10 random feasible mixes, then 15 rounds of q=4 (70 experiments):
  BO = ``Campaign.recommend(4)`` + ``add_results``; random = uniform feasible mixes.
  Reported: median and IQR of best-found strength, experiments needed to reach 95 % of the
  oracle's optimum (median; runs that never reach it count as "> budget"). Random search is
  also continued to 2,010 experiments to count how many it needs.
- **Latency**: ``recommend(q=4)`` on the full 1,030-mix campaign (mixture constraint), with
  the default settings, median of 3 calls, on this machine (``--threads``, default 1).

Per-seed results are appended to ``benchmarks/results/optimization_runs.jsonl`` as they
finish, so a long run can be inspected (and resumed with ``--resume``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)
import numpy as np
import pandas as pd
import torch

from core.data import concrete
from core.optimize import Campaign, RecommenderSettings
from core.optimize.builtins import concrete_space
from core.optimize.recommender import DTYPE, Encoding, _unit_constraints

RESULTS = Path(__file__).resolve().parent / "results"
FEATURES = [*concrete.INGREDIENTS, "age"]


def fit_oracle(seed: int = 0):
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_score

    data = concrete.load()
    x, y = data[FEATURES].to_numpy(), data["compressive_strength"].to_numpy()
    model = GradientBoostingRegressor(
        n_estimators=400, max_depth=4, learning_rate=0.05, subsample=0.8, random_state=seed
    )
    folds = KFold(5, shuffle=True, random_state=seed)
    r2 = cross_val_score(model, x, y, cv=folds, scoring="r2").mean()
    model.fit(x, y)
    return model, float(r2)


def oracle_strength(oracle, recipes: pd.DataFrame) -> np.ndarray:
    return oracle.predict(recipes[FEATURES].to_numpy())


def sample_feasible(space, n: int, seed: int) -> pd.DataFrame:
    """n uniform feasible mixes (hit-and-run over the unit-scaled constrained polytope)."""
    from botorch.utils.sampling import get_polytope_samples

    enc = Encoding(space)
    eq, ineq = _unit_constraints(space, enc)
    free = [j for j, c in enumerate(enc.columns) if c != "age"]
    pos = {j: k for k, j in enumerate(free)}

    def reduce(cons):
        return [(torch.tensor([pos[int(i)] for i in idx]), c, r) for idx, c, r in cons or []]

    bounds = torch.stack([torch.zeros(len(free), dtype=DTYPE), torch.ones(len(free), dtype=DTYPE)])
    u = get_polytope_samples(
        n,
        bounds,
        inequality_constraints=reduce(ineq),
        equality_constraints=reduce(eq),
        seed=seed,
        n_burnin=500,
        n_thinning=10,
    ).numpy()
    full = np.zeros((n, enc.d))
    full[:, free] = u
    recipes = enc.decode(enc.lower + enc.span * full)
    return recipes[space.names]


def refine_optimum(oracle, space, starts: pd.DataFrame, iters: int = 300, seed: int = 0):
    """Hill-climb the oracle from the best ``starts`` inside the feasible set: moves keep the
    mixture total exactly (zero-sum steps) and are rejected if they leave the bounds or the
    water/binder window. Returns the best strength found."""
    rng = np.random.default_rng(seed)
    names = space.names
    free = [i for i, n in enumerate(names) if n != "age"]
    lo, hi = space.bounds()
    x = starts[names].to_numpy(dtype=float, copy=True)
    y = oracle_strength(oracle, starts).copy()
    span = (hi - lo)[free]
    for it in range(iters):
        step = 0.05 * (1 - it / iters) + 0.005
        d = rng.normal(0, 1, (len(x), len(free))) * span * step
        d -= d.mean(axis=1, keepdims=True)  # the mixture covers every free ingredient
        cand = x.copy()
        cand[:, free] += d
        frame = pd.DataFrame(cand, columns=names)
        ok = space.is_feasible(frame).to_numpy()
        y_new = np.where(ok, oracle_strength(oracle, frame), -np.inf)
        better = y_new > y
        x[better], y[better] = cand[better], y_new[better]
    return float(y.max())


def reach(best_curve: list[float], threshold: float) -> float:
    for n_exp, best in best_curve:
        if best >= threshold:
            return n_exp
    return float("inf")


def run_seed(seed: int, oracle, space, rounds: int, q: int, n_init: int) -> dict:
    rng_seed = 1000 + seed
    start = sample_feasible(space, n_init, rng_seed)
    start["compressive_strength"] = oracle_strength(oracle, start)
    out = {"seed": seed}
    # BO
    campaign = Campaign(
        space, start.copy(), name=f"bench {seed}", settings=RecommenderSettings(seed=seed)
    )
    curve = [(n_init, float(start["compressive_strength"].max()))]
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        batch = campaign.recommend(q)
        times.append(time.perf_counter() - t0)
        assert campaign.space.is_feasible(batch).all()
        batch["compressive_strength"] = oracle_strength(oracle, batch)
        campaign.add_results(batch)
        curve.append(
            (len(campaign.measured), float(campaign.measured["compressive_strength"].max()))
        )
    out["bo_curve"] = curve
    out["bo_round_seconds"] = times
    out["bo_recipes"] = campaign.measured[space.names].to_numpy().tolist()
    # Random search over the same feasible space
    extra = sample_feasible(space, rounds * q, rng_seed + 77)
    ys = np.concatenate([start["compressive_strength"].to_numpy(), oracle_strength(oracle, extra)])
    out["random_curve"] = [
        (n_init + k * q, float(ys[: n_init + k * q].max())) for k in range(rounds + 1)
    ]
    return out


def latency(repeats: int = 3) -> list[float]:
    campaign = Campaign.from_builtin("concrete")
    times = []
    for _ in range(repeats):
        campaign._model = None  # time the whole round: surrogate fit + acquisition
        t0 = time.perf_counter()
        batch = campaign.recommend(4)
        times.append(time.perf_counter() - t0)
        assert campaign.space.is_feasible(batch).all()
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--q", type=int, default=4)
    parser.add_argument("--initial", type=int, default=10)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--random-extended",
        type=int,
        default=2000,
        help="also run random search this long, to count the experiments it "
        "needs to reach 95 %% when the budget is not enough",
    )
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1 is fastest on a small, shared CPU)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    RESULTS.mkdir(parents=True, exist_ok=True)
    runs_path = RESULTS / "optimization_runs.jsonl"
    done = {}
    if args.resume and runs_path.exists():
        for line in runs_path.read_text().splitlines():
            run = json.loads(line)
            done[run["seed"]] = run
    elif runs_path.exists():
        runs_path.unlink()

    space, _ = concrete_space()
    oracle, r2 = fit_oracle()
    print(f"oracle: GradientBoostingRegressor on 1,030 mixes, 5-fold CV R^2 = {r2:.3f}", flush=True)
    lat = [] if args.skip_latency else latency()
    if lat:
        print(f"latency recommend(q=4), 1,030 mixes: {[round(t, 1) for t in lat]} s", flush=True)
    runs = []
    for seed in range(args.seeds):
        if seed in done:
            runs.append(done[seed])
            continue
        t0 = time.perf_counter()
        run = run_seed(seed, oracle, space, args.rounds, args.q, args.initial)
        runs.append(run)
        with runs_path.open("a") as fh:
            fh.write(json.dumps(run) + "\n")
        print(
            f"seed {seed}: BO best {run['bo_curve'][-1][1]:.1f} MPa, random best "
            f"{run['random_curve'][-1][1]:.1f} MPa ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )

    budget = args.initial + args.rounds * args.q
    random_long_best = []
    for run in runs:  # random search continued past the budget (oracle calls only)
        start = sample_feasible(space, args.initial, 1000 + run["seed"])
        more = sample_feasible(space, args.random_extended, 1000 + run["seed"] + 77)
        both = pd.concat([start, more], ignore_index=True)
        ys = oracle_strength(oracle, both)
        random_long_best.append(both.iloc[[int(np.argmax(ys))]])
        ys = np.maximum.accumulate(ys)
        run["random_long"] = [(k + 1, float(v)) for k, v in enumerate(ys)][args.initial - 1 :]
    # Oracle optimum: the best of 20,000 uniform feasible mixes, every BO proposal and the
    # long random runs, each of the 32 best hill-climbed on the oracle inside the feasible set.
    samples = sample_feasible(space, 20_000, 7)
    proposed = pd.DataFrame([r for run in runs for r in run["bo_recipes"]], columns=space.names)
    pool = pd.concat([samples, proposed, *random_long_best], ignore_index=True)
    best = pool.iloc[np.argsort(-oracle_strength(oracle, pool))[:32]]
    sampled = float(oracle_strength(oracle, pool).max())
    optimum = max(sampled, refine_optimum(oracle, space, best))
    threshold = 0.95 * optimum

    def summary(key: str) -> dict:
        last = budget if key != "random_long" else args.initial + args.random_extended
        best = np.array([[b for n, b in run[key] if n <= last][-1] for run in runs])
        out = {
            "median": np.median(best),
            "q25": np.percentile(best, 25),
            "q75": np.percentile(best, 75),
            "min": best.min(),
            "max": best.max(),
        }
        for level in (0.90, 0.95):
            needed = np.array([reach(run[key], level * optimum) for run in runs])
            med = np.median(needed)
            out[level] = (f"{med:.0f}" if np.isfinite(med) else f"> {last}") + (
                f" ({int(np.isfinite(needed).sum())}/{len(runs)})"
            )
        return out

    rows = {
        "BoTorch qLogNEI (core.optimize)": summary("bo_curve"),
        "random search": summary("random_curve"),
        f"random search, continued to {args.initial + args.random_extended}": summary(
            "random_long"
        ),
    }
    print()
    print(
        f"Concrete, {len(runs)} seeds, {args.initial} random start + {args.rounds} rounds x "
        f"q={args.q} = {budget} experiments; oracle optimum {optimum:.1f} MPa after "
        f"hill-climbing ({sampled:.1f} MPa best sampled/proposed mix); 90 % = "
        f"{0.9 * optimum:.1f} MPa, 95 % = {threshold:.1f} MPa"
    )
    print(
        "| method | best strength at the end of the run, median (IQR) [min-max] MPa | "
        "experiments to 90 % of optimum, median (runs reaching) | to 95 % |"
    )
    print("|---|---|---|---|")
    for name, s in rows.items():
        print(
            f"| {name} | {s['median']:.1f} ({s['q25']:.1f}-{s['q75']:.1f}) "
            f"[{s['min']:.1f}-{s['max']:.1f}] | {s[0.90]} | {s[0.95]} |"
        )
    bo_times = [t for run in runs for t in run["bo_round_seconds"]]
    print(
        f"\nBO round time (fit + recommend(4), 10-66 mixes): median {np.median(bo_times):.1f} s,"
        f" max {max(bo_times):.1f} s"
    )
    if lat:
        print(
            f"recommend(q=4) on all 1,030 mixes with the mixture constraint: median "
            f"{np.median(lat):.1f} s (runs {', '.join(f'{t:.1f}' for t in lat)}; target < 10 s)"
        )


if __name__ == "__main__":
    main()
