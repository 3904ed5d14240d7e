"""Molecule property predictor: SMILES (or 3D structures) -> QM9 properties with uncertainty.

    from core.models.molecules import load_predictor
    predictor = load_predictor()
    table = predictor.predict(["CCO", "c1ccccc1O"])      # one row per input
    atoms = predictor.explain("CCO", "homo")             # per-atom contributions
    report = predictor.report("CCO", explain="homo")     # what the page shows (MoleculeReport)

Every input row gets the same path the model was trained and tested on: parse and check
the SMILES, build the seeded ETKDG + MMFF conformer, run every ensemble member, report
mean and standard deviation. Rows that cannot be processed get an ``error`` text instead of
failing the batch; molecules unlike QM9 are predicted with ``in_domain = False`` and a
``domain_message`` that says why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rdkit import Chem
from safetensors.torch import load_file

from core import config
from core.chem.molecules import EmbedBudget
from core.exceptions import InvalidInputError, ModelNotAvailableError
from core.featurizers.molecules import (
    CONFORMER_SEED,
    MoleculeGeometry,
    collate,
    geometry_from_mol,
)
from core.models.integrity import checked_model
from core.models.molecule_report import (
    MoleculeReport,
    domain_text,
    properties_table,
    similarity_note,
)
from core.nn.painn import (
    CPU_PASS_ATOM_PAIRS,
    PaiNN,
    PaiNNConfig,
    inference_batch_size,
    inference_passes,
)
from core.properties import QM9 as QM9_PROPERTIES
from core.properties import format_with_std  # noqa: F401 - re-exported for the page
from core.uncertainty import apply_std_model

MODEL_NAME = "qm9_painn"
MAX_BATCH = 10_000  # molecules per uploaded batch file
QM9_ELEMENTS = frozenset({"H", "C", "N", "O", "F"})
QM9_MAX_HEAVY_ATOMS = 9
# At most this many heavy atoms is "tiny": QM9 holds 8 such molecules (methane, water,
# ammonia, ethane, ...) among 130,831, and a one-off probe of the shipped ensemble on them
# (most are training molecules) found HOMO off by up to ~4 eV (methane), against ~0.15 eV
# at 3 heavy atoms: flagged as outside the domain.
QM9_TINY_HEAVY_ATOMS = 2
# Input the network is not run on: more atoms than this (hydrogens included; QM9's largest
# molecule has 29, and the neighbour search is quadratic: 5,000 atoms asked for 19 GB), or
# two atoms closer than this (they gave NaN marked in domain)
MAX_ATOMS = 300
MIN_DISTANCE_A = 0.5
# SMILES beyond this are refused before embedding: a 100-heavy-atom SMILES took 26-40 s of
# ETKDG while every other user waited, for a molecule 10x QM9's size
MAX_HEAVY_ATOMS_PREDICTED = 50
LABELS = {
    "mu": "Dipole moment",
    "alpha": "Polarizability",
    "homo": "HOMO",
    "lumo": "LUMO",
    "gap": "HOMO-LUMO gap",
    "r2": "Electronic spatial extent <R²>",
    "zpve": "ZPVE",
    "u0": "U0 (0 K)",
    "u": "U (298 K)",
    "h": "H (298 K)",
    "g": "G (298 K)",
    "cv": "Heat capacity Cv",
}


def domain_warnings(mol: Chem.Mol) -> list[str]:
    """Why a parsed molecule lies outside QM9 (empty list: inside)."""
    warnings = []
    symbols = {a.GetSymbol() for a in mol.GetAtoms()}
    foreign = sorted(symbols - QM9_ELEMENTS)
    if foreign:
        warnings.append(
            f"contains {', '.join(foreign)}: QM9 has only H, C, N, O and F, so the model has "
            "never seen these elements and its values for this molecule are not reliable"
        )
    heavy = mol.GetNumHeavyAtoms()
    if heavy > QM9_MAX_HEAVY_ATOMS:
        warnings.append(
            f"{heavy} heavy atoms: QM9 molecules have at most {QM9_MAX_HEAVY_ATOMS}; errors grow "
            "with size beyond the training range"
        )
    if heavy <= QM9_TINY_HEAVY_ATOMS:
        warnings.append(
            f"{heavy} heavy atom{'s' if heavy != 1 else ''}: QM9 holds only a handful of "
            "molecules this small (nearly all of its molecules have 8 or 9 heavy atoms), so "
            "the model's values for it can be far off; compare with a DFT calculation"
        )
    charge = Chem.GetFormalCharge(mol)
    if charge:
        warnings.append(f"net charge {charge:+d}: QM9 holds only neutral molecules")
    radicals = sum(a.GetNumRadicalElectrons() for a in mol.GetAtoms())
    if radicals:
        warnings.append(f"{radicals} unpaired electron(s): QM9 holds only closed-shell molecules")
    return warnings


@dataclass
class PreparedSmiles:
    """One user SMILES on its way to the model: the geometry (None when it failed), the
    canonical SMILES, domain warnings, the error text, and the embedded molecule (with Hs
    and its conformer)."""

    geometry: MoleculeGeometry | None
    canonical: str
    warnings: list[str]
    error: str
    mol: Chem.Mol | None = None
    conformer: str = ""  # how the coordinates were made (core.chem.molecules.CONFORMER_KINDS)


def prepare_smiles(smiles: str) -> PreparedSmiles:
    """Parse, check and embed one SMILES (the path the model was trained on); problems
    become ``error`` text, never an exception."""
    return prepare_smiles_batch([smiles], threads=1)[0]


def prepare_smiles_batch(
    smiles: list[str], threads: int | None = None, budget: EmbedBudget | None = None
) -> list[PreparedSmiles]:
    """:func:`prepare_smiles` over a list: parsing in this thread, conformer embedding
    (most of the time) on ``threads`` threads; same results as one by one."""
    out: list[PreparedSmiles | None] = [None] * len(smiles)
    for i, prepared in iter_prepared_smiles(smiles, threads, budget):
        out[i] = prepared
    return out  # type: ignore[return-value]


def iter_prepared_smiles(
    smiles: list[str], threads: int | None = None, budget: EmbedBudget | None = None
) -> Iterator[tuple[int, PreparedSmiles]]:
    """``(index, PreparedSmiles)`` for every input, those that fail to parse first, then
    the others as their conformers are ready (:func:`core.chem.molecules.iter_embedded`;
    ``budget``: capped embedding, see :class:`core.chem.molecules.EmbedBudget`)."""
    from core.chem.molecules import canonical_smiles, iter_embedded, parse_smiles

    parsed: list[tuple[int, Chem.Mol]] = []
    for i, text in enumerate(smiles):
        try:
            parsed.append(
                (
                    i,
                    parse_smiles(
                        text if isinstance(text, str) else "",
                        max_heavy_atoms=MAX_HEAVY_ATOMS_PREDICTED,
                    ),
                )
            )
        except InvalidInputError as err:
            yield i, PreparedSmiles(None, "", [], str(err))
    mols = [m for _, m in parsed]
    for j, mol_h in iter_embedded(mols, seed=CONFORMER_SEED, threads=threads, budget=budget):
        i, mol = parsed[j]
        if isinstance(mol_h, InvalidInputError):
            yield i, PreparedSmiles(None, "", [], str(mol_h))
        else:
            yield (
                i,
                PreparedSmiles(
                    geometry_from_mol(mol_h),
                    canonical_smiles(mol),
                    domain_warnings(mol),
                    "",
                    mol_h,
                    mol_h.GetProp("_conformer"),
                ),
            )


# Rows of a batch prediction per progress update (the page's progress bar).
PROGRESS_EVERY = 64


MODEL_FILE = "model.safetensors"  # every member's weights, under "member<i>." (the card says)


def member_state(weights: dict, i: int) -> dict:
    """Member ``i``'s weights from a model file's ``member<i>.<name>`` tensors."""
    prefix = f"member{i}."
    return {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}


def load_members(
    folder: Path, device: str = "cpu", members: list[dict] | None = None
) -> list[PaiNN]:
    """The ensemble in ``folder``: one ``model.safetensors`` holding every member's weights
    and the card's ``members`` (each member's ``model_config`` to rebuild it from; or
    ``members`` given here, while the card is being written)."""
    if members is None:
        members = json.loads((folder / "card.json").read_text())["members"]
    weights = load_file(folder / MODEL_FILE, device=device)
    out = []
    for i, meta in enumerate(members):
        cfg = meta["model_config"]
        model = PaiNN(
            PaiNNConfig(
                **{**cfg, "targets": tuple(cfg["targets"]), "extensive": tuple(cfg["extensive"])}
            )
        )
        model.load_state_dict(member_state(weights, i))
        out.append(model.to(device).eval())
    return out


class MoleculePredictor:
    """A trained QM9 ensemble. Read-only after loading (cache it once per process)."""

    def __init__(self, folder: Path, device: str | torch.device = "cpu") -> None:
        self.folder = folder = Path(folder)
        self.device = torch.device(device)
        if not (folder / MODEL_FILE).exists():
            raise ModelNotAvailableError(
                f"no trained molecule model in {folder}: run `python -m core.train.molecules "
                "train --member 0` (see README)"
            )
        # a damaged or missing card, member file or member json: one ModelFileError (without
        # the card the calibration would silently be gone while the page still claims it)
        with checked_model(folder) as card:
            self.card = card
            self.members = load_members(folder, str(self.device), card["members"])
            self.properties = ("mu", *self.members[0].config.targets)
        self.properties = ("mu", *self.members[0].config.targets)
        scale = self.card.get("std_scale", {})  # fitted on validation data at evaluation
        self.std_scale = np.array([scale.get(p, 1.0) for p in self.properties])
        floor = self.card.get("std_floor", {})  # the error the members' spread cannot see
        self.std_floor = np.array([floor.get(p, 0.0) for p in self.properties])
        self.units = {key: QM9_PROPERTIES[key].unit for key in self.properties}

    # -- inputs ---------------------------------------------------------------------------
    def _prepare(self, smiles: str) -> PreparedSmiles:
        return self._readable(prepare_smiles(smiles))

    def _readable(self, p: PreparedSmiles) -> PreparedSmiles:
        """``p``, or an error when it holds an element the network has no embedding for
        (``[Og]``, ``C[Fm]`` raised IndexError), atoms on top of each other, or more atoms
        than a molecule of this model's kind: such input never reaches the network."""
        if p.geometry is None:
            return p
        z, pos = p.geometry.atomic_numbers, p.geometry.positions
        max_z = self.members[0].config.max_z
        if (z >= max_z).any() or (z < 1).any():
            bad = sorted({int(x) for x in z if x >= max_z or x < 1})
            names = ", ".join(
                f"{Chem.GetPeriodicTable().GetElementSymbol(x)} (Z={x})"
                if 0 < x < 119
                else f"Z={x}"
                for x in bad
            )
            error = (
                f"contains {names}: the model reads elements up to Z={max_z - 1} only and was "
                "trained on H, C, N, O and F"
            )
            return dataclasses.replace(p, geometry=None, error=error)
        if len(z) > MAX_ATOMS:
            error = (
                f"{len(z)} atoms (with hydrogens): at most {MAX_ATOMS} are predicted; QM9 "
                "molecules have up to 29"
            )
            return dataclasses.replace(p, geometry=None, error=error)
        if len(z) > 1:
            d = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
            np.fill_diagonal(d, np.inf)
            i, j = np.unravel_index(np.argmin(d), d.shape)
            if d[i, j] < MIN_DISTANCE_A:
                error = (
                    f"atoms {min(i, j) + 1} and {max(i, j) + 1} are {d[i, j]:.2f} Å apart "
                    f"(at least {MIN_DISTANCE_A} Å expected): check the coordinates"
                )
                return dataclasses.replace(p, geometry=None, error=error)
        return p

    def _prepare_structure(self, mol_h: Chem.Mol) -> PreparedSmiles:
        """An uploaded 3D structure, used as given (hydrogens must be explicit)."""
        from core.chem.molecules import canonical_smiles

        if mol_h.GetNumAtoms() > MAX_ATOMS:  # before any O(n^2) work on a hostile file
            return PreparedSmiles(
                None, "", [], f"{mol_h.GetNumAtoms()} atoms: at most {MAX_ATOMS} are predicted"
            )
        try:
            geometry = geometry_from_mol(mol_h)
        except InvalidInputError as err:
            return PreparedSmiles(None, "", [], str(err))
        warnings = domain_warnings(mol_h)
        if not any(a.GetAtomicNum() == 1 for a in mol_h.GetAtoms()) and mol_h.GetNumAtoms() > 1:
            warnings.append(
                "the structure has no explicit hydrogens: the model was trained on complete "
                "molecules, so add hydrogens to the file (or enter the SMILES instead)"
            )
        return self._readable(
            PreparedSmiles(
                geometry,
                canonical_smiles(Chem.RemoveHs(mol_h, sanitize=False)),
                warnings,
                "",
                mol_h,
                "given",
            )
        )

    # -- prediction -----------------------------------------------------------------------
    @torch.no_grad()
    def _run(self, geometries: Sequence) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        """Ensemble mean/std (n, 1+T) and per-member raw outputs for a list of geometries."""
        from core.nn.painn import E_ANGSTROM_TO_DEBYE

        data = collate(geometries, self.members[0].config.cutoff, self.device)
        preds, outs = [], []
        for model in self.members:
            out = model.forward_batch(data)
            mu = out["dipole"].norm(dim=-1, keepdim=True) * E_ANGSTROM_TO_DEBYE
            preds.append(torch.cat([mu, out["scalars"]], -1).double().cpu().numpy())
            outs.append(out)
        stacked = np.stack(preds)
        std = stacked.std(0, ddof=1) if len(preds) > 1 else np.full_like(stacked[0], np.nan)
        return stacked.mean(0), apply_std_model(std, self.std_scale, self.std_floor), outs

    def predict(
        self,
        smiles: Sequence[str],
        progress: Callable[[int, int], None] | None = None,
        budget: EmbedBudget | None = None,
    ) -> pd.DataFrame:
        """One row per input: input, smiles (canonical), a column per property in card
        units, ``<prop>_std``, ``in_domain``, ``domain_message``, ``conformer`` (how the
        coordinates were made: :data:`core.chem.molecules.CONFORMER_KINDS`), ``error``.
        ``budget``: cap each molecule's conformer generation (batch screening; see
        :class:`core.chem.molecules.EmbedBudget`).

        Conformers are embedded on all usable CPUs (``MDS_WORKERS``) in a background
        thread, and the network runs on the molecules whose conformers are ready, in passes
        of :func:`core.nn.painn.inference_passes`' size, while the rest embed. Results are
        identical to predicting one molecule at a time (embedding is seeded per molecule;
        the network's float32 sums agree to rounding). On a CPU the network then runs on
        one thread, as the embedding threads already use the others. A single string is one
        molecule (not a list of one-letter SMILES).
        """
        smiles = [smiles] if isinstance(smiles, str) else list(smiles)
        rows: list[dict | None] = [None] * len(smiles)
        gpu = self.device.type == "cuda"
        step = inference_batch_size(self.device)
        ready: list[tuple[int, PreparedSmiles]] = []
        pairs = 0  # squared atom counts of the ready molecules (a CPU pass's size)
        done = reported = 0
        finished = object()
        handoff: queue.Queue = queue.Queue()

        def embed_ahead() -> None:
            try:
                for item in iter_prepared_smiles(smiles, budget=budget):
                    handoff.put(item)
            finally:
                handoff.put(finished)

        def run_ready() -> None:
            mean, std, _ = self._run([p.geometry for _, p in ready])
            for k, (i, p) in enumerate(ready):
                rows[i] = self._row(smiles[i], p, mean[k], std[k])
            ready.clear()

        overlap = len(smiles) > 1 and self.device.type == "cpu"
        with ThreadPoolExecutor(1) as ahead, _torch_threads(1 if overlap else None):
            producer = ahead.submit(embed_ahead)
            while (item := handoff.get()) is not finished:
                i, prepared = item
                prepared = self._readable(prepared)
                item = (i, prepared)
                if prepared.geometry is None:
                    rows[i] = self._row(smiles[i], prepared, None, None)
                else:
                    ready.append(item)
                    pairs += len(prepared.geometry.atomic_numbers) ** 2
                done += 1
                full = len(ready) >= step if gpu else pairs >= CPU_PASS_ATOM_PAIRS
                if full or (ready and done == len(smiles)):
                    run_ready()
                    pairs = 0
                if progress and (done - reported >= PROGRESS_EVERY or done == len(smiles)):
                    progress(done - len(ready), len(smiles))
                    reported = done
            producer.result()  # an unexpected error in the embedding thread surfaces here
        return pd.DataFrame(rows)

    def predict_structures(
        self,
        structures: Sequence[Chem.Mol | InvalidInputError],
        progress: Callable[[int, int], None] | None = None,
        chunk_size: int = 128,
    ) -> pd.DataFrame:
        """Like :meth:`predict` for uploaded 3D structures, used as given (no conformer is
        generated). ``input`` is the record's name, else ``record <n>``; an
        :class:`InvalidInputError` in the list (an unreadable file record) becomes that
        row's ``error``."""
        labels = [
            s.GetProp("_Name").strip()
            if isinstance(s, Chem.Mol) and s.HasProp("_Name") and s.GetProp("_Name").strip()
            else f"record {i + 1}"
            for i, s in enumerate(structures)
        ]
        rows: list[dict] = []
        for start in range(0, len(structures), chunk_size):
            chunk = structures[start : start + chunk_size]
            prepared = [
                self._prepare_structure(s)
                if isinstance(s, Chem.Mol)
                else PreparedSmiles(None, "", [], str(s))
                for s in chunk
            ]
            rows.extend(self._rows(labels[start : start + chunk_size], prepared))
            if progress:
                progress(min(start + chunk_size, len(structures)), len(structures))
        return pd.DataFrame(rows)

    def _rows(self, chunk: list, prepared: list[PreparedSmiles]) -> list[dict]:
        ok = [i for i, p in enumerate(prepared) if p.geometry is not None]
        rows = [self._row(text, p, None, None) for text, p in zip(chunk, prepared, strict=True)]
        sizes = [len(prepared[i].geometry.atomic_numbers) for i in ok]
        for one_pass in inference_passes(sizes, self.device):
            part = ok[one_pass]
            mean, std, _ = self._run([prepared[i].geometry for i in part])
            for k, i in enumerate(part):
                rows[i] = self._row(chunk[i], prepared[i], mean[k], std[k])
        return rows

    def _row(self, text, p: PreparedSmiles, mean: np.ndarray | None, std) -> dict:
        """One output row; ``mean``/``std`` are None where the molecule failed."""
        row = {"input": text, "smiles": p.canonical}
        withheld = self._withheld(p)
        for k, name in enumerate(self.properties):
            shown = mean is not None and name not in withheld
            row[name] = float(mean[k]) if shown else np.nan
            row[f"{name}_std"] = float(std[k]) if shown else np.nan
        row["in_domain"] = p.geometry is not None and not p.warnings
        notes = list(p.warnings)
        if withheld and mean is not None:
            notes.append(
                f"{', '.join(withheld)} withheld: they are sums of per-element terms, and "
                "the model has none for " + ", ".join(self._foreign_elements(p))
            )
        row["domain_message"] = "; ".join(notes)
        row["conformer"] = p.conformer if p.geometry is not None else ""
        row["error"] = p.error
        return row

    def _foreign_elements(self, p: PreparedSmiles) -> list[str]:
        if p.geometry is None:
            return []
        table = Chem.GetPeriodicTable()
        symbols = {table.GetElementSymbol(int(z)) for z in p.geometry.atomic_numbers}
        return sorted(symbols - QM9_ELEMENTS)

    def _withheld(self, p: PreparedSmiles) -> tuple[str, ...]:
        """Extensive properties (energies, ZPVE, polarizability, <R²>, Cv) of a molecule
        with an element QM9 lacks: each is a sum of per-element terms the model never
        fitted for it (chloroform's U0 came out -1,052 eV against about -38,600 eV), so
        they are not shown. Intensive ones (HOMO, LUMO, gap, dipole) stay, flagged."""
        if not self._foreign_elements(p):
            return ()
        cfg = self.members[0].config
        return tuple(t for t, ext in zip(cfg.targets, cfg.extensive, strict=True) if ext)

    def explain(self, smiles: str, prop: str) -> pd.DataFrame:
        """Per-atom contributions to ``prop`` (ensemble mean), heavy atoms with their Hs.

        For sum-pooled (extensive) properties the contributions add up to the prediction
        (less the per-element references); for intensive ones (HOMO, LUMO, gap) they are
        each atom's pull on the mean and add up to zero. The dipole is split into atom
        terms q_i (r_i - centroid) + mu_i projected on the molecule's dipole direction.
        Per-element reference energies are left out, so what is shown is what the network
        learned about each atom's environment.
        """
        self._check_property(prop)
        p = self._prepare(smiles)
        if p.geometry is None:
            raise InvalidInputError(p.error)
        return self._explain(p.geometry, p.mol, prop)

    def _check_property(self, prop: str) -> None:
        if prop not in self.properties:
            raise InvalidInputError(
                "unknown property", got=repr(prop), expected=", ".join(self.properties)
            )

    def _explain(
        self, geometry: MoleculeGeometry, mol_h: Chem.Mol, prop: str, outs: list | None = None
    ) -> pd.DataFrame:
        """:meth:`explain` of an embedded molecule (``outs``: the members' outputs on it, if
        already run)."""
        self._check_property(prop)
        if outs is None:
            _, _, outs = self._run([geometry])
        if prop == "mu":
            parts = []
            for out in outs:
                total = out["dipole"][0]
                direction = total / total.norm().clamp(min=1e-9)
                parts.append((out["atom_dipoles"] @ direction).cpu().numpy() * 4.803204544)
        else:
            t = self.members[0].config.targets.index(prop)
            parts = []
            for model, out in zip(self.members, outs, strict=True):
                ref = model.atomref[torch.as_tensor(geometry.atomic_numbers), t]
                contrib = out["atom_contributions"][:, t] - ref * model.is_extensive[t]
                parts.append(contrib.cpu().numpy())
        contributions = np.mean(parts, axis=0)
        if prop != "mu" and not self.members[0].config.extensive[t]:
            # Mean-pooled (HOMO, LUMO, gap): each atom's pull on the mean, summing to zero.
            contributions = (contributions - contributions.mean()) / len(contributions)
        atoms = list(mol_h.GetAtoms())
        heavy = [
            a.GetIdx()
            if a.GetAtomicNum() != 1 or not a.GetNeighbors()
            else a.GetNeighbors()[0].GetIdx()
            for a in atoms
        ]
        return pd.DataFrame(
            {
                "atom": np.arange(len(atoms)),
                "element": [a.GetSymbol() for a in atoms],
                "heavy_atom": heavy,  # hydrogens point to the heavy atom they are bonded to
                "contribution": contributions,
            }
        )

    # -- the page's report ----------------------------------------------------------------
    def report(
        self, smiles: str, explain: str | None = None, neighbours: int = 5
    ) -> MoleculeReport:
        """Everything the molecule page shows for one SMILES, from one conformer.

        The SMILES is parsed, checked and embedded once (the path of :meth:`predict`, same
        row); that molecule is drawn, searched among the QM9 training molecules
        (:func:`training_neighbours`, ``neighbours`` of them; skipped with a note without
        the data cache) and, when ``explain`` names a property, explained from the same
        network pass. A SMILES that cannot be predicted gives a report with ``error`` set.
        """
        return self._report(smiles, self._prepare(smiles), explain, neighbours)

    def report_structure(
        self, mol: Chem.Mol, explain: str | None = None, neighbours: int = 5
    ) -> MoleculeReport:
        """:meth:`report` for an uploaded 3D structure, used as given (no conformer is made;
        the row is :meth:`predict_structures`'s). Its title is the record's name, else its
        canonical SMILES."""
        p = self._prepare_structure(mol)
        name = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
        report = self._report(name or p.canonical or "structure", p, explain, neighbours)
        return dataclasses.replace(report, from_structure=True)

    def _report(
        self, smiles: str, p: PreparedSmiles, explain: str | None, neighbours: int
    ) -> MoleculeReport:
        from core.chem.depict import molblock_3d
        from core.exceptions import DataNotAvailableError

        if explain is not None:
            self._check_property(explain)
        if p.geometry is None:
            return MoleculeReport(
                smiles, pd.Series(self._row(smiles, p, None, None)), error=p.error
            )
        mean, std, outs = self._run([p.geometry])
        row = pd.Series(self._row(smiles, p, mean[0], std[0]))
        table, note, level, text, dft = None, "", "", "", None
        try:
            table = training_neighbours(p.mol, k=neighbours)
            dft = qm9_record(p.mol)
            level, text = similarity_note(row, table, self.card, self.units, dft)
        except DataNotAvailableError as err:
            note = f"The training molecules need the data cache: {err}"
        report = MoleculeReport(
            smiles,
            row,
            p.mol,
            properties_table(row, self.properties, self.units, dft),
            domain_text=domain_text(row),
            molblock=molblock_3d(p.mol),
            neighbours=table,
            neighbours_note=note,
            similarity_level=level,
            similarity_text=text,
            geometry=p.geometry,
        )
        return self._explained(report, explain, outs) if explain is not None else report

    def explain_report(self, report: MoleculeReport, prop: str) -> MoleculeReport:
        """``report`` with the explanation of ``prop`` instead (the same conformer: no new
        embedding, one more network pass)."""
        if report.error:
            raise InvalidInputError(report.error)
        return self._explained(report, prop)

    def _explained(
        self, report: MoleculeReport, prop: str, outs: list | None = None
    ) -> MoleculeReport:
        from core.chem.depict import heavy_atom_values, svg_2d

        explanation = self._explain(report.geometry, report.mol, prop, outs)
        label = QM9_PROPERTIES[prop].label if prop in QM9_PROPERTIES else prop
        svg = svg_2d(
            report.mol, heavy_atom_values(explanation), legend=f"per-atom contributions to {label}"
        )
        return dataclasses.replace(
            report, explained=prop, explanation=explanation, explanation_svg=svg
        )


