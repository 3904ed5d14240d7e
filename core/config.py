"""Paths and settings, each overridable by an environment variable.

- ``MDS_CACHE_DIR``: extracted datasets (parquet); default ``~/.cache/materials-design-studio``
- ``MDS_MODELS_DIR``: committed weights + model cards; default ``<repo>/trained_models``
- ``MDS_DATABASE_URL``: campaign store, any SQLAlchemy URL; default a SQLite file in the cache
- ``MDS_WORKERS``: processes for CPU-bound batch work (conformer embedding); default the
  CPUs this process may use
- ``MDS_JOB_WORKERS`` / ``MDS_JOB_THREADS`` / ``MDS_REQUEST_THREADS``: background jobs at
  once, torch threads of each, torch threads of one page run; see :mod:`core.jobs`
- ``MDS_DEVICE``: ``auto`` (cuda > mps > cpu), ``cpu``, ``cuda[:N]``, ``mps``; see
  :mod:`core.device`
- ``MDS_TORCH_COMPILE``: ``1`` (default) compiles the glass-structure denoiser with
  ``torch.compile`` when a C compiler is found; ``0`` runs it eagerly

Values are read at call time, never at import time, so tests and scripts can change them.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Root of the local data cache (created on first use; never inside git)."""
    default = Path.home() / ".cache" / "materials-design-studio"
    path = Path(os.environ.get("MDS_CACHE_DIR", default)).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Folder of trained models, one sub-folder per model with weights and card.json."""
    return Path(os.environ.get("MDS_MODELS_DIR", REPO_ROOT / "trained_models")).expanduser()


def reference_data_dir() -> Path:
    """Committed reference data the project computed itself (e.g. melt-quench MD), one
    sub-folder per set; data, not models, so they stay out of ``trained_models/``."""
    return Path(os.environ.get("MDS_REFERENCE_DIR", REPO_ROOT / "reference_data")).expanduser()


def database_url() -> str:
    """SQLAlchemy URL of the campaign store; a SQLite file in the cache by default."""
    url = os.environ.get("MDS_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{cache_dir() / 'studio.sqlite'}"


def torch_compile_enabled() -> bool:
    """Whether models that benefit from it run through ``torch.compile``: on unless
    ``MDS_TORCH_COMPILE`` is ``0``/``false``/``no``/``off``, and only where inductor can
    build its kernels (a C compiler on the PATH for the CPU)."""
    import shutil

    value = os.environ.get("MDS_TORCH_COMPILE", "1").strip().lower()
    if value in {"0", "false", "no", "off"}:
        return False
    return any(shutil.which(cc) for cc in ("cc", "gcc", "clang"))


def cpu_count() -> int:
    """Worker processes for CPU-bound batch work: ``MDS_WORKERS`` or the usable CPUs."""
    value = os.environ.get("MDS_WORKERS", "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise ValueError(f"MDS_WORKERS must be a whole number, got {value!r}") from None
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


# Upload limits, in one place: each reader in core checks them before parsing anything
# (Streamlit's own ceiling, server.maxUploadSize, is 50 MB).
MB = 2**20
UPLOAD_LIMITS_BYTES = {
    "molecule_batch": 20 * MB,  # CSV of SMILES or SDF, up to 10,000 molecules
    "structure_file": 20 * MB,  # one .sdf/.mol/.xyz on the 3D-file tab
    "glass_batch": 10 * MB,  # CSV of compositions
    "campaign_table": 10 * MB,  # CSV of measured recipes
}
GLASS_BATCH_MAX_ROWS = 10_000


def check_upload_size(data: bytes | str, kind: str, filename: str = "the file") -> None:
    """Raise :class:`InvalidInputError` when ``data`` exceeds the limit for ``kind``."""
    from core.exceptions import InvalidInputError

    limit = UPLOAD_LIMITS_BYTES[kind]
    size = len(data.encode() if isinstance(data, str) else data)
    if size > limit:
        raise InvalidInputError(
            f"{filename!r} is {size / MB:.1f} MB",
            expected=f"at most {limit / MB:.0f} MB",
            fix="split the file, or use the screening command line for large batches "
            "(python -m core.screen)",
        )
