"""A ``SingleTaskGP`` whose batched posterior evaluates each point common to every batch
once (:class:`SharedRowsGP`), the surrogate of :func:`core.optimize.surrogate.fit_models`.

Every evaluation of a noisy acquisition (qLogNEI, qLogNEHVI) asks for the joint posterior
of the baseline (the likely incumbents), the suggestions already fixed (``X_pending``) and
one candidate, for all of the optimiser's restarts at once: ``restarts x (baseline +
pending + 1)`` points, nearly all of them the same in every restart. The exact posterior
covariance of a point costs a product with the ``n x n`` root of the training covariance
(1,030 concrete mixes: ~1e6 multiply-adds per point, forward and backward, at every
evaluation), which dominated a round. Here the distinct points are evaluated jointly once
and each batch's mean and covariance are gathered from that joint posterior: the same
numbers (a test compares values and gradients with ``SingleTaskGP``), for
``baseline + pending + restarts`` points instead of ``restarts x (baseline + pending + 1)``.
"""

from __future__ import annotations

import torch
from botorch.models import SingleTaskGP
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultivariateNormal

# Below this many training points a posterior row is cheap (n^2 multiply-adds) and finding
# the common rows costs more than it saves (the 12-recipe glass campaign): plain posterior.
MIN_TRAIN_POINTS = 100


def shared_rows(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(union, index)`` with ``union[index[..., j]]`` equal to ``X[..., j, :]`` and each row
    that is identical in every batch of ``X`` stored once; None when ``X`` has no batch of
    two or more, or no such row."""
    if X.dim() < 3:
        return None
    batch, m, d = X.shape[:-2], X.shape[-2], X.shape[-1]
    flat = X.reshape(-1, m, d)
    if len(flat) < 2:
        return None
    shared = (flat == flat[:1]).all(dim=-1).all(dim=0)
    k = int(shared.sum())
    if k == 0:
        return None
    own = ~shared
    union = torch.cat([flat[0, shared], flat[:, own].reshape(-1, d)])
    index = torch.empty(len(flat), m, dtype=torch.long, device=X.device)
    index[:, shared] = torch.arange(k, device=X.device)
    index[:, own] = k + torch.arange(len(flat) * (m - k), device=X.device).reshape(len(flat), -1)
    return union, index.reshape(*batch, m)


class SharedRowsGP(SingleTaskGP):
    """``SingleTaskGP`` with the batched posterior of :mod:`core.optimize.shared_rows`.

    A point counts as common only when it is identical in *every* batch. Its gradient then
    reaches the first batch's copy only: right for baseline and pending points (constants
    to the optimiser); it would differ from ``SingleTaskGP`` only if every restart sat on
    exactly the same candidate. Several outputs, observation noise or fewer than
    :data:`MIN_TRAIN_POINTS` training points: ``SingleTaskGP``'s posterior as is.
    """

    def posterior(
        self,
        X: torch.Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool | torch.Tensor = False,
        posterior_transform=None,
    ):
        split = None
        if (
            self.num_outputs == 1
            and observation_noise is False
            and self.train_inputs[0].shape[-2] >= MIN_TRAIN_POINTS
        ):
            split = shared_rows(X)
        if split is None:
            return super().posterior(
                X,
                output_indices=output_indices,
                observation_noise=observation_noise,
                posterior_transform=posterior_transform,
            )
        union, index = split
        joint = super().posterior(union).distribution
        mean, covar = joint.mean, joint.covariance_matrix
        posterior = GPyTorchPosterior(
            MultivariateNormal(mean[index], covar[index.unsqueeze(-1), index.unsqueeze(-2)])
        )
        if posterior_transform is not None:
            return posterior_transform(posterior=posterior, X=X)
        return posterior
