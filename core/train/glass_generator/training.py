"""Training of the glass-structure denoiser (resumable) and its data.

The package docstring (:mod:`core.train.glass_generator`) describes the commands."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from core import config
from core.nn.glass_diffusion import (
    SPECIES,
    GlassDenoiser,
    GlassDiffusionConfig,
    denoising_loss,
    wrap,
)

log = logging.getLogger(__name__)

MODEL_NAME = "glass_diffusion"
WORK_DIR = config.REPO_ROOT / "checkpoints" / "glass_diffusion_wip"
EVAL_SIGMAS = (0.02, 0.1, 0.3, 1.0)


@dataclass
class TrainConfig:
    seed: int = 0
    steps: int = 20_000  # length of the LR schedule
    batch_atoms: int = 700
    lr: float = 1e-3
    min_lr_frac: float = 0.05
    warmup: int = 200
    ema: float = 0.999
    mid_fraction: float = 0.0  # share of noise levels drawn around 0.5 Å (sample_sigma)
    eval_every: int = 250
    log_every: int = 25
    ckpt_minutes: float = 5.0
    max_minutes: float = 0.0  # 0: run until `steps`
    threads: int = 1


# resuming keeps the saved TrainConfig except for these (and any field given explicitly)
RESUME_OVERRIDES = frozenset({"max_minutes", "steps"})


def pick_device(name: str = "auto") -> torch.device:
    """``"auto"``: the GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def lr_factor(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t))


# ---------------------------------------------------------------- data
def conditions_of(atoms) -> list[float]:
    """``[density g/cm3, log10 cooling rate K/s, x(Na2O)]`` of an MD structure."""
    info = atoms.info
    return [
        float(info["density_g_cm3"]),
        float(np.log10(info["cooling_rate_K_s"])),
        float(info["x_na2o"]),
    ]


def batchify(structures, conds=None) -> dict[str, torch.Tensor]:
    """A PyG-style batch (concatenated atoms, ``batch`` index, one cell/condition row per
    structure) of orthorhombic periodic ase.Atoms."""
    sp, pos, bt, lengths, cond = [], [], [], [], []
    for b, a in enumerate(structures):
        sp.append(torch.tensor([SPECIES.index(s) for s in a.get_chemical_symbols()]))
        pos.append(torch.tensor(a.positions, dtype=torch.float32))
        bt.append(torch.full((len(a),), b, dtype=torch.long))
        lengths.append(torch.tensor(a.cell.lengths(), dtype=torch.float32))
        cond.append(torch.tensor(conds[b] if conds is not None else conditions_of(a)))
    L = torch.stack(lengths)
    batch = torch.cat(bt)
    return {
        "species": torch.cat(sp),
        "pos": wrap(torch.cat(pos), L[batch]),
        "lengths": L,
        "batch": batch,
        "cond": torch.stack(cond).float(),
    }


def load_data(split: str = "train"):
    from core.data.glass_md import load_structures

    return load_structures(split, "min")


@torch.no_grad()
def eval_loss(model: GlassDenoiser, structures, seed: int = 1) -> dict[str, float]:
    """Denoising loss of ``structures`` at :data:`EVAL_SIGMAS`, fixed noise (comparable
    between checkpoints)."""
    out = {}
    dev = next(model.parameters()).device
    for sigma in EVAL_SIGMAS:
        g = torch.Generator().manual_seed(seed)  # CPU noise: the same on every device
        losses = []
        for a in structures:
            b = {k: v.to(dev) for k, v in batchify([a]).items()}
            loss = denoising_loss(
                model,
                b["species"],
                b["pos"],
                b["lengths"],
                b["batch"],
                b["cond"],
                sigma=torch.tensor([sigma]),
                generator=g,
            )
            losses.append(float(loss.detach()))
        out[f"{sigma:g}"] = float(np.mean(losses))
    return out


# ---------------------------------------------------------------- checkpoints
def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _save_weights(module, path: Path) -> None:
    sd = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    _atomic(path, lambda p: save_file(sd, str(p)))


def load_model(path: Path, cfg_dict: dict) -> GlassDenoiser:
    model = GlassDenoiser(GlassDiffusionConfig(**cfg_dict))
    model.load_state_dict(load_file(str(path)))
    return model


