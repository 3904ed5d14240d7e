"""Pre-tokenised training data for the SMILES GPT on an accelerator.

On a GPU a training step of the generator takes milliseconds, far less than assembling its
batch in Python (RDKit writes a randomised SMILES for 40 % of the samples, then the regex
tokeniser runs). So for accelerator training the data is prepared once:

1. ``write_input`` (here, where the data cache is): the whole MOSES training split (every
   molecule, not only the labelled ones) with its RDKit labels where they exist (NaN where
   not), the vocabulary, the standardisation statistics of the labelled molecules and the
   validation molecules, in one compressed ``.npz`` (no pickles).
2. ``build_pack`` (on the training machine, in worker processes): per molecule the canonical
   SMILES after ``<bos>`` plus ``variants`` randomised SMILES after ``<bos_r>`` (RDKit's
   ``MolToRandomSmilesVect`` seeded per molecule from ``seed`` and its row, so the pack does
   not depend on the number of workers), tokenised into a ``uint8`` array; the cheap labels
   (logP, MW, TPSA) are computed for the molecules that lack them, so every molecule
   conditions on those three and the labelled quarter on all five. Written as safetensors +
   JSON.
3. :class:`PackedData` holds the pack on the training device; a batch is an index lookup
   (the numpy generator picks molecules, modes and condition masks exactly as
   :class:`~core.train.molecule_generator.training.MoleculeData` does, with missing labels
   masked off).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from core.chem.descriptors import PROPERTIES
from core.chem.smiles_tokens import BOS_RANDOM, SmilesVocab
from core.processes import hide_borrowed_main

log = logging.getLogger(__name__)

CHEAP = ("logp", "mw", "tpsa")  # fast RDKit descriptors, computed for every molecule
CHUNK = 4096


def _blob(strings: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(strings).encode(), dtype=np.uint8)


def _unblob(blob: np.ndarray) -> list[str]:
    return blob.tobytes().decode().split("\n")


def write_input(path: Path) -> dict:
    """Write the MOSES training split, its labels and the val molecules to ``path`` (.npz)."""
    from core.data import moses
    from core.data.moses_labels import load_labels, property_stats
    from core.provenance import data_provenance

    smiles = moses.load_split("train", columns=["smiles"])["smiles"].tolist()
    labelled = load_labels("train")
    props = np.full((len(smiles), len(PROPERTIES)), np.nan, dtype=np.float64)
    row = {s: i for i, s in enumerate(smiles)}
    rows = np.array([row[s] for s in labelled["smiles"]])
    props[rows] = labelled[list(PROPERTIES)].to_numpy(float)
    val = load_labels("val")
    meta = {
        "dataset": "moses",
        "data": data_provenance(moses.INFO),
        "properties": list(PROPERTIES),
        "stats": property_stats(labelled),
        "vocab": list(SmilesVocab.build(smiles).tokens),  # = training.build_vocab("moses")
        "train_molecules": len(smiles),
        "labelled_train_molecules": len(labelled),
        "val_molecules": len(val),
    }
    save_input(
        path, smiles, props, val["smiles"].tolist(), val[list(PROPERTIES)].to_numpy(float), meta
    )
    return meta


def save_input(path, smiles, props, val_smiles, val_props, meta: dict) -> None:
    """The pack input: SMILES as newline-joined bytes, labels as float arrays, JSON meta
    (vocab, properties, stats); ``np.load(allow_pickle=False)`` reads it back."""
    np.savez_compressed(
        path,
        smiles=_blob(list(smiles)),
        props=np.asarray(props, dtype=np.float64),
        val_smiles=_blob(list(val_smiles)),
        val_props=np.asarray(val_props, dtype=np.float64),
        meta=_blob([json.dumps(meta)]),
    )


def read_input(path: Path) -> tuple[list[str], np.ndarray, list[str], np.ndarray, dict]:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(_unblob(z["meta"])[0])
        return _unblob(z["smiles"]), z["props"], _unblob(z["val_smiles"]), z["val_props"], meta


def _molecule_seed(seed: int, row: int) -> int:
    return (seed * 1_000_003 + row) % (2**31 - 1)


def encode_chunk(args: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (n, 1 + variants, max_len) and cheap labels (n, 3) of a chunk of SMILES."""
    from rdkit import Chem, rdBase
    from rdkit.Chem import Descriptors, rdMolDescriptors

    smiles, start, tokens, variants, seed, max_len = args
    vocab = SmilesVocab(tuple(tokens))
    out = np.zeros((len(smiles), 1 + variants, max_len), dtype=np.uint8)
    cheap = np.full((len(smiles), len(CHEAP)), np.nan, dtype=np.float64)
    with rdBase.BlockLogs():
        for j, smi in enumerate(smiles):
            seqs = [vocab.encode_within(smi, max_len)]
            mol = Chem.MolFromSmiles(smi)
            if mol is not None:
                cheap[j] = (
                    Descriptors.MolLogP(mol),
                    Descriptors.MolWt(mol),
                    rdMolDescriptors.CalcTPSA(mol),
                )
                if variants:
                    rand = Chem.MolToRandomSmilesVect(
                        mol, variants, randomSeed=_molecule_seed(seed, start + j)
                    )
                    seqs += [vocab.encode_within(r, max_len, bos=BOS_RANDOM) for r in rand]
            for k, s in enumerate(seqs):
                if s is not None:
                    out[j, k, : len(s)] = s
    return out, cheap


