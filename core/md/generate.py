"""The resumable melt-quench job behind ``python -m core.md generate``.

Layout of the output folder (default ``<cache>/glass_md/``, never in git)::

    manifest.jsonl                 one JSON object per finished run (appended when it ends)
    structures/<run_id>_300K.extxyz   the structure at the end of the 300 K hold
    structures/<run_id>_min.extxyz    the same after minimisation (fixed cell)
    melts/<melt_id>.npz            liquid snapshots of each melt (positions, velocities)
    tables/shik_<hash>.table       the SHIK tables the runs used (hash in the manifest)

Re-running skips every run already in the manifest and reuses cached melts, so the job can be
stopped at any time and restarted. Because a machine's cache may not outlive a session, the
finished runs are also exported after each run to a compact checkpoint that is committed,
``reference_data/glass_md/`` (``manifest.jsonl`` + ``structures.npz``: float32
positions of both structures, cells, atomic numbers); a new machine first restores the cache
from it and then resumes instead of recomputing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from core import config
from core.md import shik
from core.md.lammps_run import Melt, Protocol, melt, quench
from core.md.plan import Run, get_plan, snapshots_needed

log = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
CHECKPOINT_NPZ = "structures.npz"
STATES = ("300K", "min")


def default_out_dir() -> Path:
    return config.cache_dir() / "glass_md"


def default_checkpoint_dir() -> Path:
    return config.reference_data_dir() / "glass_md"


# ----------------------------------------------------------------------------- manifest
def read_manifest(folder: Path) -> list[dict[str, Any]]:
    """The manifest records of ``folder`` (``[]`` when there is none); last record per id wins."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return []
    records: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a killed job: ignore it
            log.warning("skipping an unreadable manifest line in %s", path)
            continue
        records[rec["run_id"]] = rec
    return list(records.values())


def _append_manifest(folder: Path, record: dict[str, Any]) -> None:
    with open(Path(folder) / MANIFEST, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def structure_path(folder: Path, run_id: str, state: str) -> Path:
    return Path(folder) / "structures" / f"{run_id}_{state}.extxyz"


def _write_atoms(path: Path, atoms) -> None:
    from ase.io import write

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp, atoms, format="extxyz")
    tmp.replace(path)


def code_commit() -> str:
    """The commit of the code that ran (``+dirty`` with uncommitted code changes)."""
    from core.provenance import git_version

    return git_version()


def lammps_version() -> str:
    try:
        from importlib.metadata import version

        return version("lammps")
    except Exception:  # pragma: no cover
        return "unknown"


# ----------------------------------------------------------------------------- checkpoint
def export_checkpoint(out_dir: Path, checkpoint_dir: Path) -> int:
    """Write ``manifest.jsonl`` + ``structures.npz`` of every finished run; returns the count.

    Files are written to temporary names and renamed, so a reader (or ``git add``) never sees
    half a file.
    """
    from ase.io import read

    records = sorted(read_manifest(out_dir), key=lambda r: r["finished_at"])
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    ids, n_atoms, numbers, cells = [], [], [], []
    pos = {s: [] for s in STATES}
    kept = []
    for rec in records:
        try:
            frames = {s: read(structure_path(out_dir, rec["run_id"], s)) for s in STATES}
        except (OSError, ValueError):
            log.warning("run %s has no structures in %s: not exported", rec["run_id"], out_dir)
            continue
        kept.append(rec)
        ids.append(rec["run_id"])
        n_atoms.append(len(frames["min"]))
        numbers.append(frames["min"].numbers.astype(np.uint8))
        cells.append(frames["min"].cell.array)
        for s in STATES:
            pos[s].append(frames[s].positions.astype(np.float32))
    arrays = {
        "run_id": np.array(ids, dtype=str),
        "n_atoms": np.array(n_atoms, dtype=np.int32),
        "numbers": np.concatenate(numbers) if numbers else np.zeros(0, np.uint8),
        "cell": np.array(cells, dtype=np.float64).reshape(-1, 3, 3),
    }
    for s in STATES:
        arrays[f"positions_{s}"] = (
            np.concatenate(pos[s]) if pos[s] else np.zeros((0, 3), np.float32)
        )
    tmp_npz = checkpoint_dir / (CHECKPOINT_NPZ + ".tmp.npz")
    np.savez_compressed(tmp_npz, **arrays)
    tmp_npz.replace(checkpoint_dir / CHECKPOINT_NPZ)
    tmp_man = checkpoint_dir / (MANIFEST + ".tmp")
    tmp_man.write_text(
        "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept), encoding="utf-8"
    )
    tmp_man.replace(checkpoint_dir / MANIFEST)
    return len(kept)


