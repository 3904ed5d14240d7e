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
