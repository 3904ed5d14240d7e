"""BoTorch recommender: a GP surrogate per measured objective, qLogNEI (one objective) or
qLogNEHVI (several), optimised under the campaign's constraints, then repaired and checked.

How a round works (:func:`recommend`):

1. **Encode** recipes as model inputs: continuous and fixed variables in their units,
   categoricals one-hot.
2. **Fit** one ``SingleTaskGP`` per measured objective (``Normalize`` inputs with the search
   bounds, ``Standardize`` outcomes; ``fit_gpytorch_mll``), joined in a ``ModelListGP``.
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
5. **Repair and verify** every candidate: clip to bounds, project onto the constraints if
   the optimiser left any violation, spread the residual of each mixture over its free
   components, and check all rules within :data:`FEASIBILITY_TOL`; a candidate that still
   fails raises instead of being shown.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from core.exceptions import InvalidInputError, StudioError
from core.optimize.searchspace import FEASIBILITY_TOL, SearchSpace
from core.optimize.space import CategoricalVariable, ContinuousVariable, FixedVariable

DTYPE = torch.float64
# Surrogate kernels: "matern-gamma" (Matern 5/2 ARD with an output scale and the Gamma
# priors of EDBO, Shields et al., Nature 2021, tuned on reaction/formulation optimisation)
# and "botorch" (BoTorch's SingleTaskGP default: RBF ARD, dimension-scaled LogNormal
# lengthscale prior, Hvarfner et al. 2024). benchmarks/optimization.py compares them.
KERNELS = ("matern-gamma", "botorch")


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
    input-warping screen there did not help and is not offered)."""

    num_restarts: int = 10
    raw_samples: int = 64
    mc_samples: int = 128
    maxiter: int = 75
    max_train_points: int = 2000
    max_fit_points: int = 300
    kernel: str = "matern-gamma"
    sequential: bool = True  # greedy one-at-a-time q-batch (False: all q jointly)
    local_starts: float = 0.5  # share of restarts started next to the best measured recipes
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
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(
                    f"Recommender setting {name} must be a positive whole number",
                    got=repr(value),
                    expected="an integer >= 1",
                    fix="e.g. 8",
                )
        if self.raw_samples < self.num_restarts:
            raise InvalidInputError(
                "raw_samples must be at least num_restarts",
                got=(self.raw_samples, self.num_restarts),
                expected="raw_samples >= num_restarts",
                fix="raise raw_samples",
            )


# ------------------------------------------------------------------------------ encoding
class Encoding:
    """Model columns of a search space: numeric variables, then one-hot categoricals."""

    def __init__(self, space: SearchSpace, measured: pd.DataFrame | None = None) -> None:
        self.space = space
        self.columns: list[str] = []
        self.search_lo: list[float] = []
        self.search_hi: list[float] = []
        for v in space.variables:
            if isinstance(v, ContinuousVariable):
                self.columns.append(v.name)
                self.search_lo.append(v.lower), self.search_hi.append(v.upper)
            elif isinstance(v, FixedVariable):
                self.columns.append(v.name)
                self.search_lo.append(v.value), self.search_hi.append(v.value)
        self.n_numeric = len(self.columns)
        self.onehot: dict[str, list[int]] = {}
        for v in space.variables:
            if isinstance(v, CategoricalVariable):
                self.onehot[v.name] = list(
                    range(len(self.columns), len(self.columns) + len(v.choices))
                )
                self.columns += [f"{v.name}={c}" for c in v.choices]
                self.search_lo += [0.0] * len(v.choices)
                self.search_hi += [1.0] * len(v.choices)
        lo, hi = np.array(self.search_lo), np.array(self.search_hi)
        # Bounds the model normalises with: the search box widened to the measured data
        # (recipes outside today's bounds still inform the model), never zero-width.
        if measured is not None and len(measured):
            x = self.encode(measured)
            lo, hi = np.minimum(lo, x.min(axis=0)), np.maximum(hi, x.max(axis=0))
        width = hi - lo
        hi = np.where(width > 0, hi, lo + np.maximum(np.abs(lo) * 1e-3, 1.0))
        self.model_bounds = np.stack([lo, hi])
        # Unit cube used by the optimiser: x = lower + span * u (span 1 where fixed).
        self.lower = np.array(self.search_lo)
        self.span = np.where(
            np.array(self.search_hi) > self.lower, np.array(self.search_hi) - self.lower, 1.0
        )

    @property
    def d(self) -> int:
        return len(self.columns)

    def encode(self, recipes: pd.DataFrame) -> np.ndarray:
        x = np.zeros((len(recipes), len(self.columns)))
        x[:, : self.n_numeric] = recipes[self.columns[: self.n_numeric]].to_numpy(dtype=float)
        for name, idx in self.onehot.items():
            choices = self.space.variable(name).choices
            codes = recipes[name].astype(str).map({c: i for i, c in enumerate(choices)})
            x[np.arange(len(recipes)), np.array(idx)[codes.to_numpy(dtype=int)]] = 1.0
        return x

    def decode(self, x: np.ndarray) -> pd.DataFrame:
        out: dict[str, object] = {}
        numeric = {n: x[:, i] for i, n in enumerate(self.columns[: self.n_numeric])}
        for v in self.space.variables:
            if isinstance(v, CategoricalVariable):
                codes = x[:, self.onehot[v.name]].argmax(axis=1)
                out[v.name] = [v.choices[c] for c in codes]
            else:
                out[v.name] = numeric[v.name]
        return pd.DataFrame(out)