def read_batch(
    data: bytes, filename: str, max_molecules: int = MAX_BATCH
) -> list[str] | list[Chem.Mol | InvalidInputError]:
    """An uploaded batch file: a CSV's SMILES column (a list of str, for :meth:`predict`)
    or an SDF's structures (for :meth:`~MoleculePredictor.predict_structures`; unreadable
    records stay in place as errors).

    Raises:
        InvalidInputError: unknown file type, empty or unreadable file, no SMILES column,
            or more than ``max_molecules`` molecules.
    """
    from core.chem.molecules import mol_from_file, read_smiles_csv

    config.check_upload_size(data, "molecule_batch", filename)
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".sdf":
        items = mol_from_file(data, filename, keep_bad_records=True)
    elif suffix in (".csv", ".txt"):
        items = read_smiles_csv(data, filename)
    else:
        raise InvalidInputError(
            f"unsupported batch file type {suffix or '(no extension)'!r}",
            got=filename,
            expected=".csv with a SMILES column, or .sdf",
            fix="save the table as CSV, or the structures as SDF",
        )
    _check_batch_size(len(items), filename, max_molecules)
    return items


def read_batch_table(data: bytes, filename: str, max_molecules: int = MAX_BATCH):
    """``(items, columns)``: :func:`read_batch`'s items and the file's own columns to carry
    into the result (a CSV's other columns, as text; ``None`` for an SDF)."""
    if Path(filename or "").suffix.lower() in (".csv", ".txt"):
        from core.chem.molecules import read_smiles_table

        config.check_upload_size(data, "molecule_batch", filename)
        items, others = read_smiles_table(data, filename)
        _check_batch_size(len(items), filename, max_molecules)
        return items, others
    return read_batch(data, filename, max_molecules), None


