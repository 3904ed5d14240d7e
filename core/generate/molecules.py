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

import io
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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

MODELS = {"moses": "smiles_gpt_moses", "qm9": "smiles_gpt_qm9"}
# conditions the studio's QM9 model (qm9_painn) scores: the achieved value is its prediction
QM9_SCORED = ("homo", "lumo", "gap", "mu")
QM9_UNITS = {"homo": "eV", "lumo": "eV", "gap": "eV", "mu": "D"}
MAX_N = 10_000
# Classifier-free guidance weight of conditioned requests per training set (1 = none),
# chosen on validation targets by benchmarks/generation_guidance.py (its rule: the largest
# weight that keeps single-condition validity within 1 point of w = 1 and lowers the MAD;
# table in benchmarks/results/generation_guidance_table.txt), and the accepted range
DEFAULT_GUIDANCE = {"moses": 1.5, "qm9": 2.0}
GUIDANCE_RANGE = (1.0, 8.0)
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
        properties: tuple[str, ...] = PROPERTIES,
    ) -> None:
        self.model = model.eval()
        self.vocab = vocab
        self.properties = tuple(properties)  # condition slots, in the model's order
        self.stats = {k: dict(v) for k, v in stats.items()}
        self.ranges = {k: (float(lo), float(hi)) for k, (lo, hi) in ranges.items()}
        self.card = card or {}
        self.dataset = self.card.get("dataset", "moses")
        default = qm9_training_smiles if self.dataset == "qm9" else moses_training_smiles
        self._training_smiles = training_smiles or default
        self._predictor = None

    @property
    def units(self) -> dict[str, str]:
        from core.chem.descriptors import UNITS

        return {**UNITS, **QM9_UNITS}

    @property
    def default_guidance(self) -> float:
        """Classifier-free guidance weight used when a request names none."""
        return DEFAULT_GUIDANCE.get(self.dataset, 1.0)

    @property
    def guidance_range(self) -> tuple[float, float]:
        return GUIDANCE_RANGE

    @property
    def scored_by_qm9(self) -> tuple[str, ...]:
        """Conditions whose achieved value is the QM9 model's prediction (not RDKit's)."""
        return tuple(k for k in self.properties if k in QM9_SCORED)

    @classmethod
    def from_folder(cls, folder: Path) -> MoleculeGenerator:
        from safetensors.torch import load_file

        card_path, weights = folder / "card.json", folder / "model.safetensors"
        if not card_path.is_file() or not weights.is_file():
            raise ModelNotAvailableError(
                f"the molecule generator is not in {folder} (card.json + model.safetensors); "
                "train and export it with python -m core.train.molecule_generator"
            )
        from core.models.integrity import checked_model

        with checked_model(folder) as card:  # damaged files: one ModelFileError
            model = SmilesGPT(SmilesGPTConfig(**card["config"]))
            sd = load_file(str(weights))
            sd["lm_head.weight"] = sd["wte.weight"]  # tied weights are stored once
            model.load_state_dict(sd)
            cond = card["conditions"]
            props = tuple(card.get("condition_order", PROPERTIES))
            stats = {k: {"mean": cond[k]["mean"], "std": cond[k]["std"]} for k in props}
            ranges = {k: tuple(cond[k]["range"]) for k in props}
            vocab = SmilesVocab(tuple(card["tokenizer"]["vocab"]))
        return cls(model, vocab, stats, ranges, card, properties=props)

    def summary(self) -> str:
        """One line on what this model is and how well it did on held-out data (its card)."""
        card = self.card
        if not card:
            return "untrained generator (no card)"
        train = card.get("training", {})
        uncond = card.get("metrics", {}).get("unconditional_T1", {})
        text = (
            f"{card.get('name', '?')} {card.get('version', '')}: "
            f"{card.get('parameters', 0) / 1e6:.1f} M parameters, "
            f"{train.get('molecules_seen', 0):,} {self.dataset.upper()} training molecules "
            "seen, "
            f"built {str(card.get('date', '?'))[:10]}"
        )
        if uncond:
            text += (
                f". Unconditional samples at temperature 1 (card): validity "
                f"{uncond['validity']:.1%}, uniqueness {uncond['uniqueness']:.1%}, novelty "
                f"{uncond['novelty']:.1%}"
            )
        return text + "."

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
            if key not in self.properties:
                raise InvalidInputError(
                    f"unknown condition {key!r}",
                    got=key,
                    expected=f"one of {', '.join(self.properties)}",
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
        guidance: float | None = None,
    ) -> pd.DataFrame:
        """Up to ``n`` valid, unique molecules; see the module docstring for the columns.

        ``guidance``: classifier-free guidance weight for conditioned requests (1: none;
        default :attr:`default_guidance`); ignored without conditions.
        """
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
        if guidance is None:
            guidance = self.default_guidance
        if (
            isinstance(guidance, bool)
            or not isinstance(guidance, Real)
            or not GUIDANCE_RANGE[0] <= float(guidance) <= GUIDANCE_RANGE[1]
        ):
            raise InvalidInputError(
                "guidance must be a number",
                got=repr(guidance),
                expected=f"{GUIDANCE_RANGE[0]:g} <= guidance <= {GUIDANCE_RANGE[1]:g}",
                fix="1 samples without guidance; higher follows the conditions more closely",
            )
        cond = self._check_conditions(conditions)
        query, prompts = (None, [[self.vocab.bos_id]])
        if fragment is not None:
            query, prompts = self.fragment_prefixes(fragment, seed)
        budget = max_samples or min(50 * n + 512, 200_000)
        P = self.model.config.n_cond
        values = torch.zeros(P)
        mask = torch.zeros(P, dtype=torch.bool)
        for j, key in enumerate(self.properties):
            if key in cond:
                st = self.stats[key]
                values[j] = (cond[key] - st["mean"]) / st["std"]
                mask[j] = True
        gen = torch.Generator().manual_seed(seed)
        rows: dict[str, dict] = {}
        produced = valid = 0
        distinct: set[str] = set()  # every valid molecule, also past n: for uniqueness
        batch = 0
        train_set = self._training_smiles()
        while len(rows) < n and produced < budget:
            B = int(min(512, budget - produced, max(64, 1.5 * (n - len(rows)))))
            seqs: list[list[int]] = []
            for prompt, rows_b in _spread(prompts, B, start=batch * B):
                idx = torch.tensor([prompt] * rows_b, dtype=torch.long)
                seqs += self.model.generate(
                    idx,
                    values.expand(rows_b, P),
                    mask.expand(rows_b, P),
                    max_new_tokens=self.model.config.block_size,
                    eos_id=self.vocab.eos_id,
                    pad_id=self.vocab.pad_id,
                    temperature=float(temperature),
                    top_k=top_k,
                    top_p=top_p,
                    generator=gen,
                    guidance=float(guidance),
                ).tolist()
            batch += 1
            produced += B
            blocker = rdBase.BlockLogs()
            for s in seqs:
                ended = self.vocab.eos_id in s
                mol = Chem.MolFromSmiles(self.vocab.decode(s)) if ended else None
                if mol is None:
                    continue
                valid += 1
                smi = Chem.MolToSmiles(mol)
                distinct.add(smi)
                if smi in rows or len(rows) >= n:
                    continue
                row = {"smiles": smi, **mol_properties(mol)}
                for key, target in cond.items():
                    if key in row:
                        row[f"{key}_error"] = row[key] - target
                row["novel"] = None if train_set is None else smi not in train_set
                row["fragment_matched"] = None if query is None else mol.HasSubstructMatch(query)
                rows[smi] = row
            del blocker
            if progress is not None:
                progress(min(1.0, len(rows) / n))
        scored = self.scored_by_qm9
        qm9_cols = [c for k in scored for c in (k, f"{k}_std")]
        if scored:
            qm9_cols.append("qm9_domain")
            self._score_rows(list(rows.values()), scored, cond)
        columns = [
            "smiles",
            *PROPERTIES,
            *qm9_cols,
            *(f"{k}_error" for k in cond),
            "novel",
            "fragment_matched",
        ]
        df = pd.DataFrame(list(rows.values()), columns=columns)
        df.attrs.update(
            samples=produced,
            raw_validity=valid / max(1, produced),
            raw_uniqueness=len(distinct) / max(1, valid),
            conditions=cond,
            fragment=fragment,
            seed=seed,
            temperature=float(temperature),
            guidance=float(guidance) if cond else 1.0,
        )
        if len(df) < n:
            log.warning("only %d of %d molecules after %d samples", len(df), n, produced)
        return df

    def _score_rows(self, rows: list[dict], keys: tuple[str, ...], cond: dict) -> None:
        """Add the QM9 model's value, std and domain note (and the error against a target)
        to every row, in place."""
        if not rows:
            return
        if self._predictor is None:
            from core.models.molecules import load_predictor

            self._predictor = load_predictor()
        pred = self._predictor.predict([r["smiles"] for r in rows])
        for r, (_, p) in zip(rows, pred.iterrows(), strict=True):
            for k in keys:
                r[k], r[f"{k}_std"] = float(p[k]), float(p[f"{k}_std"])
            r["qm9_domain"] = p["error"] or p["domain_message"]
            for k, target in cond.items():
                if k in keys:
                    r[f"{k}_error"] = r[k] - target

    def report(
        self,
        n: int,
        conditions: Mapping[str, float] | None = None,
        seed: int = 0,
        fragment: str | None = None,
        temperature: float = 1.0,
        progress: Callable[[float], None] | None = None,
        guidance: float | None = None,
    ) -> GenerationReport:
        """:meth:`sample` wrapped with its batch metrics (what the page shows)."""
        df = self.sample(
            n,
            conditions,
            seed=seed,
            fragment=fragment,
            temperature=temperature,
            progress=progress,
            guidance=guidance,
        )
        return GenerationReport(
            molecules=df,
            requested=n,
            conditions=dict(df.attrs["conditions"]),
            fragment=fragment.strip() if isinstance(fragment, str) else None,
            seed=seed,
            temperature=float(temperature),
            training_set=self.dataset.upper(),
            guidance=df.attrs["guidance"],
        )


