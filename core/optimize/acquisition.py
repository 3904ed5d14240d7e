"""Acquisition (step 3-4 of a round, :mod:`core.optimize.recommender`): objectives as
"larger is better" scores, qLogNEI / qLogNEHVI, and the unit-cube problem handed to the
optimiser (bounds, constraints, fixed features, starting points near the incumbents)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from core.optimize.encoding import DTYPE, Encoding
from core.optimize.parts import FixedVariable
from core.optimize.search_space import SearchSpace


def scores(space: SearchSpace, values: pd.DataFrame) -> np.ndarray:
    """Objective values -> "larger is better" scores (n, n_objectives)."""
    cols = []
    for o in space.objectives:
        y = values[o.name].to_numpy(dtype=float)
        cols.append(_score(o, y, np))
    return np.stack(cols, axis=-1)


def _score(o, y, xp):
    if o.direction == "maximize":
        return y
    if o.direction == "minimize":
        return -y
    below = (
        0 * y
        if o.low is None
        else xp.clip(o.low - y, 0, None)
        if xp is np
        else ((o.low - y).clamp_min(0))
    )
    above = (
        0 * y
        if o.high is None
        else xp.clip(y - o.high, 0, None)
        if xp is np
        else ((y - o.high).clamp_min(0))
    )
    return -(below + above)


def _mc_objective(space: SearchSpace, enc: Encoding):
    """Callable ``(samples, X) -> scores`` for BoTorch's generic MC objectives."""
    model_index = {o.name: i for i, o in enumerate(space.measured_objectives)}
    column = {n: i for i, n in enumerate(enc.columns)}

    def objective(samples: torch.Tensor, X: torch.Tensor | None = None) -> torch.Tensor:
        parts = []
        for o in space.objectives:
            if o.name in model_index:
                y = samples[..., model_index[o.name]]
            else:  # a recipe variable: read it from the candidates themselves
                y = X[..., column[o.name]].expand(samples.shape[:-1])
            parts.append(_score(o, y, torch))
        return torch.stack(parts, dim=-1)

    return objective


def reference_point(observed_scores: np.ndarray) -> list[float]:
    """Worst observed score minus 10 % of the observed range, per objective."""
    worst, best = observed_scores.min(axis=0), observed_scores.max(axis=0)
    span = np.where(best > worst, best - worst, np.maximum(np.abs(worst) * 0.1, 1e-3))
    return list(worst - 0.1 * span)


def baseline_inputs(space: SearchSpace, enc: Encoding, measured: pd.DataFrame) -> np.ndarray:
    """Model inputs of the measured recipes as the campaign would make them now: fixed
    variables at their fixed value. The noisy-EI baseline (the incumbent to improve on) is
    then the surrogate's value of each known recipe *under the campaign's conditions*: a
    concrete mix measured at 91 days is not the incumbent of a campaign that makes 28-day
    mixes (the GP, fitted on every measured age, predicts that mix at 28 days)."""
    x = enc.encode(measured)
    for v in space.variables:
        if isinstance(v, FixedVariable):
            x[:, enc.columns.index(v.name)] = v.value
    return x


# Share of the posterior probability of being the best measured recipe that the noisy-EI
# baseline keeps (see :func:`likely_incumbents`).
INCUMBENT_MASS = 0.99


def likely_incumbents(
    model,
    x_base: torch.Tensor,
    objective,
    seed: int = 0,
    mass: float = INCUMBENT_MASS,
    num_samples: int = 2048,
) -> torch.Tensor:
    """The fewest baseline recipes that together hold ``mass`` of the posterior probability
    of being the best one (estimated from ``num_samples`` joint posterior samples).

    BoTorch's ``prune_baseline`` keeps every recipe that is the best in *any* sample. Each
    acquisition evaluation draws the joint posterior of baseline and candidates, so its cost
    grows with the baseline: on the 1,030 concrete mixes it kept 14 recipes, 7 of which
    together are the best in under 1 % of the samples; keeping the other 7 makes a round
    ~40 % faster. A recipe left out is almost never the incumbent, so noisy EI barely
    changes (a test compares it with the full baseline).
    """
    if len(x_base) <= 1:
        return x_base
    values = _draws(model, x_base, objective, seed, num_samples)  # (samples, n)
    share = torch.bincount(values.argmax(-1), minlength=len(x_base)).to(DTYPE) / num_samples
    return _fewest_holding(x_base, share, mass)


