"""BoTorch recommender: a GP surrogate per measured objective, qLogNEI (one objective) or
qLogNEHVI (several), optimised under the campaign's constraints, then repaired and checked.

How a round works (:func:`recommend`):

1. **Encode** recipes as model inputs: continuous and fixed variables in their units,
   categoricals one-hot.
2. **Fit** a GP with one independent output per measured objective (``Normalize`` inputs
   with the search bounds, ``Standardize`` outcomes; ``fit_gpytorch_mll``; several
   objectives in one batched ``SingleTaskGP``). Its batched posterior computes the points
   common to every restart (baseline, pending) once
   (:class:`~core.optimize.shared_rows.SharedRowsGP`: same numbers, a round on 1,030
   recipes ~1.5-2x cheaper).
3. **Acquire**: objectives become "larger is better" scores inside an MC objective:
   ``y`` (maximize), ``-y`` (minimize), ``-distance(y, [low, high])`` (target window). An
   objective that is a recipe variable (e.g. less cement) is read from the candidate ``X``
   itself, with no model. One score: ``qLogNoisyExpectedImprovement``; several:
   ``qLogNoisyExpectedHypervolumeImprovement`` with the reference point at the worst
   observed score minus 10 % of the observed range per objective (a standard choice:
   every measured recipe that is not the worst in some objective improves the hypervolume).
   The baseline of the noisy acquisitions is the measured recipes with fixed variables at
   their fixed value (:func:`baseline_inputs`), so data measured under other conditions
   (e.g. other curing ages) informs the surrogate but does not set the bar. For one
   objective it keeps only the recipes holding 99 % of the probability of being the best
   (:func:`likely_incumbents`), which makes every evaluation cheaper.
4. **Optimise** in the unit cube of the search bounds (so SLSQP sees well-scaled variables):
   mixtures are equality constraints, linear inequalities and ratio windows go to
   ``inequality_constraints`` (BoTorch: ``sum(c_i x_i) >= rhs``), fixed variables to
   ``fixed_features``; categorical choices and the supports of "at most k non-zero"
   constraints are enumerated with ``optimize_acqf_mixed`` (sequential greedy over q).
   Optionally (``RecommenderSettings.trust_region``, off by default) the second half of a
   one-objective batch is sought in a box around the best measured recipe that shrinks
   while later experiments (rows in the order they were measured) fail to beat it.
5. **Repair and verify** every candidate: clip to bounds, project onto the constraints if
   the optimiser left any violation, spread the residual of each mixture over its free
   components, and check all rules within :data:`FEASIBILITY_TOL`; a candidate that still
   fails raises instead of being shown. Then round each variable to the resolution a lab
   works to (:func:`~core.optimize.repair.tidy`: no ``1e-24`` where 0 is meant), keeping
   every rule met.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from core.exceptions import InvalidInputError, StudioError
from core.optimize.acquisition import (
    build_acquisition,
    fixed_features,
    incumbents_unit,
    near_incumbents,
    scores,
    unit_constraints,
    unit_space,
)
from core.optimize.encoding import DTYPE, Encoding
from core.optimize.repair import repair, support_of, tidy
from core.optimize.search_space import FEASIBILITY_TOL, SearchSpace
from core.optimize.surrogate import KERNELS, exact_gp, fit_models, predict
from core.progress import Progress

# The stages of a round, in order (``Progress`` names; benchmarks/optimization_rounds.py).
STAGES = ("fit", "acquisition", "optimise", "repair", "predict")


class InfeasibleSuggestionError(StudioError, RuntimeError):
    """The optimiser returned a recipe that could not be repaired to meet every constraint."""


@dataclass(frozen=True)
class RecommenderSettings:
    """Effort of one round; tests use smaller values.

    The defaults (10 restarts from 64 raw samples, batch built one point at a time, the
    Matern/Gamma-prior kernel) won on the simulated concrete campaigns of
    ``benchmarks/optimization.py`` over 4 restarts of a jointly optimised batch with
    BoTorch's default kernel, and keep ``recommend(q=4)`` on ~1,000 recipes within seconds
    on a 2-core CPU (the benchmark prints both). Starting half of the restarts next to the
    best measured recipes (``local_starts``) gave better final recipes than uniform starts
    in most simulated campaigns (``benchmarks/results/optimization_screens.jsonl``; the
    input-warping screen there did not help and is not offered). Seeking half of each batch
    in a trust region around the best recipe (``trust_region`` 0.8, TuRBO's initial side)
    beat these defaults on the tuning seeds 0-29 (mean +1.4 MPa, p = 0.12) but not on the
    30 held-out seeds 100-129 (mean +0.2, median -1.0 MPa, p = 0.66; the strongest measured
    mix reached after 60 experiments instead of 48), so it stays off
    (``benchmarks/results/optimization_screen_trust_region``); more restarts and raw
    samples did not help either (``optimization_screen_restarts20``)."""

    num_restarts: int = 10
    raw_samples: int = 64
    mc_samples: int = 128
    maxiter: int = 75
    max_train_points: int = 2000
    max_fit_points: int = 300
    kernel: str = "matern-gamma"
    sequential: bool = True  # greedy one-at-a-time q-batch (False: all q jointly)
    local_starts: float = 0.5  # share of restarts started next to the best measured recipes
    # Several objectives (qLogNEHVI): the baseline keeps the recipes holding this share of
    # the posterior's Pareto-front memberships (acquisition.likely_front; None: BoTorch's
    # prune_baseline, every recipe on the front in any sample), and the hypervolume is
    # estimated from min(mc_samples, front_mc_samples) samples. 0.99 and 64 took a round on
    # the 1,030 concrete mixes with a cement objective from 32 to ~13 CPU-s and the glass
    # campaign from 14 to ~8, with a hypervolume at least as large on the simulated
    # two-objective campaigns (benchmarks/optimization_pareto.py, optimization_rounds.py).
    front_mass: float | None = 0.99
    front_mc_samples: int = 64
    # One objective: the last q // 2 suggestions of a round are sought inside a box around
    # the best measured recipe (a trust region, TuRBO: Eriksson et al., NeurIPS 2019), of
    # side ``trust_region`` in the unit cube of the bounds, halved for every 2 q experiments
    # since the best was measured (rows in the order they were measured), down to 1/32 of
    # it. 0: off (every suggestion from the whole space; the default, see above).
    trust_region: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise InvalidInputError(
                "Unknown GP kernel",
                got=repr(self.kernel),
                expected=" or ".join(KERNELS),
                fix=f"kernel={KERNELS[0]!r}",
            )
        for name in (
            "num_restarts",
            "raw_samples",
            "mc_samples",
            "maxiter",
            "max_train_points",
            "max_fit_points",
            "front_mc_samples",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(
                    f"Recommender setting {name} must be a positive whole number",
                    got=repr(value),
                    expected="an integer >= 1",
                    fix="e.g. 8",
                )
        if self.front_mass is not None and not (
            isinstance(self.front_mass, int | float) and 0 < self.front_mass <= 1
        ):
            raise InvalidInputError(
                "front_mass must be a share in (0, 1] or None",
                got=repr(self.front_mass),
                expected="0 < front_mass <= 1",
                fix="e.g. 0.99",
            )
        if not (isinstance(self.trust_region, int | float) and 0 <= self.trust_region <= 1):
            raise InvalidInputError(
                "trust_region must be a side length in [0, 1] (0: off)",
                got=repr(self.trust_region),
                expected="0 <= trust_region <= 1",
                fix="e.g. 0.8",
            )
        if self.raw_samples < self.num_restarts:
            raise InvalidInputError(
                "raw_samples must be at least num_restarts",
                got=(self.raw_samples, self.num_restarts),
                expected="raw_samples >= num_restarts",
                fix="raise raw_samples",
            )


# ------------------------------------------------------------------------------ recommend
def recommend(
    space: SearchSpace,
    measured: pd.DataFrame,
    q: int,
    settings: RecommenderSettings | None = None,
    model=None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """``q`` new recipes, each with predicted mean and std per objective.

    ``progress`` (optional) records the CPU/wall seconds of each stage, reports the stage
    to its callback and cancels the round (:class:`~core.progress.Cancelled`)
    when asked to."""
    from botorch.optim import optimize_acqf, optimize_acqf_mixed

    settings = settings or RecommenderSettings()
    progress = progress or Progress()
    if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= 32:
        raise InvalidInputError(
            "Number of suggestions must be a whole number 1..32",
            got=repr(q),
            expected="1 <= q <= 32",
            fix="e.g. q=4",
        )
    if len(measured) > settings.max_train_points:
        measured = measured.sample(settings.max_train_points, random_state=settings.seed)
    enc = Encoding(space, measured)
    if model is None:
        with progress.stage("fit"):
            model = fit_models(
                space, measured, enc, settings.seed, settings.max_fit_points, settings.kernel
            )
    with progress.stage("acquisition"), exact_gp():
        inner = build_acquisition(space, model, enc, measured, settings)
        acqf = unit_space(inner, enc, progress, q)
    eq, ineq = unit_constraints(space, enc)
    bounds = torch.stack([torch.zeros(enc.d, dtype=DTYPE), torch.ones(enc.d, dtype=DTYPE)])
    fixed_list = fixed_features(space, enc)
    supports = space.feasible_supports()
    common = dict(
        num_restarts=settings.num_restarts,
        raw_samples=settings.raw_samples,
        equality_constraints=eq,
        inequality_constraints=ineq,
        # Hit-and-run for the feasible starting points: BoTorch's defaults (10,000 burn-in
        # steps, thinning 32 q) dominate a round on a small CPU; starts need not be iid.
        options={
            "maxiter": settings.maxiter,
            "batch_limit": settings.num_restarts,
            "n_burnin": 300,
            "n_thinning": 4,
        },
    )
    torch.manual_seed(settings.seed)
    with warnings.catch_warnings(), exact_gp(), progress.stage("optimise", 0, q):
        warnings.simplefilter("ignore")
        if len(fixed_list) == 1:
            incumbents = incumbents_unit(space, measured, enc)
            if settings.local_starts > 0 and len(incumbents):
                common["ic_generator"] = near_incumbents(
                    incumbents, settings.local_starts, settings.seed
                )
            region = trust_region_bounds(space, measured, enc, settings, q, fixed_list[0])
            n_local = q // 2 if region is not None else 0
            u, _ = optimize_acqf(
                acqf,
                bounds,
                q=q - n_local,
                fixed_features=fixed_list[0],
                sequential=settings.sequential,
                **common,
            )
            if n_local:
                box, best = region
                local = dict(common)
                if settings.local_starts > 0:  # starts next to the best only: inside the box
                    local["ic_generator"] = near_incumbents(
                        best[None], settings.local_starts, settings.seed
                    )
                acqf.set_X_pending(u)
                u_local, _ = optimize_acqf(
                    acqf,
                    box,
                    q=n_local,
                    fixed_features=fixed_list[0],
                    sequential=settings.sequential,
                    **local,
                )
                acqf.set_X_pending(None)
                u = torch.cat([u, u_local])
        else:
            u, _ = optimize_acqf_mixed(acqf, bounds, q=q, fixed_features_list=fixed_list, **common)
    with progress.stage("repair"):
        recipes = tidy(space, _repaired(space, enc, u.detach().numpy(), q, supports))
    with progress.stage("predict"):
        return pd.concat([recipes, predict(space, model, enc, recipes)], axis=1)


def trust_region_bounds(space, measured, enc, settings, q, fixed):
    """(box, best): the unit-cube box of ``RecommenderSettings.trust_region`` around the
    best measured recipe and that recipe, or None (off, several objectives, q = 1, nothing
    feasible measured yet)."""
    if settings.trust_region <= 0 or len(space.objectives) != 1 or q < 2:
        return None
    feasible = measured[space.is_feasible(measured).to_numpy()]
    s = scores(space, feasible)[:, 0] if len(feasible) else np.zeros(0)
    if not np.isfinite(s).any():
        return None
    best = int(np.nanargmax(s))
    stall = len(s) - 1 - best  # experiments measured after the best
    side = settings.trust_region * 0.5 ** min(stall // (2 * q), 5)
    x = incumbents_unit(space, feasible.iloc[[best]], enc, top=1)[0]
    box = torch.stack([(x - side / 2).clamp(0, 1), (x + side / 2).clamp(0, 1)])
    for index in fixed:  # fixed features keep their whole range
        box[:, index] = torch.tensor([0.0, 1.0], dtype=DTYPE)
    return box, x


def _repaired(space: SearchSpace, enc: Encoding, u: np.ndarray, q: int, supports) -> pd.DataFrame:
    """Optimiser output (unit cube) -> recipes that meet every rule, or an error."""
    x = (enc.lower + enc.span * u).reshape(q, enc.d)
    # Snap one-hot blocks and fixed values exactly, then repair the numeric part.
    for idx in enc.onehot.values():
        block = np.zeros((q, len(idx)))
        block[np.arange(q), x[:, idx].argmax(axis=1)] = 1.0
        x[:, idx] = block
    numeric = x[:, : enc.n_numeric]
    for i in range(q):
        zeros = support_of(numeric[i], space, supports)
        numeric[i] = repair(space, numeric[i], zeros)
    x[:, : enc.n_numeric] = numeric
    recipes = enc.decode(x)
    violations = space.violations(recipes)
    if (violations > FEASIBILITY_TOL).any().any():
        worst = violations.max().idxmax()
        raise InfeasibleSuggestionError(
            f"A suggestion breaks '{worst}' by {violations.max().max():.3g} after repair; "
            "this is a bug in the recommender, please report the campaign"
        )
    return recipes
