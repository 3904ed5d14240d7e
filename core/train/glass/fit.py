"""Training of one ensemble member (joint property + MYEGA network, optional Tg network)."""

from __future__ import annotations

import json
import logging
import math
import multiprocessing as mp
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from core.exceptions import InvalidInputError
from core.featurizers.composition import DescriptorTable, ElementTable
from core.nn.glass import GlassSetConfig, GlassSetNet, myega_log10_viscosity, tg_network_config
from core.train.glass.data import GlassData, TrainConfig, load_data

logger = logging.getLogger(__name__)


def _batch(data: GlassData, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    frac = data.fraction[rows]
    k = max(int((frac > 0).sum(axis=1).max()), 1)
    return torch.from_numpy(data.index[rows, :k]), torch.from_numpy(frac[:, :k])


def _points_of(data: GlassData, rows: np.ndarray, rng, max_points: int | None):
    """Viscosity points of the glasses ``rows``: (point ids, position of its glass in rows)."""
    lo, hi = data.visc_ptr[rows], data.visc_ptr[rows + 1]
    has = np.flatnonzero(hi > lo)
    ids, pos = [], []
    for b in has:
        pts = np.arange(lo[b], hi[b])
        if max_points is not None and len(pts) > max_points:
            pts = rng.choice(pts, max_points, replace=False)
        ids.append(pts)
        pos.append(np.full(len(pts), b))
    if not ids:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(ids), np.concatenate(pos)


def _losses(model, desc, data, rows, cfg: TrainConfig, visc_var: float, rng, max_points):
    """(total, property, viscosity) losses of one batch of glasses (one forward pass)."""
    idx, frac = _batch(data, rows)
    out = model(desc, idx, frac)
    y = torch.from_numpy(data.targets[rows, : model.config.n_properties])
    seen = torch.isfinite(y)
    err = torch.where(seen, out["properties"] - torch.nan_to_num(y), torch.zeros_like(y))
    n_seen = seen.sum(0)
    per_prop = (err**2).sum(0) / n_seen.clamp_min(1)
    prop_loss = per_prop.sum() / (n_seen > 0).sum().clamp_min(1)
    pts, pos = _points_of(data, rows, rng, max_points)
    visc_loss = torch.zeros(())
    if not model.config.viscosity:
        return prop_loss, prop_loss, visc_loss, 0
    if len(pts):
        p = torch.from_numpy(pos)
        pred = myega_log10_viscosity(
            out["A"][p], out["T12"][p], out["m"][p], torch.from_numpy(data.visc_T[pts])
        )
        target = torch.from_numpy(data.visc_log_eta[pts])
        visc_loss = ((pred - target) ** 2).mean() / visc_var
    offset = (out["T12"] - out["Tg"]) / model.config.tg_std
    total = prop_loss + cfg.visc_weight * visc_loss + cfg.offset_weight * (offset**2).mean()
    return total, prop_loss, visc_loss, len(pts)


def _bucketed_batches(data: GlassData, rows: np.ndarray, batch_size: int, rng) -> list:
    """Batches of glasses with similar component counts (little padding), in random order."""
    k = (data.fraction[rows] > 0).sum(axis=1)
    order = np.lexsort((rng.random(len(rows)), k))
    batches = [rows[order[i : i + batch_size]] for i in range(0, len(rows), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _evaluate(model, desc, data, cfg, visc_var, split: str) -> float:
    rows = np.flatnonzero(data.split == split)
    rng = np.random.default_rng(0)
    model.eval()
    sums = np.zeros(2)
    weights = np.zeros(2)
    with torch.no_grad():
        for batch in _bucketed_batches(data, rows, 2048, rng):
            _, p, v, n_pts = _losses(model, desc, data, batch, cfg, visc_var, rng, None)
            n_glass = int(np.isfinite(data.targets[batch]).any(axis=1).sum())
            sums += [float(p) * n_glass, float(v) * n_pts]
            weights += [n_glass, n_pts]
    model.train()
    p, v = sums / np.maximum(weights, 1)
    return float(p + cfg.visc_weight * v)


def train_member(
    seed: int,
    data: GlassData,
    desc_np: np.ndarray,
    cfg: TrainConfig,
    log=None,
    tg_only: bool = False,
):
    """Train one member's network; returns (best state_dict by validation loss, history).

    ``tg_only``: the member's Tg network (:func:`tg_config`; one output, no MYEGA head).
    ``log``: a callable taking one progress line (default: this module's logger)."""
    log = log or logger.info
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    tg = data.scalers["Tg"]
    config = GlassSetConfig(
        n_descriptors=desc_np.shape[1],
        hidden=cfg.hidden,
        n_layers=cfg.n_layers,
        tg_mean=tg["mean"],
        tg_std=tg["std"],
    )
    model = GlassSetNet(tg_network_config(config) if tg_only else config)
    desc = torch.from_numpy(desc_np)
    train_rows = np.flatnonzero(data.split == "train")
    train_pts = np.flatnonzero(data.split[data.visc_glass] == "train")
    visc_var = float(np.var(data.visc_log_eta[train_pts]))
    steps_per_epoch = math.ceil(len(train_rows) / cfg.batch_size)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch + 1, pct_start=0.05
    )
    best, best_state, history, bad = math.inf, None, [], 0
    start = time.monotonic()
    for epoch in range(cfg.epochs):
        for rows in _bucketed_batches(data, train_rows, cfg.batch_size, rng):
            loss, _, _, _ = _losses(model, desc, data, rows, cfg, visc_var, rng, cfg.max_points)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            sched.step()
        val = _evaluate(model, desc, data, cfg, visc_var, "val")
        minutes = (time.monotonic() - start) / 60
        history.append({"epoch": epoch + 1, "val_loss": val, "minutes": round(minutes, 2)})
        log(f"seed {seed} epoch {epoch + 1}: val {val:.4f} ({minutes:.1f} min)")
        if val < best:
            best, bad = val, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        timed_out = cfg.max_minutes_per_member > 0 and minutes > cfg.max_minutes_per_member
        if bad >= cfg.patience or timed_out:
            log(f"seed {seed}: stop after epoch {epoch + 1}")
            break
    return best_state, history


def tg_config(cfg: TrainConfig) -> TrainConfig:
    """The recipe of a member's Tg network: the member's, without the viscosity and tie
    losses, for ``tg_epochs`` epochs."""
    return replace(
        cfg, visc_weight=0.0, offset_weight=0.0, epochs=cfg.tg_epochs, tg_network=0, joint_from=""
    )


TG_SEED_STRIDE = 1000  # a member's k-th Tg network trains from seed + k * TG_SEED_STRIDE


def tg_seed(seed: int, k: int) -> int:
    """The seed of a member's k-th Tg network (the first keeps the member's own seed)."""
    return seed + k * TG_SEED_STRIDE


def tg_prefix(k: int) -> str:
    """Where a member's k-th Tg network sits in its state dict (:class:`GlassSetNet`)."""
    return "tg_net." if k == 0 else f"extra_tg_nets.{k - 1}."


def with_tg_network(joint_state: dict, tg_states: list[dict]) -> dict:
    """One ``tg_network`` member's weights: the joint network's and those of its Tg networks
    (in order), under :func:`tg_prefix`."""
    out = dict(joint_state)
    for k, tg_state in enumerate(tg_states):
        out.update({tg_prefix(k) + name: v for name, v in tg_state.items()})
    return out


def split_member(state: dict) -> tuple[dict, list[dict]]:
    """A member's weights as (joint network, [Tg networks in order])."""
    tg: dict[int, dict] = {}
    joint = {}
    for name, v in state.items():
        if name.startswith(tg_prefix(0)):
            tg.setdefault(0, {})[name[len(tg_prefix(0)) :]] = v
        elif name.startswith("extra_tg_nets."):
            k, rest = name[len("extra_tg_nets.") :].split(".", 1)
            tg.setdefault(int(k) + 1, {})[rest] = v
        else:
            joint[name] = v
    return joint, [tg[k] for k in sorted(tg)]


def card_recipe(folder: Path) -> dict:
    """The training recipe on the card of the model in ``folder``, as a full
    :class:`TrainConfig` dict (fields the card predates take their defaults)."""
    given = json.loads((folder / "card.json").read_text())["train_config"]
    return {**asdict(TrainConfig()), **{k: v for k, v in given.items() if hasattr(TrainConfig, k)}}


# recipe fields that only concern assembling the members into a model (not the networks)
ASSEMBLY_ONLY = ("trees",)
JOINT_RECIPE_IGNORES = (
    "jobs",
    "tg_network",
    "tg_epochs",
    "joint_from",
    "seed",
    "members",
    *ASSEMBLY_ONLY,
)
# what may differ for a model's Tg networks to be reused as well (their number may grow)
TG_RECIPE_IGNORES = ("jobs", "tg_network", "joint_from", "seed", "members", *ASSEMBLY_ONLY)


def joint_members(folder: Path, cfg: TrainConfig) -> dict[int, dict]:
    """The networks of the model in ``folder`` by seed, after checking that it was trained
    with the joint recipe of ``cfg`` (every field but those that only concern the Tg
    networks or the run): ``{"joint": state, "tg": [states], "record": card record}``.
    Its Tg networks come along (the first ``cfg.tg_network``) only where they were trained
    with the Tg recipe of ``cfg`` too (the same ``tg_epochs``); ``tg`` is empty otherwise."""
    from safetensors.torch import load_file

    card = json.loads((folder / "card.json").read_text())
    theirs = card_recipe(folder)
    ours = asdict(cfg)
    differ = [k for k in ours if k not in JOINT_RECIPE_IGNORES and theirs.get(k) != ours[k]]
    if differ:
        raise InvalidInputError(
            "The model to take joint networks from was trained with another recipe",
            got=f"{folder}: differs in {differ}",
            expected="the same recipe (apart from " + ", ".join(JOINT_RECIPE_IGNORES) + ")",
            fix="train the joint networks again (drop --joint-from)",
        )
    same_tg = theirs["tg_network"] > 0 and all(
        theirs.get(k) == ours[k] for k in ours if k not in TG_RECIPE_IGNORES
    )
    weights = load_file(str(folder / "model.safetensors"))
    out = {}
    for i, seed in enumerate(card["seeds"]):
        prefix = f"member{i}."
        joint, tg = split_member(
            {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
        )
        out[seed] = {
            "joint": joint,
            "tg": tg[: cfg.tg_network] if same_tg else [],
            "record": card.get("members", {}).get(str(seed), {}),
        }
    return out


def train_one_member(args):
    seed, cfg, folder = args
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    data, descriptors = load_data(
        DescriptorTable.from_json(
            folder / "descriptors.json", ElementTable.from_json(folder / "elements.json")
        ),
        cfg.test_keys,
    )
    log_path = folder / "_members" / f"seed{seed}.log"

    def log(msg):
        with log_path.open("a") as fh:
            fh.write(msg + "\n")
        logger.info(msg)

    desc = descriptors.scaled()
    record = {"seed": seed, "train_config": asdict(cfg)}
    tg_states: list[dict] = []
    earlier = earlier_member(folder, seed, cfg)
    if earlier or cfg.joint_from:  # the same recipe and seed: its history is this network's
        source = earlier or joint_members(Path(cfg.joint_from), cfg)[seed]
        state = source["joint"]
        record["history"] = source["record"]["history"]
        tg_states = source["tg"]
        histories = [source["record"].get("tg_history")]
        histories += source["record"].get("extra_tg_histories", [])
        if tg_states:
            log(f"seed {seed}: {len(tg_states)} Tg network(s) reused")
            record["tg_history"] = histories[0]
            if len(tg_states) > 1:
                record["extra_tg_histories"] = histories[1 : len(tg_states)]
    else:
        state, record["history"] = train_member(seed, data, desc, cfg, log)
    for k in range(len(tg_states), cfg.tg_network):
        log(f"seed {seed}: Tg network {k + 1} of {cfg.tg_network}, seed {tg_seed(seed, k)}")
        tg_state, history = train_member(tg_seed(seed, k), data, desc, tg_config(cfg), log, True)
        tg_states.append(tg_state)
        if k == 0:
            record["tg_history"] = history
        else:
            record.setdefault("extra_tg_histories", []).append(history)
    if cfg.tg_network:
        state = with_tg_network(state, tg_states)
    save_file(state, str(folder / "_members" / f"seed{seed}.safetensors"))
    (folder / "_members" / f"seed{seed}.json").write_text(json.dumps(record))
    return seed


def file_sha256(path: str) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


# fields of a run that do not change a member's weights (a member's own seed is its file's)
RUN_ONLY = ("jobs", "members", "seed", *ASSEMBLY_ONLY)


def member_done(folder: Path, seed: int, cfg: TrainConfig) -> bool:
    """Whether ``folder/_members`` already holds this seed's member, trained with this
    recipe (a stopped run resumes at the members it had not finished)."""
    weights = folder / "_members" / f"seed{seed}.safetensors"
    record = folder / "_members" / f"seed{seed}.json"
    if not (weights.exists() and record.exists()):
        return False
    done = json.loads(record.read_text()).get("train_config", {})
    return all(done.get(k) == v for k, v in asdict(cfg).items() if k not in RUN_ONLY)


def earlier_member(folder: Path, seed: int, cfg: TrainConfig) -> dict | None:
    """This seed's member as an earlier run left it in ``folder/_members`` with this recipe
    but fewer Tg networks (``{"joint", "tg", "record"}``, as :func:`joint_members`), so that
    only the missing Tg networks are trained; None if there is none."""
    from safetensors.torch import load_file

    weights = folder / "_members" / f"seed{seed}.safetensors"
    path = folder / "_members" / f"seed{seed}.json"
    if not (weights.exists() and path.exists()):
        return None
    record = json.loads(path.read_text())
    done = record.get("train_config", {})
    ignore = (*RUN_ONLY, "tg_network", "joint_from")
    if not all(done.get(k) == v for k, v in asdict(cfg).items() if k not in ignore):
        return None
    if not 0 < int(done.get("tg_network", 0)) <= cfg.tg_network:
        return None
    joint, tg = split_member(load_file(str(weights)))
    return {"joint": joint, "tg": tg, "record": record}


def train_members(folder: Path, cfg: TrainConfig) -> None:
    """Write the element and descriptor tables, then train every member into
    ``folder/_members`` (``cfg.jobs`` processes, one torch thread each) that is not there
    already with the same recipe."""
    (folder / "_members").mkdir(parents=True, exist_ok=True)
    elements = ElementTable.from_mendeleev()
    elements.to_json(folder / "elements.json")
    _, descriptors = load_data(None)
    descriptors.elements = elements
    descriptors.to_json(folder / "descriptors.json")
    jobs = [
        (cfg.seed + i, cfg, folder)
        for i in range(cfg.members)
        if not member_done(folder, cfg.seed + i, cfg)
    ]
    if len(jobs) < cfg.members:
        logger.info("%d of %d members already trained", cfg.members - len(jobs), cfg.members)
    if cfg.jobs > 1:
        with mp.get_context("fork").Pool(cfg.jobs) as pool:
            for seed in pool.imap_unordered(train_one_member, jobs):
                logger.info("member seed %d done", seed)
    else:
        for job in jobs:
            train_one_member(job)