def with_user_columns(result: pd.DataFrame, columns: pd.DataFrame | None) -> pd.DataFrame:
    """The user's own columns first, then the prediction, row by row. A user column whose
    name the prediction also uses (``error``, ``homo``, ...) is kept as ``<name> (yours)``,
    so a measured ``homo`` stands beside the predicted one."""
    if columns is None or columns.empty:
        return result
    taken = set(result.columns)
    renamed = {c: f"{c} (yours)" if c in taken else c for c in columns.columns}
    user = columns.rename(columns=renamed).reset_index(drop=True)
    return pd.concat([user, result.reset_index(drop=True)], axis=1)


def _check_batch_size(n: int, filename: str, max_molecules: int) -> None:
    if n > max_molecules:
        raise InvalidInputError(
            f"{filename!r} holds {n:,} molecules",
            expected=f"at most {max_molecules:,} per batch",
            fix="split the file",
        )


@contextlib.contextmanager
def _torch_threads(n: int | None):
    """Run torch on ``n`` intra-op threads inside the block (None: leave as is). The
    setting is process-wide, so a concurrent call may run slower, never differently."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n:
            torch.set_num_threads(before)


def load_predictor(folder: Path | None = None, device: str | None = None) -> MoleculePredictor:
    """Load the shipped ensemble from ``trained_models/qm9_painn`` on the selected device."""
    from core.device import select_device

    folder = folder or config.models_dir() / MODEL_NAME
    return MoleculePredictor(folder, device or select_device())


NEIGHBOUR_COLUMNS = ("homo", "lumo", "gap", "mu", "alpha", "u0")


def _fingerprint_cache(manifest: dict) -> tuple[Path, dict]:
    from core.chem.similarity import N_BITS, RADIUS

    meta = {
        "dataset": "qm9",
        "split": "train",
        "split_fingerprint": manifest["split_fingerprints"]["train"],
        "data_version": manifest["data_version"],
        "morgan_radius": RADIUS,
        "n_bits": N_BITS,
    }
    return config.cache_dir() / "qm9_fingerprints" / "train_ecfp4.npy", meta


_REFERENCE_LOCK = threading.Lock()  # app sessions run in threads: build the index once


def _training_reference():
    with _REFERENCE_LOCK:
        return _load_training_reference()


@functools.lru_cache(maxsize=1)
def _load_training_reference():
    """QM9 training molecules, their DFT values and a Tanimoto index (ECFP4).

    The fingerprints are computed once (about 15 s) and cached next to the data
    (``<cache>/qm9_fingerprints/``), keyed by the training split's fingerprint."""
    from core.chem.similarity import FingerprintIndex, morgan_bits
    from core.data import qm9, read_manifest

    table = qm9.load_split("train", columns=["index", "smiles", *NEIGHBOUR_COLUMNS])
    path, meta = _fingerprint_cache(read_manifest(qm9.INFO))
    meta_path = path.with_suffix(".json")
    packed = None
    if path.exists() and meta_path.exists():
        try:
            if json.loads(meta_path.read_text()) == meta:
                packed = np.load(path)
        except (OSError, ValueError):
            packed = None
    if packed is None or len(packed) != len(table):
        packed, _ = morgan_bits(Chem.MolFromSmiles(s) for s in table["smiles"])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")  # other processes may build too
        np.save(tmp, packed)
        tmp.replace(path)
        meta_path.write_text(json.dumps(meta))
    return table, FingerprintIndex(packed)


