"""Benchmark batch screening (``python -m core.screen``) on both engines.

    python benchmarks/screening.py [--molecules 100000] [--glasses 100000] [--workers 1 2]

Molecules: the first ``--molecules`` SMILES of the MOSES test split (drug-like molecules the
QM9 model never saw). Glasses: a deterministic composition grid of ``--glasses`` rows over
SiO2-Na2O-CaO-Al2O3-B2O3-K2O-MgO. Each run is the real command line in a fresh process, timed
from outside; peak RSS is sampled over the whole process tree (Ray's raylet and workers
included) every 0.2 s. Rows/s is the screening rate the command reports (model loading left
out). The conformer stage alone (parse + ETKDG + MMFF, :func:`prepare_smiles_batch`) runs on
the same molecules at the same thread counts in this process, so the end-to-end share of it
is measured on this machine, at the same time.

Writes ``benchmarks/results/screening_table.txt``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)
import numpy as np
import pandas as pd
import psutil

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def molecule_file(folder: Path, n: int) -> Path:
    from core.data import moses

    smiles = moses.load_split("test", columns=["smiles"])["smiles"].iloc[:n]
    path = folder / f"molecules_{n}.csv"
    pd.DataFrame({"id": [f"moses_test_{i}" for i in range(len(smiles))], "smiles": smiles}).to_csv(
        path, index=False
    )
    return path


def glass_file(folder: Path, n: int, seed: int = 0) -> Path:
    """``n`` compositions (mol %), SiO2 40-80 and the rest split over six modifiers by a
    seeded Dirichlet draw: a grid a formulator would screen."""
    rng = np.random.default_rng(seed)
    sio2 = rng.uniform(40, 80, n)
    rest = rng.dirichlet(np.ones(6), n) * (100 - sio2)[:, None]
    df = pd.DataFrame(rest.round(2), columns=["Na2O", "CaO", "Al2O3", "B2O3", "K2O", "MgO"])
    df.insert(0, "SiO2", (100 - df.sum(axis=1)).round(2))
    df.insert(0, "name", [f"g{i}" for i in range(n)])
    path = folder / f"glasses_{n}.csv"
    df.to_csv(path, index=False)
    return path


def run_cli(args: list[str], env: dict, cpus: int) -> dict:
    """Run ``python -m core.screen ARGS`` on the first ``cpus`` CPUs (a worker then means a
    core: one worker's conformer and network threads cannot spread over the others); wall
    time, peak tree RSS and the reported rate."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.screen", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, range(cpus)),
    )
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        rss = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, rss)
        time.sleep(0.2)
    out = proc.stdout.read()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"core.screen {' '.join(args)} failed:\n{out}")
    rate = re.search(r"screening ([\d.]+) s, ([\d.]+) rows/s", out)
    rows = re.search(r"^([\d,]+) rows in", out, re.M)
    failed = re.search(r"failed rows: ([\d,]+)", out)
    return {
        "rows": int(rows.group(1).replace(",", "")),
        "failed": int(failed.group(1).replace(",", "")),
        "wall_s": wall,
        "screen_s": float(rate.group(1)),
        "rows_per_s": float(rate.group(2)),
        "peak_rss_mb": peak / 2**20,
    }


def conformer_stage(smiles: list[str], threads: int) -> float:
    """Molecules per second through parsing + ETKDG + MMFF alone (the CLI's default
    embedding budget)."""
    from core.chem.molecules import EmbedBudget
    from core.models.molecules import prepare_smiles_batch

    mask = os.sched_getaffinity(0)
    os.sched_setaffinity(0, range(threads))  # the CPUs a run with this many workers gets
    try:
        t0 = time.perf_counter()
        prepare_smiles_batch(smiles, threads=threads, budget=EmbedBudget())
        return len(smiles) / (time.perf_counter() - t0)
    finally:
        os.sched_setaffinity(0, mask)


