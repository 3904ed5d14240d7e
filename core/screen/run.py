"""Streaming batch screening: the facade :func:`screen` and its local engine.

The local engine reads IN ``chunk_rows`` rows at a time, runs each chunk through the same
predictor the pages use and writes its rows to ``<OUT>.parts/part-NNNNN.parquet``
(:mod:`core.screen.chunks` says how parts, resume and the final join work). With one worker
the chunks run in this process; with more, in that many worker processes (each loads the
model once and runs on one thread; at most two chunks per worker wait in memory), and the
parts are counted in input order, so the output is the same whatever the number of workers.
``engine="ray"`` hands the same contract to :mod:`core.screen.ray_engine`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from core import config
from core.chem.molecules import EmbedBudget
from core.exceptions import InvalidInputError
from core.processes import hide_borrowed_main
from core.screen.chunks import (
    ENGINES,
    ScreenSummary,
    check_request,
    count_rows,
    fingerprint,
    iter_chunks,
    join_parts,
    load_kind_predictor,
    predict_chunk,
    prepare_parts,
    write_part,
)

_WORKER: dict = {}  # the predictor of a local worker process
DEFAULT_BUDGET = EmbedBudget()


def _start_worker(kind: str, factory) -> None:
    os.environ["MDS_WORKERS"] = "1"  # one worker = one core: no conformer threads inside
    import torch

    torch.set_num_threads(1)
    _WORKER["predictor"] = factory() if factory is not None else load_kind_predictor(kind)


def _ready() -> int:
    time.sleep(0.05)  # long enough that the other workers take their share
    return os.getpid()


def _work(kind: str, chunk: pd.DataFrame, column, basis: str, budget, part: Path):
    result = predict_chunk(kind, _WORKER["predictor"], chunk, column, basis, budget)
    write_part(part, result)
    return result[["error", "in_domain"]]


def screen(
    kind: str,
    inp: str | Path,
    out: str | Path,
    *,
    column: str | None = None,
    basis: str = "mol",
    chunk_rows: int = 2048,
    resume: bool = False,
    limit: int | None = None,
    predictor=None,
    progress: Callable[[int], None] | None = None,
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
    predictor_factory: Callable[[], object] | None = None,
    embed_budget: EmbedBudget | None = DEFAULT_BUDGET,
) -> ScreenSummary:
    """Predict every row of ``inp`` and write ``out``; see the module docstring.

    Args:
        engine: ``"local"`` (this machine's processes) or ``"ray"`` (Ray Data over a pool of
            predictor actors; :mod:`core.screen.ray_engine`).
        address: ``engine="ray"``: an existing Ray cluster (``"auto"``, ``"ray://host:10001"``);
            without it a local Ray is started on this machine's cores.
        workers: local: worker processes (default the usable CPUs, ``MDS_WORKERS``; never
            more than the input has chunks; 1 runs in this process); Ray: predictor actors
            (default the cluster's GPUs, else its CPUs).
        predictor: a ready predictor, used in this process (tests use a scripted one;
            only with one local worker).
        predictor_factory: a picklable zero-argument callable that builds the predictor
            (each worker process or Ray actor calls it once); default the shipped model.
        embed_budget: molecules: cap each conformer's generation (the ``conformer`` column
            marks the molecules it cut); ``None`` runs the pages' full recipe.

    Raises:
        InvalidInputError: unknown kind, engine or file type, a missing input, no SMILES or
            composition columns, bad workers, or ``resume`` against a different input or
            settings.
    """
    inp, out = Path(inp), Path(out)
    check_request(kind, inp, out, chunk_rows)
    if engine not in ENGINES:
        raise InvalidInputError(f"unknown engine {engine!r}", expected=" or ".join(ENGINES))
    if workers is not None and (
        not isinstance(workers, int) or isinstance(workers, bool) or workers < 1
    ):
        raise InvalidInputError("workers must be a positive whole number", got=workers)
    budget = embed_budget if kind == "molecules" else None
    manifest = {
        **fingerprint(inp),
        "kind": kind,
        "chunk_rows": chunk_rows,
        "limit": limit,
        "column": column,
        "basis": basis,
        "embed_budget": asdict(budget) if budget is not None else None,
    }
    if engine == "ray":
        from core.screen.ray_engine import screen_ray

        return screen_ray(
            kind,
            inp,
            out,
            manifest,
            column=column,
            basis=basis,
            chunk_rows=chunk_rows,
            resume=resume,
            limit=limit,
            predictor_factory=predictor_factory,
            address=address,
            workers=workers,
            progress=progress,
            budget=budget,
        )
    if predictor is not None and workers not in (None, 1):
        raise InvalidInputError(
            "a ready predictor runs in this process only",
            got=f"workers={workers}",
            fix="pass predictor_factory for worker processes, or workers=1",
        )
    workers = 1 if predictor is not None else (workers or config.cpu_count())
    rows = count_rows(inp)
    if rows is not None:  # no more workers (each loading a model) than chunks
        rows = rows if limit is None else min(rows, limit)
        workers = max(1, min(workers, -(-rows // chunk_rows)))
    parts = prepare_parts(out, manifest, resume)
    summary = ScreenSummary(output=str(out), workers=workers)
    t_load = time.perf_counter()
    if workers == 1:
        if predictor is None:
            predictor = predictor_factory() if predictor_factory else load_kind_predictor(kind)
        pool = None
    else:
        pool = ProcessPoolExecutor(
            workers,
            mp_context=mp.get_context("spawn"),  # no torch or RDKit state forked mid-flight
            initializer=_start_worker,
            initargs=(kind, predictor_factory),
        )
        try:  # every worker up with its model before the clock starts
            started: set[int] = set()
            with hide_borrowed_main():
                while len(started) < workers:
                    started |= {
                        job.result() for job in [pool.submit(_ready) for _ in range(workers)]
                    }
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    t0 = time.perf_counter()
    summary.load_s = t0 - t_load
    pending: deque[tuple[Future | pd.DataFrame, int]] = deque()

    def finish_oldest() -> None:
        job, rows = pending.popleft()
        result = job.result() if isinstance(job, Future) else job
        summary.add(result)
        if progress is not None:
            progress(rows)

    try:
        seen = 0
        for i, chunk in enumerate(iter_chunks(inp, chunk_rows, kind)):
            if limit is not None:
                if seen >= limit:
                    break
                chunk = chunk.iloc[: limit - seen]
            seen += len(chunk)
            part = parts / f"part-{i:05d}.parquet"
            summary.chunks += 1
            if resume and part.is_file():
                summary.chunks_resumed += 1
                pending.append((pd.read_parquet(part, columns=["error", "in_domain"]), len(chunk)))
            elif pool is None:
                result = predict_chunk(kind, predictor, chunk, column, basis, budget)
                write_part(part, result)
                pending.append((result, len(chunk)))
            else:
                job = pool.submit(_work, kind, chunk, column, basis, budget, part)
                pending.append((job, len(chunk)))
            while pending and (not isinstance(pending[0][0], Future) or len(pending) > 2 * workers):
                finish_oldest()
        while pending:
            finish_oldest()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    join_parts(parts, out, summary.chunks)
    summary.wall_s = time.perf_counter() - t0
    return summary
