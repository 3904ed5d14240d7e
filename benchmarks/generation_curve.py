"""Validity and validation loss of the MOSES SMILES generator along its training.

    python benchmarks/generation_curve.py [--window 5000]

Reads the work folder's ``log.jsonl`` (``checkpoints/smiles_gpt_wip``, committed with every
training leg): every ``eval_every`` steps the trainer records the conditional and unconditional
validation loss on MOSES val and the raw validity of 256 unconditional samples at temperature 1.
256 samples give a validity with a standard error of about 1.2 points near 0.96, so the table
averages them over windows of ``--window`` steps. Writes
``benchmarks/results/generation_training_curve.txt``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    from core import config

    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=int, default=5000)
    parser.add_argument(
        "--log",
        type=Path,
        default=config.REPO_ROOT / "checkpoints" / "smiles_gpt_wip" / "log.jsonl",
    )
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.log.read_text().splitlines() if line.strip()]
    evals = [r for r in rows if "validity_T1" in r]
    if not evals:
        raise SystemExit(f"no evaluations in {args.log}")
    state = json.loads((args.log.parent / "state.json").read_text())
    lines = [
        f"# SMILES generator (MOSES) along its training, {dt.date.today()} "
        f"(benchmarks/generation_curve.py --window {args.window})",
        f"work folder at step {state['step']}, {state['molecules_seen']:,} molecules seen, "
        f"batch {state['train']['batch_size']}; validity: raw, 256 unconditional samples at "
        "T 1 per evaluation, mean over the window (+- its standard error); val loss: "
        "cross-entropy per token on MOSES val, last evaluation of the window",
        "",
        f"{'steps':>15}{'molecules':>12}{'evals':>7}{'validity':>10}{'+-':>7}"
        f"{'val loss cond':>15}{'val loss uncond':>17}",
    ]
    last = evals[-1]["step"]
    for lo in range(0, last, args.window):
        win = [r for r in evals if lo < r["step"] <= lo + args.window]
        if not win:
            continue
        v = [r["validity_T1"] for r in win]
        mean = sum(v) / len(v)
        se = math.sqrt(mean * (1 - mean) / (256 * len(v)))
        end = win[-1]
        span = f"{lo + 1}-{end['step']}"
        lines.append(
            f"{span:>15}{end['molecules'] / 1e6:>11.2f}M{len(win):>7}"
            f"{mean:>10.3f}{se:>7.3f}{end['val_loss_cond']:>15.4f}"
            f"{end.get('val_loss_uncond', float('nan')):>17.4f}"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generation_training_curve.txt").write_text(text)


if __name__ == "__main__":
    main()
