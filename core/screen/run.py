"""Streaming batch screening: the facade :func:`screen` and its local engine.

The local engine reads IN ``chunk_rows`` rows at a time, runs each chunk through the same
predictor the pages use and writes its rows to ``<OUT>.parts/part-NNNNN.parquet`` before the
next chunk starts (:mod:`core.screen.chunks` says how parts, resume and the final join work);
``engine="ray"`` hands the same contract to :mod:`core.screen.ray_engine`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from core.exceptions import InvalidInputError
from core.screen.chunks import (
    ENGINES,
    ScreenSummary,
    check_request,
    fingerprint,
    iter_chunks,
    join_parts,
    load_kind_predictor,
    predict_chunk,
    prepare_parts,
    write_part,
)


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
) -> ScreenSummary:
    """Predict every row of ``inp`` and write ``out``; see the module docstring.

    Args:
        engine: ``"local"`` (this process) or ``"ray"`` (Ray Data over a pool of predictor
            actors; :mod:`core.screen.ray_engine`).
        address: ``engine="ray"``: an existing Ray cluster (``"auto"``, ``"ray://host:10001"``);
            without it a local Ray is started on this machine's cores.
        workers: ``engine="ray"``: number of predictor actors (default: the cluster's CPUs,
            or its GPUs when it has them).
        predictor: a ready predictor for the local engine (tests use a scripted one).
        predictor_factory: a picklable zero-argument callable that builds the predictor
            (each Ray actor calls it once); default the shipped model of ``kind``.

    Raises:
        InvalidInputError: unknown kind, engine or file type, a missing input, no SMILES or
            composition columns, or ``resume`` against a different input.
    """
    inp, out = Path(inp), Path(out)
    check_request(kind, inp, out, chunk_rows)
    if engine not in ENGINES:
        raise InvalidInputError(f"unknown engine {engine!r}", expected=" or ".join(ENGINES))
    manifest = {
        **fingerprint(inp),
        "kind": kind,
        "chunk_rows": chunk_rows,
        "limit": limit,
        "column": column,
        "basis": basis,
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
        )
    parts = prepare_parts(out, manifest, resume)

    t_load = time.perf_counter()
    if predictor is None:
        predictor = predictor_factory() if predictor_factory else load_kind_predictor(kind)

    summary = ScreenSummary(output=str(out))
    t0 = time.perf_counter()
    summary.load_s = t0 - t_load
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
            result = pd.read_parquet(part, columns=["error", "in_domain"])
        else:
            result = predict_chunk(kind, predictor, chunk, column, basis)
            write_part(part, result)
        summary.add(result)
        if progress is not None:
            progress(len(result))
    join_parts(parts, out, summary.chunks)
    summary.wall_s = time.perf_counter() - t0
    return summary
