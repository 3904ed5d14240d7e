"""Paired comparison of two sets of simulated campaigns (same seeds, same start sets).

    .venv/bin/python benchmarks/optimization_paired.py A.jsonl B.jsonl [--curve-a K] [--curve-b K]

Reads run files written by ``benchmarks/optimization.py`` (one JSON line per seed) and
prints, on the seeds both files hold: best-found at the end (median), B - A per seed
(better/worse counts, mean, median, Wilcoxon signed-rank p) and the experiments each
needs to reach the strongest measured mix (81.8 MPa). ``--curve-a peer_curve`` compares
against the peer library's runs stored in a ``--peer`` run file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

STRONGEST_MEASURED = 81.8  # MPa, the strongest measured 28-day mix of the Yeh data


def load(path: Path) -> dict[int, dict]:
    return {run["seed"]: run for run in map(json.loads, path.read_text().splitlines())}


def reach(curve, threshold: float = STRONGEST_MEASURED) -> float:
    return next((n for n, best in curve if best >= threshold), np.inf)


def compare(a: dict, b: dict, key_a: str = "bo_curve", key_b: str = "bo_curve") -> list[str]:
    seeds = sorted(set(a) & set(b))
    end_a = np.array([a[s][key_a][-1][1] for s in seeds])
    end_b = np.array([b[s][key_b][-1][1] for s in seeds])
    diff = end_b - end_a
    ra = [reach(a[s][key_a]) for s in seeds]
    rb = [reach(b[s][key_b]) for s in seeds]
    return [
        f"seeds {seeds[0]}-{seeds[-1]} ({len(seeds)}): best-found median A {np.median(end_a):.1f}, "
        f"B {np.median(end_b):.1f} MPa; B - A: better {(diff > 0).sum()}, worse "
        f"{(diff < 0).sum()}, mean {diff.mean():+.2f}, median {np.median(diff):+.2f} MPa, "
        f"Wilcoxon signed-rank p = {wilcoxon(diff).pvalue:.3g}",
        f"experiments to {STRONGEST_MEASURED} MPa: A median {np.median(ra):g} "
        f"({np.isfinite(ra).sum()} reach), B median {np.median(rb):g} "
        f"({np.isfinite(rb).sum()} reach)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--curve-a", default="bo_curve")
    parser.add_argument("--curve-b", default="bo_curve")
    args = parser.parse_args()
    print("\n".join(compare(load(args.a), load(args.b), args.curve_a, args.curve_b)))


if __name__ == "__main__":
    main()
