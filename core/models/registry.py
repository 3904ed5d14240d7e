"""List the trained models shipped in ``trained_models/`` from their ``card.json``.

A card is written by ``python -m core.train.<model>`` next to the weights. Only these keys are
read here, all optional: ``name`` (default: the folder name), ``version``, ``date`` and
``metrics`` (a mapping, possibly nested, e.g. ``{"test": {"homo_mae_eV": 0.041}}``).
Reading cards needs no torch, so the app's sidebar can list models without loading them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from core import config

CARD_FILE = "card.json"
MAX_METRICS_SHOWN = 4


def list_model_cards(models_dir: Path | None = None) -> list[dict[str, Any]]:
    """One summary per ``<models_dir>/*/card.json``, sorted by name.

    Args:
        models_dir: folder to scan; default :func:`core.config.models_dir`.

    Returns:
        Dicts with ``name``, ``version``, ``date`` (``None`` where the card has none),
        ``day`` (the date as a person reads it, ``"2 Dec 2026"``; ``None`` likewise),
        ``metrics`` (a short text such as ``"test.homo_mae_eV=0.041"``), ``path`` (the card)
        and ``error`` (``None``, or why the card could not be read: a broken card is listed,
        not hidden, so the user sees it). ``[]`` when the folder is missing or empty.
    """
    root = Path(models_dir) if models_dir is not None else config.models_dir()
    if not root.is_dir():
        return []
    cards = [_summarize(path) for path in sorted(root.glob(f"*/{CARD_FILE}"))]
    return sorted(cards, key=lambda card: str(card["name"]))


def _summarize(path: Path) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "name": path.parent.name,
        "version": None,
        "date": None,
        "day": None,
        "metrics": "",
        "path": str(path),
        "error": None,
    }
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        summary["error"] = f"unreadable {CARD_FILE}: {err}"
        return summary
    if not isinstance(card, Mapping):
        summary["error"] = f"{CARD_FILE} holds a {type(card).__name__}, expected an object"
        return summary
    from core.models.integrity import ModelFileError, verify

    try:
        verify(path.parent, card)  # the sidebar marks a model whose files are damaged
    except ModelFileError as err:
        summary["error"] = str(err)
    summary["name"] = str(card.get("name") or summary["name"])
    # the code version the weights came from: "git_commit" where a card keeps its own
    # schema "version" next to it (glass), else "version" (a git hash for the QM9 card)
    summary["version"] = _text_or_none(card.get("git_commit") or card.get("version"))
    summary["date"] = _text_or_none(card.get("date"))
    summary["day"] = display_day(summary["date"])
    metrics = card.get("metrics")
    if isinstance(card.get("summary"), str):  # a card's own one-line headline wins
        summary["metrics"] = card["summary"]
    elif isinstance(metrics, Mapping):
        summary["metrics"] = _metrics_summary(metrics)
    return summary


def display_day(iso: str | None) -> str | None:
    """``"2026-12-02T10:57:45+00:00"`` -> ``"2 Dec 2026"``; text that is not an ISO date is
    returned as it is, ``None`` stays ``None``."""
    if iso is None:
        return None
    try:
        when = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{when.day} {when:%b %Y}"


def cards_table(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the "Trained models" table: readable headers and dates, the headline
    metrics, and an ``error`` column only when some card could not be read."""
    rows = []
    for card in cards:
        row = {
            "model": card["name"],
            "trained": card["day"] or "",
            "code version": card["version"] or "",
            "test metrics": card["metrics"],
        }
        if any(c["error"] for c in cards):
            row["problem"] = card["error"] or ""
        rows.append(row)
    return rows


def _metrics_summary(metrics: Mapping[str, Any]) -> str:
    items = list(_flatten(metrics))
    shown = [f"{key}={_format_value(value)}" for key, value in items[:MAX_METRICS_SHOWN]]
    if len(items) > MAX_METRICS_SHOWN:
        shown.append(f"… (+{len(items) - MAX_METRICS_SHOWN} more)")
    return ", ".join(shown)


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, prefix=f"{name}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield name, value  # units and other text are not metrics


def _format_value(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return str(value)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
