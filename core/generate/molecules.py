"""Conditional molecule generation: ``load_generator().sample(n, conditions, seed, ...)``.

The shipped model (``trained_models/smiles_gpt_moses``) is a :class:`core.nn.smiles_gpt.SmilesGPT`
trained on MOSES. Any subset of the conditions ``logp``, ``sas``, ``mw``, ``qed``, ``tpsa``
may be given (none: unconditional); each must lie inside the training data's central 99 %
(the 0.5-99.5 percentiles recorded in the card), since the model is not asked to
extrapolate. A fragment is kept by construction: a SMILES of the fragment ending at an
atom with a free valence is written after ``<bos_r>`` and the model completes it (see the
model's docstring); each row still reports a substructure check, ``fragment_matched``.

Rows are valid, unique molecules only (up to ``n``); what the model produced before
filtering is in ``df.attrs`` (``samples``, ``raw_validity``, ``raw_uniqueness``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from numbers import Real
from pathlib import Path

import pandas as pd
import torch
from rdkit import Chem, rdBase

from core import config
from core.chem.descriptors import PROPERTIES, mol_properties
from core.chem.smiles_tokens import BOS_RANDOM, SmilesVocab, tokenize
from core.exceptions import InvalidInputError, ModelNotAvailableError
from core.nn.smiles_gpt import SmilesGPT, SmilesGPTConfig

log = logging.getLogger(__name__)

MODELS = {"moses": "smiles_gpt_moses"}
MAX_N = 10_000
_PREFIXES_PER_FRAGMENT = 16


class MoleculeGenerator:
    """A trained SMILES generator with its vocabulary and condition statistics (read-only)."""

    def __init__(
        self,
        model: SmilesGPT,
        vocab: SmilesVocab,
        stats: Mapping[str, Mapping[str, float]],
        ranges: Mapping[str, tuple[float, float]],
        card: dict | None = None,
        training_smiles: Callable[[], frozenset[str] | None] | None = None,
    ) -> None:
        self.model = model.eval()
        self.vocab = vocab
        self.stats = {k: dict(v) for k, v in stats.items()}
        self.ranges = {k: (float(lo), float(hi)) for k, (lo, hi) in ranges.items()}
        self.card = card or {}
        self._training_smiles = training_smiles or _moses_training_smiles

    @classmethod
    def from_folder(cls, folder: Path) -> MoleculeGenerator:
        from safetensors.torch import load_file

        card_path, weights = folder / "card.json", folder / "model.safetensors"
        if not card_path.is_file() or not weights.is_file():
            raise ModelNotAvailableError(
                f"the molecule generator is not in {folder} (card.json + model.safetensors); "
                "train and export it with python -m core.train.molecule_generator"
            )
        card = json.loads(card_path.read_text())
        model = SmilesGPT(SmilesGPTConfig(**card["config"]))
        sd = load_file(str(weights))
        sd["lm_head.weight"] = sd["wte.weight"]  # tied weights are stored once
        model.load_state_dict(sd)
        cond = card["conditions"]
        stats = {k: {"mean": cond[k]["mean"], "std": cond[k]["std"]} for k in PROPERTIES}
        ranges = {k: tuple(cond[k]["range"]) for k in PROPERTIES}
        return cls(model, SmilesVocab(tuple(card["tokenizer"]["vocab"])), stats, ranges, card)

    # ------------------------------------------------------------------ validation

    def _check_conditions(self, conditions: Mapping[str, object] | None) -> dict[str, float]:
        if conditions is None:
            return {}
        if not isinstance(conditions, Mapping):
            raise InvalidInputError(
                "conditions must be a mapping of property to target value",
                got=type(conditions).__name__,
                expected="a dict such as {'logp': 2.0}",
            )
        out = {}
        for key, value in conditions.items():
            if key not in PROPERTIES:
                raise InvalidInputError(
                    f"unknown condition {key!r}",
                    got=key,
                    expected=f"one of {', '.join(PROPERTIES)}",
                    fix="use the property keys exactly as listed",
                )
            if isinstance(value, bool) or not isinstance(value, Real):
                raise InvalidInputError(
                    f"condition {key!r} must be a number",
                    got=repr(value),
                    expected="a float",
                )
            value = float(value)
            lo, hi = self.ranges[key]
            if not math.isfinite(value):
                raise InvalidInputError(
                    f"condition {key!r} is not a finite number",
                    got=value,
                    expected=f"a value in [{lo:.3g}, {hi:.3g}]",
                )
            if not lo <= value <= hi:
                raise InvalidInputError(
                    f"condition {key}={value:g} is outside the training data's range",
                    got=value,
                    expected=f"{key} in [{lo:.3g}, {hi:.3g}] (0.5-99.5 percentiles "
                    "of the training molecules)",
                    fix=f"choose a {key} inside the range or leave the condition off",
                )
            out[key] = value
        return out

    def fragment_prefixes(self, fragment: str, seed: int) -> tuple[Chem.Mol, list[list[int]]]:
        """The fragment's query molecule and token prompts (``<bos_r>`` + a SMILES of the
        fragment ending at an atom with implicit hydrogens, where the model continues)."""
        if not isinstance(fragment, str) or not fragment.strip():
            raise InvalidInputError("fragment must be a SMILES string", got=repr(fragment))
        text = fragment.strip()
        with rdBase.BlockLogs():
            mol = Chem.MolFromSmiles(text)
        if mol is None:
            raise InvalidInputError(
                "fragment is not a valid SMILES",
                got=text,
                expected="a connected molecule or fragment, e.g. c1ccc2[nH]ccc2c1",
            )
        if len(Chem.GetMolFrags(mol)) > 1:
            raise InvalidInputError(
                "fragment must be one connected piece",
                got=text,
                fix="remove the '.' and give one fragment",
            )
        free = [a.GetIdx() for a in mol.GetAtoms() if a.GetNumImplicitHs() > 0]
        if not free:
            raise InvalidInputError(
                "fragment has no atom with a free valence to grow from",
                got=text,
                fix="give a fragment with at least one hydrogen-bearing atom",
            )
        max_len = self.model.config.block_size - self.model.config.n_cond - 2
        # Random SMILES (seeded) of the fragment; keep those whose last atom has implicit
        # hydrogens: atoms parse in SMILES order, so that atom is the re-parsed one's last.
        candidates = Chem.MolToRandomSmilesVect(
            mol, 20 * _PREFIXES_PER_FRAGMENT, randomSeed=int(seed) % (2**31)
        )
        candidates += [Chem.MolToSmiles(mol, rootedAtAtom=r, canonical=False) for r in free]
        prefixes: dict[str, list[int]] = {}
        for smi in candidates:
            if smi in prefixes or len(prefixes) >= _PREFIXES_PER_FRAGMENT:
                continue
            m = Chem.MolFromSmiles(smi)
            if m is None or m.GetAtomWithIdx(m.GetNumAtoms() - 1).GetNumImplicitHs() == 0:
                continue
            toks = tokenize(smi)
            if len(toks) > max_len:
                raise InvalidInputError(
                    "fragment is too long for the generator",
                    got=f"{len(toks)} tokens",
                    expected=f"at most {max_len} SMILES tokens",
                )
            prefixes[smi] = self.vocab.encode(smi, bos=BOS_RANDOM, eos=False)
        if not prefixes:
            raise InvalidInputError(
                "no SMILES of the fragment ends at an atom with a free valence", got=text
            )
        return mol, list(prefixes.values())

    # ------------------------------------------------------------------ sampling

    def sample(
        self,
        n: int,
        conditions: Mapping[str, float] | None = None,
        seed: int = 0,
        fragment: str | None = None,
        temperature: float = 1.0,
        model: str = "moses",
        *,
        top_k: int | None = None,
        top_p: float | None = None,
        max_samples: int | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> pd.DataFrame:
        """Up to ``n`` valid, unique molecules; see the module docstring for the columns."""
        if model not in MODELS:
            raise InvalidInputError(
                f"unknown generator model {model!r}",
                got=model,
                expected=f"one of {', '.join(MODELS)}",
            )
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_N:
            raise InvalidInputError(
                "n must be a whole number of molecules", got=repr(n), expected=f"1 <= n <= {MAX_N}"
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidInputError("seed must be a whole number", got=repr(seed))
        if not isinstance(temperature, Real) or not 0 < float(temperature) <= 3:
            raise InvalidInputError(
                "temperature must be a number in (0, 3]",
                got=temperature,
                fix="1.0 samples the learned distribution; lower is safer",
            )
        cond = self._check_conditions(conditions)
        query, prompts = (None, [[self.vocab.bos_id]])
        if fragment is not None:
            query, prompts = self.fragment_prefixes(fragment, seed)
        budget = max_samples or min(50 * n + 512, 200_000)
        P = self.model.config.n_cond
        values = torch.zeros(P)
        mask = torch.zeros(P, dtype=torch.bool)
        for j, key in enumerate(PROPERTIES):
            if key in cond:
                st = self.stats[key]
                values[j] = (cond[key] - st["mean"]) / st["std"]
                mask[j] = True
        gen = torch.Generator().manual_seed(seed)
        rows: dict[str, dict] = {}
        produced = valid = 0
        batch = 0
        train_set = self._training_smiles()
        while len(rows) < n and produced < budget:
            prompt = prompts[batch % len(prompts)]
            B = int(min(512, budget - produced, max(64, 1.5 * (n - len(rows)))))
            idx = torch.tensor([prompt] * B, dtype=torch.long)
            seq = self.model.generate(
                idx,
                values.expand(B, P),
                mask.expand(B, P),
                max_new_tokens=self.model.config.block_size,
                eos_id=self.vocab.eos_id,
                pad_id=self.vocab.pad_id,
                temperature=float(temperature),
                top_k=top_k,
                top_p=top_p,
                generator=gen,
            )
            batch += 1
            produced += B
            blocker = rdBase.BlockLogs()
            for s in seq.tolist():
                ended = self.vocab.eos_id in s
                mol = Chem.MolFromSmiles(self.vocab.decode(s)) if ended else None
                if mol is None:
                    continue
                valid += 1
                smi = Chem.MolToSmiles(mol)
                if smi in rows or len(rows) >= n:
                    continue
                row = {"smiles": smi, **mol_properties(mol)}
                for key, target in cond.items():
                    row[f"{key}_error"] = row[key] - target
                row["novel"] = None if train_set is None else smi not in train_set
                row["fragment_matched"] = None if query is None else mol.HasSubstructMatch(query)
                rows[smi] = row
            del blocker
            if progress is not None:
                progress(min(1.0, len(rows) / n))
        columns = [
            "smiles",
            *PROPERTIES,
            *(f"{k}_error" for k in cond),
            "novel",
            "fragment_matched",
        ]
        df = pd.DataFrame(list(rows.values()), columns=columns)
        df.attrs.update(
            samples=produced,
            raw_validity=valid / max(1, produced),
            raw_uniqueness=len(rows) / max(1, valid),
            conditions=cond,
            fragment=fragment,
            seed=seed,
            temperature=float(temperature),
        )
        if len(df) < n:
            log.warning("only %d of %d molecules after %d samples", len(df), n, produced)
        return df


@lru_cache(maxsize=1)
def _moses_training_smiles() -> frozenset[str] | None:
    """Canonical SMILES of the MOSES training split (MOSES stores RDKit canonical SMILES)."""
    from core.data import moses
    from core.exceptions import DataNotAvailableError

    try:
        return frozenset(moses.load_split("train", columns=["smiles"])["smiles"])
    except DataNotAvailableError:
        log.warning("MOSES cache missing: novelty is not reported (run make data)")
        return None


def load_generator(model: str = "moses") -> MoleculeGenerator:
    """The shipped generator (``trained_models/smiles_gpt_moses``); read-only."""
    if model not in MODELS:
        raise InvalidInputError(
            f"unknown generator model {model!r}", got=model, expected=f"one of {', '.join(MODELS)}"
        )
    return MoleculeGenerator.from_folder(config.models_dir() / MODELS[model])
