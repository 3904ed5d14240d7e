"""Every suggestion meets every constraint exactly (within FEASIBILITY_TOL), on random problems."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.exceptions import InvalidInputError
from core.optimize import (
    FEASIBILITY_TOL,
    Campaign,
    CardinalityConstraint,
    ContinuousVariable,
    FixedVariable,
    MixtureConstraint,
    Objective,
    RatioConstraint,
    RecommenderSettings,
    SearchSpace,
    random_feasible,
)
from core.optimize.repair import decimals, repair, tidy

FAST = RecommenderSettings(num_restarts=2, raw_samples=32, mc_samples=32, maxiter=40)


def random_space(seed: int) -> SearchSpace | None:
    """3-6 variables with random bounds, a mixture over a random subset, maybe a ratio
    window and an 'at most k non-zero' rule; None if the draw is infeasible."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 7))
    names = [f"x{i}" for i in range(n)]
    uppers = rng.uniform(1, 100, n).round(3)
    lowers = np.where(rng.random(n) < 0.5, 0.0, (uppers * rng.uniform(0, 0.3, n)).round(3))
    variables = [
        ContinuousVariable(m, lo, hi) for m, lo, hi in zip(names, lowers, uppers, strict=True)
    ]
    if rng.random() < 0.3:
        variables[-1] = FixedVariable(names[-1], float(uppers[-1] / 2))
    free = [v.name for v in variables if isinstance(v, ContinuousVariable)]
    constraints = []
    members = list(rng.choice(free, size=int(rng.integers(2, len(free) + 1)), replace=False))
    lo = sum(variables[names.index(m)].lower for m in members)
    hi = sum(variables[names.index(m)].upper for m in members)
    constraints.append(
        MixtureConstraint(tuple(members), float(lo + rng.uniform(0.2, 0.8) * (hi - lo)))
    )
    if rng.random() < 0.7 and len(free) >= 2:
        num, den = rng.choice(free, size=2, replace=False)
        r_lo = float(rng.uniform(0.05, 1.0))
        constraints.append(RatioConstraint((num,), (den,), r_lo, r_lo * float(rng.uniform(1.5, 4))))
    zero_ok = [v.name for v in variables if isinstance(v, ContinuousVariable) and v.lower == 0]
    if len(zero_ok) >= 3 and rng.random() < 0.5:
        constraints.append(CardinalityConstraint(tuple(zero_ok), len(zero_ok) - 1))
    try:
        return SearchSpace(tuple(variables), (Objective("y"),), tuple(constraints))
    except InvalidInputError:
        return None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), noise=st.floats(0.01, 0.5))
def test_repair_lands_exactly_on_the_feasible_set(seed, noise):
    space = random_space(seed)
    if space is None:
        return
    recipes = random_feasible(space, 3, seed=seed)
    assert space.is_feasible(recipes).all(), space.violations(recipes).max()
    # Push the recipes off the constraints, then repair: every rule is met again.
    rng = np.random.default_rng(seed)
    lo, hi = space.bounds()
    for _, row in recipes.iterrows():
        x = row[space.numeric_names].to_numpy(dtype=float)
        x = x + rng.normal(0, noise, len(x)) * (hi - lo + 1)
        zeros = frozenset(
            n
            for n, v in zip(space.numeric_names, row[space.numeric_names], strict=True)
            if v == 0.0
        )
        fixed = repair(space, x, zeros)
        out = pd.DataFrame([fixed], columns=space.numeric_names)
        v = space.violations(out)
        assert (v <= FEASIBILITY_TOL).all().all(), v.max()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_tidy_rounds_to_the_lab_resolution_and_keeps_every_rule(seed):
    """Each value on its variable's grid (or up to 100x finer where a rule needs it), but for
    one component per mixture that takes the total exactly; all rules still met."""
    space = random_space(seed)
    if space is None:
        return
    recipes = random_feasible(space, 4, seed=seed)
    out = tidy(space, recipes)
    assert space.is_feasible(out).all(), space.violations(out).max()
    names = space.numeric_names
    lo, hi = space.bounds()
    grid = np.array([10.0 ** -(decimals(a, b) + 2) for a, b in zip(lo, hi, strict=True)])
    values = out[names].to_numpy()
    on_grid = np.isclose(values, np.round(values / grid) * grid, rtol=0, atol=1e-9)
    mixtures = sum(isinstance(c, MixtureConstraint) for c in space.constraints)
    assert ((~on_grid).sum(axis=1) <= mixtures).all(), values[~on_grid]


def test_tidy_writes_concrete_to_a_tenth_of_a_kilogram_and_clears_dust():
    from core.optimize.builtins import concrete_space

    space, data = concrete_space()
    recipes = data[data["fly_ash"] == 0].head(3)[space.names].reset_index(drop=True)
    recipes.loc[0, "fly_ash"] = 9.07e-11  # optimiser dust where 0 is meant
    recipes.loc[1, "fly_ash"] = 1.477789e-24
    recipes.loc[2, "cement"] += 1e-7
    recipes.loc[2, "water"] -= 1e-7
    out = tidy(space, recipes)
    assert (out["fly_ash"] == 0.0).all()  # exactly zero, not 1e-24
    assert (out["blast_furnace_slag"][recipes["blast_furnace_slag"] == 0] == 0).all()
    assert (out["cement"] == out["cement"].round(1)).all()
    ingredients = [n for n in space.numeric_names if n != "age"]
    assert out[ingredients].sum(axis=1).to_numpy() == pytest.approx(2350.0, abs=1e-9)


