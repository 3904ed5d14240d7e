"""Where a model or a data set came from: the code commit, the data version, the card."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import numpy as np

from core.config import REPO_ROOT


def git_version(repo: Path = REPO_ROOT) -> str:
    """Commit hash of the code that trained the model (with '+dirty' if code is uncommitted;
    changes under ``trained_models/``, such as the weights being evaluated, checkpoints of
    members still training under ``checkpoints/`` and benchmark outputs under
    ``benchmarks/results/`` do not count)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!trained_models",
                ":!checkpoints",
                ":!benchmarks/results",
            ],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        # a copy of the tree without git (an accelerator machine): the caller names the commit
        return os.environ.get("MDS_CODE_COMMIT", "unknown")


def data_provenance(info) -> dict:
    """Source, version, sha256 and split fingerprints of a cached dataset (for the card)."""
    manifest = json.loads(info.manifest_path.read_text())
    keys = (
        "dataset",
        "package",
        "version",
        "sha256",
        "licence",
        "data_version",
        "split_seed",
        "split_sizes",
        "split_fingerprints",
    )
    return {k: manifest[k] for k in keys if k in manifest}


def write_card(folder: Path, card: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    card = {**card, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    path = folder / "card.json"
    path.write_text(json.dumps(card, indent=2, default=_jsonable))
    return path


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray) or hasattr(x, "tolist"):  # numpy arrays, torch tensors
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x)}")
