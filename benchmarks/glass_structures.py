"""Benchmark the shipped glass-structure generator against held-out melt-quench MD.

    python benchmarks/glass_structures.py [--per-condition 4] [--steps 20] [--no-relax]

Everything goes through the app's path, ``core.generate.glass.load_generator()``: at every
condition of the held-out MD set (:mod:`core.data.glass_md`: composition, atom count,
density, cooling rate) it samples ``--per-condition`` structures (one thread, fixed seeds),
relaxes them with LAMMPS + SHIK (unless ``--no-relax``), and compares every structural
measure of :mod:`core.generate.glass_analysis` with the held-out MD glasses of that
condition. A control row does the same with atoms placed at random and the same
relaxation (:class:`core.train.glass_generator.export.RandomPlacement`): what the generated
structures have beyond it is what the model adds. The MD spread between seeds at the same
condition is the noise floor; targets are those of issue 19
(``glass_analysis.TOLERANCES`` / ``TARGET_FLOORS``).

Speed: CPU seconds per generated structure (sampling + minimisation, this machine, one
thread, the denoiser compiled unless ``MDS_TORCH_COMPILE=0``, after an untimed warm-up that
builds the kernels) beside the CPU seconds of one melt-quench from the MD manifest (initial
melt + quench) at the same atom count and cooling rate; wall seconds are printed too.

Writes ``benchmarks/results/glass_structures_table.txt`` (summary) and
``glass_structures_conditions.csv`` (every condition and measure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)
import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"
SHOWN = (
    ("si_4fold_frac", "Si 4-fold fraction", "{:.4f}"),
    ("o_2fold_frac", "O 2-fold fraction", "{:.4f}"),
    ("peak_SiO_A", "Si-O peak (A)", "{:.4f}"),
    ("peak_OO_A", "O-O peak (A)", "{:.4f}"),
    ("peak_SiSi_A", "Si-Si peak (A)", "{:.4f}"),
    ("sio_bond_mean_A", "Si-O bond mean (A)", "{:.4f}"),
    ("OSiO_mean_deg", "O-Si-O mean (deg)", "{:.2f}"),
    ("SiOSi_mean_deg", "Si-O-Si mean (deg)", "{:.2f}"),
    ("ring_frac_2", "2-rings (edge-sharing)", "{:.3f}"),
    ("ring_frac_3", "3-rings", "{:.3f}"),
    ("ring_frac_4", "4-rings", "{:.3f}"),
    ("ring_frac_5", "5-rings", "{:.3f}"),
    ("ring_frac_6", "6-rings", "{:.3f}"),
    ("ring_frac_7", "7-rings", "{:.3f}"),
    ("ring_frac_8", "8-rings", "{:.3f}"),
    ("fsdp_q_inv_A", "FSDP of S(q) (1/A)", "{:.3f}"),
    ("energy_per_atom_eV", "energy/atom (eV)", "{:.4f}"),
)


def md_seconds(runs, n_atoms: int, rate: float) -> float:
    """Median CPU seconds of one melt-quench (its melt + its quench) in the manifest."""
    sel = runs[(runs["n_atoms"] == n_atoms) & (np.isclose(runs["cooling_rate_K_s"], rate))]
    sel = sel[sel["composition_label"] == "SiO2"]
    if sel.empty:
        return float("nan")
    # branches share one melt: charge each run the melt of its melt id once
    melt = sel.groupby("melt_id")["cpu_s_melt_initial"].max()
    return float(np.median(sel["cpu_s_quench"]) + melt.median())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-condition", type=int, default=4)
    parser.add_argument("--steps", type=int, default=None, help="default: the app's")
    parser.add_argument("--no-relax", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.steps is None:
        from core.generate.glass import DEFAULT_STEPS

        args.steps = DEFAULT_STEPS
    torch.set_num_threads(args.threads)

    from core.data.glass_md import load_runs
    from core.generate.glass import load_generator
    from core.generate.glass_analysis import TARGET_FLOORS, TOLERANCES
    from core.train.glass_generator.export import RandomPlacement, evaluate, test_conditions

    load_start = os.getloadavg()[0]
    gen = load_generator()
    # warm-up, not timed: a compiled denoiser (core.config.torch_compile_enabled) builds its
    # kernels on the first call; a running app pays that once per process
    t0, c0 = time.time(), time.process_time()
    gen.sample(1, "SiO2 100", 2.2, seed=0, steps=args.steps)
    gen.sample(1, "20Na2O-80SiO2", 2.4, seed=0, steps=args.steps)  # another atom count
    warmup = (time.time() - t0, time.process_time() - c0)
    compiled = gen.model._compiled is not None
    t0 = time.time()
    conditions = test_conditions(gen)  # held-out MD inside the trained domain
    outside = len(test_conditions()) - len(conditions)
    ev = evaluate(
        gen,
        per_condition=args.per_condition,
        steps=args.steps,
        relax=not args.no_relax,
        conditions=conditions,
    )
    summary, per = ev["summary"], ev["per_condition"]
    # the control: random placement + the same relaxation at the same conditions
    control = evaluate(
        RandomPlacement(),
        per_condition=args.per_condition,
        relax=not args.no_relax,
        conditions=conditions,
    )["summary"]
    runs = load_runs()
    card = gen.card
    keys = ["composition_label", "n_atoms", "density_g_cm3", "cooling_rate_K_s"]
    n_conditions = len(per[keys].drop_duplicates())
    lines = [
        f"# Glass-structure generator benchmark, {dt.date.today()} "
        f"(benchmarks/glass_structures.py --per-condition {args.per_condition} "
        f"--steps {args.steps}{' --no-relax' if args.no_relax else ''})",
        f"model {card.get('name')} {card.get('version')}, step "
        f"{card.get('training', {}).get('step')}; reference: held-out SHIK melt-quench MD, "
        f"{n_conditions} conditions, {ev['structures']} generated "
        f"structures ({'relaxed with SHIK' if not args.no_relax else 'as sampled'})"
        + (
            f"; {outside} held-out condition(s) outside the trained domain (e.g. a cooling "
            "rate it was not trained on) left out"
            if outside
            else ""
        ),
        "",
        "## Every condition pooled: mean over conditions of the per-condition means",
        "MD spread = mean std between MD seeds at a condition (the noise floor); |diff| = "
        "mean over conditions of |generated - MD|; met = share of conditions within the "
        "target (issue 19); random = the control, atoms placed at random (non-overlapping, "
        "as at the start of a melt-quench) and "
        + ("minimised with SHIK like the generated ones" if not args.no_relax else "not relaxed")
        + ": what the generated structures have beyond it is what the model adds",
        f"{'measure':<22}{'generated':>11}{'random':>10}{'MD':>11}{'MD spread':>11}"
        f"{'|diff|':>10}{'|diff| rnd':>11}{'target':>9}{'met':>6}{'met rnd':>8}",
    ]
    for key, label, fmt in SHOWN:
        if key not in summary.index:
            continue
        r = summary.loc[key]
        target = (
            f">={TARGET_FLOORS[key]:g}"
            if key in TARGET_FLOORS
            else f"{TOLERANCES[key]:g}"
            if key in TOLERANCES
            else "-"
        )
        met = r["conditions_meeting_target"]
        rc = control.loc[key] if key in control.index else None
        rnd = fmt.format(rc["generated_mean"]) if rc is not None else "-"
        rnd_diff = fmt.format(rc["mean_abs_difference"]) if rc is not None else "-"
        met_rnd = rc["conditions_meeting_target"] if rc is not None else np.nan
        lines.append(
            f"{label:<22}{fmt.format(r['generated_mean']):>11}{rnd:>10}"
            f"{fmt.format(r['md_mean']):>11}{fmt.format(r['md_spread']):>11}"
            f"{fmt.format(r['mean_abs_difference']):>10}{rnd_diff:>11}"
            f"{target:>9}{('-' if np.isnan(met) else f'{met:.2f}'):>6}"
            f"{('-' if np.isnan(met_rnd) else f'{met_rnd:.2f}'):>8}"
        )
    # SiO2 only, by cooling rate: is the rate conditioning real?
    lines += ["", "## SiO2 192 atoms, by cooling rate (means over densities)"]
    sub = per[(per["composition_label"] == "SiO2") & (per["n_atoms"] == 192)]
    lines.append(f"{'measure':<22}{'rate':>8}{'generated':>11}{'MD':>11}")
    for key in ("SiOSi_mean_deg", "OSiO_mean_deg", "si_4fold_frac", "energy_per_atom_eV"):
        for rate, grp in sub[sub["measure"] == key].groupby("cooling_rate_K_s"):
            lines.append(
                f"{key:<22}{rate:>8.0e}{grp['generated_mean'].mean():>11.4f}"
                f"{grp['reference_mean'].mean():>11.4f}"
            )
    sec, cpu = ev["seconds_per_structure"], ev["cpu_seconds_per_structure"]
    same = per[(per["n_atoms"] == 192) & np.isclose(per["cooling_rate_K_s"], 1e13)]
    same = same.drop_duplicates(["density_g_cm3"])
    s192, r192 = same["sample_cpu_seconds"].mean(), same["relax_cpu_seconds"].mean()
    md_192 = md_seconds(runs, 192, 1e13)
    mode = "compiled (torch.compile)" if compiled else "eager"
    lines += [
        "",
        f"## Speed ({args.threads} thread, this machine; denoiser {mode})",
        f"load average (1 min) at the start {load_start:.1f}, at the end "
        f"{os.getloadavg()[0]:.1f}; CPU-s count this process only, so other "
        "jobs on the machine inflate wall seconds, not CPU seconds",
        f"warm-up before timing (kernels built on the first calls): {warmup[0]:.0f} s wall, "
        f"{warmup[1]:.0f} CPU-s",
        f"all conditions: {cpu['sample']:.1f} CPU-s sampling + {cpu['relax']:.1f} CPU-s "
        f"minimisation per structure ({args.steps} steps; wall {sec['sample']:.1f} + "
        f"{sec['relax']:.1f} s)",
        f"SiO2 192 atoms at 1e13 K/s: {s192:.1f} CPU-s sampling + {r192:.1f} CPU-s minimisation",
        f"melt-quench SiO2 192 atoms, 1e13 K/s: {md_192:.0f} CPU-s (median of the manifest)",
        f"speed-up vs that melt-quench: {md_192 / (s192 + r192):.0f}x (CPU-s against CPU-s)",
        "",
        f"wall time {time.time() - t0:.0f} s",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "glass_structures_table.txt").write_text(text)
    per.to_csv(RESULTS / "glass_structures_conditions.csv", index=False)


if __name__ == "__main__":
    main()
