"""The parts of a campaign: variables, constraints and objectives.

Every class is a frozen dataclass that validates itself on construction (BayBE style), so an
invalid variable, constraint or objective cannot exist. Checks that need several parts at
once (a constraint naming an unknown variable, constraints that no recipe can meet) live in
:class:`core.optimize.search_space.SearchSpace`.

Conventions follow BoTorch: a linear inequality is ``sum(c_i * x_i) >= rhs``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.exceptions import InvalidInputError

DIRECTIONS = ("maximize", "minimize", "target")


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(
            f"{what} needs a name",
            got=repr(value),
            expected="a non-empty text",
            fix="give it the column name used in your table",
        )
    return value.strip()


def _number(value: object, what: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"{what} is not a number",
            got=repr(value),
            expected="a finite number",
            fix="enter a number such as 0 or 12.5",
        ) from None
    if not math.isfinite(number):
        raise InvalidInputError(
            f"{what} is not finite",
            got=number,
            expected="a finite number",
            fix="enter a finite number",
        )
    return number


# ---------------------------------------------------------------------------- variables
@dataclass(frozen=True)
class ContinuousVariable:
    """A quantity the recipe may set anywhere in ``[lower, upper]`` (in ``unit``)."""

    name: str
    lower: float
    upper: float
    unit: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _name(self.name, "A variable"))
        lower = _number(self.lower, f"Lower bound of {self.name!r}")
        upper = _number(self.upper, f"Upper bound of {self.name!r}")
        if not lower < upper:
            raise InvalidInputError(
                f"Bounds of {self.name!r} are empty or reversed",
                got=f"lower={lower:g}, upper={upper:g}",
                expected="lower < upper",
                fix="swap the bounds, or make the variable fixed if it must not change",
                entry=self.name,
            )
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)

    kind: Literal["continuous"] = field(default="continuous", init=False)


@dataclass(frozen=True)
class FixedVariable:
    """A quantity held at ``value`` in every suggestion (it may vary in the measured data,
    e.g. the curing age of concrete, and the model still learns its effect)."""

    name: str
    value: float
    unit: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _name(self.name, "A variable"))
        object.__setattr__(self, "value", _number(self.value, f"Value of {self.name!r}"))

    kind: Literal["fixed"] = field(default="fixed", init=False)


@dataclass(frozen=True)
class CategoricalVariable:
    """A choice among labels (e.g. a cement type); encoded one-hot for the surrogate."""

    name: str
    choices: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _name(self.name, "A variable"))
        if isinstance(self.choices, str) or not hasattr(self.choices, "__iter__"):
            raise InvalidInputError(
                f"Choices of {self.name!r} must be a list of labels",
                got=repr(self.choices),
                expected="two or more labels",
                fix="list the labels, e.g. ['A', 'B']",
            )
        choices = tuple(str(c).strip() for c in self.choices)
        if len(choices) < 2 or len(set(choices)) != len(choices) or "" in choices:
            raise InvalidInputError(
                f"Choices of {self.name!r} must be two or more distinct, non-empty labels",
                got=list(choices),
                expected="e.g. ['CEM I', 'CEM II']",
                fix="remove duplicates and blanks, or make the variable fixed",
                entry=self.name,
            )
        object.__setattr__(self, "choices", choices)

    kind: Literal["categorical"] = field(default="categorical", init=False)


Variable = ContinuousVariable | FixedVariable | CategoricalVariable


# -------------------------------------------------------------------------- constraints
def _components(value: object, what: str, minimum: int = 1) -> tuple[str, ...]:
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise InvalidInputError(
            f"{what} needs a list of variable names",
            got=repr(value),
            expected="a list such as ['cement', 'water']",
            fix="pass a list of names",
        )
    names = tuple(_name(v, "A component") for v in value)  # type: ignore[union-attr]
    if len(names) < minimum or len(set(names)) != len(names):
        raise InvalidInputError(
            f"{what} needs at least {minimum} distinct variable name(s)",
            got=list(names),
            expected=f">= {minimum} distinct names",
            fix="remove duplicates or add components",
        )
    return names


@dataclass(frozen=True)
class MixtureConstraint:
    """``sum(x_i for i in components) == total``: the components make up a fixed batch."""

    components: tuple[str, ...]
    total: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", _components(self.components, "A mixture", 2))
        total = _number(self.total, "Mixture total")
        if total <= 0:
            raise InvalidInputError(
                "A mixture total must be positive",
                got=total,
                expected="> 0",
                fix="use the batch size, e.g. 1 (fractions), 100 (%) or 2350 (kg/m^3)",
            )
        object.__setattr__(self, "total", total)

    kind: Literal["mixture"] = field(default="mixture", init=False)

    def coefficients(self) -> dict[str, float]:
        return {c: 1.0 for c in self.components}

    def describe(self) -> str:
        return f"{' + '.join(self.components)} = {self.total:g}"


@dataclass(frozen=True)
class LinearInequality:
    """``sum(coefficients[name] * x_name) >= rhs`` (BoTorch's convention)."""

    coefficients: Mapping[str, float]
    rhs: float
    label: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.coefficients, Mapping) or not self.coefficients:
            raise InvalidInputError(
                "A linear inequality needs coefficients",
                got=repr(self.coefficients),
                expected="a mapping of variable name -> coefficient",
                fix="e.g. {'water': 1, 'cement': -0.3} for water >= 0.3 cement",
            )
        coefs = {
            _name(k, "A component"): _number(v, f"Coefficient of {k!r}")
            for k, v in self.coefficients.items()
        }
        if all(c == 0 for c in coefs.values()):
            raise InvalidInputError(
                "A linear inequality needs a non-zero coefficient",
                got=coefs,
                expected="at least one coefficient != 0",
                fix="drop the constraint",
            )
        object.__setattr__(self, "coefficients", dict(sorted(coefs.items())))
        object.__setattr__(self, "rhs", _number(self.rhs, "Right-hand side"))

    kind: Literal["linear"] = field(default="linear", init=False)

    def __hash__(self) -> int:  # a dict field: hash its items
        return hash((tuple(self.coefficients.items()), self.rhs, self.label))

    def describe(self) -> str:
        terms = " + ".join(f"{c:g}·{n}" for n, c in self.coefficients.items())
        return self.label or f"{terms} >= {self.rhs:g}"