@dataclass
class GenerationReport:
    """One generation request and what came back: the molecules (the columns of
    :meth:`MoleculeGenerator.sample`) and the batch metrics a chemist judges them by."""

    molecules: pd.DataFrame
    requested: int
    conditions: dict[str, float] = field(default_factory=dict)
    fragment: str | None = None
    seed: int = 0
    temperature: float = 1.0
    training_set: str = "MOSES"
    guidance: float = 1.0

    @property
    def samples(self) -> int:
        return int(self.molecules.attrs.get("samples", 0))

    @property
    def raw_validity(self) -> float:
        return float(self.molecules.attrs.get("raw_validity", math.nan))

    @property
    def raw_uniqueness(self) -> float:
        return float(self.molecules.attrs.get("raw_uniqueness", math.nan))

    @property
    def novelty(self) -> float:
        col = self.molecules["novel"].dropna()
        return float(col.astype(bool).mean()) if len(col) else math.nan

    @property
    def fragment_rate(self) -> float:
        col = self.molecules["fragment_matched"].dropna()
        return float(col.astype(bool).mean()) if len(col) else math.nan

    def mad(self) -> dict[str, float]:
        """Mean absolute deviation between achieved and requested value, per condition."""
        return {
            k: float(self.molecules[f"{k}_error"].abs().mean()) if len(self.molecules) else math.nan
            for k in self.conditions
        }

    def metrics_table(self) -> pd.DataFrame:
        """Batch metrics as rows of (metric, value, what it means)."""
        from core.chem.descriptors import UNITS

        rows = [
            ("molecules returned", f"{len(self.molecules):,} of {self.requested:,}", ""),
            ("samples drawn", f"{self.samples:,}", "sequences the model wrote"),
            ("validity (raw)", f"{self.raw_validity:.1%}", "sampled SMILES RDKit parses"),
            ("uniqueness", f"{self.raw_uniqueness:.1%}", "of the valid ones, distinct"),
        ]
        if self.conditions:
            rows.append(
                (
                    "guidance",
                    f"{self.guidance:g}",
                    "classifier-free guidance weight (1: none; higher follows the targets "
                    "more closely, fewer valid samples)",
                )
            )
        if not math.isnan(self.novelty):
            rows.append(
                ("novelty", f"{self.novelty:.1%}", f"not in the {self.training_set} training split")
            )
        if self.fragment is not None:
            rows.append(
                (
                    "fragment kept",
                    f"{self.fragment_rate:.1%}",
                    f"substructure match of {self.fragment}",
                )
            )
        if "qm9_domain" in self.molecules and len(self.molecules):
            inside = float((self.molecules["qm9_domain"] == "").mean())
            rows.append(
                ("inside the QM9 domain", f"{inside:.1%}", "HOMO/LUMO/gap values trusted there")
            )
        for key, value in self.mad().items():
            unit = {**UNITS, **QM9_UNITS}.get(key, "-")
            rows.append(
                (
                    f"MAD {key}",
                    f"{value:.3g}" + ("" if unit == "-" else f" {unit}"),
                    f"mean |achieved - requested {self.conditions[key]:g}|"
                    + (" (achieved = the QM9 model's prediction)" if key in QM9_SCORED else ""),
                )
            )
        return pd.DataFrame(rows, columns=["metric", "value", "meaning"])

    def view(
        self,
        sort_by: str | None = None,
        descending: bool = False,
        fragment_only: bool = False,
        novel_only: bool = False,
    ) -> pd.DataFrame:
        """The molecules filtered and sorted for display; ``sort_by`` a column name, or a
        condition key to sort by how far the molecule lands from its target."""
        df = self.molecules
        if fragment_only and df["fragment_matched"].notna().any():
            df = df[df["fragment_matched"].fillna(False).astype(bool)]
        if novel_only and df["novel"].notna().any():
            df = df[df["novel"].fillna(False).astype(bool)]
        if sort_by is not None:
            if sort_by in self.conditions:
                key = df[f"{sort_by}_error"].abs()
                df = df.loc[key.sort_values(ascending=not descending, kind="stable").index]
            elif sort_by in df.columns:
                df = df.sort_values(sort_by, ascending=not descending, kind="stable")
            else:
                raise InvalidInputError(
                    f"cannot sort by {sort_by!r}", expected=", ".join(df.columns)
                )
        return df.reset_index(drop=True)

    QM9_COLUMNS = ("homo", "homo_std", "lumo", "lumo_std", "gap", "gap_std")

    def score_qm9(
        self, predictor=None, progress: Callable[[int, int], None] | None = None
    ) -> GenerationReport:
        """A copy with the studio's QM9 model's ``homo``/``lumo``/``gap`` (eV) and their
        ``_std`` per molecule, plus ``qm9_domain`` (why a molecule is outside QM9's domain,
        empty inside it). MOSES-like molecules are mostly larger than QM9's 9 heavy atoms,
        so most carry a domain note: the values are then extrapolations."""
        import dataclasses

        if predictor is None:
            from core.models.molecules import load_predictor

            predictor = load_predictor()
        df = self.molecules.copy()
        if len(df):
            pred = predictor.predict(df["smiles"].tolist(), progress=progress)
            for col in self.QM9_COLUMNS:
                df[col] = pred[col].to_numpy()
            df["qm9_domain"] = [
                err or note for err, note in zip(pred["error"], pred["domain_message"], strict=True)
            ]
        else:
            for col in (*self.QM9_COLUMNS, "qm9_domain"):
                df[col] = []
        df.attrs = dict(self.molecules.attrs)
        return dataclasses.replace(self, molecules=df)

    def to_csv(self) -> bytes:
        from core.exports import csv_bytes

        return csv_bytes(self.molecules)

    def to_sdf(self) -> bytes:
        """2D SDF of the molecules with every column as an SD property."""
        from rdkit.Chem import rdDepictor

        buf = io.StringIO()
        writer = Chem.SDWriter(buf)
        for rec in self.molecules.to_dict("records"):
            mol = Chem.MolFromSmiles(rec["smiles"])
            if mol is None:
                continue
            rdDepictor.Compute2DCoords(mol)
            mol.SetProp("_Name", rec["smiles"])
            for key, value in rec.items():
                if value is not None and not (isinstance(value, float) and math.isnan(value)):
                    mol.SetProp(key, f"{value:.6g}" if isinstance(value, float) else str(value))
            writer.write(mol)
        writer.close()
        return buf.getvalue().encode()