def training_neighbours(molecule: str | Chem.Mol, k: int = 5) -> pd.DataFrame:
    """The ``k`` QM9 *training* molecules most similar to ``molecule`` (Tanimoto on ECFP4),
    with their DFT values: what the model has seen that looks like this molecule.

    Columns: ``similarity``, ``smiles`` (RDKit canonical), ``same_molecule`` (identical
    canonical SMILES without stereo), ``qm9_index`` and :data:`NEIGHBOUR_COLUMNS` in card
    units. Needs the QM9 data cache (``python -m core.data prepare qm9``); raises
    :class:`core.exceptions.DataNotAvailableError` with that hint otherwise, and
    :class:`InvalidInputError` for a SMILES that does not parse.
    """
    from core.chem.molecules import parse_smiles
    from core.chem.similarity import morgan_bits

    mol = molecule if isinstance(molecule, Chem.Mol) else parse_smiles(molecule)
    table, index = _training_reference()
    packed, _ = morgan_bits([mol])
    sim, rows = index.nearest(packed[0], k)
    out = table.iloc[rows].reset_index(drop=True)
    canon = [_flat_smiles(Chem.MolFromSmiles(s)) for s in out["smiles"]]
    out = out.drop(columns="smiles").rename(columns={"index": "qm9_index"})
    out.insert(0, "similarity", sim)
    out.insert(1, "smiles", canon)
    out.insert(2, "same_molecule", [c == _flat_smiles(mol) for c in canon])
    return out