@dataclass(frozen=True)
class RatioConstraint:
    """``lower <= sum(numerator) / sum(denominator) <= upper``, e.g. water/binder in
    [0.3, 0.6]. With a positive denominator it is exactly the two linear inequalities
    ``sum(num) - lower * sum(den) >= 0`` and ``upper * sum(den) - sum(num) >= 0``."""

    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    lower: float
    upper: float

    def __post_init__(self) -> None:
        num = _components(self.numerator, "A ratio numerator")
        den = _components(self.denominator, "A ratio denominator")
        if set(num) & set(den):
            raise InvalidInputError(
                "A variable is in both the numerator and the denominator of a ratio",
                got=sorted(set(num) & set(den)),
                expected="disjoint lists",
                fix="rewrite the ratio so each variable appears once",
            )
        lower, upper = _number(self.lower, "Ratio lower"), _number(self.upper, "Ratio upper")
        if not 0 <= lower < upper:
            raise InvalidInputError(
                f"Ratio window of {'+'.join(num)}/{'+'.join(den)} is empty or negative",
                got=f"[{lower:g}, {upper:g}]",
                expected="0 <= lower < upper",
                fix="enter a window such as [0.3, 0.6]",
            )
        for key, value in (
            ("numerator", num),
            ("denominator", den),
            ("lower", lower),
            ("upper", upper),
        ):
            object.__setattr__(self, key, value)

    kind: Literal["ratio"] = field(default="ratio", init=False)

    def inequalities(self) -> tuple[LinearInequality, LinearInequality]:
        name = f"{'+'.join(self.numerator)} / {'+'.join(self.denominator)}"
        low: dict[str, float] = {n: 1.0 for n in self.numerator}
        low |= {d: -self.lower for d in self.denominator}
        high: dict[str, float] = {n: -1.0 for n in self.numerator}
        high |= {d: self.upper for d in self.denominator}
        return (
            LinearInequality(low, 0.0, f"{name} >= {self.lower:g}"),
            LinearInequality(high, 0.0, f"{name} <= {self.upper:g}"),
        )

    def describe(self) -> str:
        name = f"({'+'.join(self.numerator)}) / ({'+'.join(self.denominator)})"
        return f"{self.lower:g} <= {name} <= {self.upper:g}"


@dataclass(frozen=True)
class CardinalityConstraint:
    """At most ``max_nonzero`` of ``components`` are non-zero in a recipe (e.g. at most two
    supplementary binders). Handled by enumerating the allowed supports: the components
    outside a support are fixed to exactly 0."""

    components: tuple[str, ...]
    max_nonzero: int

    def __post_init__(self) -> None:
        names = _components(self.components, "A cardinality constraint", 2)
        k = self.max_nonzero
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < len(names):
            raise InvalidInputError(
                "max_nonzero must be a whole number between 1 and len(components) - 1",
                got=repr(k),
                expected=f"1..{len(names) - 1}",
                fix="lower it, or drop the constraint if every component may be used",
            )
        object.__setattr__(self, "components", names)

    kind: Literal["cardinality"] = field(default="cardinality", init=False)

    def describe(self) -> str:
        return f"at most {self.max_nonzero} of {', '.join(self.components)} non-zero"