def _draws(model, x_base: torch.Tensor, objective, seed: int, num_samples: int):
    """``num_samples`` joint posterior draws of the objective at ``x_base`` (QMC, seeded)."""
    from botorch.sampling import SobolQMCNormalSampler

    sampler = SobolQMCNormalSampler(torch.Size([num_samples]), seed=seed)
    with torch.no_grad():
        return objective(sampler(model.posterior(x_base)), x_base)


def _fewest_holding(x_base: torch.Tensor, share: torch.Tensor, mass: float) -> torch.Tensor:
    """The rows of ``x_base`` with the largest ``share`` that together hold ``mass`` of it."""
    order = torch.argsort(share, descending=True, stable=True)
    cumulative = torch.cumsum(share[order], 0) / share.sum()
    keep = int((cumulative < mass - 1e-12).sum()) + 1
    return x_base[order[: min(keep, len(x_base))]]


def likely_front(
    model,
    x_base: torch.Tensor,
    objective,
    seed: int = 0,
    mass: float = INCUMBENT_MASS,
    num_samples: int = 512,
) -> torch.Tensor:
    """The several-objective :func:`likely_incumbents`: the fewest baseline recipes that
    together hold ``mass`` of the posterior's Pareto-front memberships (how often each
    recipe is non-dominated, over ``num_samples`` joint posterior samples).

    qLogNEHVI draws the joint posterior of its baseline and the candidates at every
    evaluation; on the 1,030 concrete mixes with cement as a second objective BoTorch's
    ``prune_baseline`` kept 73 recipes and a round cost ~30 CPU-s, nearly all of it in that
    posterior. Recipes that are almost never on the front barely change the hypervolume
    the candidates are measured against."""
    if len(x_base) <= 1:
        return x_base
    from botorch.utils.multi_objective.pareto import is_non_dominated

    values = _draws(model, x_base, objective, seed, num_samples)  # (samples, n, m)
    share = is_non_dominated(values).to(DTYPE).mean(0)  # P(on the front) per recipe
    return _fewest_holding(x_base, share, mass)


def build_acquisition(space, model, enc, measured, settings):
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )
    from botorch.acquisition.multi_objective.objective import GenericMCMultiOutputObjective
    from botorch.acquisition.objective import GenericMCObjective
    from botorch.sampling import SobolQMCNormalSampler

    x_base = torch.tensor(np.unique(baseline_inputs(space, enc, measured), axis=0), dtype=DTYPE)
    sampler = SobolQMCNormalSampler(torch.Size([settings.mc_samples]), seed=settings.seed)
    f = _mc_objective(space, enc)
    if len(space.objectives) == 1:
        objective = GenericMCObjective(lambda s, X=None: f(s, X)[..., 0])
        return qLogNoisyExpectedImprovement(
            model,
            X_baseline=likely_incumbents(model, x_base, objective, settings.seed),
            sampler=sampler,
            objective=objective,
            prune_baseline=False,
        )
    ref = reference_point(scores(space, measured))
    n_samples = min(settings.mc_samples, settings.front_mc_samples)
    sampler = SobolQMCNormalSampler(torch.Size([n_samples]), seed=settings.seed)
    objective = GenericMCMultiOutputObjective(f)
    if settings.front_mass is not None:
        x_base = likely_front(model, x_base, objective, settings.seed, settings.front_mass)
    return qLogNoisyExpectedHypervolumeImprovement(
        model,
        ref_point=ref,
        X_baseline=x_base,
        sampler=sampler,
        objective=objective,
        prune_baseline=settings.front_mass is None,
    )


def unit_space(acqf, enc: Encoding, progress=None, q: int = 1):
    """The acquisition function seen from the unit cube of the search bounds.

    With a :class:`~core.progress.Progress`, every evaluation is a cancel
    check and each suggestion the sequential optimiser fixes (``set_X_pending``) is
    reported as optimiser progress, ``done`` of ``q``."""
    from botorch.acquisition import AcquisitionFunction

    lower = torch.tensor(enc.lower, dtype=DTYPE)
    span = torch.tensor(enc.span, dtype=DTYPE)

    class UnitSpace(AcquisitionFunction):
        def __init__(self) -> None:
            super().__init__(model=acqf.model)
            self.inner = acqf

        def forward(self, U: torch.Tensor) -> torch.Tensor:
            if progress is not None:
                progress.tick()
            return self.inner(lower + span * U)

        @property
        def X_pending(self):  # noqa: N802 (BoTorch's name)
            xp = self.inner.X_pending
            return None if xp is None else (xp - lower) / span

        def set_X_pending(self, X_pending=None) -> None:  # noqa: N802,N803
            self.inner.set_X_pending(None if X_pending is None else lower + span * X_pending)
            if progress is not None and X_pending is not None:
                progress.report("optimise", min(len(X_pending), q), q)

    return UnitSpace()