def _problem(seed: int, n: int):
    """A random constrained space (the first seed from ``seed`` on that gives one) and
    ``n`` feasible recipes with a smooth objective ``y``."""
    space = None
    while space is None:
        space, seed = random_space(seed), seed + 1000
    data = random_feasible(space, n, seed=seed)
    x = data[space.numeric_names].to_numpy(dtype=float)
    data["y"] = -((x / (x.max(axis=0) + 1) - 0.4) ** 2).sum(axis=1)
    return space, data


@pytest.mark.parametrize(("seed", "local_starts"), [(3, 0.0), (11, 0.0), (3, 0.5), (11, 1.0)])
def test_recommend_on_random_constrained_problems(seed, local_starts):
    space, data = _problem(seed, 8)
    settings = RecommenderSettings(
        num_restarts=2, raw_samples=32, mc_samples=32, maxiter=40, local_starts=local_starts
    )
    campaign = Campaign(space, data, settings=settings)
    suggestions = campaign.recommend(2)
    violations = space.violations(suggestions)
    assert (violations <= FEASIBILITY_TOL).all().all(), violations.max()
    assert suggestions[["y_mean", "y_std"]].notna().all().all()


@pytest.mark.parametrize(
    ("kernel", "sequential"), [("matern-gamma", False), ("botorch", True), ("botorch", False)]
)
def test_every_kernel_and_batch_mode_gives_feasible_suggestions(kernel, sequential):
    space, data = _problem(5, 8)
    fast = RecommenderSettings(
        num_restarts=2,
        raw_samples=32,
        mc_samples=32,
        maxiter=40,
        kernel=kernel,
        sequential=sequential,
    )
    suggestions = Campaign(space, data, settings=fast).recommend(3)
    assert len(suggestions) == 3
    violations = space.violations(suggestions)
    assert (violations <= FEASIBILITY_TOL).all().all(), violations.max()


def test_local_starts_sit_next_to_the_best_recipes(monkeypatch):
    from core.optimize.acquisition import incumbents_unit, near_incumbents
    from core.optimize.encoding import Encoding

    space, data = _problem(7, 12)
    enc = Encoding(space, data)
    best = incumbents_unit(space, data, enc)
    assert len(best) == 3
    top = data["y"].nlargest(1).index[0]
    unit_top = (enc.encode(data.loc[[top]]) - enc.lower) / enc.span
    assert np.allclose(best[0].numpy(), unit_top[0])
    starts = torch.rand(8, 1, enc.d, dtype=torch.float64)

    def fake_default(*args, **kwargs):
        return starts.clone()

    monkeypatch.setattr("botorch.optim.initializers.gen_batch_initial_conditions", fake_default)
    out = near_incumbents(best, share=0.5, seed=0)(None, None, 1, 8, 32)
    assert torch.equal(out[:4], starts[:4])  # the other half untouched
    # moved starts lie on segments from an incumbent towards their start, within 20 %
    gap = [min(float((out[i, 0] - b).abs().max()) for b in best) for i in range(4, 8)]
    assert max(gap) <= 0.2 + 1e-9


def test_unknown_kernel_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="Unknown GP kernel"):
        RecommenderSettings(kernel="rbf-please")


def test_trust_region_puts_the_second_half_next_to_the_best_recipe():
    from core.optimize.encoding import Encoding
    from core.optimize.recommender import trust_region_bounds

    space, data = _problem(3, 12)
    settings = RecommenderSettings(
        num_restarts=2, raw_samples=32, mc_samples=32, maxiter=40, trust_region=0.2
    )
    data = data.sort_values("y").reset_index(drop=True)  # the best was measured last
    suggestions = Campaign(space, data, settings=settings).recommend(4)
    assert (space.violations(suggestions) <= FEASIBILITY_TOL).all().all()
    enc = Encoding(space, data)
    span = np.where(enc.span > 0, enc.span, 1.0)
    unit = (enc.encode(suggestions) - enc.lower) / span
    best = (enc.encode(data.iloc[[-1]]) - enc.lower) / span
    # the last two within the box of side 0.2 (+ the rounding of tidy) around the best
    assert np.abs(unit[2:] - best).max() <= 0.1 + 0.01
    # the box halves for every 2 q experiments measured after the best
    stalled = pd.concat([data.iloc[[-1]], data.iloc[:-1]], ignore_index=True)
    box, _ = trust_region_bounds(space, stalled, enc, settings, 4, {})
    side = (box[1] - box[0]).max().item()
    assert side == pytest.approx(0.2 * 0.5 ** (11 // 8))


def test_trust_region_out_of_range_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="trust_region"):
        RecommenderSettings(trust_region=1.5)
