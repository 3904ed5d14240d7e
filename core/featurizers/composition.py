"""Compositions -> set tensors: one row of physical descriptors per component + its fraction.

A glass is a *set* of components (compounds such as ``SiO2`` or ``Na2O``) with mole
fractions. Each compound is described by numbers computed from its formula and from
element data of the `mendeleev` package (no hand-typed tables), so a model built on these
descriptors can say something about compounds that are rare or absent in training:

* the formula's stoichiometry (molar mass, atoms per formula unit, anions per cation, atom
  shares of O, halogens and other anions),
* over its cations, weighted by their count: mean, min and max of the oxidation state (from
  charge balance against the anions), Shannon ionic radius (Å, six-fold coordination where
  tabulated), cation field strength z/r² (Å⁻²), Pauling electronegativity, its difference to
  the anions' (ionicity), atomic number, group, period and atomic mass.

Oxidation states: anions are O (-2), F/Cl/Br/I (-1) and, in compounds without O or a
halogen, S/Se/Te (-2) and N (-3). Cations start at their most common positive oxidation
state (mendeleev ``oxistates``) and are scaled together so the formula is neutral; for a
compound with a single cation element this is exact (Fe2O3 -> Fe3+, FeO -> Fe2+).

:class:`ElementTable` holds the element data (built once from mendeleev, saved as JSON in
the model folder so inference does not depend on the database version);
:class:`DescriptorTable` holds the standardised descriptors of known compounds and computes
those of unseen compounds on the fly; :func:`encode` turns compositions into padded
``(index, fraction)`` tensors.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.chem.composition import molar_mass, parse_formula

HALOGENS = ("F", "Cl", "Br", "I")
CHALCOGENS = ("S", "Se", "Te")
_CATION_PROPS = ("z", "radius", "field_strength", "en", "en_diff", "Z", "group", "period", "mass")
DESCRIPTOR_NAMES: tuple[str, ...] = (
    "log_molar_mass",
    "log_atoms_per_formula",
    "anions_per_cation",
    "share_O",
    "share_halogen",
    "share_other_anion",
    "n_cation_elements",
    "is_element",
) + tuple(f"{stat}_{p}" for p in _CATION_PROPS for stat in ("mean", "min", "max"))
N_DESCRIPTORS = len(DESCRIPTOR_NAMES)


@dataclass(frozen=True)
class ElementTable:
    """Per-element data from mendeleev: Z, mass, group, period, Pauling EN, common oxidation
    states, Shannon ionic radii (Å) by charge, and an atomic radius (Å) as fallback."""

    elements: dict[str, dict]

    @classmethod
    def from_mendeleev(cls) -> ElementTable:
        from mendeleev.fetch import fetch_table  # lazy: only needed to build the table

        el = fetch_table("elements").set_index("atomic_number")
        ir = fetch_table("ionicradii")
        ir = ir[ir["ionic_radius"].notna()]
        oxistates = fetch_table("oxidationstates")
        elements: dict[str, dict] = {}
        for z_num, row in el.iterrows():
            radii: dict[str, float] = {}
            for charge, grp in ir[ir["atomic_number"] == z_num].groupby("charge"):
                six = grp[grp["coordination"] == "VI"]
                values = (six if len(six) else grp)["ionic_radius"]
                radii[str(int(charge))] = max(float(values.median()) / 100.0, 0.05)  # pm -> Å
            ox = oxistates[oxistates["atomic_number"] == z_num]
            main = ox[ox["category"] == "main"] if "category" in ox.columns else ox
            states = sorted({int(s) for s in (main if len(main) else ox)["oxidation_state"]})
            atomic_r = row.get("atomic_radius")
            covalent = row.get("covalent_radius_pyykko")
            fallback = atomic_r if _finite(atomic_r) else covalent
            elements[str(row["symbol"])] = {
                "Z": int(z_num),
                "mass": float(row["atomic_weight"]),
                "group": float(row["group_id"]) if _finite(row["group_id"]) else 3.0,
                "period": float(row["period"]),
                "en": float(row["en_pauling"]) if _finite(row["en_pauling"]) else 1.3,
                "oxistates": states,
                "radii": radii,
                "atomic_radius": float(fallback) / 100.0 if _finite(fallback) else 1.5,
            }
        return cls(elements)

    def to_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.elements, indent=0, sort_keys=True))

    @classmethod
    def from_json(cls, path: Path) -> ElementTable:
        return cls(json.loads(Path(path).read_text()))

    def radius(self, symbol: str, charge: float) -> float:
        """Shannon radius (Å) of the ion with the tabulated charge nearest to ``charge``."""
        data = self.elements[symbol]
        radii = {int(k): v for k, v in data["radii"].items()}
        same_sign = {k: v for k, v in radii.items() if k * charge > 0}
        if charge == 0 or not same_sign:
            return data["atomic_radius"]
        nearest = min(same_sign, key=lambda k: (abs(k - charge), k))
        return same_sign[nearest]


def _finite(x: object) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def anion_charges(atoms: Mapping[str, float]) -> dict[str, float]:
    """Charge of each anion element of a formula (see module docstring); {} for none."""
    if "O" in atoms or any(h in atoms for h in HALOGENS):
        charges = {"O": -2.0, **{h: -1.0 for h in HALOGENS}}
    else:
        charges = {**{c: -2.0 for c in CHALCOGENS}, "N": -3.0}
    present = {el: q for el, q in charges.items() if el in atoms}
    if len(present) == len(atoms):  # only anion elements (O2, F2, S): a pure element
        return {}
    return present


def compound_descriptors(formula: str, table: ElementTable) -> np.ndarray:
    """The :data:`DESCRIPTOR_NAMES` vector (unscaled, float64) of one compound formula.

    Raises:
        InvalidInputError: the formula does not parse (from :func:`parse_formula`).
    """
    atoms = parse_formula(formula)
    anions = anion_charges(atoms)
    cations = {el: n for el, n in atoms.items() if el not in anions}
    n_atoms = sum(atoms.values())
    n_anion = sum(atoms[el] for el in anions)
    n_cation = sum(cations.values())
    q_anion = -sum(atoms[el] * q for el, q in anions.items())
    en_anion = (
        sum(atoms[el] * table.elements[el]["en"] for el in anions) / n_anion if n_anion else 0.0
    )
    start = {}
    for el in cations:
        positive = [s for s in table.elements[el]["oxistates"] if s > 0]
        start[el] = float(positive[0] if len(positive) == 1 else (max(positive) if positive else 1))
        if len(positive) > 1:  # the most common state: mendeleev lists main states ascending
            start[el] = float(min(positive, key=lambda s: abs(s - np.median(positive))))
    total = sum(cations[el] * start[el] for el in cations)
    scale = q_anion / total if total and q_anion else 0.0
    per_cation: dict[str, list[float]] = {p: [] for p in _CATION_PROPS}
    weights: list[float] = []
    for el, n in cations.items():
        data = table.elements[el]
        z = start[el] * scale
        r = table.radius(el, z)
        values = {
            "z": z,
            "radius": r,
            "field_strength": z / r**2,
            "en": data["en"],
            "en_diff": (en_anion - data["en"]) if n_anion else 0.0,
            "Z": float(data["Z"]),
            "group": data["group"],
            "period": data["period"],
            "mass": data["mass"],
        }
        for p in _CATION_PROPS:
            per_cation[p].append(values[p])
        weights.append(n)
    head = [
        math.log(molar_mass(formula)),
        math.log(n_atoms),
        n_anion / n_cation if n_cation else 0.0,
        atoms.get("O", 0.0) / n_atoms,
        sum(atoms.get(h, 0.0) for h in HALOGENS) / n_atoms,
        sum(atoms[el] for el in anions if el != "O" and el not in HALOGENS) / n_atoms,
        float(len(cations)),
        1.0 if len(atoms) == 1 else 0.0,
    ]
    stats = []
    w = np.asarray(weights, dtype=np.float64)
    for p in _CATION_PROPS:
        v = np.asarray(per_cation[p], dtype=np.float64)
        if len(v) == 0:
            stats += [0.0, 0.0, 0.0]
        else:
            stats += [float((w * v).sum() / w.sum()), float(v.min()), float(v.max())]
    return np.asarray(head + stats, dtype=np.float64)


# compounds a request brings that the training table lacks: descriptors kept per predictor
MAX_EXTRA_COMPOUNDS = 4096


@dataclass
class DescriptorTable:
    """Standardised descriptors of compounds, indexed by formula.

    ``formulas[i]`` has the unscaled descriptors ``raw[i]``; :meth:`scaled` gives
    ``(raw - mean) / std`` with the scaler fitted on the training compounds. Training builds
    the table with :meth:`index_of`, which appends unknown formulas. A predictor never
    changes it: :func:`encode` gives the compounds a request brings that the table lacks
    rows of their own after the table's (:meth:`descriptors_of`, from the element table),
    so one shared table serves concurrent requests and does not grow.
    """

    elements: ElementTable
    formulas: list[str]
    raw: np.ndarray  # (C, N_DESCRIPTORS)
    mean: np.ndarray  # (N_DESCRIPTORS,)
    std: np.ndarray  # (N_DESCRIPTORS,)
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _extra: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._index = {f: i for i, f in enumerate(self.formulas)}

    def row(self, formula: str) -> int | None:
        """Row of ``formula`` in the table, or None (read-only)."""
        return self._index.get(formula)

    def descriptors_of(self, formula: str) -> np.ndarray:
        """Unscaled descriptors of a compound the table lacks, computed from the element
        table (kept in a bounded, thread-safe cache; the table itself is not changed)."""
        with self._lock:
            cached = self._extra.get(formula)
        if cached is not None:
            return cached
        row = compound_descriptors(formula, self.elements)
        with self._lock:
            if len(self._extra) >= MAX_EXTRA_COMPOUNDS:
                self._extra.clear()
            self._extra[formula] = row
        return row

    def scale(self, raw: np.ndarray) -> np.ndarray:
        """Standardised descriptors of ``raw`` rows (as :meth:`scaled`)."""
        return np.clip((raw - self.mean) / self.std, -10, 10).astype(np.float32)

    @classmethod
    def build(cls, formulas: Sequence[str], elements: ElementTable) -> DescriptorTable:
        raw = np.stack([compound_descriptors(f, elements) for f in formulas])
        mean, std = raw.mean(axis=0), raw.std(axis=0)
        std = np.where(std > 1e-8, std, 1.0)
        return cls(elements, list(formulas), raw, mean, std)

    def __len__(self) -> int:
        return len(self.formulas)

    def index_of(self, formula: str) -> int:
        """Row of ``formula``, computing and appending its descriptors if it is new (for
        building a training table; not thread-safe: predictors use :func:`encode`)."""
        i = self._index.get(formula)
        if i is None:
            row = compound_descriptors(formula, self.elements)
            self.raw = np.vstack([self.raw, row[None, :]])
            self.formulas.append(formula)
            i = self._index[formula] = len(self.formulas) - 1
        return i

    def scaled(self) -> np.ndarray:
        """(C, N_DESCRIPTORS) float32 standardised descriptors (clipped to ±10 std)."""
        return self.scale(self.raw)

    def to_json(self, path: Path) -> None:
        data = {
            "descriptor_names": list(DESCRIPTOR_NAMES),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "compounds": {
                f: [round(float(x), 6) for x in r]
                for f, r in zip(self.formulas, self.raw, strict=True)
            },
        }
        Path(path).write_text(json.dumps(data))

    @classmethod
    def from_json(cls, path: Path, elements: ElementTable) -> DescriptorTable:
        data = json.loads(Path(path).read_text())
        if data["descriptor_names"] != list(DESCRIPTOR_NAMES):
            raise ValueError(f"{path}: descriptor names differ from this code's")
        formulas = list(data["compounds"])
        raw = np.asarray([data["compounds"][f] for f in formulas], dtype=np.float64)
        return cls(elements, formulas, raw, np.asarray(data["mean"]), np.asarray(data["std"]))


def encode(
    compositions: Iterable[Mapping[str, float]], table: DescriptorTable
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded set tensors of compositions (mole fractions, zero entries ignored). The table
    is only read: compounds it lacks get rows ``len(table), len(table) + 1, ...`` of this
    call alone, whose unscaled descriptors come back as ``extra``.

    Returns:
        index: (B, K) int64 rows (0 where padded), K = most components in a row.
        fraction: (B, K) float32 mole fractions (0 where padded); each row sums to 1.
        extra: (E, N_DESCRIPTORS) unscaled descriptors of the E compounds the table lacks.
    """
    new: dict[str, int] = {}

    def row_of(formula: str) -> int:
        i = table.row(formula)
        if i is None:
            i = new.setdefault(formula, len(table) + len(new))
        return i

    rows = [[(row_of(f), float(x)) for f, x in comp.items() if x > 0] for comp in compositions]
    k = max((len(r) for r in rows), default=1) or 1
    index = np.zeros((len(rows), k), dtype=np.int64)
    fraction = np.zeros((len(rows), k), dtype=np.float32)
    for b, row in enumerate(rows):
        for j, (i, x) in enumerate(row):
            index[b, j], fraction[b, j] = i, x
    fraction /= np.maximum(fraction.sum(axis=1, keepdims=True), 1e-12)
    extra = (
        np.stack([table.descriptors_of(f) for f in new])
        if new
        else np.zeros((0, len(table.mean)), dtype=np.float64)
    )
    return index, fraction, extra


def is_oxide_compound(formula: str) -> bool:
    """Oxygen-bearing and halogen-free (oxides, oxysalts): the glass filter of the model."""
    try:
        atoms = parse_formula(formula)
    except ValueError:
        return False
    return "O" in atoms and len(atoms) > 1 and not any(h in atoms for h in HALOGENS)