Constraint = MixtureConstraint | LinearInequality | RatioConstraint | CardinalityConstraint


# --------------------------------------------------------------------------- objectives
@dataclass(frozen=True)
class Objective:
    """What to optimise: a measured column (or a recipe variable, e.g. less cement).

    ``direction`` is ``maximize``, ``minimize`` or ``target``; a target is the window
    ``[low, high]`` (one side may be ``None``: "Tg at least 800 K") and is optimised as
    ``-distance(y, window)``, which is 0 anywhere inside the window.
    """

    name: str
    direction: str = "maximize"
    low: float | None = None
    high: float | None = None
    unit: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _name(self.name, "An objective"))
        if self.direction not in DIRECTIONS:
            raise InvalidInputError(
                f"Unknown direction for objective {self.name!r}",
                got=repr(self.direction),
                expected=" or ".join(DIRECTIONS),
                fix="pick one of these",
            )
        low = None if self.low is None else _number(self.low, f"Window low of {self.name!r}")
        high = None if self.high is None else _number(self.high, f"Window high of {self.name!r}")
        if self.direction == "target":
            if low is None and high is None:
                raise InvalidInputError(
                    f"Target objective {self.name!r} needs a window",
                    got="no low, no high",
                    expected="low and/or high",
                    fix="e.g. low=800 for 'at least 800'",
                )
            if low is not None and high is not None and low > high:
                raise InvalidInputError(
                    f"Target window of {self.name!r} is reversed",
                    got=f"[{low:g}, {high:g}]",
                    expected="low <= high",
                    fix="swap the two values",
                )
        elif low is not None or high is not None:
            raise InvalidInputError(
                f"Objective {self.name!r} has a window but direction {self.direction!r}",
                got=f"low={low}, high={high}",
                expected="a window only with direction 'target'",
                fix="set direction='target' or remove low/high",
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def describe(self) -> str:
        """How a chemist writes it: ``maximize strength (MPa)``, ``Tg >= 800 K``,
        ``1.52 <= nD <= 1.53``, ``Tliquidus <= 1400 K``."""
        unit = f" {self.unit}" if self.unit else ""
        if self.direction != "target":
            return f"{self.direction} {self.name}" + (f" ({self.unit})" if self.unit else "")
        if self.high is None:
            return f"{self.name} >= {self.low:g}{unit}"
        if self.low is None:
            return f"{self.name} <= {self.high:g}{unit}"
        return f"{self.low:g} <= {self.name} <= {self.high:g}{unit}"


# ---------------------------------------------------------------------- (de)serialising
_VARIABLES = {
    "continuous": ContinuousVariable,
    "fixed": FixedVariable,
    "categorical": CategoricalVariable,
}
_CONSTRAINTS = {
    "mixture": MixtureConstraint,
    "linear": LinearInequality,
    "ratio": RatioConstraint,
    "cardinality": CardinalityConstraint,
}


def to_dict(part: Variable | Constraint | Objective) -> dict[str, Any]:
    """A JSON-ready dict (tuples as lists, with the ``kind`` tag)."""
    from dataclasses import fields

    out: dict[str, Any] = {}
    for f in fields(part):
        value = getattr(part, f.name)
        out[f.name] = (
            list(value)
            if isinstance(value, tuple)
            else (dict(value) if isinstance(value, Mapping) else value)
        )
    return out


def _build(table: dict, data: Mapping[str, Any], what: str):
    if not isinstance(data, Mapping) or data.get("kind") not in table:
        raise InvalidInputError(
            f"Unknown {what}",
            got=repr(data)[:200],
            expected=f"kind in {sorted(table)}",
            fix="check the campaign file",
        )
    args = {k: v for k, v in data.items() if k != "kind"}
    cls = table[data["kind"]]
    try:
        return cls(**args)
    except TypeError as err:
        raise InvalidInputError(
            f"Malformed {what}",
            got=repr(data)[:200],
            expected=str(err),
            fix="check the campaign file",
        ) from None


def variable_from_dict(data: Mapping[str, Any]) -> Variable:
    return _build(_VARIABLES, data, "variable")


def constraint_from_dict(data: Mapping[str, Any]) -> Constraint:
    return _build(_CONSTRAINTS, data, "constraint")


def objective_from_dict(data: Mapping[str, Any]) -> Objective:
    if not isinstance(data, Mapping):
        raise InvalidInputError(
            "Malformed objective",
            got=repr(data)[:200],
            expected="a mapping",
            fix="check the campaign file",
        )
    try:
        return Objective(**data)
    except TypeError as err:
        raise InvalidInputError(
            "Malformed objective",
            got=repr(data)[:200],
            expected=str(err),
            fix="check the campaign file",
        ) from None
