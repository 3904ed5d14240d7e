"""Variables, constraints, objectives and search spaces refuse invalid input on construction."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from core.exceptions import InvalidInputError
from core.optimize import (
    CardinalityConstraint,
    CategoricalVariable,
    ContinuousVariable,
    FixedVariable,
    LinearInequality,
    MixtureConstraint,
    Objective,
    RatioConstraint,
    SearchSpace,
)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ContinuousVariable("x", 2, 1), "empty or reversed"),
        (lambda: ContinuousVariable("x", 0, math.nan), "not finite"),
        (lambda: ContinuousVariable("x", "a", 1), "not a number"),
        (lambda: ContinuousVariable("", 0, 1), "needs a name"),
        (lambda: FixedVariable("age", math.inf), "not finite"),
        (lambda: CategoricalVariable("c", ("a", "a")), "distinct"),
        (lambda: CategoricalVariable("c", "ab"), "list of labels"),
        (lambda: MixtureConstraint(("a", "b"), 0), "positive"),
        (lambda: MixtureConstraint(("a",), 1), "at least 2"),
        (lambda: RatioConstraint(("w",), ("c",), 0.6, 0.3), "empty or negative"),
        (lambda: RatioConstraint(("w",), ("w", "c"), 0.3, 0.6), "both the numerator"),
        (lambda: LinearInequality({"a": 0}, 1), "non-zero coefficient"),
        (lambda: CardinalityConstraint(("a", "b"), 2), "max_nonzero"),
        (lambda: CardinalityConstraint(("a", "b"), True), "max_nonzero"),
        (lambda: Objective("y", "up"), "Unknown direction"),
        (lambda: Objective("y", "target"), "needs a window"),
        (lambda: Objective("y", "target", 5, 1), "reversed"),
        (lambda: Objective("y", "maximize", low=1), "direction 'target'"),
    ],
)
def test_invalid_parts_cannot_be_built(build, message):
    with pytest.raises(InvalidInputError, match=message) as info:
        build()
    assert "Expected:" in str(info.value) and "How to fix:" in str(info.value)


X, Y = ContinuousVariable("x", 0, 1), ContinuousVariable("y", 0, 1)
OBJ = (Objective("strength"),)


@pytest.mark.parametrize(
    ("variables", "objectives", "constraints", "message"),
    [
        ((X, X), OBJ, (), "names repeat"),
        ((FixedVariable("a", 1),), OBJ, (), "every variable is fixed"),
        ((X, Y), (), (), "needs an objective"),
        ((X, Y), OBJ, (MixtureConstraint(("x", "z"), 1),), "unknown variable"),
        ((X, Y), OBJ, (MixtureConstraint(("x", "y"), 3),), "No recipe can meet"),
        (
            (X, Y),
            OBJ,
            (RatioConstraint(("x",), ("y",), 5, 6), MixtureConstraint(("x", "y"), 2)),
            "No recipe can meet",
        ),
        (
            (ContinuousVariable("x", 0.1, 1), Y),
            OBJ,
            (CardinalityConstraint(("x", "y"), 1),),
            "cannot be zero",
        ),
        (
            (X, CategoricalVariable("c", ("a", "b"))),
            OBJ,
            (MixtureConstraint(("x", "c"), 1),),
            "categorical",
        ),
        ((X, Y), (Objective("x", "minimize"),), (), "nothing to learn"),
    ],
)
def test_search_space_cross_checks(variables, objectives, constraints, message):
    with pytest.raises(InvalidInputError, match=message):
        SearchSpace(variables, objectives, constraints)


def test_cardinality_supports_that_cannot_meet_the_mixture_are_dropped():
    a, b, c = (ContinuousVariable(n, 0, 0.6) for n in "abc")
    space = SearchSpace(
        (a, b, c),
        OBJ,
        (MixtureConstraint(("a", "b", "c"), 1.0), CardinalityConstraint(("a", "b", "c"), 2)),
    )
    assert len(space.feasible_supports()) == 3  # each pair can reach 1.0 (0.6 + 0.6)
    with pytest.raises(InvalidInputError, match="No recipe"):
        SearchSpace(
            (a, b, c),
            OBJ,
            (MixtureConstraint(("a", "b", "c"), 1.0), CardinalityConstraint(("a", "b", "c"), 1)),
        )


def test_ratio_window_is_two_linear_inequalities_and_violations_are_measured():
    space = SearchSpace(
        (ContinuousVariable("water", 100, 250), ContinuousVariable("cement", 100, 500)),
        OBJ,
        (RatioConstraint(("water",), ("cement",), 0.3, 0.6),),
    )
    recipes = pd.DataFrame({"water": [150.0, 100.0, 200.0], "cement": [300.0, 400.0, 300.0]})
    v = space.violations(recipes)
    assert list(space.is_feasible(recipes)) == [True, False, False]
    assert v.iloc[1].max() == pytest.approx(0.3 * 400 - 100)
    assert v.iloc[2].max() == pytest.approx(200 - 0.6 * 300)


def test_space_round_trips_through_dicts():
    space = SearchSpace(
        (X, Y, FixedVariable("age", 28, "days"), CategoricalVariable("kind", ("a", "b"))),
        (Objective("strength"), Objective("cost", "target", low=None, high=3)),
        (
            MixtureConstraint(("x", "y"), 1),
            LinearInequality({"x": 1, "y": -2}, -1),
            RatioConstraint(("x",), ("y",), 0.1, 5),
        ),
    )
    assert SearchSpace.from_dict(space.to_dict()) == space
