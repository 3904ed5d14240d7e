"""Command line: ``python -m core.data prepare [NAME ...] [--force]`` | ``report [NAME ...]``."""

from __future__ import annotations

import argparse
import sys
import time

import pyarrow.parquet as pq

from core.data import DATASETS, module, prepare
from core.data._store import read_manifest
from core.exceptions import StudioError


def report(names: list[str]) -> str:
    """Rows, columns, units, missing counts and split sizes of each cached dataset."""
    out = []
    for name in names:
        info = module(name).INFO
        manifest = read_manifest(info)
        out.append(f"== {info.title} [{name}] from {info.source.requirement}")
        if manifest is None or not info.parquet.exists():
            out.append("   not prepared: run `python -m core.data prepare " + name + "`\n")
            continue
        table = pq.read_table(info.parquet)
        out.append(f"   licence : {info.source.licence}")
        out.append(f"   sha256  : {info.source.sha256}")
        extras = {
            k: manifest[k] for k in ("raw_rows", "glasses", "recipes", "compounds") if k in manifest
        }
        out.append(
            f"   rows    : {table.num_rows:,}   columns: {table.num_columns}   "
            + "   ".join(f"{k}: {v:,}" for k, v in extras.items())
        )
        sizes = manifest["split_sizes"]
        out.append(
            "   splits  : "
            + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
            + f"   (seed {manifest['split_seed']}, by {info.key_column})"
        )
        out.append(f"   {'column':<24}{'unit':<16}{'missing':>10}")
        for col in table.column_names:
            unit = info.units.get(col)
            if unit is None and col not in ("split", "key", "smiles"):
                continue  # wide composition columns are summarised below
            missing = table.column(col).null_count
            out.append(f"   {col:<24}{unit or '-':<16}{missing:>10,}")
        if "<compound>" in info.units:
            out.append(
                f"   + {manifest['compounds']} compound columns "
                f"({info.units['<compound>']}, each row sums to 1)"
            )
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_prep = sub.add_parser("prepare", help="download, verify, convert and split")
    p_prep.add_argument("names", nargs="*", default=[], help=", ".join(DATASETS))
    p_prep.add_argument("--force", action="store_true", help="rebuild even if cached")
    p_rep = sub.add_parser("report", help="print rows, columns, units, missing, splits")
    p_rep.add_argument("names", nargs="*", default=[], help=", ".join(DATASETS))
    args = parser.parse_args(argv)
    try:
        names = [module(n).INFO.name for n in args.names] or list(DATASETS)
        if args.command == "prepare":
            for name in names:
                t0 = time.perf_counter()
                how = prepare([name], force=args.force)[name]
                took = f", {time.perf_counter() - t0:.1f} s" if how == "prepared" else ""
                print(f"{name}: ready ({how}{took})", flush=True)
        else:
            print(report(names))
    except StudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
