"""Structural measures of the finished melt-quench runs, per run and per condition.

``python -m core.md summary`` analyses every finished run's structure with
:func:`core.generate.glass_analysis.analyse` (cached per run in
``<out>/analysis_<version>_<state>.jsonl``, so only new runs are analysed) and prints mean, spread
between seeds (standard deviation over runs) and count per condition: composition, atoms,
density, cooling rate. The spread is the MD-vs-MD noise floor of each measure.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from core.md import generate as gen

log = logging.getLogger(__name__)

ANALYSIS_VERSION = "v3"  # bump when analyse() changes: the per-run cache is keyed by it

CONDITION = ["composition_label", "n_atoms", "density_g_cm3", "cooling_rate_K_s"]
HEADLINE = [
    "si_4fold_frac",
    "o_2fold_frac",
    "peak_SiO_A",
    "peak_OO_A",
    "peak_SiSi_A",
    "oo_tetra_mean_A",
    "sisi_bridged_mean_A",
    "OSiO_mean_deg",
    "OSiO_std_deg",
    "SiOSi_mean_deg",
    "SiOSi_std_deg",
    "fsdp_q_inv_A",
    "ring_mean_size",
    "ring_frac_3",
    "ring_frac_6",
    "energy_per_atom_eV",
    "cpu_s",
]


def analyse_runs(out_dir: Path | None = None, state: str = "min") -> pd.DataFrame:
    """One row per finished run: its manifest fields, split and :func:`analyse` measures."""
    from ase.io import read

    from core.data.glass_md import split_of
    from core.generate.glass_analysis import analyse

    out_dir = Path(out_dir) if out_dir is not None else gen.default_out_dir()
    cache_path = out_dir / f"analysis_{ANALYSIS_VERSION}_{state}.jsonl"
    cached: dict[str, dict[str, Any]] = {}
    if cache_path.exists():
        for line in cache_path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            cached[rec["run_id"]] = rec
    rows = []
    for rec in gen.read_manifest(out_dir):
        rid = rec["run_id"]
        if rid not in cached:
            atoms = read(gen.structure_path(out_dir, rid, state))
            cached[rid] = {"run_id": rid, **analyse(atoms)}
            with open(cache_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(cached[rid]) + "\n")
        rows.append(
            {
                **{k: v for k, v in cached[rid].items() if k != "run_id"},
                # the manifest's nominal density wins over the analysed one (same to 1e-4)
                **{k: rec[k] for k in ("run_id", "seed", "branch", *CONDITION)},
                "cpu_s": rec["cpu_s"],
                "cpu_s_quench": rec["cpu_s_quench"],
            }
        )
    df = pd.DataFrame(rows)
    if len(df):
        df["split"] = split_of(df["run_id"])
    return df


def by_condition(runs: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Mean, std (between runs) and count of each measure per condition."""
    columns = [c for c in (columns or HEADLINE) if c in runs.columns]
    grouped = runs.groupby(CONDITION)[columns]
    out = grouped.agg(["mean", "std"])
    out.insert(0, ("runs", "n"), grouped.size())
    return out
