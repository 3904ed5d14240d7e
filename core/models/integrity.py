"""Shipped model files, checked before use.

A card records the sha256 of every file of its model folder (``card["files"]``, written by
:func:`record_checksums`). :func:`checked_model` verifies them and turns whatever a damaged
folder raises while loading (a truncated safetensors file, a garbage or empty card, a
missing member file or index) into one :class:`ModelFileError` that names the folder, the
file, what is wrong and how to restore it. The error is a
:class:`~core.exceptions.ModelNotAvailableError`, so a page that cannot use one model says
why and the other capabilities keep working.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

from core.exceptions import ModelNotAvailableError, StudioError

CARD = "card.json"
_HASHES: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256
_LOCK = threading.Lock()


class ModelFileError(ModelNotAvailableError):
    """A shipped model file is damaged, missing or not the one its card names."""


def restore_hint(folder: Path) -> str:
    return (
        f"How to fix: restore the folder from the repository (git checkout -- "
        f"trained_models/{Path(folder).name}) or train the model again (README)."
    )


def sha256(path: Path) -> str:
    """The file's sha256, remembered per (path, size, modification time)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        known = _HASHES.get(key)
    if known is None:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        known = digest.hexdigest()
        with _LOCK:
            _HASHES[key] = known
    return known


def read_card(folder: Path) -> dict:
    """The folder's card as a mapping, or :class:`ModelFileError` saying why not."""
    path = Path(folder) / CARD
    if not path.is_file():
        raise ModelFileError(f"{path} is missing. " + restore_hint(folder))
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} cannot be read ({err}). " + restore_hint(folder)) from None
    if not isinstance(card, dict) or not card:
        raise ModelFileError(
            f"{path} holds {json.dumps(card)[:40]!r}, not a model card. " + restore_hint(folder)
        )
    return card


def verify(folder: Path, card: dict | None = None) -> None:
    """Every file the card lists exists and has the recorded sha256 (cards written before
    checksums were recorded list none: then nothing is compared)."""
    folder = Path(folder)
    card = card if card is not None else read_card(folder)
    files = card.get("files") or {}
    for name, expected in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            raise ModelFileError(f"{path} is missing. " + restore_hint(folder))
        if sha256(path) != expected:
            raise ModelFileError(
                f"{path} is not the file this model shipped with (sha256 differs: damaged "
                "or replaced). " + restore_hint(folder)
            )


@contextlib.contextmanager
def checked_model(folder: Path) -> Iterator[dict]:
    """Verify ``folder`` and yield its card; any error while loading inside the block (a
    bad file the card does not list, a key missing from a damaged card) becomes a
    :class:`ModelFileError` naming the folder."""
    folder = Path(folder)
    card = read_card(folder)
    verify(folder, card)
    try:
        yield card
    except StudioError:
        raise
    except Exception as err:  # noqa: BLE001 - every way a damaged file can fail to load
        raise ModelFileError(
            f"The model in {folder} cannot be loaded: {type(err).__name__}: {err}. "
            + restore_hint(folder)
        ) from err


def record_checksums(folder: Path) -> dict[str, str]:
    """Write ``card["files"]``: the sha256 of every file of the folder but the card (not
    of sub-folders or names starting with ``_`` or ``.``, such as members in training)."""
    folder = Path(folder)
    card = read_card(folder)
    card["files"] = {
        p.name: sha256(p)
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != CARD and not p.name.startswith(("_", "."))
    }
    text = (folder / CARD).read_text(encoding="utf-8")
    second = text.splitlines()[1] if text.count("\n") > 1 else ""
    indent = len(second) - len(second.lstrip(" ")) or 1  # keep the card's own layout
    (folder / CARD).write_text(json.dumps(card, indent=indent) + "\n", encoding="utf-8")
    return card["files"]


def forget_checksums(folder: Path) -> None:
    """Drop ``card["files"]`` before a step rewrites model files (a refit of the glass
    correction or calibration); the command records them again when it is done."""
    path = Path(folder) / CARD
    if not path.is_file():
        return
    card = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(card, dict) and card.pop("files", None) is not None:
        path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m core.models.integrity record|verify [FOLDER ...]`` (default: every
    model under trained_models/)."""
    import argparse
    import sys

    from core import config

    parser = argparse.ArgumentParser(prog="python -m core.models.integrity")
    parser.add_argument("command", choices=["record", "verify"])
    parser.add_argument("folders", nargs="*", type=Path)
    args = parser.parse_args(argv)
    folders = args.folders or sorted(p.parent for p in config.models_dir().glob(f"*/{CARD}"))
    status = 0
    for folder in folders:
        try:
            if args.command == "record":
                n = len(record_checksums(folder))
                sys.stdout.write(f"{folder.name}: {n} files recorded\n")
            else:
                verify(folder)
                sys.stdout.write(f"{folder.name}: ok\n")
        except ModelFileError as err:
            sys.stdout.write(f"{folder.name}: {err}\n")
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