# ------------------------------------------------------------------------------ surrogate
# gpytorch switches from Cholesky to iterative solvers (CG/Lanczos) above 800 points, which
# is slower and noisier on a CPU at our sizes: stay exact up to this many recipes.
MAX_CHOLESKY_SIZE = 4000


def _exact():
    """Exact GP algebra: Cholesky up to :data:`MAX_CHOLESKY_SIZE` recipes, and gpytorch's
    cached predictive covariance (``fast_pred_var``). Under Cholesky its cached root is the
    exact one, so the posterior is the same to the last digit (a test checks), but it is
    computed once per model instead of solving against all recipes at every acquisition
    evaluation: a round on the 1,030 concrete mixes spends most of its time there."""
    from contextlib import ExitStack

    import gpytorch

    stack = ExitStack()
    stack.enter_context(gpytorch.settings.max_cholesky_size(MAX_CHOLESKY_SIZE))
    stack.enter_context(gpytorch.settings.fast_pred_var())
    return stack


def fit_models(
    space: SearchSpace,
    measured: pd.DataFrame,
    enc: Encoding,
    seed: int = 0,
    max_fit_points: int = 300,
    kernel: str = KERNELS[0],
):
    """One fitted ``SingleTaskGP`` per measured objective (``ModelListGP`` if several).

    Hyper-parameters are fitted by maximising the marginal likelihood on at most
    ``max_fit_points`` recipes (a seeded random subset), then the GP conditions on *all*
    recipes with them: the fit costs O(n_fit^3) per step instead of O(n^3), the posterior
    still uses every measurement (1,030 concrete mixes: seconds instead of a minute).
    """
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP, SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    torch.manual_seed(seed)
    x = torch.tensor(enc.encode(measured), dtype=DTYPE)
    bounds = torch.tensor(enc.model_bounds, dtype=DTYPE)
    rng = np.random.default_rng(seed)
    models = []
    for o in space.measured_objectives:
        y = torch.tensor(measured[o.name].to_numpy(dtype=float), dtype=DTYPE).unsqueeze(-1)

        def gp(xs, ys):
            covar, likelihood = _kernel(kernel, enc.d)
            return SingleTaskGP(
                xs,
                ys,
                covar_module=covar,
                likelihood=likelihood,
                input_transform=Normalize(d=enc.d, bounds=bounds),
                outcome_transform=Standardize(m=1),
            )

        subset = (
            torch.as_tensor(rng.choice(len(x), max_fit_points, replace=False))
            if len(x) > max_fit_points
            else None
        )
        fit_model = gp(x, y) if subset is None else gp(x[subset], y[subset])
        with warnings.catch_warnings(), _exact():
            warnings.simplefilter("ignore")
            fit_gpytorch_mll(ExactMarginalLogLikelihood(fit_model.likelihood, fit_model))
        if subset is None:
            model = fit_model
        else:  # same hyper-parameters, all the data (outcome scaling from all the data)
            model = gp(x, y)
            state = {
                k: v
                for k, v in fit_model.state_dict().items()
                if not k.startswith("outcome_transform")
            }
            model.load_state_dict(state, strict=False)
        model.eval()
        models.append(model)
    return models[0] if len(models) == 1 else ModelListGP(*models)


