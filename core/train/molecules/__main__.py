"""``python -m core.train.molecules``: see the package docstring."""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict
from pathlib import Path

from core import config
from core.models.integrity import record_checksums
from core.train.molecules.training import MODEL_NAME, TrainConfig, train


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.train.molecules")
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train (or resume) one ensemble member")
    for name, value in asdict(TrainConfig()).items():
        p_train.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    p_train.add_argument("--out", type=Path, default=None)
    p_train.add_argument(
        "--state-dir",
        type=Path,
        default=config.REPO_ROOT / "checkpoints" / MODEL_NAME,
        help="resumable training state (optimiser, scheduler); default checkpoints/qm9_painn",
    )
    members = config.REPO_ROOT / "checkpoints" / MODEL_NAME
    p_eval = sub.add_parser(
        "evaluate", help="pack the trained members into one model, test metrics -> card.json"
    )
    p_eval.add_argument("--out", type=Path, default=None)
    p_eval.add_argument(
        "--members-dir", type=Path, default=members, help="default checkpoints/qm9_painn"
    )
    p_pack = sub.add_parser(
        "pack",
        help="pack the members into an evaluated model's model.safetensors again (same "
        "weights: the card's metrics stand)",
    )
    p_pack.add_argument("--out", type=Path, default=None)
    p_pack.add_argument("--members-dir", type=Path, default=members)
    p_sim = sub.add_parser(
        "similarity",
        help="add the error by similarity to the training set to an evaluated model's card",
    )
    p_sim.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = args.out or config.models_dir() / MODEL_NAME
    if args.command == "train":
        fields = {k: getattr(args, k) for k in asdict(TrainConfig())}
        # the members are intermediate: they wait beside their training state until
        # `evaluate` packs them into the model folder
        train(TrainConfig(**fields), args.out or args.state_dir, state_dir=args.state_dir)
    elif args.command == "similarity":
        from core.train.molecules.evaluation import add_similarity_breakdown

        add_similarity_breakdown(out)
        record_checksums(out)
    elif args.command == "pack":
        import datetime as dt
        import json

        from core.provenance import git_version
        from core.train.molecules.evaluation import pack_members

        card = json.loads((out / "card.json").read_text())  # its date stays the evaluation's
        card["members"] = pack_members(args.members_dir, out)
        card["packed_at_commit"] = git_version()
        card["packed_date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        (out / "card.json").write_text(json.dumps(card, indent=2))
        record_checksums(out)
    else:
        from core.train.molecules.evaluation import evaluate

        evaluate(out, args.members_dir)
        record_checksums(out)  # the shipped files, checked when the model loads


if __name__ == "__main__":
    main()
