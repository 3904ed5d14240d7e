"""Turning what a person typed into campaign parts: constraint rows, fixed values, choices.

The recipe page collects raw entries (table rows, multiselects, numbers) and hands them
here; every entry is checked when the campaign is built, and an error names the entry it
is about ("Linear inequality 2: ..."), while the page keeps everything as typed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.exceptions import InvalidInputError
from core.optimize.campaign import Campaign
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

RHS, LABEL = "≥ (right-hand side)", "label (optional)"


def labelled(what: str, build: Callable[[], Any]) -> Callable[[], Any]:
    """``build`` whose error message starts with which entry it is about."""

    def run():
        try:
            return build()
        except InvalidInputError as err:
            raise InvalidInputError(
                f"{what}: {err.problem}",
                got=err.got,
                expected=err.expected,
                fix=err.fix,
                entry=err.entry,
            ) from None

    return run


def linear_table(numeric: Sequence[str]) -> pd.DataFrame:
    """The empty editor table for linear inequalities: a column per numeric variable."""
    return pd.DataFrame(
        {
            **{n: pd.Series(dtype=float) for n in numeric},
            RHS: pd.Series(dtype=float),
            LABEL: pd.Series(dtype=str),
        }
    )


def linear_builders(rows: Sequence[Mapping], numeric: Sequence[str]) -> list[Callable]:
    """Builders of ``LinearInequality`` from editor rows (coefficient per variable, the
    right-hand side, an optional label); rows left empty are skipped."""
    builders = []
    for i, row in enumerate(rows, 1):
        coefs = {n: row.get(n) for n in numeric if pd.notna(row.get(n)) and row.get(n) != 0}
        rhs = row.get(RHS)
        if not coefs and pd.isna(rhs):
            continue  # a row added but left empty
        label = row.get(LABEL)
        builders.append(
            labelled(
                f"Linear inequality {i}",
                lambda coefs=coefs, rhs=rhs, label=label: LinearInequality(
                    coefs or {n: 0.0 for n in numeric},
                    None if pd.isna(rhs) else rhs,
                    "" if pd.isna(label) else str(label).strip(),
                ),
            )
        )
    return builders


def constraint_builders(
    mixture: Sequence[str] = (),
    total: float = 100.0,
    ratios: Sequence[tuple[Sequence[str], Sequence[str], float, float]] = (),
    linear_rows: Sequence[Mapping] = (),
    numeric: Sequence[str] = (),
    cardinality: Sequence[tuple[Sequence[str], int]] = (),
) -> list[Callable[[], Constraint]]:
    """Every constraint entry as a builder (called when the campaign is created)."""
    rules: list[Callable[[], Constraint]] = []
    if mixture:
        rules.append(labelled("Mixture", lambda: MixtureConstraint(tuple(mixture), total)))
    for i, (num, den, lo, hi) in enumerate(ratios, 1):
        rules.append(
            labelled(
                f"Ratio window {i}",
                lambda num=num, den=den, lo=lo, hi=hi: RatioConstraint(
                    tuple(num), tuple(den), lo, hi
                ),
            )
        )
    rules += linear_builders(linear_rows, numeric)
    for i, (comps, k) in enumerate(cardinality, 1):
        rules.append(
            labelled(
                f"At-most-k rule {i}",
                lambda comps=comps, k=k: CardinalityConstraint(tuple(comps), int(k)),
            )
        )
    return rules


def fixed_default(table: pd.DataFrame, column: str) -> float:
    """The value a fixed variable starts at: the column's median (0 if not numeric)."""
    median = pd.to_numeric(table[column], errors="coerce").median()
    return float(median) if np.isfinite(median) else 0.0


def category_choices(table: pd.DataFrame, column: str) -> list[str]:
    """The labels of a categorical column, stripped and sorted."""
    return sorted(table[column].dropna().astype("string").str.strip().unique())


def variables_from_entries(
    bounds: pd.DataFrame | None,
    fixed: Mapping[str, float],
    choices: Mapping[str, Sequence[str]],
) -> list[Variable]:
    """Variables from the bounds editor (``variable``, ``lower``, ``upper``, ``unit``), the
    fixed values and the categorical choices."""
    parts: list[Variable] = [
        ContinuousVariable(row.variable, row.lower, row.upper, row.unit or "")
        for row in (bounds.itertuples() if bounds is not None else ())
    ]
    parts += [FixedVariable(n, v) for n, v in fixed.items()]
    parts += [CategoricalVariable(n, tuple(c)) for n, c in choices.items()]
    return parts


def campaign_from_entries(
    table: pd.DataFrame,
    bounds: pd.DataFrame | None,
    fixed: Mapping[str, float],
    choices: Mapping[str, Sequence[str]],
    goals: Mapping[str, tuple[str, float | None, float | None]],
    rules: Sequence[Callable[[], Constraint]],
    *,
    name: str,
    problems: Sequence[InvalidInputError] = (),
) -> Campaign:
    """The campaign the upload form describes: variables from :func:`variables_from_entries`,
    an objective per ``{column: (direction, low, high)}``, a constraint per builder of
    :func:`constraint_builders` (built now, so the first bad entry is the error).

    Raises:
        InvalidInputError: the first of ``problems`` (columns already found unusable as
            variables), else the first bad entry, else what :meth:`Campaign.from_table` finds.
    """
    if problems:
        raise problems[0]
    return Campaign.from_table(
        table,
        variables_from_entries(bounds, fixed, choices),
        [Objective(o, *goal) for o, goal in goals.items()],
        [build() for build in rules],
        name=name,
    )


def bounds_table(variables: Sequence[Variable]) -> pd.DataFrame:
    """Editor rows of a campaign's numeric variables (a fixed one: lower = upper)."""
    return pd.DataFrame(
        [
            {
                "variable": v.name,
                "kind": v.kind,
                "lower": getattr(v, "lower", getattr(v, "value", None)),
                "upper": getattr(v, "upper", getattr(v, "value", None)),
                "unit": getattr(v, "unit", ""),
            }
            for v in variables
            if not isinstance(v, CategoricalVariable)
        ]
    )


def objectives_table(objectives) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"objective": o.name, "direction": o.direction, "low": o.low, "high": o.high}
            for o in objectives
        ]
    )


def bounds_from_table(table: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """``{variable: (lower, upper)}`` from the edited bounds table."""
    return {r.variable: (r.lower, r.upper) for r in table.itertuples()}