def stage_costs(smiles: list[str], glass_csv: Path | None) -> list[str]:
    """CPU milliseconds per row of each stage on one thread: what a worker pays per row,
    so what bounds the rate on this machine's cores."""
    import torch

    torch.set_num_threads(1)
    lines = []
    if smiles:
        from core.chem.molecules import EmbedBudget
        from core.models.molecules import load_predictor, prepare_smiles_batch
        from core.nn.painn import inference_passes

        mols = smiles[:500]
        t0 = time.perf_counter()
        prep = prepare_smiles_batch(mols, threads=1, budget=EmbedBudget())
        conf = (time.perf_counter() - t0) / len(mols)
        geoms = [p.geometry for p in prep if p.geometry is not None]
        model = load_predictor()
        t0 = time.perf_counter()
        for one in inference_passes([len(g.atomic_numbers) for g in geoms], "cpu"):
            model._run(geoms[one])
        net = (time.perf_counter() - t0) / len(geoms)
        lines.append(
            f"molecules, one thread, {len(mols)} MOSES molecules: conformer stage "
            f"{conf * 1e3:.1f} ms, {len(model.members)}-member PaiNN {net * 1e3:.1f} ms "
            "per molecule"
        )
    if glass_csv is not None:
        from core.models.glass import load_predictor as load_glass

        model = load_glass()
        table = pd.read_csv(glass_csv).iloc[:8192]
        comps = [
            {c: v / 100 for c, v in row.items() if c != "name" and v}
            for row in table.to_dict("records")
        ]
        model.predict_table(table.iloc[:64])
        timed = {}
        for name, fn in (
            ("networks", lambda: model.raw_outputs(comps)),
            (
                "exact neighbours",
                lambda: model._knn.nearest(
                    [{model._knn_vocab.get(f, -1): x for f, x in c.items()} for c in comps], 16
                ),
            ),
            ("whole predict_table", lambda: model.predict_table(table)),
        ):
            model._knn._memo = None
            t0 = time.perf_counter()
            fn()
            timed[name] = (time.perf_counter() - t0) / len(table) * 1e6
        lines.append(
            f"glasses, one thread, {len(table)} rows: "
            + ", ".join(f"{k} {v:.0f} us" for k, v in timed.items())
            + f" per glass ({len(model.members)} members, each with its Tg network)"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--molecules", type=int, default=100_000)
    ap.add_argument("--glasses", type=int, default=100_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--engines", nargs="+", default=["local", "ray"])
    ap.add_argument(
        "--molecule-chunk",
        type=int,
        default=256,
        help="chunk rows for molecules (several chunks per worker; glasses use the default)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "screening_table.txt")
    args = ap.parse_args()

    load_start = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mol_in = molecule_file(tmp, args.molecules) if args.molecules else None
        glass_in = glass_file(tmp, args.glasses) if args.glasses else None
        glass_small = glass_file(tmp, max(1, args.glasses // 10)) if args.glasses else None
        conformer = {}
        if mol_in is not None:
            smiles = pd.read_csv(mol_in)["smiles"].tolist()
            for w in args.workers:
                conformer[w] = conformer_stage(smiles, w)
                print(f"conformer stage alone, {w} thread(s): {conformer[w]:.1f} mol/s", flush=True)
        stages = stage_costs(smiles if mol_in is not None else [], glass_in)
        print("\n".join(stages), flush=True)
        jobs = []
        for engine in args.engines:
            for w in args.workers:
                if mol_in is not None:
                    jobs.append(("molecules", mol_in, engine, w))
                if glass_in is not None:
                    jobs.append(("glasses", glass_in, engine, w))
        if glass_small is not None:
            jobs += [("glasses", glass_small, e, max(args.workers)) for e in args.engines]
        for kind, inp, engine, w in jobs:
            env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
            env["MDS_WORKERS"] = str(w)
            cli = [kind, str(inp), str(tmp / f"out_{kind}_{engine}_{w}.parquet")]
            cli += ["--workers", str(w)]
            if engine == "ray":
                cli += ["--engine", "ray"]
            if kind == "molecules":
                cli += ["--chunk-rows", str(args.molecule_chunk)]
            r = run_cli(cli, env, cpus=w)
            r.update(kind=kind, engine=engine, workers=w, input=inp.name)
            if kind == "molecules":
                r["vs_conformer_stage"] = r["rows_per_s"] / conformer[w]
            rows.append(r)
            print(
                f"{kind:9s} {engine:5s} x{w}: {r['rows']:,} rows, {r['rows_per_s']:.1f} rows/s, "
                f"peak RSS {r['peak_rss_mb']:.0f} MB",
                flush=True,
            )

    df = pd.DataFrame(rows)
    lines = [
        f"# Batch screening benchmark, {dt.date.today().isoformat()}, "
        f"{os.cpu_count()} CPUs, python benchmarks/screening.py "
        f"--molecules {args.molecules} --glasses {args.glasses} "
        f"--workers {' '.join(map(str, args.workers))} --molecule-chunk {args.molecule_chunk}",
        "# rows/s: the rate core.screen reports (model loading excluded); peak RSS over the "
        "process tree; molecules: MOSES test split; glasses: seeded 7-oxide grid",
        "# each run pinned to as many CPUs as workers (Ray: its read tasks share them), so "
        "a worker is a core; the conformer stage alone likewise",
        f"# load average (1 min) before the runs {load_start:.2f}, after {os.getloadavg()[0]:.2f}",
        "",
    ]
    lines += [*stages, ""]
    if conformer:
        lines.append(
            "conformer stage alone (parse + ETKDG + MMFF, default budget): "
            + ", ".join(f"{w} thread(s) {v:.1f} mol/s" for w, v in conformer.items())
        )
        lines.append("")
    cols = ["kind", "input", "engine", "workers", "rows", "failed", "rows_per_s", "wall_s"]
    cols += ["peak_rss_mb"] + (["vs_conformer_stage"] if conformer else [])
    lines.append(df[cols].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    lines.append("")
    for kind in ("molecules", "glasses"):
        for engine in args.engines:
            sel = df[
                (df.kind == kind)
                & (df.engine == engine)
                & (df.rows == df[df.kind == kind].rows.max())
            ]
            by_w = dict(zip(sel.workers, sel.rows_per_s, strict=True))
            if len(by_w) >= 2:
                lo, hi = min(by_w), max(by_w)
                lines.append(
                    f"{kind} {engine}: {hi} workers / {lo} worker = {by_w[hi] / by_w[lo]:.2f}x"
                )
    g = df[df.kind == "glasses"]
    for engine in args.engines:
        e = g[(g.engine == engine) & (g.workers == max(args.workers))]
        if len(e) == 2:
            small, big = e.sort_values("rows").peak_rss_mb.tolist()
            lines.append(
                f"glasses {engine}: peak RSS {int(e.rows.max()):,} rows / "
                f"{int(e.rows.min()):,} rows = {big / small:.2f}x"
            )
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
