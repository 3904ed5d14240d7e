"""One registry of property metadata: key, label, unit, display unit and scale.

Every layer (data, models, training, benchmarks, plots, pages) names a property by its key
and asks this module how to label it and in which unit to show it, so that "CTE is stored in
1/K but shown in ppm/K" is written once. Stored values are always in the card's ``unit``;
``display = stored * scale`` in ``display_unit``.

``format_value_std`` is the one "value ± std" formatter: the std to two significant figures
and the value to the same decimal place (-6754.318 ± 0.035, 407 ± 18), so no digit is shown
that the std says is noise and none is dropped that it says is meaningful.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DOMAIN_MESSAGE = "domain_message"  # the one column name for the domain note, both predictors


@dataclass(frozen=True)
class Property:
    """Metadata of one predicted quantity.

    Attributes:
        key: column name in predictions and cards (``"CTE"``, ``"gap"``).
        label: human name without the unit (``"Thermal expansion (CTE)"``).
        unit: the unit values are stored and trained in (``"1/K"``).
        display_unit: the unit a person reads (``"ppm/K"``); ``""`` for dimensionless.
        scale: factor from ``unit`` to ``display_unit``.
        decimals: decimals of a display value when no std is known.
    """

    key: str
    label: str
    unit: str
    display_unit: str
    scale: float = 1.0
    decimals: int = 2

    def __post_init__(self) -> None:
        if not self.key or not math.isfinite(self.scale) or self.scale <= 0:
            raise ValueError(f"invalid property definition {self!r}")

    @property
    def title(self) -> str:
        """Label with the display unit: ``"Thermal expansion (CTE) (ppm/K)"``."""
        return f"{self.label} ({self.display_unit})" if self.display_unit else self.label

    def to_display(self, value: float) -> float:
        return float(value) * self.scale


GLASS: dict[str, Property] = {
    p.key: p
    for p in (
        Property("Tg", "Glass transition Tg", "K", "K", decimals=0),
        Property("Tliquidus", "Liquidus temperature", "K", "K", decimals=0),
        Property("RefractiveIndex", "Refractive index nD", "-", "", decimals=4),
        Property("AbbeNumber", "Abbe number", "-", "", decimals=1),
        Property("CTE", "Thermal expansion (CTE)", "1/K", "ppm/K", scale=1e6, decimals=2),
        Property("ElasticModulus", "Young's modulus E", "GPa", "GPa", decimals=1),
    )
}
VISCOSITY = Property("log10_viscosity", "log10 viscosity", "log10 Pa s", "log10 Pa s", decimals=2)
#: log10 eta (Pa s) above which a predicted viscosity reads "at least this": the upper end of
#: standard viscometry (beam bending, ASTM C598, reaches about 10^15 Pa s). Far below the glass
#: transition the equilibrium MYEGA curve no longer describes a glass (its structure is frozen)
#: and runs off to values no measurement can check (log10 eta of several hundred at T12 / 2.5).
LOG10_VISCOSITY_CEILING = 15.0

QM9: dict[str, Property] = {
    p.key: p
    for p in (
        Property("mu", "Dipole moment", "D", "D", decimals=2),
        Property("alpha", "Polarizability", "bohr^3", "bohr³", decimals=2),
        Property("homo", "HOMO", "eV", "eV", decimals=3),
        Property("lumo", "LUMO", "eV", "eV", decimals=3),
        Property("gap", "HOMO-LUMO gap", "eV", "eV", decimals=3),
        Property("r2", "Electronic spatial extent <R²>", "bohr^2", "bohr²", decimals=1),
        Property("zpve", "ZPVE", "eV", "eV", decimals=4),
        Property("u0", "U0 (0 K)", "eV", "eV", decimals=3),
        Property("u", "U (298 K)", "eV", "eV", decimals=3),
        Property("h", "H (298 K)", "eV", "eV", decimals=3),
        Property("g", "G (298 K)", "eV", "eV", decimals=3),
        Property("cv", "Heat capacity Cv", "cal/(mol K)", "cal/(mol K)", decimals=2),
    )
}


def get(key: str) -> Property:
    """The property ``key`` from any registry (raises ``KeyError`` naming the known keys)."""
    for table in (GLASS, QM9):
        if key in table:
            return table[key]
    if key == VISCOSITY.key:
        return VISCOSITY
    raise KeyError(f"unknown property {key!r}; known: {sorted([*GLASS, *QM9, VISCOSITY.key])}")


def format_with_std(value: float, std: float, digits: int = 2) -> tuple[str, str]:
    """``value`` and ``std`` as text, the std to ``digits`` significant figures and the value
    to the same decimal place. Without a usable std the value gets 6 significant figures and
    the std an empty string; a non-finite value gives two empty strings."""
    if value is None or not math.isfinite(value):
        return "", ""
    if std is None or not math.isfinite(std) or std <= 0:
        return f"{value:.6g}", ""
    decimals = max(0, digits - 1 - math.floor(math.log10(std)))
    std_text = f"{std:.{decimals}f}"
    if float(std_text) >= 10 ** (digits - decimals):  # 0.0996 -> "0.100": one digit too many
        decimals = max(0, decimals - 1)
        std_text = f"{std:.{decimals}f}"
    return f"{value:.{decimals}f}", std_text


def format_value_std(key: str, value: float, std: float | None = None, unit: bool = True) -> str:
    """``"1.5168 ± 0.0012"``, ``"9.1 ± 0.3 ppm/K"``: a stored value shown in display units."""
    prop = get(key)
    shown = prop.to_display(value) if value is not None and math.isfinite(value) else math.nan
    if std is None:
        text = f"{shown:.{prop.decimals}f}" if math.isfinite(shown) else "–"
    else:
        v, s = format_with_std(shown, prop.to_display(std) if math.isfinite(std) else math.nan)
        text = "–" if not v else (f"{v} ± {s}" if s else v)
    return f"{text} {prop.display_unit}".rstrip() if unit and text != "–" else text
