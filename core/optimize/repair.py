"""Repair and verification of candidates (step 5 of a round,
:mod:`core.optimize.recommender`): clip, project onto the constraints, check every rule."""

from __future__ import annotations

import numpy as np

from core.optimize.search_space import FEASIBILITY_TOL, SearchSpace


# ------------------------------------------------------------------------------- repair
def repair(space: SearchSpace, x: np.ndarray, zeros: frozenset[str]) -> np.ndarray:
    """Move numeric recipe ``x`` (over ``space.numeric_names``) the least onto the feasible
    set: bounds, mixtures (exactly), inequalities; zeroed components stay exactly 0."""
    from scipy.optimize import minimize

    names = space.numeric_names
    lo, hi = space.bounds()
    free = np.array([n not in zeros for n in names]) & (hi > lo)
    lo = np.where(free | (hi > lo), lo, lo)
    hi_eff = np.where([n in zeros for n in names], 0.0, hi)
    lo_eff = np.where([n in zeros for n in names], 0.0, lo)
    x = np.clip(x, lo_eff, hi_eff)
    a_eq, b_eq, _, a_ge, b_ge, _ = space.linear_constraints()

    def worst(v):
        viol = [0.0]
        if len(b_eq):
            viol.append(np.abs(a_eq @ v - b_eq).max())
        if len(b_ge):
            viol.append(np.maximum(b_ge - a_ge @ v, 0).max())
        return max(viol)

    if worst(x) > FEASIBILITY_TOL / 10 and free.any():
        scale = np.where(hi_eff > lo_eff, hi_eff - lo_eff, 1.0)[free]
        x0 = x.copy()

        def full(u):
            v = x0.copy()
            v[free] = lo_eff[free] + scale * u
            return v

        u0 = (x0[free] - lo_eff[free]) / scale
        cons = []
        if len(b_eq):
            cons.append({"type": "eq", "fun": lambda u: a_eq @ full(u) - b_eq})
        if len(b_ge):
            # a small margin keeps the final exact mixture correction inside the inequalities
            margin = FEASIBILITY_TOL / 100
            cons.append({"type": "ineq", "fun": lambda u: a_ge @ full(u) - b_ge - margin})
        res = minimize(
            lambda u: float(((u - u0) ** 2).sum()),
            u0,
            jac=lambda u: 2 * (u - u0),
            bounds=[(0.0, 1.0)] * int(free.sum()),
            constraints=cons,
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 500},
        )
        x = np.clip(full(res.x), lo_eff, hi_eff)
    # Exact mixtures: spread each residual over the free components that have room.
    for _ in range(3):
        for row, rhs in zip(a_eq, b_eq, strict=True):
            resid = rhs - row @ x
            if resid == 0:
                continue
            members = free & (row != 0)
            room = np.where(resid > 0, hi_eff - x, x - lo_eff) * members
            if room.sum() <= 0:
                continue
            step = resid * room / room.sum()
            x = np.clip(x + step / np.where(row != 0, row, 1.0), lo_eff, hi_eff)
    return x


def support_of(x: np.ndarray, space: SearchSpace, supports) -> frozenset[str]:
    """The zeroed set of the feasible support ``x`` was optimised in (its exact zeros)."""
    names = space.numeric_names
    exact_zero = {n for n, v in zip(names, x, strict=True) if v == 0.0}
    for zeros, _ in supports:
        if zeros <= exact_zero:
            return zeros
    return frozenset()


# -------------------------------------------------------------------------------- tidy
def decimals(lower: float, upper: float) -> int:
    """Decimal places a suggestion of a variable is written with: four significant digits
    of its range (cement over 102-540 kg/m^3: 0.1 kg/m^3; an oxide over 0-0.3 mol
    fraction: 0.0001), the resolution a lab weighs or batches to."""
    span = float(upper) - float(lower)
    if not np.isfinite(span) or span <= 0:
        return 12
    return int(3 - np.floor(np.log10(span)))


def tidy(space: SearchSpace, recipes):
    """Suggestions as a lab would write them: each numeric variable rounded to
    :func:`decimals` (so no ``1.5e-24`` or ``9.07e-11`` where 0 is meant; exact zeros stay
    zero), each mixture total restored exactly on its largest component (which carries the
    total's digits when the total has more than the grid), and every rule still met
    within :data:`FEASIBILITY_TOL`. A recipe that rounding would push over a rule (a ratio
    at its window's edge) is rounded to ten, then a hundred times finer; if even that
    breaks a rule it is kept as the optimiser left it."""
    names = space.numeric_names
    if not names or recipes.empty:
        return recipes
    lo, hi = space.bounds()
    places = np.array([decimals(a, b) for a, b in zip(lo, hi, strict=True)])
    a_eq, b_eq, _, _, _, _ = space.linear_constraints()
    movable = hi > lo
    out = recipes.copy()
    x = out[names].to_numpy(dtype=float, copy=True)
    for i in range(len(x)):
        for extra in (0, 1, 2):
            v = np.array([round(val, int(p + extra)) for val, p in zip(x[i], places, strict=True)])
            v = np.clip(v, lo, hi)
            for row, rhs in zip(a_eq, b_eq, strict=True):
                members = np.flatnonzero((row != 0) & movable & (v != 0))
                if len(members) == 0:
                    continue
                j = members[np.argmax(np.abs(v[members]))]
                v[j] += (rhs - row @ v) / row[j]  # exact total (it may need more digits)
            trial = out.iloc[[i]].copy()
            trial[names] = v
            if space.is_feasible(trial).all():
                x[i] = v
                break
    out[names] = x
    return out
