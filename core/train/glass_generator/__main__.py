"""``python -m core.train.glass_generator``: see the package docstring."""

from __future__ import annotations

import argparse
import logging
from dataclasses import fields
from pathlib import Path

from core.nn.glass_diffusion import GlassDiffusionConfig
from core.train.glass_generator.training import WORK_DIR, TrainConfig, train


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m core.train.glass_generator",
        description="Train / export the glass-structure generator",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--out", type=Path, default=WORK_DIR)
    for f in fields(TrainConfig):
        if f.type in ("int", "float"):
            tr.add_argument(
                "--" + f.name.replace("_", "-"),
                type={"int": int, "float": float}[f.type],
                default=None,
            )
    for f in fields(GlassDiffusionConfig):
        if f.name in ("hidden", "layers", "rbf"):
            tr.add_argument("--" + f.name, type=int, default=None)
    tr.add_argument("--cutoff", type=float, default=None)
    tr.add_argument("--device", default="cpu", help='"cpu", "cuda" or "auto"')
    ex = sub.add_parser("export")
    ex.add_argument("--ckpt", type=Path, default=WORK_DIR)
    ex.add_argument("--per-condition", type=int, default=2)
    ex.add_argument(
        "--steps",
        type=int,
        default=None,
        help="default: the app's, core.generate.glass.DEFAULT_STEPS",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.cmd == "train":
        cfg = TrainConfig()
        given = set()
        for f in fields(TrainConfig):
            v = getattr(args, f.name, None)
            if v is not None:
                setattr(cfg, f.name, v)
                given.add(f.name)
        mcfg = GlassDiffusionConfig()
        for key in ("hidden", "layers", "rbf", "cutoff"):
            if getattr(args, key) is not None:
                setattr(mcfg, key, getattr(args, key))
        train(cfg, args.out, model_cfg=mcfg, device=args.device, overrides=frozenset(given))
    else:
        from core.train.glass_generator.export import export

        steps = {} if args.steps is None else {"steps": args.steps}
        export(args.ckpt, per_condition=args.per_condition, **steps)


if __name__ == "__main__":
    main()
