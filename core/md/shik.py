"""The SHIK pair potential for SiO2 and Na2O-SiO2, tabulated for LAMMPS ``pair_style table``.

SHIK: Sundararaman, Huang, Ispas and Kob, J. Chem. Phys. 148, 194504 (2018) (SiO2) and
150, 154505 (2019) (alkali silicates). For a pair of species i, j at distance r (Å, eV)::

    V(r) = q_i q_j e²/(4π ε0) [1/r - 1/r_w + (r - r_w)/r_w²] G(r; r_w)        r < r_w = 10 Å
         + [φ(r) - φ(r_s)] G(r; r_s)                                           r < r_s = 8 Å
    φ(r) = A exp(-B r) - C / r⁶ + D / r²⁴
    G(r; r_c) = exp(-γ² / (r - r_c)²),  γ = 0.2 Å

The Coulomb part is Wolf-truncated (no Ewald/PPPM), as SHIK was fitted. Charges are
q_Si = 1.7755 e, q_Na = 0.6018 e and q_O from charge neutrality of the actual atom counts
(-0.88775 e in SiO2), so the tables depend on the composition: :func:`charges` gives them
and :func:`write_table` writes one ``pair_style table`` section per pair, energies and forces
(F = -dV/dr) from the analytic formula, never from finite differences.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.exceptions import InvalidInputError

NAME = "SHIK"
COULOMB_EV_A = 14.399645478425668  # e² / (4 π ε0) in eV Å
R_WOLF = 10.0  # Å, cutoff of the Wolf-truncated Coulomb part
R_SHORT = 8.0  # Å, cutoff of the short-range (Buckingham + r^-24) part
GAMMA = 0.2  # Å, width of the smoothing function G
Q_FIXED = {"Si": 1.7755, "Na": 0.6018}
SPECIES = ("Si", "O", "Na")  # LAMMPS type order: the species present, in this order

# (A eV, B 1/Å, C eV Å^6, D eV Å^24); keys are sorted species pairs
PARAMETERS: dict[tuple[str, str], tuple[float, float, float, float]] = {
    ("O", "O"): (1120.528996, 2.892741833, 26.13207696, 16800.0),
    ("O", "Si"): (23107.84764, 5.097856735, 139.6947857, 66.0),
    ("Si", "Si"): (2797.979165, 4.407320018, 0.0, 3423204.0),
    ("Na", "O"): (1127566.0, 6.8986, 40.562, 16800.0),
    ("Na", "Si"): (495653.0, 5.4151, 0.0, 16800.0),
    ("Na", "Na"): (1476.9, 3.4075, 0.0, 16800.0),
}

TABLE_R_MIN = 0.5  # Å, inner end of the tables (no pair gets near it in a melt)
TABLE_POINTS = 9501  # 0.001 Å spacing from 0.5 to 10 Å
LAMMPS_POINTS = 20000  # ``pair_style table linear N``: internal table size


def pair_key(a: str, b: str) -> tuple[str, str]:
    """The sorted key of a species pair, as used in :data:`PARAMETERS`."""
    return tuple(sorted((a, b)))  # type: ignore[return-value]


def charges(counts: Mapping[str, int]) -> dict[str, float]:
    """Charges (e) of the species present: fixed Si and Na, O from charge neutrality.

    Args:
        counts: atoms per species, e.g. ``{"Si": 64, "O": 128}``; only Si, O, Na.

    Raises:
        InvalidInputError: unsupported species, or no oxygen to neutralise the cations.
    """
    unknown = sorted(set(counts) - set(SPECIES))
    if unknown:
        raise InvalidInputError(
            "SHIK covers Si, O and Na only",
            got=", ".join(unknown),
            expected="atoms of Si, O and Na (SiO2 and Na2O-SiO2 glasses)",
            fix="remove the other species or use another force field",
        )
    n_o = int(counts.get("O", 0))
    if n_o <= 0:
        raise InvalidInputError(
            "A SHIK system needs oxygen",
            got=dict(counts),
            expected="at least one O atom",
            fix="give a composition of oxides, e.g. SiO2",
        )
    cation_charge = sum(Q_FIXED[s] * int(counts.get(s, 0)) for s in Q_FIXED)
    q = {s: Q_FIXED[s] for s in Q_FIXED if counts.get(s, 0)}
    q["O"] = -cation_charge / n_o
    return q


def _smooth(r: np.ndarray, r_cut: float) -> tuple[np.ndarray, np.ndarray]:
    """G(r) = exp(-γ²/(r - r_cut)²) and dG/dr, both 0 at and beyond r_cut."""
    g = np.zeros_like(r)
    dg = np.zeros_like(r)
    inside = r < r_cut
    d = r[inside] - r_cut
    g[inside] = np.exp(-(GAMMA**2) / d**2)
    dg[inside] = g[inside] * 2.0 * GAMMA**2 / d**3
    return g, dg


def _phi(r: np.ndarray, a: float, b: float, c: float, d: float) -> tuple[np.ndarray, np.ndarray]:
    """φ(r) = A e^{-Br} - C/r⁶ + D/r²⁴ and dφ/dr."""
    e = a * np.exp(-b * r)
    phi = e - c / r**6 + d / r**24
    dphi = -b * e + 6.0 * c / r**7 - 24.0 * d / r**25
    return phi, dphi


def pair_energy_force(
    r: np.ndarray | float, a: str, b: str, q: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Energy V(r) (eV) and force F(r) = -dV/dr (eV/Å) of the pair ``a``-``b``.

    Args:
        r: distances in Å (> 0).
        a, b: species (Si, O, Na), in any order.
        q: charges of the species (e), e.g. from :func:`charges`.
    """
    r = np.atleast_1d(np.asarray(r, dtype=np.float64))
    A, B, C, D = PARAMETERS[pair_key(a, b)]
    qq = COULOMB_EV_A * q[a] * q[b]

    w = 1.0 / r - 1.0 / R_WOLF + (r - R_WOLF) / R_WOLF**2
    dw = -1.0 / r**2 + 1.0 / R_WOLF**2
    gw, dgw = _smooth(r, R_WOLF)
    v_coul = qq * w * gw
    dv_coul = qq * (dw * gw + w * dgw)

    phi, dphi = _phi(r, A, B, C, D)
    phi_cut, _ = _phi(np.array([R_SHORT]), A, B, C, D)
    gs, dgs = _smooth(r, R_SHORT)
    v_short = (phi - phi_cut[0]) * gs
    dv_short = dphi * gs + (phi - phi_cut[0]) * dgs

    return v_coul + v_short, -(dv_coul + dv_short)