def nearest_training_similarity(smiles: Sequence[str]) -> np.ndarray:
    """Tanimoto similarity (ECFP4) of each SMILES to its closest QM9 training molecule;
    NaN where a SMILES does not parse. Same data needs as :func:`training_neighbours`."""
    from core.chem.similarity import morgan_bits

    _, index = _training_reference()
    packed, ok = morgan_bits(Chem.MolFromSmiles(s) for s in smiles)
    out = np.full(len(ok), np.nan)
    out[ok] = index.max_similarity(packed[ok])
    return out


def qm9_record(molecule: str | Chem.Mol) -> dict | None:
    """The QM9 entry of ``molecule`` itself, from any split (same canonical SMILES without
    stereo), or ``None`` if QM9 does not hold it: ``qm9_index``, ``split`` and its DFT values
    (:data:`NEIGHBOUR_COLUMNS`, card units). Methane is a QM9 molecule of the test split: a
    chemist comparing the prediction with the DFT value should see it all the same (this is
    a lookup for display, not a metric). Same data needs as :func:`training_neighbours`."""
    from core.chem.molecules import parse_smiles

    mol = molecule if isinstance(molecule, Chem.Mol) else parse_smiles(molecule)
    with _REFERENCE_LOCK:
        table = _load_qm9_lookup()
    key = _flat_smiles(mol)
    if key not in table.index:
        return None
    row = table.loc[key]
    return {"qm9_index": int(row["index"]), "split": str(row["split"])} | {
        p: float(row[p]) for p in NEIGHBOUR_COLUMNS
    }


