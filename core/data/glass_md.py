"""Our own melt-quench MD glasses (SHIK, LAMMPS): the reference data of the glass generator.

Unlike the other datasets these are computed here, by ``python -m core.md generate`` (see
:mod:`core.md.generate` and the README), into ``<cache>/glass_md/``; a compact copy of the
finished runs is committed in ``reference_data/glass_md/`` and restored from there.

- :func:`load_runs` -> one row per finished run: composition, ``n_atoms``, density (g/cm³),
  cooling rate (K/s), melt seed and branch, energies per atom (eV) at 300 K and after
  minimisation, CPU/wall seconds, potential and table hash, code commit, and ``split``.
- :func:`load_structures` -> ase.Atoms (minimised or 300 K) with the run's metadata in
  ``atoms.info``.

**Held-out test set.** Fixed per *condition* (composition, atom count, density, cooling
rate), so the generator benchmark can compare against unseen MD at every condition: of the
first ``TEST_CANDIDATES`` (4) runs the ``default`` plan lists for a condition, in plan order,
the ``TEST_PER_CONDITION`` (2; 1 where the plan has at most 3 runs for it) with the smallest
seeded hash (BLAKE2b of ``"glass_md-test-1:" + run_id``) are ``test``, all others ``train``.
It depends only on the plan's run ids, not on which runs have finished or in which order,
so the test set never moves while data accrue (a planned test run that has not finished yet
is simply missing), and runs appended to a condition that already has 4 planned runs are
always training runs. Runs outside the plan are ``test`` when that hash falls below 0.2.
There is no validation split: the MD-vs-MD spread between seeds of the training runs is the
noise floor of every metric.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from core.exceptions import DataNotAvailableError, InvalidInputError

SPLITS = ("train", "test", "all")
TEST_SEED = "glass_md-test-1"
TEST_PER_CONDITION = 2
TEST_CANDIDATES = 4
UNPLANNED_TEST_FRACTION = 0.2


def _hash_unit(run_id: str) -> float:
    digest = hashlib.blake2b(f"{TEST_SEED}:{run_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def test_run_ids(runs: Iterable | None = None) -> set[str]:
    """Run ids of the held-out test set among ``runs`` (default: the ``default`` plan), which
    must be in plan order (the first runs of a condition are the candidates)."""
    if runs is None:
        from core.md.plan import get_plan

        runs = get_plan("default")
    by_condition: dict[tuple, list[str]] = defaultdict(list)
    for r in runs:
        by_condition[r.condition].append(r.run_id)
    test: set[str] = set()
    for ids in by_condition.values():
        candidates = ids[:TEST_CANDIDATES]
        k = 1 if len(candidates) <= 3 else TEST_PER_CONDITION
        test.update(sorted(candidates, key=_hash_unit)[:k])
    return test


def split_of(run_ids: Iterable[str]) -> list[str]:
    """``"train"`` / ``"test"`` for each run id (see the module docstring)."""
    from core.md.plan import get_plan

    planned = {r.run_id for r in get_plan("default")}
    test = test_run_ids()
    out = []
    for rid in run_ids:
        if rid in planned:
            out.append("test" if rid in test else "train")
        else:
            out.append("test" if _hash_unit(rid) < UNPLANNED_TEST_FRACTION else "train")
    return out


def _folder(folder: Path | None) -> Path:
    if folder is not None:
        return Path(folder)
    from core.md.generate import default_out_dir

    return default_out_dir()


def load_runs(folder: Path | None = None, restore: bool = True) -> pd.DataFrame:
    """The manifest as a DataFrame, one row per finished run, with a ``split`` column.

    Args:
        folder: the MD output folder; default ``<cache>/glass_md``.
        restore: first copy runs from the committed checkpoint
            (``reference_data/glass_md``) that the folder lacks.

    Raises:
        DataNotAvailableError: no finished run anywhere.
    """
    from core.md import generate as gen

    folder = _folder(folder)
    if restore:
        gen.restore_from_checkpoint(gen.default_checkpoint_dir(), folder)
    records = gen.read_manifest(folder)
    if not records:
        raise DataNotAvailableError(
            f"no melt-quench runs in {folder}: run `python -m core.md generate` "
            "(or commit/restore reference_data/glass_md)"
        )
    df = pd.json_normalize(records, sep="_")
    df["split"] = split_of(df["run_id"])
    return df.sort_values("run_id").reset_index(drop=True)


def load_structures(
    split: str = "all",
    state: str = "min",
    folder: Path | None = None,
    composition: str | None = None,
    n_atoms: int | None = None,
    density: float | None = None,
    cooling_rate: float | None = None,
) -> list[Any]:
    """The structures of finished runs as ase.Atoms, sorted by run id.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"``.
        state: ``"min"`` (minimised at fixed cell) or ``"300K"`` (end of the 300 K hold).
        composition, n_atoms, density, cooling_rate: optional filters (composition label as
            in the manifest, e.g. ``"SiO2"`` or ``"20Na2O-80SiO2"``; density within 0.005).

    Each ``atoms.info`` holds ``run_id``, ``state``, ``composition``, ``x_na2o``,
    ``density_g_cm3``, ``cooling_rate_K_s``, ``seed``, ``branch``, ``energy_per_atom_eV``,
    ``potential`` and ``split``.
    """
    from ase.io import read

    from core.md import generate as gen

    if split not in SPLITS:
        raise InvalidInputError(
            "Unknown split",
            got=repr(split),
            expected=", ".join(SPLITS),
            fix='use "train", "test" or "all"',
        )
    if state not in gen.STATES:
        raise InvalidInputError(
            "Unknown state",
            got=repr(state),
            expected=", ".join(gen.STATES),
            fix='use "min" or "300K"',
        )
    folder = _folder(folder)
    df = load_runs(folder)
    if split != "all":
        df = df[df["split"] == split]
    if composition is not None:
        df = df[df["composition_label"] == composition]
    if n_atoms is not None:
        df = df[df["n_atoms"] == n_atoms]
    if density is not None:
        df = df[(df["density_g_cm3"] - density).abs() < 0.005]
    if cooling_rate is not None:
        df = df[(df["cooling_rate_K_s"] / cooling_rate - 1).abs() < 1e-6]
    out = []
    for rid, sp in zip(df["run_id"], df["split"], strict=True):
        atoms = read(gen.structure_path(folder, rid, state))
        atoms.info["split"] = sp
        out.append(atoms)
    return out


def plan_status(plan: str = "default", folder: Path | None = None) -> list[dict[str, Any]]:
    """Per condition of the plan: runs planned, finished, and the held-out test runs."""
    from core.md import generate as gen
    from core.md.plan import get_plan

    runs = get_plan(plan)
    folder = _folder(folder)
    gen.restore_from_checkpoint(gen.default_checkpoint_dir(), folder)  # committed runs count
    done = {r["run_id"] for r in gen.read_manifest(folder)}
    test = test_run_ids(runs)
    rows: dict[tuple, dict[str, Any]] = {}
    for r in runs:
        row = rows.setdefault(
            r.condition,
            {
                "composition": r.label,
                "n_atoms": r.n_atoms,
                "density": r.density,
                "rate": r.rate,
                "planned": 0,
                "finished": 0,
                "test": [],
            },
        )
        row["planned"] += 1
        row["finished"] += r.run_id in done
        if r.run_id in test:
            row["test"].append(r.run_id)
    return list(rows.values())
