"""``python -m core.md generate|export|rerun|status|summary``: melt-quench reference data."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = argparse.ArgumentParser(prog="python -m core.md", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    gen = sub.add_parser("generate", help="run the plan's unfinished melt-quench runs")
    gen.add_argument("--plan", default="default")
    gen.add_argument("--out", type=Path, default=None, help="default <cache>/glass_md")
    gen.add_argument("--max-hours", type=float, default=None)
    gen.add_argument(
        "--checkpoint", type=Path, default=None, help="default reference_data/glass_md"
    )
    gen.add_argument(
        "--no-export", action="store_true", help="do not write the checkpoint after each run"
    )
    exp = sub.add_parser("export", help="write the committed checkpoint from the cache")
    exp.add_argument("--out", type=Path, default=None)
    exp.add_argument("--checkpoint", type=Path, default=None)
    rr = sub.add_parser(
        "rerun", help="recompute finished runs with the current code and compare them"
    )
    rr.add_argument("run_ids", nargs="*", help="run ids (default: every run of dirty code)")
    rr.add_argument("--scratch", type=Path, required=True, help="folder for the recomputation")
    rr.add_argument("--checkpoint", type=Path, default=None)
    rr.add_argument("--out", type=Path, default=None)
    rr.add_argument(
        "--adopt", action="store_true", help="replace the old records and structures by the new"
    )
    st = sub.add_parser("status", help="planned / finished / test runs per condition")
    st.add_argument("--plan", default="default")
    st.add_argument("--out", type=Path, default=None)
    sm = sub.add_parser("summary", help="structural measures per condition (mean, spread)")
    sm.add_argument("--out", type=Path, default=None)
    sm.add_argument("--state", default="min", choices=["min", "300K"])
    sm.add_argument("--csv", type=Path, default=None, help="also write the per-run table")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    from core.md import generate as g

    if args.cmd == "generate":
        done = g.generate(
            args.plan, args.out, args.max_hours, args.checkpoint, export=not args.no_export
        )
        logging.getLogger("core.md").info("this call finished %d runs", len(done))
    elif args.cmd == "export":
        out = args.out or g.default_out_dir()
        ckpt = args.checkpoint or g.default_checkpoint_dir()
        n = g.export_checkpoint(out, ckpt)
        logging.getLogger("core.md").info("exported %d runs to %s", n, ckpt)
    elif args.cmd == "rerun":
        ids = args.run_ids
        if not ids:
            ckpt = args.checkpoint or g.default_checkpoint_dir()
            ids = [r["run_id"] for r in g.read_manifest(ckpt) if "dirty" in r["code_commit"]]
        for row in g.rerun(ids, args.scratch, args.checkpoint, args.adopt, args.out):
            sys.stdout.write(json.dumps(row) + "\n")
    elif args.cmd == "summary":
        import pandas as pd

        from core.md.summary import analyse_runs, by_condition

        runs = analyse_runs(args.out, args.state)
        if args.csv:
            runs.to_csv(args.csv, index=False)
        with pd.option_context("display.width", 250, "display.max_columns", 200):
            sys.stdout.write(by_condition(runs).T.round(4).to_string() + "\n")
    else:
        from core.data.glass_md import plan_status

        for row in plan_status(args.plan, args.out):
            sys.stdout.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