def unit_constraints(space: SearchSpace, enc: Encoding):
    """BoTorch (indices, coefficients, rhs) tuples in unit coordinates."""
    a_eq, b_eq, _, a_ge, b_ge, _ = space.linear_constraints()
    lower, span = enc.lower[: enc.n_numeric], enc.span[: enc.n_numeric]

    def convert(a, b):
        out = []
        for row, rhs in zip(a, b, strict=True):
            idx = np.flatnonzero(row)
            out.append(
                (
                    torch.tensor(idx, dtype=torch.long),
                    torch.tensor(row[idx] * span[idx], dtype=DTYPE),
                    float(rhs - row @ lower),
                )
            )
        return out or None

    return convert(a_eq, b_eq), convert(a_ge, b_ge)


def fixed_features(space: SearchSpace, enc: Encoding) -> list[dict[int, float]]:
    col = {n: i for i, n in enumerate(enc.columns)}
    base = {col[v.name]: 0.0 for v in space.variables if isinstance(v, FixedVariable)}
    out = []
    for zeros, choices in space.feasible_supports():
        ff = dict(base)
        for n in zeros:  # u = (0 - lower) / span; cardinality components have lower 0
            ff[col[n]] = 0.0
        for name, choice in choices.items():
            v = space.variable(name)
            for c, j in zip(v.choices, enc.onehot[name], strict=True):
                ff[j] = 1.0 if c == choice else 0.0
        out.append(ff)
    return out


def incumbents_unit(space: SearchSpace, measured: pd.DataFrame, enc, top: int = 3):
    """The best feasible measured recipes (top by the first objective's score, or the
    Pareto set for several objectives), in the optimiser's unit cube."""
    feasible = measured[space.is_feasible(measured).to_numpy()]
    if feasible.empty:
        return torch.zeros(0, enc.d, dtype=DTYPE)
    s = scores(space, feasible)
    if s.shape[1] == 1:
        rows = np.argsort(-s[:, 0], kind="stable")[:top]
    else:
        rows = np.flatnonzero(
            [not ((s >= s[i]).all(axis=1) & (s > s[i]).any(axis=1)).any() for i in range(len(s))]
        )
    x = (enc.encode(feasible.iloc[rows]) - enc.lower) / np.where(enc.span > 0, enc.span, 1.0)
    return torch.tensor(x, dtype=DTYPE)


def near_incumbents(incumbents: torch.Tensor, share: float, seed: int, max_step: float = 0.2):
    """An initial-condition generator for ``optimize_acqf``: BoTorch's feasible starting
    points, a ``share`` of them moved next to the best measured recipes. A start is
    ``(1 - t) x_best + t x_start`` with t in [0.02, max_step]: on the convex feasible set of
    linear constraints it stays feasible, and it lets the optimiser refine the region the
    data already favour (uniform starts rarely land there in 6+ dimensions)."""
    from botorch.optim.initializers import gen_batch_initial_conditions

    generator = torch.Generator().manual_seed(seed)

    def generate(acq_function, bounds, q, num_restarts, raw_samples, **kwargs):
        starts = gen_batch_initial_conditions(
            acq_function, bounds, q, num_restarts, raw_samples, **kwargs
        )  # (restarts, q, d), feasible
        n_local = int(round(share * starts.shape[0]))
        if n_local == 0:
            return starts
        pick = torch.randint(len(incumbents), (n_local, q), generator=generator)
        t = 0.02 + (max_step - 0.02) * torch.rand(n_local, q, 1, generator=generator)
        local = (1 - t) * incumbents[pick] + t * starts[-n_local:]
        for index, value in (kwargs.get("fixed_features") or {}).items():
            local[..., index] = value
        starts = starts.clone()
        starts[-n_local:] = local.to(starts)
        return starts

    return generate
