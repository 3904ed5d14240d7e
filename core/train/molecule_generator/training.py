"""Training of the SMILES GPT (resumable), its data and sampling helpers.

The package docstring (:mod:`core.train.molecule_generator`) describes the commands."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rdkit import Chem, rdBase
from safetensors.torch import load_file, save_file

from core import config
from core.chem.descriptors import PROPERTIES
from core.chem.smiles_tokens import BOS, BOS_RANDOM, SmilesVocab, tokenize
from core.nn.smiles_gpt import SmilesGPT, SmilesGPTConfig
from core.provenance import git_version

log = logging.getLogger(__name__)

MODEL_NAME = "smiles_gpt_moses"
WORK_DIR = config.REPO_ROOT / "checkpoints" / "smiles_gpt_wip"
# The second model: QM9 molecules conditioned on their DFT frontier orbitals and dipole
QM9_PROPERTIES = ("homo", "lumo", "gap", "mu")
DATASETS = {"moses": PROPERTIES, "qm9": QM9_PROPERTIES}
MODEL_NAMES = {"moses": MODEL_NAME, "qm9": "smiles_gpt_qm9"}
WORK_DIRS = {"moses": WORK_DIR, "qm9": config.REPO_ROOT / "checkpoints" / "smiles_gpt_qm9_wip"}


@dataclass
class TrainConfig:
    seed: int = 0
    steps: int = 60_000  # length of the LR schedule
    batch_size: int = 64
    lr: float = 2e-3
    min_lr_frac: float = 0.1
    warmup: int = 500
    weight_decay: float = 0.1
    p_random: float = 0.4  # randomised-SMILES (<bos_r>) samples: the fragment-prompt mode
    p_uncond: float = 0.2  # samples with no condition at all
    p_keep: float = 0.5  # else each condition kept with this probability
    eval_every: int = 1000
    eval_samples: int = 256
    log_every: int = 50
    ckpt_minutes: float = 5.0
    max_minutes: float = 0.0  # 0: run until `steps`
    train_limit: int = 0  # 0: every labelled molecule (positive: the first n, for tests)
    threads: int = 1
    dataset: str = "moses"  # or "qm9" (conditions: DFT homo, lumo, gap, mu)
    device: str = "cpu"  # "cuda": bf16 autocast, fused AdamW
    packed: str = ""  # a pack folder (core.train.molecule_generator.packed): all molecules
    # pre-tokenised on the device, for accelerator training
    time_budget_minutes: float = 0.0  # >0: size `steps` from the speed of the first steps
    model: dict = field(default_factory=lambda: {"n_layer": 6, "n_head": 4, "n_embd": 128})


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to 1, then cosine decay to ``min_lr_frac`` at ``cfg.steps``."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t))


def budget_steps(step: int, steps_per_s: float, seconds_left: float) -> int:
    """Length of a schedule that ends inside a time budget: the steps that fit in 92 % of
    the time left (the rest for evaluations and the last checkpoint), never fewer than done."""
    return step + max(0, int(0.92 * steps_per_s * seconds_left))


class MoleculeData:
    """Labelled SMILES, their standardised properties and batch assembly."""

    def __init__(
        self,
        smiles: list[str],
        props: np.ndarray,
        vocab: SmilesVocab,
        stats: dict,
        properties: tuple[str, ...] = PROPERTIES,
    ):
        self.vocab = vocab
        self.stats = stats
        self.properties = tuple(properties)
        self.max_tokens = None
        self.smiles = smiles
        mean = np.array([stats[k]["mean"] for k in self.properties])
        std = np.array([stats[k]["std"] for k in self.properties])
        self.cond = ((props - mean) / std).astype(np.float32)

    def __len__(self) -> int:
        return len(self.smiles)

    def sequence(self, smi: str, randomise: bool, seed: int, max_len: int) -> list[int] | None:
        """Token ids of one sample (None if it does not fit the block or the vocabulary)."""
        if randomise:
            mol = Chem.MolFromSmiles(smi)
            if mol is None:
                return None
            smi = Chem.MolToRandomSmilesVect(mol, 1, randomSeed=seed)[0]
        return self.vocab.encode_within(smi, max_len, bos=BOS_RANDOM if randomise else BOS)

    def batch(self, rng: np.random.Generator, cfg: TrainConfig, max_len: int):
        """(idx (B, T) padded, cond (B, P), cond_mask (B, P)) of a random batch."""
        seqs, rows = [], []
        while len(seqs) < cfg.batch_size:
            i = int(rng.integers(len(self)))
            rand = bool(rng.random() < cfg.p_random)
            s = self.sequence(self.smiles[i], rand, int(rng.integers(2**31 - 1)), max_len)
            if s is None:
                continue
            seqs.append(s)
            rows.append(i)
        B, P = len(seqs), len(self.properties)
        idx = torch.full((B, max(len(s) for s in seqs)), self.vocab.pad_id, dtype=torch.long)
        for b, s in enumerate(seqs):
            idx[b, : len(s)] = torch.tensor(s)
        uncond = rng.random(B) < cfg.p_uncond
        mask = (rng.random((B, P)) < cfg.p_keep) & ~uncond[:, None]
        return idx, torch.from_numpy(self.cond[rows]), torch.from_numpy(mask)


def qm9_labels(split: str) -> pd.DataFrame:
    """QM9 molecules of a split as canonical RDKit SMILES with their DFT homo, lumo, gap
    (eV) and dipole mu (D); molecules RDKit cannot parse are left out."""
    from core.data import qm9

    df = qm9.load_split(split, columns=["smiles", *QM9_PROPERTIES])
    with rdBase.BlockLogs():
        mols = [Chem.MolFromSmiles(s) for s in df["smiles"]]
    keep = [m is not None for m in mols]
    df = df[keep].copy()
    df["smiles"] = [Chem.MolToSmiles(m) for m in mols if m is not None]
    return df.reset_index(drop=True)


def labels(dataset: str, split: str) -> pd.DataFrame:
    """SMILES + condition columns of a dataset split (MOSES: RDKit labels; QM9: DFT)."""
    if dataset == "qm9":
        return qm9_labels(split)
    from core.data.moses_labels import load_labels

    return load_labels(split)


def load_train_data(
    vocab: SmilesVocab, stats: dict | None, limit: int = 0, dataset: str = "moses"
) -> MoleculeData:
    from core.data.moses_labels import property_stats

    props = DATASETS[dataset]
    df = labels(dataset, "train")
    if limit:
        df = df.iloc[:limit]
    if len(df) == 0:
        raise RuntimeError("no labelled MOSES molecules: run python -m core.data.moses_labels")
    stats = stats or property_stats(df, props)
    return MoleculeData(df["smiles"].tolist(), df[list(props)].to_numpy(float), vocab, stats, props)


def build_vocab(dataset: str = "moses") -> SmilesVocab:
    if dataset == "qm9":
        return SmilesVocab.build(qm9_labels("train")["smiles"])
    from core.data import moses

    return SmilesVocab.build(moses.load_split("train", columns=["smiles"])["smiles"])


def sample_unconditional(
    model: SmilesGPT,
    vocab: SmilesVocab,
    n: int,
    seed: int,
    temperature: float = 1.0,
    batch_size: int = 256,
) -> list[str]:
    """n SMILES strings (maybe invalid) sampled in canonical mode without conditions."""
    gen = torch.Generator().manual_seed(seed)
    P = model.config.n_cond
    out: list[str] = []
    model.eval()
    device = next(model.parameters()).device
    if device.type != "cpu":
        gen = torch.Generator(device=device).manual_seed(seed)
    while len(out) < n:
        B = min(batch_size, n - len(out))
        prompt = torch.full((B, 1), vocab.bos_id, dtype=torch.long, device=device)
        seq = model.generate(
            prompt,
            torch.zeros(B, P, device=device),
            torch.zeros(B, P, dtype=torch.bool, device=device),
            max_new_tokens=model.config.block_size,
            eos_id=vocab.eos_id,
            temperature=temperature,
            generator=gen,
        )
        out.extend(vocab.decode(s[1:].tolist()) for s in seq)
    return out


def validity_uniqueness(smiles: list[str]) -> tuple[float, float, list[str]]:
    """Fraction parsed by RDKit, fraction of unique canonical SMILES among the valid ones."""
    blocker = rdBase.BlockLogs()
    canon = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s) if s else None
        if mol is not None:
            canon.append(Chem.MolToSmiles(mol))
    del blocker
    valid = len(canon) / max(1, len(smiles))
    unique = len(set(canon)) / max(1, len(canon))
    return valid, unique, canon


def _val_batch(vocab: SmilesVocab, stats: dict, n: int = 512, dataset: str = "moses"):
    """Fixed held-out batch (the val split, canonical, all conditions given) for the val
    loss."""
    props = DATASETS[dataset]
    df = labels(dataset, "val")
    df = df[[all(t in vocab for t in tokenize(s)) for s in df["smiles"]]].iloc[:n]
    data = MoleculeData(df["smiles"].tolist(), df[list(props)].to_numpy(float), vocab, stats, props)
    seqs = [vocab.encode(s) for s in data.smiles]
    idx = torch.full((len(seqs), max(map(len, seqs))), vocab.pad_id, dtype=torch.long)
    for b, s in enumerate(seqs):
        idx[b, : len(s)] = torch.tensor(s)
    return idx, torch.from_numpy(data.cond)


# ---------------------------------------------------------------- checkpoints


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_checkpoint(out: Path, model, opt, state: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _atomic(
        out / "model.safetensors",
        lambda p: save_file(
            {
                k: v.detach().cpu().contiguous()
                for k, v in model.state_dict().items()
                if k != "lm_head.weight"
            },
            str(p),
        ),
    )
    osd = opt.state_dict()
    # bf16 moments: half the size, harmless for Adam. New dicts: state_dict() shares the
    # live per-parameter dicts, and the optimiser must keep its fp32 moments.
    osd["state"] = {
        i: {
            k: (v.to(torch.bfloat16) if k in ("exp_avg", "exp_avg_sq") else v.clone()).cpu()
            for k, v in s.items()
        }
        for i, s in osd["state"].items()
    }
    blob = {"optimizer": osd, "torch_rng": torch.get_rng_state()}
    _atomic(out / "optim.pt", lambda p: torch.save(blob, p))
    _atomic(out / "state.json", lambda p: p.write_text(json.dumps(state, indent=1)))


def load_model(folder: Path, cfg_dict: dict) -> SmilesGPT:
    model = SmilesGPT(SmilesGPTConfig(**cfg_dict))
    sd = load_file(str(folder / "model.safetensors"))
    sd["lm_head.weight"] = sd["wte.weight"]
    model.load_state_dict(sd)
    return model


# ---------------------------------------------------------------- training


def train(
    cfg: TrainConfig,
    out: Path = WORK_DIR,
    data: MoleculeData | None = None,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict:
    """Train (or resume) into ``out``; ``data``/``val`` replace the cached MOSES labels
    (tests overfit a few molecules this way). Returns the final state."""
    torch.set_num_threads(cfg.threads)
    given_data = data
    device = torch.device(cfg.device)
    if data is None and cfg.packed:
        from core.train.molecule_generator.packed import PackedData

        data = PackedData(Path(cfg.packed), device)
        val = val or data.val
    state_path = out / "state.json"
    if state_path.exists():
        state = json.loads(state_path.read_text())
        given = {k: getattr(cfg, k) for k in ("max_minutes", "steps", "device", "packed")}
        cfg = TrainConfig(**{**state["train"], **given, "time_budget_minutes": 0.0})
        vocab = SmilesVocab(tuple(state["vocab"]))
        model = load_model(out, state["model_config"])
        log.info("resuming at step %d (%d molecules seen)", state["step"], state["molecules_seen"])
    else:
        torch.manual_seed(cfg.seed)
        vocab = data.vocab if data is not None else build_vocab(cfg.dataset)
        n_cond = len(DATASETS[cfg.dataset])
        mcfg = SmilesGPTConfig(vocab_size=len(vocab), n_cond=n_cond, **cfg.model)
        model = SmilesGPT(mcfg)
        state = {
            "step": 0,
            "molecules_seen": 0,
            "vocab": list(vocab.tokens),
            "model_config": mcfg.to_dict(),
            "stats": None,
            "rng": None,
            "cpu_seconds": 0.0,
        }
    if data is not None and given_data is None:  # a pack
        if data.vocab != vocab or (state["stats"] and state["stats"] != data.stats):
            raise ValueError(f"pack {cfg.packed} has another vocabulary or statistics")
        state["pack"] = {k: v for k, v in data.info.items() if k not in ("vocab", "stats")}
    if data is None:
        data = load_train_data(vocab, state["stats"], cfg.train_limit, cfg.dataset)
    state["stats"] = data.stats
    state["properties"] = list(data.properties)
    state["train"] = asdict(cfg)
    state["train_molecules_available"] = len(data)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "cond_" not in n]
    other = [p for n, p in model.named_parameters() if p.dim() < 2 or "cond_" in n]
    model.to(device)
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": other, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=(0.9, 0.95),
        fused=device.type == "cuda" or None,
    )
    if (out / "optim.pt").exists() and state["step"] > 0:
        blob = torch.load(out / "optim.pt", weights_only=True, map_location="cpu")
        opt.load_state_dict(blob["optimizer"])  # moments are cast back to fp32 by AdamW
        for s in opt.state.values():
            for k in ("exp_avg", "exp_avg_sq"):
                s[k] = s[k].float()
        torch.set_rng_state(blob["torch_rng"])
    rng = np.random.default_rng(cfg.seed)
    if state["rng"] is not None:
        rng.bit_generator.state = state["rng"]
    if val is None:
        val = _val_batch(vocab, data.stats, dataset=cfg.dataset)
    val_idx, val_cond = (t.to(device) for t in val)
    max_len = model.config.block_size - model.config.n_cond
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    leg = {
        "start_step": state["step"],
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "code": git_version(),
        "packed": bool(cfg.packed),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    state.setdefault("legs", []).append(leg)

    stop = {"flag": False}

    def _handler(signum, frame):  # checkpoint on kill, then leave
        stop["flag"] = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _handler)

    log_path = out / "log.jsonl"
    out.mkdir(parents=True, exist_ok=True)
    t_wall0, t_ckpt = time.time(), time.time()
    t_cpu = time.process_time()
    losses: list[torch.Tensor] = []
    sized = not cfg.time_budget_minutes
    probe_from = (state["step"] + 50, time.time())

    def checkpoint() -> None:
        nonlocal t_cpu
        now = time.process_time()
        state["cpu_seconds"] += now - t_cpu
        t_cpu = now
        leg.update(end_step=state["step"], wall_s=round(time.time() - t_wall0, 1))
        state["rng"] = rng.bit_generator.state
        state["saved"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        save_checkpoint(out, model, opt, state)

    def write_log(rec: dict) -> None:
        with log_path.open("a") as f:
            f.write(json.dumps(rec) + "\n")

    step_t0 = time.process_time()
    while state["step"] < cfg.steps and not stop["flag"]:
        step = state["step"]
        model.train()
        for g in opt.param_groups:
            g["lr"] = cfg.lr * lr_factor(step, cfg)
        idx, cond, mask = (t.to(device) for t in data.batch(rng, cfg, max_len))
        with amp:
            loss = model.loss(idx, cond, mask, pad_id=vocab.pad_id)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.detach())
        state["step"] += 1
        state["molecules_seen"] += idx.shape[0]
        if state["step"] == probe_from[0]:
            probe_from = (state["step"], time.time())
        if not sized and state["step"] == probe_from[0] + 200:
            # steps/s over 200 steps (after 50 to warm up) sizes the cosine schedule to the
            # budget, with 8 % kept for the evaluations and the final checkpoint
            rate = 200 / (time.time() - probe_from[1])
            left = cfg.time_budget_minutes * 60 - (time.time() - t_wall0)
            cfg.steps = budget_steps(state["step"], rate, left)
            state["train"] = asdict(cfg)
            leg["steps_sized"] = {"steps_per_s": round(rate, 2), "steps": cfg.steps}
            log.info("%.1f steps/s: schedule sized to %d steps", rate, cfg.steps)
            sized = True
        if state["step"] % cfg.log_every == 0:
            cpu = (time.process_time() - step_t0) / cfg.log_every
            rec = {
                "step": state["step"],
                "molecules": state["molecules_seen"],
                "loss": float(torch.stack(losses).float().mean()),
                "lr": opt.param_groups[0]["lr"],
                "cpu_s_per_step": round(cpu, 4),
            }
            log.info(
                "step %(step)d mols %(molecules)d loss %(loss).4f lr %(lr).2e "
                "%(cpu_s_per_step).3f s/step",
                rec,
            )
            write_log(rec)
            losses.clear()
            step_t0 = time.process_time()
        if state["step"] % cfg.eval_every == 0 or state["step"] == cfg.steps:
            model.eval()
            with torch.no_grad(), amp:
                all_on = torch.ones_like(val_cond, dtype=torch.bool)
                vl_c = float(model.loss(val_idx, val_cond, all_on, pad_id=vocab.pad_id))
                vl_u = float(model.loss(val_idx, val_cond, ~all_on, pad_id=vocab.pad_id))
            smi = sample_unconditional(model, vocab, cfg.eval_samples, seed=state["step"])
            valid, unique, _ = validity_uniqueness(smi)
            rec = {
                "step": state["step"],
                "molecules": state["molecules_seen"],
                "val_loss_cond": round(vl_c, 4),
                "val_loss_uncond": round(vl_u, 4),
                "validity_T1": round(valid, 4),
                "uniqueness_T1": round(unique, 4),
            }
            log.info("eval %s", rec)
            write_log(rec)
            step_t0 = time.process_time()
        if time.time() - t_ckpt > cfg.ckpt_minutes * 60:
            checkpoint()
            t_ckpt = time.time()
            # molecules labelled since the start join the training set
            if not cfg.train_limit and given_data is None and not cfg.packed:
                fresh = load_train_data(vocab, data.stats, dataset=cfg.dataset)
                if len(fresh) > len(data):
                    log.info(
                        "training set grows %d -> %d labelled molecules", len(data), len(fresh)
                    )
                    data = fresh
                    state["train_molecules_available"] = len(data)
        if cfg.max_minutes and time.time() - t_wall0 > cfg.max_minutes * 60:
            break
    checkpoint()
    log.info("checkpoint at step %d", state["step"])
    return state
