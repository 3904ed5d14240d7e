"""The GP surrogate: one ``SingleTaskGP`` per measured objective (step 2 of a round,
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
    """One fitted ``SingleTaskGP`` per measured objective (``ModelListGP`` if several).

    Hyper-parameters are fitted by maximising the marginal likelihood on at most
    ``max_fit_points`` recipes (a seeded random subset), then the GP conditions on *all*
    recipes with them: the fit costs O(n_fit^3) per step instead of O(n^3), the posterior
    still uses every measurement (1,030 concrete mixes: seconds instead of a minute).
    """
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP
    from botorch.models.transforms import Normalize, Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    from core.optimize.shared_rows import SharedRowsGP

    torch.manual_seed(seed)
    x = torch.tensor(enc.encode(measured), dtype=DTYPE)
    bounds = torch.tensor(enc.model_bounds, dtype=DTYPE)
    rng = np.random.default_rng(seed)
    models = []
    for o in space.measured_objectives:
        y = torch.tensor(measured[o.name].to_numpy(dtype=float), dtype=DTYPE).unsqueeze(-1)

        def gp(xs, ys):
            covar, likelihood = _kernel(kernel, enc.d)
            return SharedRowsGP(
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
        with warnings.catch_warnings(), exact_gp():
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