@functools.lru_cache(maxsize=1)
def _load_qm9_lookup() -> pd.DataFrame:
    """Every QM9 molecule indexed by canonical SMILES without stereo (the first of
    stereoisomers that flatten to one key). The keys are computed once (about 10 s) and
    cached next to the fingerprints, keyed by the data version and the RDKit version."""
    from rdkit import rdBase

    from core.data import qm9, read_manifest

    table = qm9.load(columns=["index", "smiles", "split", *NEIGHBOUR_COLUMNS])
    manifest = read_manifest(qm9.INFO)
    path = config.cache_dir() / "qm9_fingerprints" / "all_flat_smiles.parquet"
    meta = {"data_version": manifest["data_version"], "rdkit": rdBase.rdkitVersion}
    meta_path = path.with_suffix(".json")
    keys = None
    if path.exists() and meta_path.exists():
        try:
            if json.loads(meta_path.read_text()) == meta:
                cached = pd.read_parquet(path)
                if cached["index"].tolist() == table["index"].tolist():
                    keys = cached["key"]
        except (OSError, ValueError, KeyError):
            keys = None
    if keys is None:
        keys = pd.Series([_flat_smiles(Chem.MolFromSmiles(s)) for s in table["smiles"]])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.parquet")  # other processes may build too
        pd.DataFrame({"index": table["index"].to_numpy(), "key": keys}).to_parquet(tmp)
        tmp.replace(path)
        meta_path.write_text(json.dumps(meta))
    table = table.assign(key=keys.to_numpy())
    return table[table["key"] != ""].drop_duplicates("key").set_index("key")