@dataclass(frozen=True)
class TableSet:
    """A written table file and what LAMMPS needs to use it."""

    path: Path
    species: tuple[str, ...]  # LAMMPS type i+1 is species[i]
    charges: dict[str, float]
    sha256: str

    def lammps_commands(self) -> list[str]:
        """``pair_style`` and one ``pair_coeff`` per pair of types."""
        lines = [f"pair_style table linear {LAMMPS_POINTS}"]
        for i, a in enumerate(self.species, start=1):
            for j, b in enumerate(self.species, start=1):
                if j < i:
                    continue
                lines.append(f"pair_coeff {i} {j} {self.path} {_keyword(a, b)} {R_WOLF}")
        return lines


def _keyword(a: str, b: str) -> str:
    x, y = pair_key(a, b)
    return f"{x}_{y}"


def present_species(counts: Mapping[str, int]) -> tuple[str, ...]:
    """The species with atoms, in LAMMPS type order (Si, O, Na)."""
    return tuple(s for s in SPECIES if counts.get(s, 0))


def table_text(counts: Mapping[str, int]) -> tuple[str, tuple[str, ...], dict[str, float]]:
    """The text of the table file for a system with these atom counts."""
    q = charges(counts)
    species = present_species(counts)
    r = np.linspace(TABLE_R_MIN, R_WOLF, TABLE_POINTS)
    out = [
        f"# {NAME} (Sundararaman et al. 2018/2019), Wolf r_c={R_WOLF} A, short range "
        f"r_c={R_SHORT} A, gamma={GAMMA} A",
        "# charges (e): " + ", ".join(f"{s} {q[s]:+.10f}" for s in species),
        "",
    ]
    done = set()
    for a in species:
        for b in species:
            key = pair_key(a, b)
            if key in done:
                continue
            done.add(key)
            e, f = pair_energy_force(r, a, b, q)
            out.append(_keyword(a, b))
            out.append(f"N {TABLE_POINTS} R {TABLE_R_MIN} {R_WOLF}")
            out.append("")
            out.extend(
                f"{k} {rk:.6f} {ek:.12e} {fk:.12e}"
                for k, (rk, ek, fk) in enumerate(zip(r, e, f, strict=True), start=1)
            )
            out.append("")
    return "\n".join(out), species, q


def write_table(counts: Mapping[str, int], folder: Path) -> TableSet:
    """Write ``<folder>/shik_<hash>.table`` for these atom counts (reused when present).

    The file name carries the content hash, so two compositions never share a file and the
    hash recorded in a run's manifest identifies the exact table it ran with.
    """
    text, species, q = table_text(counts)
    digest = hashlib.sha256(text.encode()).hexdigest()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"shik_{digest[:16]}.table"
    if not path.exists():
        tmp = path.with_suffix(f".tmp{np.random.randint(1 << 30)}")
        tmp.write_text(text, encoding="ascii")
        tmp.replace(path)
    return TableSet(path=path, species=species, charges=q, sha256=digest)
