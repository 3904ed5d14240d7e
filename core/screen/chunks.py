"""What both screening engines share: chunked reading, prediction, resumable parts.

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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.exceptions import InvalidInputError

KINDS = ("molecules", "glasses")
ENGINES = ("local", "ray")
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
    engine: str = "local"
    workers: int = 1

    def add(self, result: pd.DataFrame) -> None:
        """Count one finished chunk's rows, failures and out-of-domain rows."""
        errors = result["error"].fillna("").astype(str)
        self.rows += len(result)
        self.failed.update(failure_reason(e) for e in errors if e)
        self.out_of_domain += int(((result["in_domain"] == False) & (errors == "")).sum())  # noqa: E712

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s if self.wall_s else float("nan")

    def text(self) -> str:
        lines = [
            f"{self.rows:,} rows in {self.chunks} chunks ({self.chunks_resumed} resumed) "
            f"-> {self.output}",
            f"engine {self.engine} ({self.workers} worker{'s' * (self.workers != 1)}); "
            f"model load {self.load_s:.1f} s; screening {self.wall_s:.1f} s, "
            f"{self.rows_per_s:.1f} rows/s (this run, resumed chunks included)",
            f"outside the training domain: {self.out_of_domain:,} "
            f"({self.out_of_domain / max(1, self.rows):.1%})",
            f"failed rows: {sum(self.failed.values()):,}",
        ]
        lines += [f"  {n:>8,}  {reason}" for reason, n in self.failed.most_common(10)]
        return "\n".join(lines)


def failure_reason(error: str) -> str:
    """The first clause of an error message: what failed, without the row's own values."""
    head = error.split(". Got")[0].split(":")[0].split(" (")[0]
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


def count_rows(path: Path) -> int | None:
    """Rows in the input, for the progress bar's ETA: parquet's metadata, the records of an
    SDF, the lines of a CSV after its header (a quoted field with a line break counts
    twice: an estimate). None when the file cannot be read that way."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        marker = b"$$$$" if suffix == ".sdf" else b"\n"
        count, last = 0, b""
        with open(path, "rb") as fh:
            while block := fh.read(1 << 24):
                count += block.count(marker)
                last = block[-1:]
        if suffix == ".sdf":
            return count
        return max(0, count - 1 + (last not in (b"\n", b"")))
    except (OSError, ValueError):  # a damaged parquet footer: the run will say what is wrong
        return None


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


def _predict_molecules(
    predictor, chunk: pd.DataFrame, column: str | None, budget=None
) -> pd.DataFrame:
    if "molecule" in chunk.columns and len(chunk.columns) == 2:  # from an SDF
        pred = predictor.predict_structures(list(chunk["molecule"]))
        keep = chunk[["name"]]
    else:
        col = _smiles_column(chunk, column)
        smiles = ["" if pd.isna(s) else str(s) for s in chunk[col]]
        pred = (
            predictor.predict(smiles)
            if budget is None
            else predictor.predict(smiles, budget=budget)
        )
        keep = chunk
    pred = pred.drop(columns=[c for c in ("input",) if c in pred.columns])
    pred = pred.rename(columns={"smiles": "canonical_smiles"})
    return pd.concat([keep.reset_index(drop=True), pred.reset_index(drop=True)], axis=1)


def fingerprint(path: Path) -> dict:
    stat = path.stat()
    return {"input": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def predict_chunk(
    kind: str, predictor, chunk: pd.DataFrame, column: str | None, basis: str, budget=None
) -> pd.DataFrame:
    """One chunk's output rows (the input's columns, then the predictions); the same
    function runs in the local loop, its worker processes and every Ray actor, so the
    engines agree. ``budget``: molecules' :class:`core.chem.molecules.EmbedBudget`."""
    if kind == "molecules":
        result = _predict_molecules(predictor, chunk, column, budget)
    else:
        result = predictor.predict_table(chunk, basis)
    # integers as floats: a later chunk's column may hold fractions, and all parts must
    # share one schema
    ints = result.select_dtypes("integer").columns
    return result.astype({c: "float64" for c in ints})


def write_part(part: Path, result: pd.DataFrame) -> None:
    """Write a part under a temporary name and rename it: a killed run leaves none half."""
    tmp = part.with_suffix(".tmp")
    result.to_parquet(tmp, index=False)
    tmp.rename(part)


def prepare_parts(out: Path, manifest: dict, resume: bool) -> Path:
    """The ``<OUT>.parts`` folder for this run: finished parts are kept for ``resume`` with
    the same manifest, removed otherwise; a resume with other settings is refused."""
    parts = out.with_name(out.name + ".parts")
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
    return parts


def check_request(kind: str, inp: Path, out: Path, chunk_rows) -> None:
    if kind not in KINDS:
        raise InvalidInputError(f"unknown screen {kind!r}", expected=" or ".join(KINDS))
    if not inp.is_file():
        raise InvalidInputError("the input file does not exist", got=str(inp))
    if inp.suffix.lower() not in IN_FORMATS:
        raise InvalidInputError(
            f"unsupported input file type {inp.suffix or '(none)'!r}",
            got=str(inp),
            expected=", ".join(IN_FORMATS),
        )
    if out.suffix.lower() not in OUT_FORMATS:
        raise InvalidInputError(
            "unsupported output file type", got=out.name, expected=", ".join(OUT_FORMATS)
        )
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows < 1:
        raise InvalidInputError("chunk_rows must be a positive whole number", got=chunk_rows)


def load_kind_predictor(kind: str):
    if kind == "molecules":
        from core.models.molecules import load_predictor
    else:
        from core.models.glass import load_predictor
    return load_predictor()


def join_parts(parts: Path, out: Path, chunks: int) -> None:
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
