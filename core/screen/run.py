"""Streaming batch screening with resumable chunks (local engine).

IN is CSV, parquet or SDF; it is read ``chunk_rows`` rows at a time, each chunk goes through
the same predictor the pages use, and its rows are written to ``<OUT>.parts/part-NNNNN.parquet``
before the next chunk starts. A manifest in that folder records the input's size and
modification time and the chunk size; ``resume=True`` skips the chunks whose part file is
already there (a part is written to a temporary name and renamed, so a killed run leaves no
half part), and refuses to resume against a different input or chunk size. When every chunk
is done the parts are joined into OUT (parquet or CSV) one at a time, so memory stays that of
one chunk whatever the number of rows.

Bad rows never stop a run: each row has an ``error`` column ("" when fine) and the summary
counts failures by reason.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.exceptions import InvalidInputError

KINDS = ("molecules", "glasses")
IN_FORMATS = (".csv", ".parquet", ".sdf")
OUT_FORMATS = (".csv", ".parquet")
MANIFEST = "manifest.json"


@dataclass
class ScreenSummary:
    rows: int = 0
    failed: Counter = field(default_factory=Counter)
    out_of_domain: int = 0
    chunks: int = 0
    chunks_resumed: int = 0
    load_s: float = 0.0
    wall_s: float = 0.0
    output: str = ""

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s if self.wall_s else float("nan")

    def text(self) -> str:
        lines = [
            f"{self.rows:,} rows in {self.chunks} chunks ({self.chunks_resumed} resumed) "
            f"-> {self.output}",
            f"model load {self.load_s:.1f} s; screening {self.wall_s:.1f} s, "
            f"{self.rows_per_s:.1f} rows/s (this run, resumed chunks included)",
            f"outside the training domain: {self.out_of_domain:,} "
            f"({self.out_of_domain / max(1, self.rows):.1%})",
            f"failed rows: {sum(self.failed.values()):,}",
        ]
        lines += [f"  {n:>8,}  {reason}" for reason, n in self.failed.most_common(10)]
        return "\n".join(lines)


def _reason(error: str) -> str:
    """The first clause of an error message: what failed, without the row's own values."""
    head = error.split(":")[0].split(" (")[0]
    return re.sub(r"'[^']*'|\"[^\"]*\"", "…", head).strip()[:120]


