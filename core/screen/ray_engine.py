"""The Ray engine of :func:`core.screen.screen`: Ray Data reads the input, ``map_batches``
runs a pool of predictor actors (each loads its model once, on a GPU when the cluster has
them), and the driver writes the results in input order into the same
``<OUT>.parts/part-NNNNN.parquet`` chunks as the local engine before joining them into OUT.
Both engines call :func:`core.screen.chunks.predict_chunk`, so they give the same rows.

Without an address a local Ray is started on this machine's cores; with one (``"auto"``,
``"ray://head:10001"``) the job runs on that cluster, whose nodes need this repository and its
environment (the same checkout path, or a ``working_dir`` runtime environment).

``resume``: parts already written are kept and not rewritten; Ray Data has no row offset to
start reading from, so their rows are read and predicted again (the local engine skips them
without predicting).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from core import config
from core.exceptions import InvalidInputError
from core.screen.chunks import (
    ScreenSummary,
    join_parts,
    load_kind_predictor,
    predict_chunk,
    prepare_parts,
    write_part,
)


def _retype_like_pandas(batch: pd.DataFrame) -> pd.DataFrame:
    """Glass CSV columns arrive as text; give them the types ``pandas.read_csv`` infers
    (numbers where every value is one, NaN for empty cells), as the local engine reads them."""
    out = {}
    for c in batch.columns:
        col = batch[c].astype(object).where(batch[c].notna(), None)
        try:
            num = pd.to_numeric(col)
        except (ValueError, TypeError):
            out[c] = col.where(col.notna(), float("nan"))
        else:
            out[c] = num
    return pd.DataFrame(out, index=batch.index)


class PredictorActor:
    """One model per actor, loaded once; called on each batch of rows."""

    def __init__(self, kind: str, column, basis: str, factory, retype: bool, budget=None) -> None:
        import torch

        torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
        self.kind, self.column, self.basis, self.retype = kind, column, basis, retype
        self.budget = budget
        self.predictor = factory() if factory is not None else load_kind_predictor(kind)

    def __call__(self, table) -> pd.DataFrame:
        # Arrow in, converted as the local engine converts its parquet batches (pandas'
        # default dtypes, not Ray's Arrow-backed ones)
        chunk = table.to_pandas()
        chunk = _retype_like_pandas(chunk) if self.retype else chunk
        return predict_chunk(self.kind, self.predictor, chunk, self.column, self.basis, self.budget)


def _bound_actor(kind: str, column, basis: str, factory, retype: bool, budget=None) -> type:
    """A PredictorActor subclass with its arguments bound: it travels pickled by value, so
    no constructor arguments wait in Ray's object store for an actor restart."""

    class BoundPredictorActor(PredictorActor):
        def __init__(self) -> None:
            super().__init__(kind, column, basis, factory, retype, budget)

    return BoundPredictorActor


def _connect(address: str | None, workers: int | None):
    import ray

    env = {
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(config.REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
        "OMP_NUM_THREADS": "1",
        "MDS_WORKERS": "1",  # one actor = one worker: no conformer pool inside an actor
    }
    for key in ("MDS_DEVICE", "MDS_CACHE_DIR", "MDS_MODELS_DIR"):
        if key in os.environ:
            env[key] = os.environ[key]
    if not ray.is_initialized():
        kwargs = dict(
            runtime_env={"env_vars": env},
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
            configure_logging=True,
        )
        if address:
            ray.init(address=address, **kwargs)
        else:
            n = workers or os.cpu_count() or 1
            # one logical CPU beyond the actors' for Ray Data's read tasks
            ray.init(num_cpus=n + 1, **kwargs)
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if workers is None:
        workers = gpus or max(1, int(resources.get("CPU", 2)) - 1)
    return ray, workers, gpus


def _read(ray, kind: str, inp: Path, limit: int | None):
    suffix = inp.suffix.lower()
    if suffix == ".sdf":
        raise InvalidInputError(
            "the Ray engine reads CSV or parquet, not SDF",
            got=str(inp),
            fix="run this SDF with the local engine, or convert it to a CSV of SMILES",
        )
    if suffix == ".parquet":
        ds = ray.data.read_parquet(str(inp))
        retype = False
    else:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        header = pd.read_csv(inp, nrows=0).columns
        # every column as text: SMILES and ids as written (no "NA" -> null for molecules);
        # glass amounts get pandas' types in the actor
        ds = ray.data.read_csv(
            str(inp),
            convert_options=pacsv.ConvertOptions(
                column_types={str(c): pa.string() for c in header},
                strings_can_be_null=kind != "molecules",
                quoted_strings_can_be_null=kind != "molecules",
            ),
        )
        retype = kind != "molecules"
    if limit is not None:
        ds = ds.limit(limit)
    return ds, retype


def screen_ray(
    kind: str,
    inp: Path,
    out: Path,
    manifest: dict,
    *,
    column: str | None,
    basis: str,
    chunk_rows: int,
    resume: bool,
    limit: int | None,
    predictor_factory: Callable[[], object] | None,
    address: str | None,
    workers: int | None,
    progress: Callable[[int], None] | None,
    budget=None,
) -> ScreenSummary:
    parts = prepare_parts(out, {**manifest, "engine": "ray"}, resume)
    t_load = time.perf_counter()
    ray, workers, gpus = _connect(address, workers)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False  # the CLI shows one tqdm bar for the whole run
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    ds, retype = _read(ray, kind, inp, limit)
    ds = ds.map_batches(
        _bound_actor(kind, column, basis, predictor_factory, retype, budget),
        batch_size=chunk_rows,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_gpus=1 if gpus else 0,
        num_cpus=0 if gpus else 1,
    )
    summary = ScreenSummary(output=str(out), engine="ray", workers=workers)
    t0 = time.perf_counter()
    summary.load_s = t0 - t_load
    batches = ds.iter_batches(batch_size=chunk_rows, batch_format="pyarrow")
    for i, table in enumerate(batches):
        # numpy-backed columns, as the local engine writes them (not Ray's Arrow dtypes)
        batch = table.to_pandas()
        part = parts / f"part-{i:05d}.parquet"
        summary.chunks += 1
        if resume and part.is_file():
            summary.chunks_resumed += 1
        else:
            write_part(part, batch.reset_index(drop=True))
        summary.add(batch)
        if progress is not None:
            progress(len(batch))
    join_parts(parts, out, summary.chunks)
    summary.wall_s = time.perf_counter() - t0
    return summary
