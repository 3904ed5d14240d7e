"""The local parquet cache: one folder per dataset with ``data.parquet`` + ``manifest.json``.

The manifest records where the data came from (package, version, sha256, licence), the
conversion version, the split seed, the split sizes and a fingerprint of each split's
keys, so a report or a model card can say exactly which data it used.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from core import config
from core.data._source import PinnedWheel
from core.data._split import SPLITS, fingerprint
from core.exceptions import DataNotAvailableError, InvalidInputError


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, where it comes from and how it is stored."""

    name: str
    title: str
    source: PinnedWheel
    citation: str
    units: dict[str, str]
    split_seed: int
    description: str = ""
    # Bump when the conversion changes so that stale caches are rebuilt.
    data_version: int = 1
    splits: tuple[str, ...] = SPLITS
    key_column: str = "key"
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return config.cache_dir() / self.name

    @property
    def parquet(self) -> Path:
        return self.folder / "data.parquet"

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"


def read_manifest(info: DatasetInfo) -> dict | None:
    try:
        return json.loads(info.manifest_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def is_prepared(info: DatasetInfo) -> bool:
    manifest = read_manifest(info)
    return (
        manifest is not None
        and manifest.get("data_version") == info.data_version
        and info.parquet.exists()
    )


def write(info: DatasetInfo, df: pd.DataFrame, **extra) -> Path:
    """Write the converted table (with a ``split`` column) and its manifest atomically."""
    info.folder.mkdir(parents=True, exist_ok=True)
    tmp = info.parquet.with_suffix(f".{os.getpid()}.tmp")  # never another process's file
    df.to_parquet(tmp, index=False, compression="zstd")
    tmp.replace(info.parquet)
    split_sizes = df["split"].value_counts().reindex(info.splits, fill_value=0)
    keys = df[info.key_column].astype(str)
    manifest = {
        "dataset": info.name,
        "title": info.title,
        "package": info.source.package,
        "version": info.source.version,
        "sha256": info.source.sha256,
        "licence": info.source.licence,
        "citation": info.citation,
        "data_version": info.data_version,
        "split_seed": info.split_seed,
        "rows": int(len(df)),
        "split_sizes": {k: int(v) for k, v in split_sizes.items()},
        "split_fingerprints": {
            s: fingerprint(keys[df["split"] == s].unique()) for s in info.splits
        },
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }
    tmp_manifest = info.manifest_path.with_suffix(f".{os.getpid()}.tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2))
    tmp_manifest.replace(info.manifest_path)
    return info.parquet


def read(info: DatasetInfo, split: str | None = None, columns: list[str] | None = None):
    """Read the cached table, optionally one split; raise a clear error if not prepared."""
    if split is not None and split not in info.splits:
        raise InvalidInputError(
            f"Unknown split for {info.name}",
            got=repr(split),
            expected=" | ".join(repr(s) for s in info.splits),
        )
    if not is_prepared(info):
        raise DataNotAvailableError(
            f"The {info.title} dataset is not in the local cache ({info.folder}). "
            f"Run `python -m core.data prepare {info.name}` (or `make data`) first."
        )
    filters = [("split", "==", split)] if split is not None else None
    table = pq.read_table(info.parquet, columns=columns, filters=filters)
    return table.to_pandas().reset_index(drop=True)


def remove_raw(info: DatasetInfo) -> None:
    """Delete the files extracted for conversion (``<folder>/raw``): only parquet is kept."""
    raw = info.folder / "raw"
    if raw.is_dir():
        for path in raw.iterdir():
            path.unlink()
        raw.rmdir()