def _flat_smiles(mol: Chem.Mol | None) -> str:
    if mol is None:
        return ""
    return Chem.MolToSmiles(Chem.RemoveHs(mol), isomericSmiles=False)


def card_tables(predictor: MoleculePredictor, parity_points: int = 3000) -> dict[str, pd.DataFrame]:
    """The model card as tables for display: test metrics, calibration (table and curve),
    error by number of heavy atoms, by element and by similarity to the training set, and a
    sample of test predictions for parity plots."""
    card = predictor.card
    if not card:
        return {}
    metrics = pd.DataFrame(
        [{"property": LABELS.get(k, k), "key": k, **v} for k, v in card["metrics"]["test"].items()]
    )
    calibration = pd.DataFrame(
        [{"property": LABELS.get(k, k), **v} for k, v in card.get("calibration", {}).items()]
    )
    by_size = pd.DataFrame.from_dict(card["error_by_heavy_atoms"], orient="index")
    by_size.index = by_size.index.astype(int)
    # from 1 heavy atom: sizes with no test molecule (QM9's test split has none under 4)
    # show a count of 0 and no error, rather than not at all (issue 22, item 13)
    by_size = by_size.reindex(range(1, max(by_size.index, default=0) + 1))
    if "count" in by_size:
        by_size["count"] = by_size["count"].fillna(0).astype(int)
    by_size.index.name = "heavy atoms"
    by_element = pd.DataFrame.from_dict(
        card.get("error_by_element") or card["error_by_fluorine"], orient="index"
    )
    by_similarity = pd.DataFrame.from_dict(card.get("error_by_similarity") or {}, orient="index")
    by_similarity.index.name = "Tanimoto to nearest training molecule"
    path = predictor.folder / "test_predictions.parquet"
    parity = pd.read_parquet(path) if path.exists() else pd.DataFrame()
    curve = calibration_curve(parity, predictor.properties) if len(parity) else pd.DataFrame()
    if len(parity) > parity_points:
        parity = parity.sample(parity_points, random_state=0)
    return {
        "metrics": metrics,
        "calibration": calibration,
        "by_size": by_size.sort_index(),
        "by_element": by_element,
        "by_similarity": by_similarity,
        "calibration_curve": curve,
        "parity": parity,
    }


def calibration_curve(
    predictions: pd.DataFrame, properties: Sequence[str], levels: int = 19
) -> pd.DataFrame:
    """Reliability of the ± values on the test set: for nominal Gaussian coverages
    5 %…95 %, the share of test errors inside the matching interval (mean ± z·std).
    A calibrated model lies on the diagonal; below it, the ± values are too small."""
    from scipy.stats import norm

    nominal = np.linspace(0.05, 0.95, levels)
    z = norm.ppf(0.5 + nominal / 2)
    rows = []
    for prop in properties:
        if f"{prop}_std" not in predictions or predictions[f"{prop}_std"].isna().all():
            continue
        err = (predictions[f"{prop}_pred"] - predictions[prop]).abs().to_numpy()
        std = predictions[f"{prop}_std"].to_numpy()
        for p, zp in zip(nominal, z, strict=True):
            rows.append(
                {"property": prop, "nominal": p, "observed": float((err <= zp * std).mean())}
            )
    return pd.DataFrame(rows)