def read_checkpoint(checkpoint_dir: Path) -> tuple[list[dict[str, Any]], dict[str, dict]]:
    """Records and ``{run_id: {"numbers", "cell", "positions_300K", "positions_min"}}``."""
    checkpoint_dir = Path(checkpoint_dir)
    records = read_manifest(checkpoint_dir)
    npz_path = checkpoint_dir / CHECKPOINT_NPZ
    if not records or not npz_path.exists():
        return [], {}
    with np.load(npz_path) as z:
        ends = np.cumsum(z["n_atoms"])
        starts = ends - z["n_atoms"]
        structs = {
            str(rid): {
                "numbers": z["numbers"][a:b],
                "cell": z["cell"][k],
                **{f"positions_{s}": z[f"positions_{s}"][a:b].astype(np.float64) for s in STATES},
            }
            for k, (rid, a, b) in enumerate(zip(z["run_id"], starts, ends, strict=True))
        }
    return [r for r in records if r["run_id"] in structs], structs


def restore_from_checkpoint(checkpoint_dir: Path, out_dir: Path) -> int:
    """Copy the checkpoint's runs that ``out_dir`` lacks into it; returns how many."""
    from ase import Atoms

    records, structs = read_checkpoint(checkpoint_dir)
    have = {r["run_id"] for r in read_manifest(out_dir)}
    restored = 0
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for rec in records:
        rid = rec["run_id"]
        if rid in have:
            continue
        s = structs[rid]
        for state in STATES:
            atoms = Atoms(
                numbers=s["numbers"], positions=s[f"positions_{state}"], cell=s["cell"], pbc=True
            )
            atoms.info.update(_atoms_info(rec, state))
            _write_atoms(structure_path(out_dir, rid, state), atoms)
        _append_manifest(out_dir, {**rec, "restored_from_checkpoint": True})
        restored += 1
    if restored:
        log.info("restored %d runs from %s into %s", restored, checkpoint_dir, out_dir)
    return restored


def _atoms_info(rec: dict[str, Any], state: str) -> dict[str, Any]:
    energy = rec["energy_per_atom_300K_eV"] if state == "300K" else rec["energy_per_atom_min_eV"]
    return {
        "run_id": rec["run_id"],
        "state": state,
        "composition": rec["composition_label"],
        "x_na2o": rec["x_na2o"],
        "density_g_cm3": rec["density_g_cm3"],
        "cooling_rate_K_s": rec["cooling_rate_K_s"],
        "seed": rec["seed"],
        "branch": rec["branch"],
        "energy_per_atom_eV": energy,
        "potential": rec["potential"]["name"],
    }


# ----------------------------------------------------------------------------- running
def _melt_file(out_dir: Path, melt_id: str) -> Path:
    return Path(out_dir) / "melts" / f"{melt_id}.npz"


def _load_or_run_melt(run: Run, n_snapshots: int, out_dir: Path, protocol: Protocol) -> Melt:
    path = _melt_file(out_dir, run.melt_id)
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            if len(z["positions"]) >= n_snapshots and str(z["protocol"]) == protocol.name:
                return Melt(
                    symbols=[str(s) for s in z["symbols"]],
                    length=float(z["length"]),
                    snapshots=list(zip(z["positions"], z["velocities"], strict=True)),
                    temperatures=[float(t) for t in z["temperatures"]],
                    wall_s_initial=float(z["wall_s_initial"]),
                    cpu_s_initial=float(z["cpu_s_initial"]),
                    wall_s_total=float(z["wall_s_total"]),
                    cpu_s_total=float(z["cpu_s_total"]),
                )
    log.info("melting %s (%d liquid snapshots)", run.melt_id, n_snapshots)
    m = melt(
        run.counts(),
        run.density,
        run.seed,
        n_snapshots,
        protocol,
        table_dir=Path(out_dir) / "tables",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        symbols=np.array(m.symbols),
        length=m.length,
        positions=np.array([p for p, _ in m.snapshots]),
        velocities=np.array([v for _, v in m.snapshots]),
        temperatures=np.array(m.temperatures),
        wall_s_initial=m.wall_s_initial,
        cpu_s_initial=m.cpu_s_initial,
        wall_s_total=m.wall_s_total,
        cpu_s_total=m.cpu_s_total,
        protocol=protocol.name,
    )
    tmp.replace(path)
    return m


