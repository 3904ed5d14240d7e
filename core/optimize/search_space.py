"""The search space: the validated set of variables, constraints and objectives
(:mod:`core.optimize.parts`) that a campaign optimises over.

A :class:`Campaign` is a search space plus the table of measured recipes (one row per
experiment, a ``round`` column saying when it was made; checked by
:mod:`core.optimize.tables`) and the last suggestions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.exceptions import InvalidInputError
from core.optimize.parts import (
    CardinalityConstraint,
    CategoricalVariable,
    Constraint,
    ContinuousVariable,
    FixedVariable,
    LinearInequality,
    MixtureConstraint,
    Objective,
    RatioConstraint,
    Variable,
)

ROUND = "round"
MAX_COMBINATIONS = 64  # categorical choices x cardinality supports optimised one by one
FEASIBILITY_TOL = 1e-6  # every suggestion meets every constraint within this (raw units)


@dataclass(frozen=True)
class SearchSpace:
    """Variables, constraints and objectives, checked against each other on construction."""

    variables: tuple[Variable, ...]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...] = ()
    _lin: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        variables = tuple(self.variables)
        objectives = tuple(self.objectives)
        constraints = tuple(self.constraints)
        for part, kinds, what in (
            (variables, (ContinuousVariable, FixedVariable, CategoricalVariable), "variable"),
            (objectives, (Objective,), "objective"),
            (
                constraints,
                (MixtureConstraint, LinearInequality, RatioConstraint, CardinalityConstraint),
                "constraint",
            ),
        ):
            bad = [p for p in part if not isinstance(p, kinds)]
            if bad:
                raise InvalidInputError(
                    f"Not a {what}",
                    got=repr(bad[0])[:120],
                    expected=f"instances of {', '.join(k.__name__ for k in kinds)}",
                    fix=f"build each {what} with those classes",
                )
        names = [v.name for v in variables]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise InvalidInputError(
                "Variable names repeat",
                got=dup,
                expected="unique names",
                fix="rename or drop the duplicates",
            )
        if not any(not isinstance(v, FixedVariable) for v in variables):
            raise InvalidInputError(
                "Nothing to optimise: every variable is fixed",
                got=names,
                expected="at least one continuous or categorical variable",
                fix="give at least one variable bounds",
            )
        if not objectives:
            raise InvalidInputError(
                "A campaign needs an objective",
                got="none",
                expected="one or more objectives",
                fix="pick the measured column(s) to optimise",
            )
        obj_names = [o.name for o in objectives]
        if len(set(obj_names)) != len(obj_names):
            raise InvalidInputError(
                "Objective names repeat",
                got=obj_names,
                expected="each objective once",
                fix="drop the duplicate",
            )
        by_name = {v.name: v for v in variables}
        for o in objectives:
            if o.name in by_name and not isinstance(by_name[o.name], ContinuousVariable):
                raise InvalidInputError(
                    f"Objective {o.name!r} is a fixed or categorical variable",
                    got=o.name,
                    expected="a measured column or a continuous variable",
                    fix="optimise a measured column instead",
                )
        if all(o.name in by_name for o in objectives):
            raise InvalidInputError(
                "Every objective is a recipe variable: there is nothing to learn",
                got=obj_names,
                expected="at least one measured objective",
                fix="add a measured column (e.g. strength) as an objective",
            )
        for c in constraints:
            used = (
                c.coefficients
                if isinstance(c, LinearInequality)
                else (*c.numerator, *c.denominator)
                if isinstance(c, RatioConstraint)
                else c.components
            )
            for n in used:
                v = by_name.get(n)
                if v is None:
                    raise InvalidInputError(
                        f"Constraint '{c.describe()}' uses an unknown variable",
                        got=n,
                        expected=f"one of {names}",
                        fix="fix the name or add the variable",
                        entry=n,
                    )
                if isinstance(v, CategoricalVariable):
                    raise InvalidInputError(
                        f"Constraint '{c.describe()}' uses categorical variable {n!r}",
                        got=n,
                        expected="continuous or fixed variables",
                        fix="remove it from the constraint",
                    )
                if isinstance(c, CardinalityConstraint) and not (
                    isinstance(v, ContinuousVariable) and v.lower == 0
                ):
                    raise InvalidInputError(
                        f"Cardinality constraint component {n!r} cannot be zero",
                        got=(
                            f"bounds [{v.lower:g}, {v.upper:g}]"
                            if isinstance(v, ContinuousVariable)
                            else "a fixed variable"
                        ),
                        expected="a continuous variable with lower bound 0",
                        fix=f"set the lower bound of {n!r} to 0 or leave it out",
                    )
        object.__setattr__(self, "variables", variables)
        object.__setattr__(self, "objectives", objectives)
        object.__setattr__(self, "constraints", constraints)
        object.__setattr__(self, "_lin", self._linear_system())
        if self.combinations_count() > MAX_COMBINATIONS:
            raise InvalidInputError(
                "Too many categorical choices x cardinality supports to search",
                got=self.combinations_count(),
                expected=f"<= {MAX_COMBINATIONS}",
                fix="fix a categorical variable or raise max_nonzero",
            )
        supports = [s for s in self.supports() if self._feasible(s)]
        if not supports:
            raise InvalidInputError(
                "No recipe can meet all constraints within the bounds",
                got="; ".join(c.describe() for c in constraints),
                expected="constraints compatible with the variable bounds",
                fix="widen the bounds, the ratio window or the mixture total",
            )
        object.__setattr__(self, "_supports", tuple(supports))

    # ------------------------------------------------------------------ names and columns
    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)

    @property
    def numeric_names(self) -> list[str]:
        """Continuous and fixed variables: the raw columns constraints are written on."""
        return [v.name for v in self.variables if not isinstance(v, CategoricalVariable)]

    @property
    def measured_objectives(self) -> list[Objective]:
        """Objectives read from measured columns (the others are recipe variables)."""
        return [o for o in self.objectives if o.name not in self.names]

    # ------------------------------------------------------------------ linear constraints
    def _linear_system(self):
        """(A_eq, b_eq, A_ge, b_ge, labels) over :attr:`numeric_names`."""
        cols = {n: i for i, n in enumerate(self.numeric_names)}
        eq, ge = [], []
        for c in self.constraints:
            if isinstance(c, MixtureConstraint):
                eq.append((c.coefficients(), c.total, c.describe()))
            elif isinstance(c, LinearInequality):
                ge.append((c.coefficients, c.rhs, c.describe()))
            elif isinstance(c, RatioConstraint):
                ge.extend((i.coefficients, i.rhs, i.describe()) for i in c.inequalities())

        def matrix(rows):
            a = np.zeros((len(rows), len(cols)))
            for r, (coefs, _, _) in enumerate(rows):
                for n, v in coefs.items():
                    a[r, cols[n]] = v
            return a, np.array([r[1] for r in rows], dtype=float), [r[2] for r in rows]

        return (*matrix(eq), *matrix(ge))

    def linear_constraints(self):
        """``(A_eq, b_eq, eq_labels, A_ge, b_ge, ge_labels)`` over :attr:`numeric_names`:
        ``A_eq x == b_eq`` and ``A_ge x >= b_ge``."""
        return self._lin

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower/upper of each numeric variable (a fixed one has lower == upper == value)."""
        lo, hi = [], []
        for v in self.variables:
            if isinstance(v, ContinuousVariable):
                lo.append(v.lower), hi.append(v.upper)
            elif isinstance(v, FixedVariable):
                lo.append(v.value), hi.append(v.value)
        return np.array(lo), np.array(hi)

    # -------------------------------------------------------- categoricals x supports
    def supports(self) -> list[tuple[frozenset[str], dict[str, str]]]:
        """Every (zeroed components, categorical choices) combination to optimise over."""
        zero_sets: list[frozenset[str]] = [frozenset()]
        for c in self.constraints:
            if isinstance(c, CardinalityConstraint):
                options = [
                    frozenset(c.components) - frozenset(keep)
                    for keep in itertools.combinations(c.components, c.max_nonzero)
                ]
                zero_sets = list({z | o for z in zero_sets for o in options})
        cats = [v for v in self.variables if isinstance(v, CategoricalVariable)]
        choices = [
            dict(zip([v.name for v in cats], combo, strict=True))
            for combo in itertools.product(*(v.choices for v in cats))
        ]
        return [(z, ch) for z in sorted(zero_sets, key=sorted) for ch in choices]

    def combinations_count(self) -> int:
        n = 1
        for c in self.constraints:
            if isinstance(c, CardinalityConstraint):
                n *= math.comb(len(c.components), c.max_nonzero)
        for v in self.variables:
            if isinstance(v, CategoricalVariable):
                n *= len(v.choices)
        return n

    def feasible_supports(self):
        return list(self._supports)

    def _feasible(self, support) -> bool:
        from scipy.optimize import linprog

        zeros, _ = support
        lo, hi = self.bounds()
        names = self.numeric_names
        hi = np.where([n in zeros for n in names], 0.0, hi)
        lo = np.where([n in zeros for n in names], 0.0, lo)
        a_eq, b_eq, _, a_ge, b_ge, _ = self._lin
        res = linprog(
            np.zeros(len(names)),
            A_ub=-a_ge if len(b_ge) else None,
            b_ub=-b_ge if len(b_ge) else None,
            A_eq=a_eq if len(b_eq) else None,
            b_eq=b_eq if len(b_eq) else None,
            bounds=list(zip(lo, hi, strict=True)),
            method="highs",
        )
        return bool(res.status == 0)

    # --------------------------------------------------------------------- verification
    def violations(self, recipes: pd.DataFrame) -> pd.DataFrame:
        """Per recipe and per rule, how far it is broken (0 = met), in the variables' units."""
        x = recipes[self.numeric_names].to_numpy(dtype=float)
        lo, hi = self.bounds()
        out = {"bounds": np.maximum(lo - x, 0).max(axis=1) if x.size else np.zeros(len(x))}
        out["bounds"] = np.maximum(out["bounds"], np.maximum(x - hi, 0).max(axis=1))
        a_eq, b_eq, eq_labels, a_ge, b_ge, ge_labels = self._lin
        for row, rhs, label in zip(a_eq, b_eq, eq_labels, strict=True):
            out[label] = np.abs(x @ row - rhs)
        for row, rhs, label in zip(a_ge, b_ge, ge_labels, strict=True):
            out[label] = np.maximum(rhs - x @ row, 0)
        for c in self.constraints:
            if isinstance(c, CardinalityConstraint):
                nonzero = (recipes[list(c.components)].to_numpy(dtype=float) != 0).sum(axis=1)
                out[c.describe()] = np.maximum(nonzero - c.max_nonzero, 0).astype(float)
        for v in self.variables:
            if isinstance(v, CategoricalVariable):
                out[f"{v.name} in choices"] = (
                    (~recipes[v.name].astype(str).isin(v.choices)).astype(float).to_numpy()
                )
        return pd.DataFrame(out, index=recipes.index)

    def is_feasible(self, recipes: pd.DataFrame, tol: float = FEASIBILITY_TOL) -> pd.Series:
        return (self.violations(recipes) <= tol).all(axis=1)

    # ----------------------------------------------------------------- (de)serialising
    def to_dict(self) -> dict:
        from core.optimize.parts import to_dict

        return {
            "variables": [to_dict(v) for v in self.variables],
            "objectives": [to_dict(o) for o in self.objectives],
            "constraints": [to_dict(c) for c in self.constraints],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> SearchSpace:
        from core.optimize.parts import (
            constraint_from_dict,
            objective_from_dict,
            variable_from_dict,
        )

        return cls(
            tuple(variable_from_dict(v) for v in data.get("variables", [])),
            tuple(objective_from_dict(o) for o in data.get("objectives", [])),
            tuple(constraint_from_dict(c) for c in data.get("constraints", [])),
        )


# -------------------------------------------------------------------------- table checks