def _spread(prompts: list[list[int]], rows: int, start: int = 0) -> list[tuple[list[int], int]]:
    """``rows`` samples shared out over the prompts in turn (from prompt ``start`` on, so
    that successive batches continue the rotation): ``[(prompt, count), ...]`` for every
    prompt that gets at least one row. A fragment's prompts end at different atoms, so a
    batch that uses them all grows the fragment from every free valence at once."""
    k = len(prompts)
    counts = [rows // k + (1 if (i - start) % k < rows % k else 0) for i in range(k)]
    return [(p, c) for p, c in zip(prompts, counts, strict=True) if c]


@lru_cache(maxsize=1)
def qm9_training_smiles() -> frozenset[str] | None:
    """Canonical RDKit SMILES of the QM9 training split."""
    from core.data import qm9
    from core.exceptions import DataNotAvailableError

    try:
        smiles = qm9.load_split("train", columns=["smiles"])["smiles"]
    except DataNotAvailableError:
        log.warning("QM9 cache missing: novelty is not reported (run make data)")
        return None
    out = set()
    with rdBase.BlockLogs():
        for s in smiles:
            m = Chem.MolFromSmiles(s)
            if m is not None:
                out.add(Chem.MolToSmiles(m))
    return frozenset(out)


@lru_cache(maxsize=1)
def moses_training_smiles() -> frozenset[str] | None:
    """Canonical SMILES of the MOSES training split (MOSES stores RDKit canonical SMILES)."""
    from core.data import moses
    from core.exceptions import DataNotAvailableError

    try:
        return frozenset(moses.load_split("train", columns=["smiles"])["smiles"])
    except DataNotAvailableError:
        log.warning("MOSES cache missing: novelty is not reported (run make data)")
        return None


def available_models() -> list[str]:
    """Keys of :data:`MODELS` whose trained folder is present, in menu order."""
    return [k for k, name in MODELS.items() if (config.models_dir() / name / "card.json").is_file()]


def load_generator(model: str = "moses") -> MoleculeGenerator:
    """The shipped generator (``trained_models/smiles_gpt_moses``); read-only."""
    if model not in MODELS:
        raise InvalidInputError(
            f"unknown generator model {model!r}", got=model, expected=f"one of {', '.join(MODELS)}"
        )
    return MoleculeGenerator.from_folder(config.models_dir() / MODELS[model])