def run_one(run: Run, m: Melt, out_dir: Path, protocol: Protocol, commit: str) -> dict[str, Any]:
    """Quench branch ``run.branch`` of melt ``m``; save structures; append the manifest."""
    x, v = m.snapshots[run.branch]
    res = quench(m.symbols, m.length, x, v, run.rate, protocol, table_dir=Path(out_dir) / "tables")
    counts = run.counts()
    rec: dict[str, Any] = {
        "run_id": run.run_id,
        "melt_id": run.melt_id,
        "composition": {
            "SiO2": round(1 - run.x_na2o, 6),
            **({"Na2O": run.x_na2o} if run.x_na2o else {}),
        },
        "composition_label": run.label,
        "x_na2o": run.x_na2o,
        "counts": counts,
        "n_atoms": run.n_atoms,
        "density_g_cm3": run.density,
        "box_length_A": m.length,
        "cooling_rate_K_s": run.rate,
        "seed": run.seed,
        "branch": run.branch,
        "melt_time_ps": protocol.melt_ps + run.branch * protocol.branch_every_ps,
        "potential": {
            "name": shik.NAME,
            "table_sha256": res["table_sha256"],
            "charges": res["charges"],
            "r_wolf_A": shik.R_WOLF,
            "r_short_A": shik.R_SHORT,
            "gamma_A": shik.GAMMA,
            "lammps_style": f"table linear {shik.LAMMPS_POINTS}",
        },
        "protocol": protocol.as_dict(),
        "energy_per_atom_300K_eV": res["pe_300K"],
        "energy_per_atom_300K_mean_eV": res["pe_300K_mean"],
        "energy_per_atom_min_eV": res["pe_min"],
        "temperature_hold_mean_K": res["temperature_hold_mean"],
        "fnorm_min_eV_A": res["fnorm"],
        "steps": res["steps"],
        "wall_s_quench": res["wall_s"],
        "cpu_s_quench": res["cpu_s"],
        "wall_s_melt_initial": m.wall_s_initial,
        "cpu_s_melt_initial": m.cpu_s_initial,
        # a stand-alone melt-quench: the initial 20 ps melt + this quench (both measured)
        "cpu_s": m.cpu_s_initial + res["cpu_s"],
        "wall_s": m.wall_s_initial + res["wall_s"],
        "lammps": lammps_version(),
        "threads": int(os.environ.get("OMP_NUM_THREADS", "1") or 1),
        "code_commit": commit,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    for state, key in (("300K", "atoms_300K"), ("min", "atoms_min")):
        atoms = res[key]
        atoms.info.clear()
        atoms.info.update(_atoms_info(rec, state))
        _write_atoms(structure_path(out_dir, run.run_id, state), atoms)
    _append_manifest(out_dir, rec)
    return rec


def generate(
    plan: str | Iterable[Run] = "default",
    out_dir: Path | None = None,
    max_hours: float | None = None,
    checkpoint_dir: Path | None = None,
    export: bool = True,
    protocol: Protocol | None = None,
) -> list[dict[str, Any]]:
    """Run every run of ``plan`` not yet in ``out_dir``'s manifest, in plan order.

    Args:
        plan: a plan name (:data:`core.md.plan.PLANS`) or a list of runs.
        out_dir: output folder; default ``<cache>/glass_md``.
        max_hours: start no new melt or quench after this many hours (None: no limit).
        checkpoint_dir: committed checkpoint to restore from and export to; default
            ``reference_data/glass_md``. Restoring happens first, always.
        export: write the checkpoint after each finished run.
        protocol: melt-quench settings (default :class:`Protocol`).

    Returns:
        The manifest records of the runs finished by this call.
    """
    protocol = protocol or Protocol()
    runs = get_plan(plan) if isinstance(plan, str) else list(plan)
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_dir = (
        Path(checkpoint_dir) if checkpoint_dir is not None else default_checkpoint_dir()
    )
    restore_from_checkpoint(checkpoint_dir, out_dir)
    done = {r["run_id"] for r in read_manifest(out_dir)}
    todo = [r for r in runs if r.run_id not in done]
    log.info(
        "plan: %d runs, %d finished, %d to do; output %s",
        len(runs),
        len(runs) - len(todo),
        len(todo),
        out_dir,
    )
    need = snapshots_needed(runs)
    commit = code_commit()
    start = time.monotonic()
    finished: list[dict[str, Any]] = []
    melts: dict[str, Melt] = {}
    for run in todo:
        if max_hours is not None and time.monotonic() - start > max_hours * 3600:
            log.info("time limit of %.2f h reached: stopping (re-run to resume)", max_hours)
            break
        if run.melt_id not in melts:
            melts.clear()  # keep one melt in memory
            melts[run.melt_id] = _load_or_run_melt(run, need[run.melt_id], out_dir, protocol)
        rec = run_one(run, melts[run.melt_id], out_dir, protocol, commit)
        finished.append(rec)
        log.info(
            "finished %s: E_min %.4f eV/atom, %.0f CPU-s quench (%d/%d this call)",
            run.run_id,
            rec["energy_per_atom_min_eV"],
            rec["cpu_s_quench"],
            len(finished),
            len(todo),
        )
        if export:
            n = export_checkpoint(out_dir, checkpoint_dir)
            log.info("checkpoint: %d runs in %s", n, checkpoint_dir)
    return finished


def rerun(
    run_ids: Iterable[str],
    scratch_dir: Path,
    checkpoint_dir: Path | None = None,
    adopt: bool = False,
    out_dir: Path | None = None,
    protocol: Protocol | None = None,
    tol_A: float = 1e-3,
    plan: str = "default",
) -> list[dict[str, Any]]:
    """Recompute finished runs with the code as it is now and compare them with the checkpoint.

    The runs are melted and quenched afresh in ``scratch_dir`` (melts sized as ``plan`` sizes
    them, so snapshot k is the same liquid as in the original run). Returns one
    row per run: the largest position difference (Å) of both structures, the energy
    differences (eV/atom) and both code commits. With ``adopt``, each recomputed run whose
    structures match the old ones within ``tol_A`` (its record and structures) replaces the
    old one in ``out_dir`` (default ``<cache>/glass_md``) and the
    checkpoint is exported again: this is how runs made by uncommitted code get a clean
    provenance without changing the data, provided the comparison shows the same structures.
    """
    protocol = protocol or Protocol()
    wanted = list(dict.fromkeys(run_ids))
    by_id = {r.run_id: r for r in get_plan(plan)}
    unknown = [rid for rid in wanted if rid not in by_id]
    if unknown:
        from core.exceptions import InvalidInputError

        raise InvalidInputError(
            "Unknown run id", got=", ".join(unknown), expected=f"run ids of the {plan!r} plan"
        )
    checkpoint_dir = (
        Path(checkpoint_dir) if checkpoint_dir is not None else default_checkpoint_dir()
    )
    old_records, old_structs = read_checkpoint(checkpoint_dir)
    old = {r["run_id"]: r for r in old_records}
    need = snapshots_needed(list(by_id.values()))
    scratch_dir = Path(scratch_dir)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    commit = code_commit()
    rows: list[dict[str, Any]] = []
    melts: dict[str, Melt] = {}
    for rid in wanted:
        run = by_id[rid]
        if run.melt_id not in melts:
            melts.clear()
            melts[run.melt_id] = _load_or_run_melt(run, need[run.melt_id], scratch_dir, protocol)
        rec = run_one(run, melts[run.melt_id], scratch_dir, protocol, commit)
        row: dict[str, Any] = {"run_id": rid, "new_commit": commit}
        if rid in old:
            from ase.io import read

            for state in STATES:
                new_pos = read(structure_path(scratch_dir, rid, state)).positions
                # the checkpoint keeps float32 positions: compare at that precision
                diff = np.abs(new_pos.astype(np.float32) - old_structs[rid][f"positions_{state}"])
                row[f"max_dpos_{state}_A"] = float(diff.max())
            row["old_commit"] = old[rid]["code_commit"]
            row["dE_min_eV"] = rec["energy_per_atom_min_eV"] - old[rid]["energy_per_atom_min_eV"]
            row["dE_300K_eV"] = rec["energy_per_atom_300K_eV"] - old[rid]["energy_per_atom_300K_eV"]
        row["same"] = bool(rid in old and all(row[f"max_dpos_{s}_A"] <= tol_A for s in STATES))
        rows.append(row)
        log.info("rerun %s: %s", rid, row)
    if adopt:
        out_dir = Path(out_dir) if out_dir is not None else default_out_dir()
        restore_from_checkpoint(checkpoint_dir, out_dir)
        new_records = {r["run_id"]: r for r in read_manifest(scratch_dir)}
        same = [row["run_id"] for row in rows if row["same"]]
        for row in rows:
            if not row["same"]:
                log.warning("not adopted: %s differs from the checkpoint", row["run_id"])
        for rid in same:
            for state in STATES:
                src = structure_path(scratch_dir, rid, state)
                dst = structure_path(out_dir, rid, state)
                dst.parent.mkdir(parents=True, exist_ok=True)
                tmp = dst.with_name(dst.name + ".tmp")
                tmp.write_bytes(src.read_bytes())
                tmp.replace(dst)
            _append_manifest(out_dir, new_records[rid])  # the last record of an id wins
        n = export_checkpoint(out_dir, checkpoint_dir)
        log.info("adopted %d reruns; checkpoint: %d runs in %s", len(same), n, checkpoint_dir)
    return rows
