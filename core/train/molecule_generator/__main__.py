"""``python -m core.train.molecule_generator``: see the package docstring."""

from __future__ import annotations

import argparse
import logging
from dataclasses import fields
from pathlib import Path

from core.train.molecule_generator.training import (
    DATASETS,
    WORK_DIR,
    WORK_DIRS,
    TrainConfig,
    train,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m core.train.molecule_generator",
        description="Train / export the SMILES generator",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--out", type=Path, default=None, help="default: checkpoints/<model>_wip")
    tr.add_argument("--dataset", choices=sorted(DATASETS), default="moses")
    for f in fields(TrainConfig):
        if f.type in ("int", "float"):
            tr.add_argument(
                "--" + f.name.replace("_", "-"),
                type={"int": int, "float": float}[f.type],
                default=None,
            )
    for key in ("n_layer", "n_head", "n_embd"):
        tr.add_argument("--" + key.replace("_", "-"), type=int, default=None)
    tr.add_argument("--dropout", type=float, default=None)
    tr.add_argument("--device", default=None, help="cpu (default) or cuda")
    tr.add_argument("--packed", default=None, help="a pack folder (see `pack`)")
    pi = sub.add_parser("pack-input", help="write the MOSES train split + labels (.npz)")
    pi.add_argument("out", type=Path)
    pk = sub.add_parser("pack", help="pre-tokenise a pack-input file for accelerator training")
    pk.add_argument("input", type=Path)
    pk.add_argument("out", type=Path)
    pk.add_argument("--variants", type=int, default=4)
    pk.add_argument("--seed", type=int, default=0)
    pk.add_argument("--workers", type=int, default=None)
    ex = sub.add_parser("export")
    ex.add_argument("--ckpt", type=Path, default=None, help="default: checkpoints/<model>_wip")
    ex.add_argument("--dataset", choices=sorted(DATASETS), default="moses")
    ex.add_argument("--samples", type=int, default=2000)
    ex.add_argument("--cond-samples", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.cmd == "train":
        cfg = TrainConfig()
        for f in fields(TrainConfig):
            v = getattr(args, f.name, None)
            if v is not None:
                setattr(cfg, f.name, v)
        for key in ("n_layer", "n_head", "n_embd", "dropout"):
            if getattr(args, key) is not None:
                cfg.model[key] = getattr(args, key)
        cfg.dataset = args.dataset
        cfg.device = args.device or cfg.device
        cfg.packed = args.packed or ""
        train(cfg, args.out or WORK_DIRS[args.dataset])
    elif args.cmd == "pack-input":
        from core.train.molecule_generator.packed import write_input

        print(write_input(args.out))
    elif args.cmd == "pack":
        from core.train.molecule_generator.packed import build_pack

        info = build_pack(
            args.input, args.out, variants=args.variants, seed=args.seed, workers=args.workers
        )
        print({k: v for k, v in info.items() if k not in ("vocab", "stats")})
    else:
        from core.train.molecule_generator.export import export

        if args.dataset == "qm9":
            from core.train.molecule_generator.export import export_qm9

            export_qm9(args.ckpt or WORK_DIRS["qm9"], samples=args.samples)
        else:
            export(args.ckpt or WORK_DIR, samples=args.samples, cond_samples=args.cond_samples)


if __name__ == "__main__":
    main()
