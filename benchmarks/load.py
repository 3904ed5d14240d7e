"""Several browser sessions at once: latency of each page's main action for N = 1, 2, 4.

    .venv/bin/python benchmarks/load.py [--sessions 1,2,4] [--actions molecule,glass,...]

One Streamlit server runs every session's script in its own thread of one process, with
the models cached once per process and heavy rounds in the background job queue
(:mod:`core.jobs`). This benchmark does the same work the same way: each session is a
thread that first applies the app's per-request thread bound (``app._bound_threads``, as
``app.py`` does for every page run), then makes the call its page makes into ``core``, on
the shipped models and real data; N sessions start together (a barrier), each one's wall
time from the call to its result is recorded. Page rendering is left out (Streamlit's
``AppTest`` keeps one global runtime and breaks when several run in threads).

Actions (each page's main action; every session asks something different, so no cache
answers for it):

- ``molecule``: ``MoleculePredictor.report`` of a drug-like SMILES (conformer, 4-member
  PaiNN ensemble, explanation of the gap, nearest training molecules when the data is there).
- ``glass``: ``GlassPredictor.report`` of a soda-lime-silica formulation (properties,
  viscosity curve).
- ``recipe``: a round of 4 suggestions on the concrete campaign from 30 random mixes, queued
  with ``Campaign.recommend_in_background`` and waited for as the page does.
- ``glass-design``: the glass inverse-design page's default goals, queued likewise.

Printed and written to ``benchmarks/results/load_table.txt``: per action and N, the median,
90th percentile and worst latency, and the worst ratio of a session's latency to the same
session's work run alone just before (issue #22: two simultaneous sessions should each
finish within about 2x of one alone).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WAIT_S = 1800
SMILES = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "CC(=O)Nc1ccc(O)cc1",
    "c1ccc2c(c1)cccc2O",
    "OC(=O)c1ccccc1O",
    "CCOC(=O)c1ccccc1",
    "Cc1ccccc1N",
    "COc1ccc(C=O)cc1",
]


def molecule(i: int) -> float:
    from core.models.molecules import load_predictor

    predictor = load_predictor()
    t0 = time.perf_counter()
    report = predictor.report(SMILES[i % len(SMILES)], explain="gap")
    assert not report.error, report.error
    return time.perf_counter() - t0


def glass(i: int) -> float:
    from core.models.glass import load_predictor

    predictor = load_predictor()
    t0 = time.perf_counter()
    predictor.report({"SiO2": 72 + i * 0.5, "Na2O": 14, "CaO": 10, "MgO": 4 - i * 0.5})
    return time.perf_counter() - t0


def recipe(i: int) -> float:
    from core.optimize import Campaign

    campaign = Campaign.from_builtin("concrete", n_initial=30, seed=i)
    t0 = time.perf_counter()
    job = campaign.recommend_in_background(4)
    assert job.wait(WAIT_S) and job.status().state == "done", job.status()
    return time.perf_counter() - t0


def glass_design(i: int) -> float:
    from core.jobs import heavy_jobs
    from core.optimize import glass_design as gd

    request = gd.request_from_entries(
        gd.default_oxide_rows(), gd.default_window_rows(), "Liquidus temperature (K)", "minimize"
    )
    t0 = time.perf_counter()
    job = heavy_jobs().submit(lambda p: gd.design_glasses(request, progress=p), "design")
    assert job.wait(WAIT_S) and job.status().state == "done", job.status()
    return time.perf_counter() - t0


ACTIONS = {"molecule": molecule, "glass": glass, "recipe": recipe, "glass-design": glass_design}


def together(action, n: int, first: int = 0) -> list[float]:
    """Start ``n`` sessions of ``action`` at once (session numbers ``first`` ...); their
    latencies (s)."""
    out: list[float] = [0.0] * n
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def session(k: int) -> None:
        i = first + k
        import app

        app._bound_threads()  # what app.py does at the start of every page run
        barrier.wait()
        try:
            out[k] = action(i)
        except BaseException as err:  # noqa: BLE001 (reported after the join)
            errors.append(err)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,2,4")
    parser.add_argument("--actions", default=",".join(ACTIONS))
    args = parser.parse_args()
    os.environ.setdefault(
        "MDS_DATABASE_URL", f"sqlite:///{Path(tempfile.mkdtemp()) / 'load.sqlite'}"
    )
    from core.jobs import job_threads, job_workers, request_threads
    from core.provenance import git_version

    counts = [int(n) for n in args.sessions.split(",")]
    lines = [
        f"Simultaneous sessions (core calls of each page in threads of one process, the "
        f"app's thread bounds), commit "
        f"{git_version()}, {os.cpu_count()} CPUs; request threads {request_threads()}, "
        f"job workers {job_workers()} x {job_threads()} thread(s); latency in s",
        "| action | sessions | median | p90 | worst | worst ratio to the same session alone |",
        "|---|---|---|---|---|---|",
    ]
    for name in args.actions.split(","):
        action = ACTIONS[name]
        together(action, 1)  # warm-up: models and caches loaded once, as on a server
        # each session's work alone first (sessions differ: other SMILES, other mixes)
        alone = [together(action, 1, first=i)[0] for i in range(max(counts))]
        for n in counts:
            lat = together(action, n)
            ratio = max(t / a for t, a in zip(lat, alone, strict=False))
            lat = sorted(lat)
            p90 = lat[min(len(lat) - 1, int(round(0.9 * (len(lat) - 1))))]
            row = (
                f"| {name} | {n} | {statistics.median(lat):.2f} | {p90:.2f} | {lat[-1]:.2f} | "
                f"{ratio:.1f}x |"
            )
            print(row, flush=True)
            lines.append(row)
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load_table.txt").write_text(table + "\n")


if __name__ == "__main__":
    main()