def _kernel(name: str, d: int):
    """(covariance module, likelihood) of a kernel name; (None, None) is BoTorch's default."""
    if name == "botorch":
        return None, None
    from gpytorch.constraints import GreaterThan
    from gpytorch.kernels import MaternKernel, ScaleKernel
    from gpytorch.likelihoods import GaussianLikelihood
    from gpytorch.priors import GammaPrior

    covar = ScaleKernel(
        MaternKernel(nu=2.5, ard_num_dims=d, lengthscale_prior=GammaPrior(1.2, 1.1)),
        outputscale_prior=GammaPrior(5.0, 0.5),
    )
    covar.base_kernel.lengthscale = 1.0  # the prior's mode is ~0.2; start smoother
    covar.outputscale = 8.0  # the prior's mode
    likelihood = GaussianLikelihood(
        noise_prior=GammaPrior(1.05, 0.5), noise_constraint=GreaterThan(1e-6)
    )
    likelihood.noise = 0.1
    return covar, likelihood


def predict(space: SearchSpace, model, enc: Encoding, recipes: pd.DataFrame) -> pd.DataFrame:
    """Posterior mean and std (of the latent function) per objective, in its units."""
    x = torch.tensor(enc.encode(recipes), dtype=DTYPE)
    out = {}
    models = getattr(model, "models", [model])
    for o, m in zip(space.measured_objectives, models, strict=True):
        m.eval()
        with torch.no_grad(), _exact():
            post = m.posterior(x)
        out[f"{o.name}_mean"] = post.mean.squeeze(-1).numpy()
        out[f"{o.name}_std"] = post.variance.clamp_min(0).sqrt().squeeze(-1).numpy()
    for o in space.objectives:
        if o.name in space.names:
            out[f"{o.name}_mean"] = recipes[o.name].to_numpy(dtype=float)
            out[f"{o.name}_std"] = np.zeros(len(recipes))
    return pd.DataFrame(out, index=recipes.index)[
        [f"{o.name}_{s}" for o in space.objectives for s in ("mean", "std")]
    ]


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
    from botorch.sampling import SobolQMCNormalSampler

    sampler = SobolQMCNormalSampler(torch.Size([num_samples]), seed=seed)
    with torch.no_grad():
        values = objective(sampler(model.posterior(x_base)), x_base)  # (samples, n)
    share = torch.bincount(values.argmax(-1), minlength=len(x_base)).to(DTYPE) / num_samples
    order = torch.argsort(share, descending=True, stable=True)
    keep = int((torch.cumsum(share[order], 0) < mass - 1e-12).sum()) + 1
    return x_base[order[: min(keep, len(x_base))]]


def _acquisition(space, model, enc, measured, settings):
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
    return qLogNoisyExpectedHypervolumeImprovement(
        model,
        ref_point=ref,
        X_baseline=x_base,
        sampler=sampler,
        objective=GenericMCMultiOutputObjective(f),
        prune_baseline=True,
    )


def _unit_space(acqf, enc: Encoding):
    """The acquisition function seen from the unit cube of the search bounds."""
    from botorch.acquisition import AcquisitionFunction

    lower = torch.tensor(enc.lower, dtype=DTYPE)
    span = torch.tensor(enc.span, dtype=DTYPE)

    class UnitSpace(AcquisitionFunction):
        def __init__(self) -> None:
            super().__init__(model=acqf.model)
            self.inner = acqf

        def forward(self, U: torch.Tensor) -> torch.Tensor:
            return self.inner(lower + span * U)

        @property
        def X_pending(self):  # noqa: N802 (BoTorch's name)
            xp = self.inner.X_pending
            return None if xp is None else (xp - lower) / span

        def set_X_pending(self, X_pending=None) -> None:  # noqa: N802,N803
            self.inner.set_X_pending(None if X_pending is None else lower + span * X_pending)

    return UnitSpace()


def _unit_constraints(space: SearchSpace, enc: Encoding):
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


def _fixed_features(space: SearchSpace, enc: Encoding) -> list[dict[int, float]]:
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


