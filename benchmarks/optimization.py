"""Simulated recipe campaigns on the concrete data: BoTorch (core.optimize) vs random search.

    .venv/bin/python benchmarks/optimization.py [--seeds 10] [--rounds 15] [--q 4] [--peer baybe]

- **Oracle**: scikit-learn ``GradientBoostingRegressor`` (400 trees of depth 4, learning
  rate 0.05, subsample 0.8) fitted on all 1,030 Yeh mixes (7 ingredients + age ->
  strength; its 5-fold CV R^2 is printed). Evaluated noise-free at age 28 days. A tree model,
  deliberately not a GP, so the oracle is not the surrogate's own model family.
- **Space**: the built-in concrete campaign: ingredients within the data's range, total
  mass 2,350 kg/m^3 (mixture equality), water/binder in [0.25, 0.60], age fixed at 28 d.
- **Oracle optimum**: best oracle value over 20,000 uniform feasible mixes (hit-and-run
  samples of the constrained polytope), every mix any run proposed and the long random runs;
  the 32 best are then hill-climbed on the oracle inside the feasible set.
- **Data reference**: the strongest *measured* 28-day mix of the Yeh data is printed beside
  the optimum, with a column of experiments needed to reach its strength: the oracle's
  optimum combines tree splits into mixes nobody measured and lies well above it.
- **Protocol** per seed: 10 random feasible mixes, then 15 rounds of q=4 (70 experiments):
  BO = ``Campaign.recommend(4)`` + ``add_results``; random = uniform feasible mixes.
  Reported: median and IQR of best-found strength, experiments needed to reach 95 % of the
  oracle's optimum (median; runs that never reach it count as "> budget"). Random search is
  also continued to 2,010 experiments to count how many it needs.
- **Latency**: ``recommend(q=4)`` on the full 1,030-mix campaign (mixture constraint), with
  the default settings, median of 3 calls, on this machine with torch's default thread
  count (what the app uses: one per core; ``--latency-threads``). The simulated campaigns
  run with ``--threads`` (default 1).

Per-seed results are appended to ``benchmarks/results/optimization_runs.jsonl`` as they
finish, so a long run can be inspected (and resumed with ``--resume``).

**Peer** (``--peer baybe``): BayBE (``baybe==0.15.0``, pinned in :data:`PEERS`) installed
on first use into its own venv ``benchmarks/.venv-peer`` (``torch==2.13.0`` first, then the
peer with torch held at that version), driven as a long-lived subprocess
(``benchmarks/_peer_baybe.py``, JSON lines over stdin/stdout) while the oracle stays here.
It gets the same problem: the seven ingredients with the same bounds, age fixed at 28 d
(added back before the oracle is asked), the mixture equality and the water/binder window as
two linear inequalities (``SearchSpace.linear_constraints()`` translated to BayBE's
``ContinuousLinearConstraint``), the same 10 start mixes per seed, 15 rounds of q=4, and
BayBE's defaults (``TwoPhaseMetaRecommender`` -> ``BotorchRecommender``, GP surrogate,
qLogEI). Every suggestion is checked with ``SearchSpace.violations`` (tolerance
``FEASIBILITY_TOL``) and scored as suggested, nothing clipped; the infeasible share is
printed and a second row counts only feasible suggestions. Our BO and random rows are reused
from ``optimization_runs.jsonl`` for the seeds it holds (same code, same seeds), else run.
Runs go to ``results/optimization_peer_runs.jsonl``, the table to
``results/optimization_peer_table.txt``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)
import numpy as np
import pandas as pd
import torch

from core.data import concrete
from core.optimize import Campaign, RecommenderSettings
from core.optimize.acquisition import unit_constraints
from core.optimize.builtins import concrete_space
from core.optimize.encoding import DTYPE, Encoding
from core.optimize.parts import ContinuousVariable, FixedVariable
from core.optimize.search_space import FEASIBILITY_TOL

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FEATURES = [*concrete.INGREDIENTS, "age"]
LEVELS = (0.85, 0.90, 0.95)
PEER_VENV = HERE / ".venv-peer"
PEER_TORCH = "torch==2.13.0"  # a local CPU wheel; an unpinned torch pulls a CUDA build
PEERS = {  # name -> (exact pip requirement, import name, server script)
    "baybe": ("baybe==0.15.0", "baybe", HERE / "_peer_baybe.py"),
}
# Seeds fixed before any run on them (issue #23): the recommender's settings were chosen on
# seeds 0-29 only, so these 30 paired campaigns judge it on start sets it was not tuned on.
FRESH_SEEDS = tuple(range(100, 130))
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


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
    eq, ineq = unit_constraints(space, enc)
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


def run_seed(seed: int, oracle, space, rounds: int, q: int, n_init: int, **settings) -> dict:
    rng_seed = 1000 + seed
    start = sample_feasible(space, n_init, rng_seed)
    start["compressive_strength"] = oracle_strength(oracle, start)
    out = {"seed": seed}
    # BO
    campaign = Campaign(
        space,
        start.copy(),
        name=f"bench {seed}",
        settings=RecommenderSettings(seed=seed, **settings),
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
    out["bo_settings"] = _settings_record(**settings)
    out["bo_recipes"] = campaign.measured[space.names].to_numpy().tolist()
    # Random search over the same feasible space
    extra = sample_feasible(space, rounds * q, rng_seed + 77)
    ys = np.concatenate([start["compressive_strength"].to_numpy(), oracle_strength(oracle, extra)])
    out["random_curve"] = [
        (n_init + k * q, float(ys[: n_init + k * q].max())) for k in range(rounds + 1)
    ]
    return out


# ------------------------------------------------------------------------------- peer
def ensure_peer_venv(peer: str) -> Path:
    """The peer venv's python, with the pinned peer installed (created on first use)."""
    requirement, module, _ = PEERS[peer]
    version = requirement.split("==")[1]
    python = PEER_VENV / "bin" / "python"
    check = [str(python), "-c", f"import {module}; print({module}.__version__)"]
    if python.exists():
        found = subprocess.run(check, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == version:
            return python
    t0 = time.perf_counter()
    print(f"installing {requirement} into {PEER_VENV}", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, PEER_TORCH], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write(PEER_TORCH + "\n")  # keep the CPU torch: the peer may not replace it
    try:
        subprocess.run([*pip, "-c", fh.name, requirement], check=True)
    finally:
        os.unlink(fh.name)
    found = subprocess.run(check, capture_output=True, text=True, check=True)
    if found.stdout.strip() != version:
        raise RuntimeError(f"{PEER_VENV} has {module} {found.stdout.strip()}, not {version}")
    print(f"installed in {time.perf_counter() - t0:.0f} s", flush=True)
    return python


class PeerServer:
    """The peer's campaign server (``_peer_baybe.py``) in its venv, JSON lines over pipes."""

    def __init__(self, peer: str):
        python = ensure_peer_venv(peer)
        env = {**os.environ, **SINGLE_THREAD, "PYTHONUNBUFFERED": "1"}
        env.pop("PYTHONPATH", None)  # the peer must not see this repository's packages
        self.proc = subprocess.Popen(
            [str(python), str(PEERS[peer][2])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        t0 = time.perf_counter()
        self.version = self.ask(cmd="ping")["version"]  # waits for the peer's imports
        self.startup = time.perf_counter() - t0

    def ask(self, **msg) -> dict:
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"peer server exited (rc {self.proc.poll()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"peer server: {reply['error']}")
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def peer_problem(space) -> dict:
    """The search space for the peer: the continuous variables with their bounds and every
    linear rule of ``space`` (mixture equality, ratio window as two inequalities) with the
    fixed variables substituted."""
    names = space.numeric_names
    fixed = {v.name: v.value for v in space.variables if isinstance(v, FixedVariable)}
    params = [
        {"name": v.name, "lower": v.lower, "upper": v.upper}
        for v in space.variables
        if isinstance(v, ContinuousVariable)
    ]
    if len(params) + len(fixed) != len(space.variables):
        raise ValueError("the peer driver handles continuous and fixed variables only")
    a_eq, b_eq, _, a_ge, b_ge, _ = space.linear_constraints()
    constraints = []
    rules = [(a, b, "=") for a, b in zip(a_eq, b_eq, strict=True)]
    rules += [(a, b, ">=") for a, b in zip(a_ge, b_ge, strict=True)]
    for a, b, op in rules:
        terms = [(n, float(c)) for n, c in zip(names, a, strict=True) if c != 0]
        rhs = float(b) - sum(c * fixed[n] for n, c in terms if n in fixed)
        terms = [(n, c) for n, c in terms if n not in fixed]
        constraints.append(
            {
                "parameters": [n for n, _ in terms],
                "coefficients": [c for _, c in terms],
                "operator": op,
                "rhs": rhs,
            }
        )
    return {"parameters": params, "constraints": constraints, "fixed": fixed}


def run_peer_seed(
    seed: int, server: PeerServer, oracle, space, rounds: int, q: int, n_init: int
) -> dict:
    problem = peer_problem(space)
    free = [p["name"] for p in problem["parameters"]]
    target = "compressive_strength"
    start = sample_feasible(space, n_init, 1000 + seed)  # the same start as BO and random
    start[target] = oracle_strength(oracle, start)
    server.ask(
        cmd="start",
        seed=seed,
        parameters=problem["parameters"],
        constraints=problem["constraints"],
        target=target,
        measurements=start[[*free, target]].to_dict(orient="records"),
    )
    best, best_feasible = float(start[target].max()), float(start[target].max())
    curve, feasible_curve = [(n_init, best)], [(n_init, best_feasible)]
    recipes, violations, seconds, round_trip = [], [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        reply = server.ask(cmd="recommend", q=q)
        round_trip.append(time.perf_counter() - t0)
        seconds.append(reply["seconds"])
        batch = pd.DataFrame(reply["recommendations"])[free]
        for name, value in problem["fixed"].items():
            batch[name] = value
        batch = batch[space.names]
        viol = space.violations(batch)  # scored as suggested: nothing clipped or repaired
        ok = (viol <= FEASIBILITY_TOL).all(axis=1).to_numpy()
        batch[target] = oracle_strength(oracle, batch)
        server.ask(cmd="add", measurements=batch[[*free, target]].to_dict(orient="records"))
        best = max(best, float(batch[target].max()))
        if ok.any():
            best_feasible = max(best_feasible, float(batch[target][ok].max()))
        n = n_init + len(recipes) + q
        curve.append((n, best))
        feasible_curve.append((n, best_feasible))
        recipes += batch[space.names].to_numpy().tolist()
        violations += viol.to_dict(orient="records")
    return {
        "peer_curve": curve,
        "peer_feasible_curve": feasible_curve,
        "peer_round_seconds": seconds,
        "peer_round_trip_seconds": round_trip,
        "peer_recipes": recipes,
        "peer_violations": violations,
    }


def _settings_record(**settings) -> dict:
    """The recommender settings of a run (all fields but the per-seed ``seed``)."""
    record = dataclasses.asdict(RecommenderSettings(**settings))
    record.pop("seed")
    return record


def reusable_bo_runs(rounds: int, q: int, n_init: int) -> dict[int, dict]:
    """Our BO/random runs from ``optimization_runs.jsonl`` that used this protocol and the
    current default recommender settings (runs of older defaults are run again)."""
    path = RESULTS / "optimization_runs.jsonl"
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            run = json.loads(line)
            want = [n_init + k * q for k in range(rounds + 1)]
            same_protocol = [n for n, _ in run["bo_curve"]] == want
            same_protocol &= [n for n, _ in run["random_curve"]] == want
            if same_protocol and run.get("bo_settings") == _settings_record():
                out[run["seed"]] = run
    return out


def machine_reference(threads: int) -> float:
    """Seconds for a fixed float64 workload (20 products of 1,000 x 1,000 matrices) with
    ``threads`` torch threads: printed beside the latency, so runs on a busier or slower
    host can be told apart from a slower recommender."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    a = torch.rand(1000, 1000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a @ a  # warm-up
    t0 = time.perf_counter()
    for _ in range(20):
        a @ a
    seconds = time.perf_counter() - t0
    torch.set_num_threads(before)
    return seconds


def latency(threads: int, repeats: int = 3) -> list[float]:
    campaign = Campaign.from_builtin("concrete")
    times = []
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    for _ in range(repeats):
        campaign._model = None  # time the whole round: surrogate fit + acquisition
        t0 = time.perf_counter()
        batch = campaign.recommend(4)
        times.append(time.perf_counter() - t0)
        assert campaign.space.is_feasible(batch).all()
    torch.set_num_threads(before)
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
        help="torch CPU threads of the simulated campaigns (1 is fastest on a small CPU)",
    )
    parser.add_argument(
        "--latency-threads",
        type=int,
        default=torch.get_num_threads(),
        help="torch CPU threads of the latency measurement (default: torch's default, as "
        "in the app)",
    )
    parser.add_argument(
        "--peer",
        choices=sorted(PEERS),
        help="also run this peer library (own venv benchmarks/.venv-peer, installed if "
        "missing) on the same problem; writes results/optimization_peer_*.{jsonl,txt} and "
        "reuses our BO runs from results/optimization_runs.jsonl",
    )
    parser.add_argument(
        "--reuse-peer",
        action="store_true",
        help="with --peer: take the peer's runs from results/optimization_peer_runs.jsonl "
        "where they exist for this seed, protocol and peer version (the peer does not "
        "depend on our code), so only our BO rows are new",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=RESULTS,
        help="where the runs (and, with --peer, the table) are written",
    )
    parser.add_argument(
        "--settings",
        default="{}",
        help="JSON of RecommenderSettings fields to override for our BO runs, e.g. "
        "'{\"local_starts\": 0}' (use with --out-dir to compare against the defaults)",
    )
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1"
    )
    parser.add_argument(
        "--fresh-seeds",
        action="store_true",
        help=f"the held-out seed set of issue #23: seeds {FRESH_SEEDS[0]}-{FRESH_SEEDS[-1]}, "
        "never used to tune the recommender (tuning used seeds 0-29)",
    )
    args = parser.parse_args(argv)
    if args.fresh_seeds:
        args.first_seed, args.seeds = FRESH_SEEDS[0], len(FRESH_SEEDS)
    torch.set_num_threads(args.threads)
    overrides = json.loads(args.settings)

    out_dir = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "optimization_peer" if args.peer else "optimization"
    runs_path = out_dir / f"{stem}_runs.jsonl"
    printed: list[str] = []

    def emit(line: str = "") -> None:
        print(line, flush=True)
        printed.append(line)

    peer_version = PEERS[args.peer][0] if args.peer else ""
    stored_peer: dict[int, dict] = {}
    if args.peer and args.reuse_peer and runs_path.exists():
        want = [args.initial + k * args.q for k in range(args.rounds + 1)]
        for line in runs_path.read_text().splitlines():
            run = json.loads(line)
            if run.get("peer") == peer_version and [n for n, _ in run["peer_curve"]] == want:
                stored_peer[run["seed"]] = {k: v for k, v in run.items() if k.startswith("peer")}
    done = {}
    if args.resume and runs_path.exists():
        for line in runs_path.read_text().splitlines():
            run = json.loads(line)
            done[run["seed"]] = run
    elif runs_path.exists():
        runs_path.unlink()

    space, _ = concrete_space()
    oracle, r2 = fit_oracle()
    emit(f"oracle: GradientBoostingRegressor on 1,030 mixes, 5-fold CV R^2 = {r2:.3f}")
    emit(f"BoTorch recommender settings: {_settings_record(**overrides)}")
    lat = [] if args.skip_latency or args.peer else latency(args.latency_threads)
    if lat:
        reference = machine_reference(args.latency_threads)
        emit(
            f"latency recommend(q=4), 1,030 mixes, {args.latency_threads} torch thread(s): "
            f"{[round(t, 1) for t in lat]} s"
        )
    reused = (
        reusable_bo_runs(args.rounds, args.q, args.initial) if args.peer and not overrides else {}
    )
    server = None
    runs = []
    try:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            if seed in done:
                runs.append(done[seed])
                continue
            t0 = time.perf_counter()
            if seed in reused:
                run = {**reused[seed], "bo_source": "optimization_runs.jsonl"}
            else:
                run = run_seed(seed, oracle, space, args.rounds, args.q, args.initial, **overrides)
                run["bo_source"] = "this run"
            line = (
                f"seed {seed}: BO best {run['bo_curve'][-1][1]:.1f} MPa, random best "
                f"{run['random_curve'][-1][1]:.1f} MPa"
            )
            if args.peer and seed in stored_peer:
                run.update(stored_peer[seed])
                line += f", {args.peer} best {run['peer_curve'][-1][1]:.1f} MPa (stored run)"
            elif args.peer:
                if server is None:
                    server = PeerServer(args.peer)
                    print(
                        f"peer server ({server.version}) up in {server.startup:.1f} s",
                        flush=True,
                    )
                run.update(
                    run_peer_seed(seed, server, oracle, space, args.rounds, args.q, args.initial)
                )
                run["peer"] = peer_version
                infeasible = sum(max(v.values()) > FEASIBILITY_TOL for v in run["peer_violations"])
                line += (
                    f", {args.peer} best {run['peer_curve'][-1][1]:.1f} MPa "
                    f"({infeasible}/{len(run['peer_violations'])} infeasible)"
                )
            runs.append(run)
            with runs_path.open("a") as fh:
                fh.write(json.dumps(run) + "\n")
            print(f"{line} ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        if server is not None:
            server.close()

    budget = args.initial + args.rounds * args.q
    random_long_best = []
    for run in runs:  # random search continued past the budget (oracle calls only)
        start = sample_feasible(space, args.initial, 1000 + run["seed"])
        more = (
            sample_feasible(space, args.random_extended, 1000 + run["seed"] + 77)
            if args.random_extended > 0
            else start.iloc[:0]
        )
        both = pd.concat([start, more], ignore_index=True)
        ys = oracle_strength(oracle, both)
        random_long_best.append(both.iloc[[int(np.argmax(ys))]])
        ys = np.maximum.accumulate(ys)
        run["random_long"] = [(k + 1, float(v)) for k, v in enumerate(ys)][args.initial - 1 :]
    # Oracle optimum: the best of 20,000 uniform feasible mixes, every BO (and feasible peer)
    # proposal and the long random runs, each of the 32 best hill-climbed on the oracle
    # inside the feasible set.
    samples = sample_feasible(space, 20_000, 7)
    proposed = pd.DataFrame([r for run in runs for r in run["bo_recipes"]], columns=space.names)
    pool = [samples, proposed, *random_long_best]
    if args.peer:
        peer = pd.DataFrame([r for run in runs for r in run["peer_recipes"]], columns=space.names)
        pool.append(peer[space.is_feasible(peer).to_numpy()])
    pool = pd.concat(pool, ignore_index=True)
    best = pool.iloc[np.argsort(-oracle_strength(oracle, pool))[:32]]
    sampled = float(oracle_strength(oracle, pool).max())
    optimum = max(sampled, refine_optimum(oracle, space, best))

    data = concrete.load()
    at28 = data[data["age"] == 28.0]
    best_measured = at28.loc[at28["compressive_strength"].idxmax()]
    measured_best = float(best_measured["compressive_strength"])

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
        thresholds = {level: level * optimum for level in LEVELS} | {"measured": measured_best}
        for name, threshold in thresholds.items():
            needed = np.array([reach(run[key], threshold) for run in runs])
            med = np.median(needed)
            out[name] = (f"{med:.0f}" if np.isfinite(med) else f"> {last}") + (
                f" ({int(np.isfinite(needed).sum())}/{len(runs)})"
            )
        return out

    rows = {"BoTorch qLogNEI (core.optimize)": summary("bo_curve")}
    if args.peer:
        rows[f"{peer_version}, defaults (scored as suggested)"] = summary("peer_curve")
        rows[f"{peer_version}, counting feasible suggestions only"] = summary("peer_feasible_curve")
    rows["random search"] = summary("random_curve")
    if args.random_extended > 0:
        rows[f"random search, continued to {args.initial + args.random_extended}"] = summary(
            "random_long"
        )
    emit()
    emit(
        f"Concrete, {len(runs)} seeds, {args.initial} random start + {args.rounds} rounds x "
        f"q={args.q} = {budget} experiments; oracle optimum {optimum:.1f} MPa after "
        f"hill-climbing ({sampled:.1f} MPa best sampled/proposed mix); "
        + ", ".join(f"{level:.0%} = {level * optimum:.1f} MPa" for level in LEVELS)
    )
    mix = ", ".join(f"{c} {best_measured[c]:g}" for c in concrete.INGREDIENTS)
    emit(
        f"Yeh data: strongest measured 28-day mix {measured_best:.1f} MPa ({mix} kg/m^3; "
        f"{len(at28)} mixes measured at 28 d), the oracle there "
        f"{float(oracle_strength(oracle, best_measured.to_frame().T)[0]):.1f} MPa; the "
        f"oracle's optimum is {optimum / measured_best - 1:.0%} above the strongest measured "
        "mix, in combinations nobody measured"
    )
    if args.peer:
        sources = sorted({run["bo_source"] for run in runs})
        emit(
            "BoTorch and random-search rows: "
            + (
                "reused from results/optimization_runs.jsonl (same code, same seeds and start sets)"
                if sources == ["optimization_runs.jsonl"]
                else f"from {' and '.join(sources)}"
            )
            + f"; {args.peer} "
            + (
                "runs stored from an earlier run of this script (--reuse-peer)"
                if all(run["seed"] in stored_peer for run in runs)
                else "run now"
            )
            + " on the same start sets"
        )
    emit(
        "| method | best strength at the end of the run, median (IQR) [min-max] MPa | "
        "experiments to 85 % of optimum, median (runs reaching) | to 90 % | to 95 % | "
        f"to the strongest measured mix ({measured_best:.1f} MPa) |"
    )
    emit("|---|---|---|---|---|---|")
    for name, s in rows.items():
        emit(
            f"| {name} | {s['median']:.1f} ({s['q25']:.1f}-{s['q75']:.1f}) "
            f"[{s['min']:.1f}-{s['max']:.1f}] | {s[0.85]} | {s[0.90]} | {s[0.95]} | "
            f"{s['measured']} |"
        )
    bo_times = [t for run in runs for t in run["bo_round_seconds"]]
    emit()
    emit(
        f"BO round time (fit + recommend({args.q}), {args.initial}-{budget - args.q} mixes): "
        f"median {np.median(bo_times):.1f} s, max {max(bo_times):.1f} s"
    )
    if args.peer:
        from scipy.stats import wilcoxon

        diff = np.array([run["bo_curve"][-1][1] - run["peer_curve"][-1][1] for run in runs])
        test = wilcoxon(diff) if np.any(diff != 0) else None
        emit(
            f"Paired by seed (same start set), ours minus {peer_version} at the end: better in "
            f"{int((diff > 0).sum())}, worse in {int((diff < 0).sum())} of {len(diff)} runs, "
            f"mean {diff.mean():+.2f} MPa, median {np.median(diff):+.2f} MPa"
            + (f"; Wilcoxon signed-rank p = {test.pvalue:.2f}" if test is not None else "")
        )
        times = [t for run in runs for t in run["peer_round_seconds"]]
        trips = [t for run in runs for t in run["peer_round_trip_seconds"]]
        emit(
            f"{peer_version} round time (Campaign.recommend({args.q}), in the peer process): "
            f"median {np.median(times):.1f} s, max {max(times):.1f} s; with the JSON round "
            f"trip: median {np.median(trips):.1f} s"
        )
        viol = pd.DataFrame([v for run in runs for v in run["peer_violations"]])
        bad = viol > FEASIBILITY_TOL
        emit(
            f"{peer_version} suggestions violating a rule by more than {FEASIBILITY_TOL:g} "
            f"(SearchSpace.violations, raw units): {int(bad.any(axis=1).sum())}/{len(viol)} "
            f"({bad.any(axis=1).mean():.1%}); per rule: "
            + "; ".join(f"{col}: {int(bad[col].sum())} (max {viol[col].max():.3g})" for col in viol)
        )
    if lat:
        emit(
            f"recommend(q=4) on all 1,030 mixes with the mixture constraint, "
            f"{args.latency_threads} torch thread(s): median {np.median(lat):.1f} s "
            f"(runs {', '.join(f'{t:.1f}' for t in lat)}; target < 10 s); machine reference "
            f"right after: 20 float64 1000x1000 matrix products in {reference:.2f} s"
        )
    (out_dir / f"{stem}_table.txt").write_text("\n".join(printed) + "\n")


if __name__ == "__main__":
    main()
