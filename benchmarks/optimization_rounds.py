"""CPU seconds of one recommendation round, per campaign kind and per stage.

    .venv/bin/python benchmarks/optimization_rounds.py [--repeats 3] [--threads 1] [--q 4]
        [--kinds concrete-30,glass] [--label after]

A round is what the app runs when a user asks for suggestions after entering results:
fit the surrogate to the measured table, then ``recommend(q)``. Each campaign kind runs in
its own fresh process (so one kind's warm caches and imports do not flatter another), with
``torch.set_num_threads(--threads)``; every repeat starts from a fresh copy of the campaign
(``Campaign.from_json``), so the surrogate is fitted every time. Reported per kind: the
median over repeats of the CPU seconds of this process (all threads summed:
``time.process_time``) and wall seconds, and the median CPU seconds of each stage
(:data:`core.optimize.recommender.STAGES`: surrogate fit, acquisition set-up, acquisition
optimisation, repair/verification, prediction of the suggestions).

Campaign kinds (the ones the recipe page offers; real data only):

- ``concrete-30`` / ``concrete-1030``: the built-in concrete campaign (Yeh data, mixture
  total 2,350 kg/m^3, water/binder 0.25-0.60, age fixed at 28 d) from 30 random mixes or
  all 1,030, maximise strength.
- ``concrete2-30`` / ``concrete2-1030``: the same with a second objective, minimise cement
  (qLogNEHVI).
- ``own-csv-15``: an own-data campaign as the CSV upload builds it: 15 Yeh mixes measured
  at 7, 28 or 90 days; five binder ingredients continuous (bounds from the data), curing age
  a categorical variable (three labels), water/binder ratio window 0.3-0.6, maximise
  strength.
- ``glass``: the built-in glass campaign (12 model-evaluated compositions, three objectives:
  Tg window, minimise liquidus, viscosity window at 1,400 K).

The table goes to ``benchmarks/results/optimization_rounds_table.txt`` (``--label`` names
the column set, e.g. before/after a change) and every run is appended to
``optimization_rounds_runs.jsonl``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
KINDS = (
    "concrete-30",
    "concrete-1030",
    "concrete2-30",
    "concrete2-1030",
    "own-csv-15",
    "glass",
)
TARGET_CPU_S = 10.0  # issue #24: every kind within 10 CPU-s per round of 4
TARGET_SINGLE_CONCRETE_CPU_S = 5.0


def build(kind: str):
    """The campaign of ``kind`` (see the module docstring)."""
    from core.data import concrete
    from core.optimize import (
        Campaign,
        CategoricalVariable,
        ContinuousVariable,
        Objective,
        RatioConstraint,
    )

    if kind.startswith("concrete"):
        n = int(kind.split("-")[1])
        return Campaign.from_builtin(
            "concrete", n_initial=None if n >= 1030 else n, minimize_cement="2" in kind
        )
    if kind == "glass":
        return Campaign.from_builtin("glass", n_initial=12)
    if kind == "own-csv-15":
        data = concrete.load()
        data = data[data["age"].isin([7, 28, 90])]
        rows = data.sample(15, random_state=0).reset_index(drop=True)
        binder = ["cement", "blast_furnace_slag", "fly_ash", "water", "superplasticizer"]
        table = rows[binder].copy()
        table["curing"] = rows["age"].map(lambda a: f"{int(a)} d")
        table["strength"] = rows["compressive_strength"]
        variables = [
            ContinuousVariable(c, float(table[c].min()), float(table[c].max()), "kg/m^3")
            for c in binder
        ]
        variables.append(CategoricalVariable("curing", ("7 d", "28 d", "90 d")))
        ratio = RatioConstraint(("water",), ("cement", "blast_furnace_slag", "fly_ash"), 0.3, 0.6)
        return Campaign.from_table(
            table, variables, [Objective("strength", "maximize", unit="MPa")], [ratio]
        )
    raise SystemExit(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")


def measure(kind: str, repeats: int, q: int, threads: int, overrides: dict) -> dict:
    """Run in a fresh process (``--child``): build once, then ``repeats`` timed rounds."""
    import torch

    from core.optimize import Campaign
    from core.optimize.recommender import STAGES
    from core.progress import Progress

    torch.set_num_threads(threads)
    campaign = build(kind)
    campaign.settings = dataclasses.replace(campaign.settings, **overrides)
    text = campaign.to_json()
    runs = []
    for _ in range(repeats):
        fresh = Campaign.from_json(text)
        progress = Progress()
        cpu, wall = time.process_time(), time.perf_counter()
        fresh.recommend(q, progress=progress)
        runs.append(
            {
                "cpu_s": time.process_time() - cpu,
                "wall_s": time.perf_counter() - wall,
                "stages_cpu_s": {s: progress.cpu_s.get(s, 0.0) for s in STAGES},
                "evaluations": progress.evaluations,
            }
        )
    return {
        "kind": kind,
        "n_measured": len(campaign.measured),
        "objectives": len(campaign.space.objectives),
        "runs": runs,
    }


def row(result: dict) -> list[str]:
    from core.optimize.recommender import STAGES

    runs = result["runs"]
    med = statistics.median
    cpu = med(r["cpu_s"] for r in runs)
    target = (
        TARGET_SINGLE_CONCRETE_CPU_S if result["kind"].startswith("concrete-") else (TARGET_CPU_S)
    )
    cells = [
        result["kind"],
        str(result["n_measured"]),
        str(result["objectives"]),
        f"{cpu:.1f}",
        f"{med(r['wall_s'] for r in runs):.1f}",
        *(f"{med(r['stages_cpu_s'][s] for r in runs):.2f}" for s in STAGES),
        str(int(med(r["evaluations"] for r in runs))),
        f"{target:g}",
        "yes" if cpu <= target else "no",
    ]
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--q", type=int, default=4)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--label", default="current")
    parser.add_argument("--settings", default="{}", help="RecommenderSettings overrides (JSON)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        overrides = json.loads(args.settings)
        print(json.dumps(measure(args.child, args.repeats, args.q, args.threads, overrides)))
        return

    from core.optimize.recommender import STAGES
    from core.provenance import git_version

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    results = []
    for kind in args.kinds.split(","):
        cmd = [sys.executable, __file__, "--child", kind, "--repeats", str(args.repeats)]
        cmd += ["--q", str(args.q), "--threads", str(args.threads), "--settings", args.settings]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{kind}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        print(kind, " ".join(row(result)[3:5]), "CPU-s / wall-s", flush=True)

    RESULTS.mkdir(exist_ok=True)
    stamp = {"label": args.label, "commit": git_version(), "threads": args.threads, "q": args.q}
    stamp["settings"] = json.loads(args.settings)
    runs_file = RESULTS / "optimization_rounds_runs.jsonl"
    with open(runs_file, "a") as fh:
        for result in results:
            fh.write(json.dumps({**stamp, **result}) + "\n")
    # The label's table: the latest run of each kind under this label (kinds may be rerun
    # one at a time), in the order of KINDS.
    latest = {}
    for line in runs_file.read_text().splitlines():
        record = json.loads(line)
        if record["label"] == args.label and record["threads"] == args.threads:
            latest[record["kind"]] = record
    rows = [latest[k] for k in KINDS if k in latest]
    commits = sorted({r["commit"] for r in rows})
    head = ["campaign", "recipes", "objectives", "CPU-s/round", "wall-s/round"]
    head += [f"{s} CPU-s" for s in STAGES] + ["acq. evaluations", "target CPU-s", "met"]
    lines = [
        f"recommend(q={args.q}) after a fresh surrogate fit, median of {args.repeats} rounds, "
        f"torch threads {args.threads}, commit {', '.join(commits)} ({args.label})",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(row(r)) + " |" for r in rows),
    ]
    table = "\n".join(lines)
    print(table)
    out = RESULTS / "optimization_rounds_table.txt"
    previous = out.read_text() if out.exists() else ""
    blocks = [b for b in previous.split("\n\n") if b.strip() and f"({args.label})" not in b]
    out.write_text("\n\n".join([*blocks, table]) + "\n")


if __name__ == "__main__":
    main()
