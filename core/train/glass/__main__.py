"""``python -m core.train.glass train|assemble|fit-correction|calibrate`` (see the package)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from core.config import models_dir
from core.train.glass.data import NAME, TrainConfig


def main(argv: list[str] | None = None) -> None:
    recipe = argparse.ArgumentParser(add_help=False)
    for f, default in asdict(TrainConfig()).items():
        recipe.add_argument(f"--{f.replace('_', '-')}", type=type(default), default=default)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--out", type=Path, default=None, help="default trained_models/glass")
    parser = argparse.ArgumentParser(
        prog="python -m core.train.glass", description="Train the glass property ensemble."
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    train = sub.add_parser(
        "train", parents=[recipe, where], help="train the members, then assemble them"
    )
    train.add_argument(
        "--no-assemble", action="store_true", help="only train members (assemble later)"
    )
    sub.add_parser(
        "assemble",
        parents=[recipe, where],
        help="build the ensemble from trained members (the recipe flags name the members)",
    )
    sub.add_parser(
        "fit-correction",
        parents=[where],
        help="refit the measured-neighbour correction of a model, then its test metrics and "
        "uncertainty calibration",
    )
    trees = sub.add_parser(
        "fit-trees",
        parents=[where],
        help="fit a model's gradient-boosted trees and their blend weights (records --trees "
        "on its card), then its measured-neighbour correction, test metrics and calibration",
    )
    trees.add_argument("--trees", default="Tg", help="comma-separated properties (default Tg)")
    sub.add_parser(
        "calibrate", parents=[where], help="refit the uncertainty calibration of a model"
    )
    sub.add_parser(
        "evaluate",
        parents=[where],
        help="rescore a model's test metrics, then refit its uncertainty calibration (after a "
        "change to the predictor's inference; weights and correction untouched)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
    )
    folder = args.out or models_dir() / NAME
    torch.set_num_threads(1)
    from core.models.integrity import record_checksums

    if args.cmd == "calibrate":
        from core.train.glass.calibration import calibrate

        calibrate(folder)
        record_checksums(folder)
    elif args.cmd in ("evaluate", "fit-correction", "fit-trees"):
        from core.train.glass.calibration import calibrate
        from core.train.glass.correction import fit_neighbour_correction
        from core.train.glass.data import data_for
        from core.train.glass.evaluate import evaluate_test

        data, descriptors = data_for(folder, None, None)
        if args.cmd == "fit-trees":
            from core.train.glass.trees import fit_trees, record_trees_recipe, tree_properties

            seed = int(json.loads((folder / "card.json").read_text())["train_config"]["seed"])
            fit_trees(folder, data, descriptors, tree_properties(args.trees), seed=seed)
            record_trees_recipe(folder, args.trees)
        if args.cmd in ("fit-correction", "fit-trees"):
            fit_neighbour_correction(folder, data, descriptors)
        evaluate_test(folder, data, descriptors)
        calibrate(folder, data, descriptors)
        record_checksums(folder)
    else:
        from core.train.glass.assemble import assemble

        cfg = TrainConfig(**{f: getattr(args, f) for f in asdict(TrainConfig())})
        t0 = time.monotonic()
        if args.cmd == "train":
            from core.train.glass.fit import train_members

            train_members(folder, cfg)
            if args.no_assemble:
                return
        assemble(folder, cfg, train_minutes=(time.monotonic() - t0) / 60)
        record_checksums(folder)  # the shipped files, checked when the model loads


if __name__ == "__main__":
    main()