# ------------------------------------------------------------------------------ recommend
def recommend(
    space: SearchSpace,
    measured: pd.DataFrame,
    q: int,
    settings: RecommenderSettings | None = None,
    model=None,
) -> pd.DataFrame:
    """``q`` new recipes, each with predicted mean and std per objective."""
    from botorch.optim import optimize_acqf, optimize_acqf_mixed

    settings = settings or RecommenderSettings()
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
        model = fit_models(
            space, measured, enc, settings.seed, settings.max_fit_points, settings.kernel
        )
    with _exact():
        acqf = _unit_space(_acquisition(space, model, enc, measured, settings), enc)
    eq, ineq = _unit_constraints(space, enc)
    bounds = torch.stack([torch.zeros(enc.d, dtype=DTYPE), torch.ones(enc.d, dtype=DTYPE)])
    fixed_list = _fixed_features(space, enc)
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
    with warnings.catch_warnings(), _exact():
        warnings.simplefilter("ignore")
        if len(fixed_list) == 1:
            incumbents = _incumbents_unit(space, measured, enc)
            if settings.local_starts > 0 and len(incumbents):
                common["ic_generator"] = _near_incumbents(
                    incumbents, settings.local_starts, settings.seed
                )
            u, _ = optimize_acqf(
                acqf,
                bounds,
                q=q,
                fixed_features=fixed_list[0],
                sequential=settings.sequential,
                **common,
            )
        else:
            u, _ = optimize_acqf_mixed(acqf, bounds, q=q, fixed_features_list=fixed_list, **common)
    x = (enc.lower + enc.span * u.detach().numpy()).reshape(q, enc.d)
    # Snap one-hot blocks and fixed values exactly, then repair the numeric part.
    for idx in enc.onehot.values():
        block = np.zeros((q, len(idx)))
        block[np.arange(q), x[:, idx].argmax(axis=1)] = 1.0
        x[:, idx] = block
    numeric = x[:, : enc.n_numeric]
    for i in range(q):
        zeros = _support_of(numeric[i], space, supports)
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
    return pd.concat([recipes, predict(space, model, enc, recipes)], axis=1)


def _incumbents_unit(space: SearchSpace, measured: pd.DataFrame, enc, top: int = 3):
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


def _near_incumbents(incumbents: torch.Tensor, share: float, seed: int, max_step: float = 0.2):
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


def _support_of(x: np.ndarray, space: SearchSpace, supports) -> frozenset[str]:
    """The zeroed set of the feasible support ``x`` was optimised in (its exact zeros)."""
    names = space.numeric_names
    exact_zero = {n for n, v in zip(names, x, strict=True) if v == 0.0}
    for zeros, _ in supports:
        if zeros <= exact_zero:
            return zeros
    return frozenset()


def loo_predictions(
    space: SearchSpace, measured: pd.DataFrame, model=None, seed: int = 0
) -> pd.DataFrame:
    """Leave-one-out mean/std of each measured objective at each measured recipe, in closed
    form for a GP with fixed hyper-parameters (Rasmussen & Williams eq. 5.12)."""
    enc = Encoding(space, measured)
    if model is None:
        model = fit_models(space, measured, enc, seed)
    x = torch.tensor(enc.encode(measured), dtype=DTYPE)
    out = {}
    for o, m in zip(space.measured_objectives, getattr(model, "models", [model]), strict=True):
        m.eval()
        with torch.no_grad():
            xt = m.input_transform(x)
            k = m.covar_module(xt).to_dense()
            k = k + m.likelihood.noise.squeeze() * torch.eye(len(x), dtype=DTYPE)
            y = m.outcome_transform(
                torch.tensor(measured[o.name].to_numpy(dtype=float), dtype=DTYPE).unsqueeze(-1)
            )[0].squeeze(-1)
            resid = y - m.mean_module(xt)
            kinv = torch.cholesky_inverse(torch.linalg.cholesky(k))
            diag = kinv.diagonal()
            mean_std = y - (kinv @ resid) / diag
            var_std = 1.0 / diag
        means = m.outcome_transform.means.squeeze().item()
        stdvs = m.outcome_transform.stdvs.squeeze().item()
        out[o.name] = measured[o.name].to_numpy(dtype=float)
        out[f"{o.name}_loo_mean"] = (mean_std * stdvs + means).numpy()
        out[f"{o.name}_loo_std"] = (var_std.sqrt() * stdvs).numpy()
    return pd.DataFrame(out, index=measured.index)