# ---------------------------------------------------------------- training
def train(
    cfg: TrainConfig,
    out: Path = WORK_DIR,
    data=None,
    model_cfg=None,
    device: str = "cpu",
    overrides: frozenset[str] = RESUME_OVERRIDES,
) -> dict:
    """Train (or resume) into ``out`` on ``device`` (``"auto"``: the GPU if there is one);
    ``data`` replaces the MD training structures (tests overfit one tiny structure this
    way). On resume the saved TrainConfig stays except for the fields in ``overrides``.
    Returns the final state."""
    torch.set_num_threads(cfg.threads)
    dev = pick_device(device)
    given = data
    state_path = out / "state.json"
    if state_path.exists():
        state = json.loads(state_path.read_text())
        saved = state["train"]
        cfg = TrainConfig(
            **{
                **{k: v for k, v in saved.items() if k in TrainConfig.__dataclass_fields__},
                **{k: getattr(cfg, k) for k in overrides | RESUME_OVERRIDES},
            }
        )
        model = load_model(out / "model.safetensors", state["model_config"])
        ema = load_model(out / "ema.safetensors", state["model_config"])
        log.info("resuming at step %d", state["step"])
    else:
        torch.manual_seed(cfg.seed)
        mcfg = model_cfg or GlassDiffusionConfig()
        model = GlassDenoiser(mcfg)
        ema = GlassDenoiser(mcfg)
        ema.load_state_dict(model.state_dict())
        state = {
            "step": 0,
            "structures_seen": 0,
            "model_config": mcfg.to_dict(),
            "rng": None,
            "cpu_seconds": 0.0,
        }
    state["train"] = asdict(cfg)
    model.to(dev)
    ema.to(dev)
    ema.eval()
    if config.torch_compile_enabled():
        # same numbers, fused kernels: a CPU step on ~2,700 atoms ~2.9 instead of ~15.5
        # CPU-s (probe); MDS_TORCH_COMPILE=0 trains eagerly
        model.compile_network()
        ema.compile_network()
    for p in ema.parameters():
        p.requires_grad_(False)
    data = given if given is not None else load_data("train")
    test = [] if given is not None else load_data("test")
    state["train_structures"] = len(data)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    if (out / "optim.pt").exists() and state["step"] > 0:
        # a GPU leg saves CUDA tensors: read them onto the CPU (the RNG state must be a CPU
        # tensor); load_state_dict then moves Adam's moments onto the parameters' device
        blob = torch.load(out / "optim.pt", weights_only=True, map_location="cpu")
        opt.load_state_dict(blob["optimizer"])
        torch.set_rng_state(blob["torch_rng"])
    rng = np.random.default_rng(cfg.seed)
    if state["rng"] is not None:
        rng.bit_generator.state = state["rng"]

    stop = {"flag": False}

    def _handler(signum, frame):
        stop["flag"] = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _handler)

    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "log.jsonl"
    t_wall0, t_ckpt, t_cpu = time.time(), time.time(), time.process_time()
    t_wall = t_wall0
    wall_by_device = state.setdefault("wall_seconds_by_device", {})
    losses: list[float] = []

    def write_log(rec: dict) -> None:
        with log_path.open("a") as f:
            f.write(json.dumps(rec) + "\n")

    def checkpoint() -> None:
        nonlocal t_cpu, t_wall
        now = time.process_time()
        state["cpu_seconds"] += now - t_cpu
        t_cpu = now
        key = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
        wall_by_device[key] = wall_by_device.get(key, 0.0) + time.time() - t_wall
        t_wall = time.time()
        state["rng"] = rng.bit_generator.state
        _save_weights(model, out / "model.safetensors")
        _save_weights(ema, out / "ema.safetensors")
        blob = {"optimizer": opt.state_dict(), "torch_rng": torch.get_rng_state()}
        _atomic(out / "optim.pt", lambda p: torch.save(blob, p))
        _atomic(state_path, lambda p: p.write_text(json.dumps(state, indent=1)))

    sizes = np.array([len(a) for a in data])
    while state["step"] < cfg.steps and not stop["flag"]:
        step = state["step"]
        for group in opt.param_groups:
            group["lr"] = cfg.lr * lr_factor(step, cfg)
        picked, total = [], 0
        while total < cfg.batch_atoms or not picked:
            i = int(rng.integers(len(data)))
            if picked and total + sizes[i] > 1.5 * cfg.batch_atoms:
                break
            picked.append(i)
            total += int(sizes[i])
        b = {k: v.to(dev) for k, v in batchify([data[i] for i in picked]).items()}
        model.train()
        loss = denoising_loss(
            model,
            b["species"],
            b["pos"],
            b["lengths"],
            b["batch"],
            b["cond"],
            mid_fraction=cfg.mid_fraction,
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            d = min(cfg.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
        losses.append(float(loss.detach()))
        state["step"] = step + 1
        state["structures_seen"] += len(picked)
        if state["step"] % cfg.log_every == 0:
            rec = {
                "step": state["step"],
                "loss": round(float(np.mean(losses)), 5),
                "lr": opt.param_groups[0]["lr"],
            }
            write_log(rec)
            log.info("%s", rec)
            losses = []
        if test and state["step"] % cfg.eval_every == 0:
            rec = {"step": state["step"], "test_loss_by_sigma": eval_loss(ema, test)}
            write_log(rec)
            log.info("eval %s", rec)
        if time.time() - t_ckpt > cfg.ckpt_minutes * 60:
            checkpoint()
            t_ckpt = time.time()
            if given is None:
                fresh = load_data("train")
                if len(fresh) > len(data):
                    log.info("training set grows %d -> %d structures", len(data), len(fresh))
                    data = fresh
                    sizes = np.array([len(a) for a in data])
                    state["train_structures"] = len(data)
        if cfg.max_minutes and time.time() - t_wall0 > cfg.max_minutes * 60:
            break
    checkpoint()
    log.info("checkpoint at step %d", state["step"])
    return state