def iter_chunks(path: Path, chunk_rows: int, kind: str) -> Iterator[pd.DataFrame]:
    """The input in chunks of ``chunk_rows`` rows; for SDF a ``name`` and a ``molecule``
    column (RDKit molecules, or the InvalidInputError of an unreadable record)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from pd.read_csv(
            path,
            chunksize=chunk_rows,
            dtype=str if kind == "molecules" else None,
            keep_default_na=kind != "molecules",
        )
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
    elif suffix == ".sdf":
        if kind != "molecules":
            raise InvalidInputError("an SDF holds molecules, not glasses", got=str(path))
        from rdkit import Chem, rdBase

        names, mols = [], []
        with open(path, "rb") as fh, rdBase.BlockLogs():
            for i, mol in enumerate(Chem.ForwardSDMolSupplier(fh, removeHs=False)):
                if mol is None:
                    names.append("")
                    mols.append(InvalidInputError(f"SDF record {i + 1} could not be read"))
                else:
                    names.append(mol.GetProp("_Name") if mol.HasProp("_Name") else "")
                    mols.append(mol)
                if len(mols) == chunk_rows:
                    yield pd.DataFrame({"name": names, "molecule": mols})
                    names, mols = [], []
        if mols:
            yield pd.DataFrame({"name": names, "molecule": mols})
    else:
        raise InvalidInputError(
            f"unsupported input file type {suffix or '(none)'!r}",
            got=str(path),
            expected=", ".join(IN_FORMATS),
        )


def _smiles_column(chunk: pd.DataFrame, column: str | None) -> str:
    if column is not None:
        if column not in chunk.columns:
            raise InvalidInputError(
                f"no column {column!r} in the input",
                got=f"columns {list(map(str, chunk.columns))[:12]}",
                fix="name the SMILES column with --column",
            )
        return column
    for c in chunk.columns:
        if str(c).strip().lower() in ("smiles", "smi", "canonical_smiles"):
            return c
    raise InvalidInputError(
        "cannot find a SMILES column",
        got=f"columns {list(map(str, chunk.columns))[:12]}",
        fix="name it with --column",
    )


def _predict_molecules(predictor, chunk: pd.DataFrame, column: str | None) -> pd.DataFrame:
    if "molecule" in chunk.columns and len(chunk.columns) == 2:  # from an SDF
        pred = predictor.predict_structures(list(chunk["molecule"]))
        keep = chunk[["name"]]
    else:
        col = _smiles_column(chunk, column)
        smiles = ["" if pd.isna(s) else str(s) for s in chunk[col]]
        pred = predictor.predict(smiles)
        keep = chunk
    pred = pred.drop(columns=[c for c in ("input",) if c in pred.columns])
    pred = pred.rename(columns={"smiles": "canonical_smiles"})
    return pd.concat([keep.reset_index(drop=True), pred.reset_index(drop=True)], axis=1)


def _fingerprint(path: Path) -> dict:
    stat = path.stat()
    return {"input": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


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
) -> ScreenSummary:
    """Predict every row of ``inp`` and write ``out``; see the module docstring.

    Raises:
        InvalidInputError: unknown kind or file type, a missing input, no SMILES or
            composition columns, or ``resume`` against a different input.
    """
    if kind not in KINDS:
        raise InvalidInputError(f"unknown screen {kind!r}", expected=" or ".join(KINDS))
    inp, out = Path(inp), Path(out)
    if not inp.is_file():
        raise InvalidInputError("the input file does not exist", got=str(inp))
    if out.suffix.lower() not in OUT_FORMATS:
        raise InvalidInputError(
            "unsupported output file type", got=out.name, expected=", ".join(OUT_FORMATS)
        )
    if not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InvalidInputError("chunk_rows must be a positive whole number", got=chunk_rows)
    parts = out.with_name(out.name + ".parts")
    manifest = {
        **_fingerprint(inp),
        "kind": kind,
        "chunk_rows": chunk_rows,
        "limit": limit,
        "column": column,
        "basis": basis,
    }
    if parts.exists() and (parts / MANIFEST).is_file():
        old = json.loads((parts / MANIFEST).read_text())
        if not resume:
            for p in parts.glob("part-*.parquet"):
                p.unlink()
        elif old != manifest:
            raise InvalidInputError(
                "cannot resume: the input or the settings changed since the interrupted run",
                got={k: manifest[k] for k in manifest if old.get(k) != manifest[k]},
                fix="run without --resume to start again",
            )
    parts.mkdir(parents=True, exist_ok=True)
    (parts / MANIFEST).write_text(json.dumps(manifest, indent=1))

    t_load = time.perf_counter()
    if predictor is None:
        if kind == "molecules":
            from core.models.molecules import load_predictor
        else:
            from core.models.glass import load_predictor
        predictor = load_predictor()

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
            if kind == "molecules":
                result = _predict_molecules(predictor, chunk, column)
            else:
                result = predictor.predict_table(chunk, basis)
            # integers as floats: a later chunk's column may hold fractions, and all parts
            # must share one schema
            ints = result.select_dtypes("integer").columns
            result = result.astype({c: "float64" for c in ints})
            tmp = part.with_suffix(".tmp")
            result.to_parquet(tmp, index=False)
            tmp.rename(part)
        errors = result["error"].fillna("").astype(str)
        summary.rows += len(result)
        summary.failed.update(_reason(e) for e in errors if e)
        summary.out_of_domain += int(((result["in_domain"] == False) & (errors == "")).sum())  # noqa: E712
        if progress is not None:
            progress(len(result))
    _join(parts, out, summary.chunks)
    summary.wall_s = time.perf_counter() - t0
    return summary


def _join(parts: Path, out: Path, chunks: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = out.with_name(out.name + ".tmp")
    files = [parts / f"part-{i:05d}.parquet" for i in range(chunks)]
    if out.suffix.lower() == ".parquet":
        writer = None
        schema = None
        for f in files:
            table = pq.read_table(f)
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(tmp, schema)
            writer.write_table(table.cast(schema) if table.schema != schema else table)
        if writer is None:
            pq.write_table(pa.table({}), tmp)
        else:
            writer.close()
    else:
        with open(tmp, "w", newline="") as fh:
            for k, f in enumerate(files):
                pd.read_parquet(f).to_csv(fh, index=False, header=k == 0)
    tmp.replace(out)