def build_pack(
    input_path: Path,
    out: Path,
    *,
    variants: int = 4,
    seed: int = 0,
    block_size: int = 64,
    workers: int | None = None,
    val_molecules: int = 512,
) -> dict:
    """Tokenise every training molecule (canonical + ``variants`` randomised SMILES) into
    ``out`` (``pack.safetensors`` + ``pack.json``); returns the JSON metadata."""
    smiles, props, val_smiles, val_props, meta = read_input(input_path)
    props_order = meta["properties"]
    max_len = block_size - len(props_order)
    workers = workers or os.cpu_count() or 1
    jobs = [
        (smiles[i : i + CHUNK], i, meta["vocab"], variants, seed, max_len)
        for i in range(0, len(smiles), CHUNK)
    ]
    # an executor, not a Pool: a worker that dies raises BrokenProcessPool instead of being
    # restarted for ever
    with hide_borrowed_main(), ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as ex:
        parts = list(ex.map(encode_chunk, jobs))
    tokens = np.concatenate([p[0] for p in parts])
    cheap = np.concatenate([p[1] for p in parts])
    # the cheap labels fill in where the labelling job has not been; where both exist they
    # must agree (same RDKit calls), a check that the pack lines up with its labels
    cols = [props_order.index(k) for k in CHEAP]
    labelled = ~np.isnan(props[:, cols[0]])
    agree = 0.0
    if labelled.any():
        agree = float(np.nanmax(np.abs(props[labelled][:, cols] - cheap[labelled])))
    if agree > 1e-6:
        raise RuntimeError(f"cheap labels disagree with the cached ones by {agree}")
    for c, k in zip(cols, CHEAP, strict=True):
        props[:, c] = np.where(np.isnan(props[:, c]), cheap[:, CHEAP.index(k)], props[:, c])
    keep = tokens[:, 0, 0] != 0  # the canonical SMILES fits the block and the vocabulary
    tokens, props = tokens[keep], props[keep]
    mean = np.array([meta["stats"][k]["mean"] for k in props_order])
    std = np.array([meta["stats"][k]["std"] for k in props_order])
    vocab = SmilesVocab(tuple(meta["vocab"]))
    pairs = zip(val_smiles, val_props, strict=True)
    val = [(s, p) for s, p in pairs if vocab.encode_within(s, max_len)]
    val = val[:val_molecules]  # the first 512, as the CPU trainer's fixed val batch
    val_idx = np.zeros((len(val), max_len), dtype=np.uint8)
    for b, (s, _) in enumerate(val):
        ids = vocab.encode(s)
        val_idx[b, : len(ids)] = ids
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {
            "tokens": torch.from_numpy(tokens),
            "cond": torch.from_numpy(((props - mean) / std).astype(np.float32)),
            "val_tokens": torch.from_numpy(val_idx),
            "val_cond": torch.from_numpy(
                ((np.array([p for _, p in val]) - mean) / std).astype(np.float32)
            ),
        },
        str(out / "pack.safetensors"),
    )
    info = {
        **meta,
        "variants": variants,
        "seed": seed,
        "block_size": block_size,
        "packed_molecules": int(keep.sum()),
        "dropped_molecules": int((~keep).sum()),
        "random_variants_missing": int((tokens[:, 1:, 0] == 0).sum()),
        "conditions_given": {
            k: int((~np.isnan(props[:, j])).sum()) for j, k in enumerate(props_order)
        },
        "input_sha256": hashlib.sha256(Path(input_path).read_bytes()).hexdigest(),
    }
    (out / "pack.json").write_text(json.dumps(info, indent=1))
    return info


class PackedData:
    """A pack on the training device; ``batch`` has :class:`MoleculeData`'s contract."""

    def __init__(self, folder: Path, device: torch.device | str = "cpu") -> None:
        self.info = json.loads((Path(folder) / "pack.json").read_text())
        t = load_file(str(Path(folder) / "pack.safetensors"))
        self.device = torch.device(device)
        self.vocab = SmilesVocab(tuple(self.info["vocab"]))
        self.stats = self.info["stats"]
        self.properties = tuple(self.info["properties"])
        self.lengths = (t["tokens"] != 0).sum(-1).numpy()  # (N, 1 + variants)
        self.has_cond = ~torch.isnan(t["cond"]).numpy()
        self.tokens = t["tokens"].to(self.device)
        self.cond = t["cond"].to(self.device)
        self.val = (t["val_tokens"].long(), t["val_cond"])

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def batch(self, rng: np.random.Generator, cfg, max_len: int):
        """(idx (B, T), cond (B, P), cond_mask (B, P)) on the device, T the longest sample."""
        B, P = cfg.batch_size, len(self.properties)
        rows = rng.integers(len(self), size=B)
        rand = rng.random(B) < cfg.p_random
        variants = self.lengths.shape[1] - 1
        mode = np.where(rand, rng.integers(1, variants + 1, size=B), 0) if variants else rand * 0
        mode = np.where(self.lengths[rows, mode] > 0, mode, 0)  # a variant that did not fit
        lengths = self.lengths[rows, mode]
        if lengths.max() > max_len:
            raise ValueError(f"packed sequences of {lengths.max()} tokens exceed {max_len}")
        r = torch.from_numpy(rows).to(self.device)
        idx = self.tokens[r, torch.from_numpy(mode).to(self.device), : int(lengths.max())].long()
        uncond = rng.random(B) < cfg.p_uncond
        mask = (rng.random((B, P)) < cfg.p_keep) & ~uncond[:, None] & self.has_cond[rows]
        return idx, self.cond[r], torch.from_numpy(mask).to(self.device)
