"""The GP surrogate: one independent GP output per measured objective (step 2 of a round,
:mod:`core.optimize.recommender`), its predictions and leave-one-out checks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch

from core.optimize.encoding import DTYPE, Encoding
from core.optimize.search_space import SearchSpace

# Surrogate kernels: "matern-gamma" (Matern 5/2 ARD with an output scale and the Gamma
# priors of EDBO, Shields et al., Nature 2021, tuned on reaction/formulation optimisation)
# and "botorch" (BoTorch's SingleTaskGP default: RBF ARD, dimension-scaled LogNormal
# lengthscale prior, Hvarfner et al. 2024). benchmarks/optimization.py compares them.
KERNELS = ("matern-gamma", "botorch")


# ------------------------------------------------------------------------------ surrogate
# gpytorch switches from Cholesky to iterative solvers (CG/Lanczos) above 800 points, which
# is slower and noisier on a CPU at our sizes: stay exact up to this many recipes.
MAX_CHOLESKY_SIZE = 4000


def exact_gp():
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
    """A fitted GP with one independent output per measured objective.

    Several objectives measured on the same recipes share one *batched* ``SingleTaskGP``
    (an independent GP per output, each with its own hyper-parameters and outcome scaling,
    computed in one batch): the same model as a ``ModelListGP`` of one GP per objective (a
    test compares them) at about 60 % of the cost per acquisition evaluation, most of which is
    gpytorch's per-model overhead at campaign sizes (campaigns hold no missing values).
    :func:`per_objective` gives one single-output model per objective.

    Hyper-parameters are fitted by maximising the marginal likelihood on at most
    ``max_fit_points`` recipes (a seeded random subset), then the GP conditions on *all*
    recipes with them: the fit costs O(n_fit^3) per step instead of O(n^3), the posterior
    still uses every measurement (1,030 concrete mixes: seconds instead of a minute).
    """
    torch.manual_seed(seed)
    x = torch.tensor(enc.encode(measured), dtype=DTYPE)
    names = [o.name for o in space.measured_objectives]
    y = torch.tensor(measured[names].to_numpy(dtype=float), dtype=DTYPE)
    return _fit_gp(x, y, enc, kernel, np.random.default_rng(seed), max_fit_points)


def _fit_gp(x, y, enc: Encoding, kernel: str, rng, max_fit_points: int):
    """A ``SharedRowsGP`` with ``y.shape[-1]`` independent outputs (batched if several)."""
    from botorch.fit import fit_gpytorch_mll
    from botorch.models.transforms import Normalize, Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    from core.optimize.shared_rows import SharedRowsGP

    bounds = torch.tensor(enc.model_bounds, dtype=DTYPE)
    outputs = y.shape[-1]

    def gp(xs, ys):
        covar, likelihood = _kernel(kernel, enc.d, outputs)
        model = SharedRowsGP(
            xs,
            ys,
            covar_module=covar,
            likelihood=likelihood,
            input_transform=Normalize(d=enc.d, bounds=bounds),
            outcome_transform=Standardize(m=outputs),
        )
        if covar is not None:  # where each parameter keeps its output (for subset_output)
            model._subset_batch_dict = {
                "mean_module.raw_constant": -1,
                "covar_module.raw_outputscale": -1,
                "covar_module.base_kernel.raw_lengthscale": -3,
                "likelihood.noise_covar.raw_noise": -2,
            }
        return model

    subset = (
        torch.as_tensor(rng.choice(len(x), max_fit_points, replace=False))
        if len(x) > max_fit_points
        else None
    )
    fit_model = gp(x, y) if subset is None else gp(x[subset], y[subset])
    with warnings.catch_warnings(), exact_gp():
        warnings.simplefilter("ignore")
        fit_gpytorch_mll(ExactMarginalLogLikelihood(fit_model.likelihood, fit_model))
    if subset is None:
        model = fit_model
    else:  # same hyper-parameters, all the data (outcome scaling from all the data)
        model = gp(x, y)
        state = {
            k: v for k, v in fit_model.state_dict().items() if not k.startswith("outcome_transform")
        }
        model.load_state_dict(state, strict=False)
    model.eval()
    return model


def per_objective(model) -> list:
    """One single-output model per measured objective, in the space's order."""
    if hasattr(model, "models"):
        return list(model.models)
    if model.num_outputs == 1:
        return [model]
    return [model.subset_output([i]) for i in range(model.num_outputs)]


def _kernel(name: str, d: int, outputs: int = 1):
    """(covariance module, likelihood) of a kernel name for ``outputs`` independent outputs;
    (None, None) is BoTorch's default."""
    if name == "botorch":
        return None, None
    from gpytorch.constraints import GreaterThan
    from gpytorch.kernels import MaternKernel, ScaleKernel
    from gpytorch.likelihoods import GaussianLikelihood
    from gpytorch.priors import GammaPrior

    batch = torch.Size([outputs]) if outputs > 1 else torch.Size()
    covar = ScaleKernel(
        MaternKernel(
            nu=2.5, ard_num_dims=d, batch_shape=batch, lengthscale_prior=GammaPrior(1.2, 1.1)
        ),
        batch_shape=batch,
        outputscale_prior=GammaPrior(5.0, 0.5),
    )
    covar.base_kernel.lengthscale = 1.0  # the prior's mode is ~0.2; start smoother
    covar.outputscale = 8.0  # the prior's mode
    likelihood = GaussianLikelihood(
        batch_shape=batch, noise_prior=GammaPrior(1.05, 0.5), noise_constraint=GreaterThan(1e-6)
    )
    likelihood.noise = 0.1
    return covar, likelihood


def predict(space: SearchSpace, model, enc: Encoding, recipes: pd.DataFrame) -> pd.DataFrame:
    """Posterior mean and std (of the latent function) per objective, in its units."""
    x = torch.tensor(enc.encode(recipes), dtype=DTYPE)
    out = {}
    for o, m in zip(space.measured_objectives, per_objective(model), strict=True):
        m.eval()
        with torch.no_grad(), exact_gp():
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
    for o, m in zip(space.measured_objectives, per_objective(model), strict=True):
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
