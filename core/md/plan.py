"""Plans of melt-quench runs: which glasses ``python -m core.md generate`` computes, in order.

A *melt* is one random start at a composition, atom count and density, melted at 5000 K
with its own seed; quenches *branch* from its liquid: branch k starts from the liquid after
``melt_ps + k * branch_every_ps`` (20 + 5k ps). A *run* is one branch quenched at one
cooling rate; its id names all of that::

    SiO2_n192_d2.20_s1_b0_r1e14        10Na2O-90SiO2_n180_d2.30_s1_b2_r1e13

The ``default`` plan is ordered so that the first hour on one core already gives a useful
set (measured here: about 35 CPU-s per 192-atom run at 1e14 K/s, 110 s at 648 atoms, about
ten times that at 1e13 K/s):

1. SiO2, 192 atoms, 1e14 K/s at 2.20, 2.10, 2.30, 2.35 g/cm³: 2 melts x 4 branches each
2. SiO2, 648 atoms, 1e14 K/s: 4 at 2.20, 3 each at 2.10 and 2.30
3. Na2O-SiO2, 180 atoms (60 formula units: exact for 10/20/30 mol%), 1e14 K/s at about
   the measured densities (2.30, 2.40, 2.47 g/cm³), 4 each
4. SiO2, 192 atoms, 1e13 K/s: 4 at each density
5. Na2O-SiO2, 180 atoms, 1e13 K/s: 4 each
6. SiO2, 648 atoms, 1e13 K/s: 4 at 2.20
7. SiO2, 192 atoms, 1e12 K/s: 2 at 2.20 (about an hour each)

The Na2O-SiO2 1e14 block comes before the slow SiO2 runs because it is cheap (minutes) and
covers every composition in the first hour. Extend a plan by appending runs (new seeds or
branches) at the end of a condition that has 4 planned runs: the held-out test set
(:mod:`core.data.glass_md`) is drawn from the first 4 of each condition, so it does not move.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from core.exceptions import InvalidInputError
from core.md.lammps_run import atom_counts, composition_label


@dataclass(frozen=True)
class Run:
    """One quench: a branch of a melt at one cooling rate."""

    x_na2o: float
    n_atoms: int
    density: float  # g/cm3
    seed: int  # seed of the melt (random start and velocities)
    branch: int  # which liquid snapshot of that melt
    rate: float  # cooling rate, K/s

    @property
    def label(self) -> str:
        return composition_label(self.x_na2o)

    @property
    def melt_id(self) -> str:
        return f"{self.label}_n{self.n_atoms}_d{self.density:.2f}_s{self.seed}"

    @property
    def run_id(self) -> str:
        return f"{self.melt_id}_b{self.branch}_r{rate_text(self.rate)}"

    @property
    def condition(self) -> tuple[str, int, float, float]:
        """What a generator is conditioned on: composition, atoms, density, rate."""
        return (self.label, self.n_atoms, round(self.density, 4), float(self.rate))

    def counts(self) -> dict[str, int]:
        return atom_counts(self.x_na2o, self.n_atoms)


def rate_text(rate: float) -> str:
    """``1e14`` for 1e14 K/s (mantissa kept when not 1: ``5e13``, ``2.5e13``)."""
    mantissa, exponent = f"{rate:e}".split("e")
    m = float(mantissa)
    m_text = f"{m:g}"
    return f"{m_text}e{int(exponent)}"


def _block(
    x: float, n: int, density: float, rate: float, seeds_branches: list[tuple[int, range]]
) -> Iterator[Run]:
    for seed, branches in seeds_branches:
        for b in branches:
            yield Run(x, n, density, seed, b, rate)


def default_plan() -> list[Run]:
    """The default plan (see the module docstring), in the order it runs."""
    runs: list[Run] = []
    sio2_densities = (2.20, 2.10, 2.30, 2.35)
    na_glasses = ((0.10, 2.30), (0.20, 2.40), (0.30, 2.47))
    # 1. small SiO2, fast quench: 2 melts x 4 branches per density
    for d in sio2_densities:
        runs += _block(0.0, 192, d, 1e14, [(1, range(4)), (2, range(4))])
    # 2. 648-atom SiO2, fast quench
    runs += _block(0.0, 648, 2.20, 1e14, [(1, range(4))])
    for d in (2.10, 2.30):
        runs += _block(0.0, 648, d, 1e14, [(1, range(3))])
    # 3. Na2O-SiO2, fast quench
    for x, d in na_glasses:
        runs += _block(x, 180, d, 1e14, [(1, range(4))])
    # 4. small SiO2, 1e13 K/s: new branches (4+) of the same melts
    # (4 per condition: 2 held out, 2 for training; more seeds go at the end of a block)
    for d in sio2_densities:
        runs += _block(0.0, 192, d, 1e13, [(1, range(4, 8))])
    # 5. Na2O-SiO2, 1e13 K/s
    for x, d in na_glasses:
        runs += _block(x, 180, d, 1e13, [(1, range(4, 8))])
    # 6. 648-atom SiO2, 1e13 K/s
    runs += _block(0.0, 648, 2.20, 1e13, [(1, range(4, 8))])
    # 7. small SiO2, 1e12 K/s
    runs += _block(0.0, 192, 2.20, 1e12, [(1, range(8, 10))])
    return runs


def smoke_plan() -> list[Run]:
    """Two branches of a tiny SiO2 melt (tests only; use with a short protocol)."""
    return [Run(0.0, 24, 2.20, 1, 0, 1e15), Run(0.0, 24, 2.20, 1, 1, 1e15)]


PLANS = {"default": default_plan, "smoke": smoke_plan}


def get_plan(name: str) -> list[Run]:
    """A plan by name; every run id is unique and every atom count exact."""
    if name not in PLANS:
        raise InvalidInputError(
            "Unknown plan", got=repr(name), expected=", ".join(PLANS), fix="use --plan default"
        )
    runs = PLANS[name]()
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):  # pragma: no cover - guards edits of the plan
        raise AssertionError(f"plan {name} repeats run ids")
    for r in runs:
        r.counts()  # raises on an inexact stoichiometry
    return runs


def snapshots_needed(runs: list[Run]) -> dict[str, int]:
    """Per melt id, how many liquid snapshots the plan needs (max branch + 1)."""
    need: dict[str, int] = {}
    for r in runs:
        need[r.melt_id] = max(need.get(r.melt_id, 0), r.branch + 1)
    return need
