"""``python -m core.screen molecules|glasses IN OUT [options]``: batch screening.

Examples::

    python -m core.screen molecules library.csv scores.parquet --column smiles
    python -m core.screen molecules library.sdf scores.csv
    python -m core.screen glasses grid.parquet glasses.parquet --basis wt --resume
    python -m core.screen glasses grid.csv glasses.csv --workers 2
    python -m core.screen molecules library.csv scores.parquet --engine ray --workers 2
    python -m core.screen molecules library.csv scores.parquet --engine ray --address auto
"""

from __future__ import annotations

import argparse
import sys

from core.chem.molecules import EmbedBudget
from core.exceptions import StudioError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.screen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=["molecules", "glasses"])
    parser.add_argument("input", help="CSV, parquet or SDF (molecules only)")
    parser.add_argument("output", help="parquet or CSV")
    parser.add_argument("--column", help="molecules: the SMILES column (default: 'smiles')")
    parser.add_argument(
        "--basis", choices=["mol", "wt"], default="mol", help="glasses: mol%% or wt%%"
    )
    parser.add_argument("--chunk-rows", type=int, default=2048)
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--limit", type=int, default=None, help="first N rows only")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this process; ray: Ray Data over a pool of predictor actors",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="ray: an existing cluster ('auto', 'ray://head:10001'); default a local Ray",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local: worker processes (default: the usable CPUs); ray: predictor actors "
        "(default: the cluster's GPUs, else its CPUs)",
    )
    parser.add_argument(
        "--embed-attempts",
        type=int,
        default=EmbedBudget.attempts,
        help="molecules: ETKDG attempts per conformer before random coordinates "
        "(the 'conformer' column marks the molecules the budget cut)",
    )
    parser.add_argument(
        "--mmff-iters",
        type=int,
        default=EmbedBudget.mmff_iters,
        help="molecules: force-field iterations per conformer",
    )
    parser.add_argument(
        "--full-conformers",
        action="store_true",
        help="molecules: no budget, the pages' full conformer recipe (slower)",
    )
    args = parser.parse_args(argv)
    if args.embed_attempts < 1 or args.mmff_iters < 1:
        parser.error("--embed-attempts and --mmff-iters must be positive")

    import os

    if args.device:
        os.environ["MDS_DEVICE"] = args.device
    from pathlib import Path

    from tqdm import tqdm

    from core.screen import screen
    from core.screen.chunks import count_rows

    total = count_rows(Path(args.input)) if Path(args.input).is_file() else None
    if args.limit is not None:
        total = args.limit if total is None else min(total, args.limit)
    try:
        with tqdm(unit="rows", desc=args.kind, total=total, dynamic_ncols=True) as bar:
            summary = screen(
                args.kind,
                args.input,
                args.output,
                column=args.column,
                basis=args.basis,
                chunk_rows=args.chunk_rows,
                resume=args.resume,
                limit=args.limit,
                progress=bar.update,
                engine=args.engine,
                address=args.address,
                workers=args.workers,
                embed_budget=None
                if args.full_conformers
                else EmbedBudget(args.embed_attempts, args.mmff_iters),
            )
    except StudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if args.engine == "ray":
            import ray

            ray.shutdown()
    print(summary.text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
