"""Denoising diffusion over atom positions in a periodic box: the glass-structure generator.

Variance-exploding score model in the EDM form (Karras et al., NeurIPS 2022,
arXiv:2206.00364): a clean structure ``x0`` (Cartesian positions in a fixed periodic cell,
species fixed by the composition) is noised as ``x = x0 + sigma * eps`` and wrapped back into
the cell (wrapped Gaussian noise on the 3-torus, as in DiffCSP, Jiao et al. NeurIPS 2023,
and DM2 for amorphous materials); the network predicts ``eps`` from the noisy structure, so the
denoised estimate is ``D(x, sigma) = x - sigma * eps_hat`` and the score is
``-eps_hat / sigma``. Every displacement the network sees is a minimum-image (or explicit
image) vector between neighbours, so no coordinate ever jumps at the cell boundary, and
``x - D(x)`` is ``sigma * eps_hat``, never a difference of wrapped coordinates.

Denoiser: PaiNN message passing (Schütt et al., ICML 2021; the blocks of
:mod:`core.nn.painn`) over the periodic neighbour graph of the noisy structure, equivariant
to rotations and invariant to translations and atom order by construction; the predicted
``eps`` is read from the vector features. The noise level (Fourier features of log sigma),
the density, the cooling rate and the Na2O fraction enter as one conditioning vector added
to the scalar features before every layer.

Sampling: Euler-ancestral steps (k-diffusion's ``sample_euler_ancestral``; ``eta = 0`` is
the deterministic Euler/DDIM path) on a Karras sigma schedule from ``sigma_max`` to
``sigma_min``, starting from atoms placed uniformly at random in the cell (a noised glass
at ``sigma_max`` = 3.5 Å has no structure left at the scale of a bond), then one final
denoising step. 50 steps gave the same structures as 150 here (probe).

Batches are PyG-style: atoms of all structures concatenated, ``batch`` the structure index
of each atom, one (orthorhombic) cell and one condition row per structure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from core.nn.painn import _cosine_cutoff, _Message, _sine_rbf, _Update

SPECIES = ("O", "Si", "Na")  # index = embedding row


@dataclass
class GlassDiffusionConfig:
    """Hyper-parameters (saved in the card; rebuild with
    ``GlassDenoiser(GlassDiffusionConfig(**card["config"]))``)."""

    hidden: int = 64
    layers: int = 4
    rbf: int = 16
    cutoff: float = 5.0  # Å
    fourier: int = 8  # Fourier frequencies of log sigma
    sigma_min: float = 0.01  # Å
    sigma_max: float = 3.5  # Å
    density_mean: float = 2.3  # g/cm3, condition centring
    density_scale: float = 0.15
    log_rate_mean: float = 13.5  # log10(K/s)
    log_rate_scale: float = 0.5
    x_na2o_scale: float = 0.2
    avg_neighbours: float = 32.0  # messages are summed and divided by this (as in NequIP)

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------- periodic
def wrap(pos: Tensor, lengths: Tensor) -> Tensor:
    """Positions folded into ``[0, L)`` per axis; ``lengths`` (N, 3) per atom."""
    return torch.remainder(pos, lengths)


def minimum_image(d: Tensor, lengths: Tensor) -> Tensor:
    """Minimum-image version of displacements ``d`` in an orthorhombic cell."""
    return d - lengths * torch.round(d / lengths)


def periodic_graph(
    pos: Tensor, lengths: Tensor, batch: Tensor, cutoff: float
) -> tuple[Tensor, Tensor, Tensor]:
    """All directed neighbour pairs within ``cutoff`` in orthorhombic periodic cells.

    Args:
        pos: (N, 3) Cartesian positions (any image).
        lengths: (B, 3) cell edge lengths in Å.
        batch: (N,) structure index of each atom, sorted.
        cutoff: radius in Å.

    Returns:
        ``(src, dst, vec)``: edge senders, receivers and the vectors ``r_src - r_dst`` of
        the image within the cutoff. Cells with an edge shorter than ``2 * cutoff`` get all
        images within the cutoff (so an atom can neighbour another through several images,
        or its own image); longer cells use the minimum image.
    """
    srcs, dsts, vecs = [], [], []
    counts = torch.bincount(batch, minlength=lengths.shape[0]).tolist()
    start = 0
    for b, n in enumerate(counts):
        p = pos[start : start + n]
        L = lengths[b]
        d = p.unsqueeze(0) - p.unsqueeze(1)  # (dst, src, 3): r_src - r_dst
        d = minimum_image(d, L)
        if bool((L >= 2 * cutoff).all()):
            dist2 = (d * d).sum(-1)
            dist2.fill_diagonal_(float("inf"))
            dst, src = torch.nonzero(dist2 < cutoff * cutoff, as_tuple=True)
            vec = d[dst, src]
        else:
            reach = [int(math.ceil(cutoff / float(x))) for x in L]
            shifts = (
                torch.cartesian_prod(*[torch.arange(-k, k + 1, dtype=pos.dtype) for k in reach]).to(
                    pos.device
                )
                * L
            )  # (S, 3)
            dd = d.unsqueeze(2) + shifts  # (dst, src, S, 3)
            dist2 = (dd * dd).sum(-1)
            dist2[dist2 < 1e-12] = float("inf")  # an atom is not its own neighbour
            dst, src, s = torch.nonzero(dist2 < cutoff * cutoff, as_tuple=True)
            vec = dd[dst, src, s]
        srcs.append(src + start)
        dsts.append(dst + start)
        vecs.append(vec)
        start += n
    return torch.cat(srcs), torch.cat(dsts), torch.cat(vecs)


# ----------------------------------------------------------------------------- network
class GlassDenoiser(nn.Module):
    """Predicts the unit-variance noise ``eps`` of every atom of noisy periodic structures.

    ``forward(species, pos, lengths, batch, sigma, cond) -> eps_hat (N, 3)`` where
    ``species`` (N,) indexes :data:`SPECIES`, ``lengths`` (B, 3) are cell edges (Å),
    ``sigma`` (B,) the noise level (Å) and ``cond`` (B, 3) the raw conditions
    ``[density g/cm3, log10 cooling rate K/s, x(Na2O)]``.
    """

    def __init__(self, config: GlassDiffusionConfig) -> None:
        super().__init__()
        self.config = config
        H = config.hidden
        self.embedding = nn.Embedding(len(SPECIES), H)
        n_cond = 2 * config.fourier + 3
        self.cond_mlp = nn.Sequential(nn.Linear(n_cond, H), nn.SiLU(), nn.Linear(H, H))
        self.cond_in = nn.ModuleList(nn.Linear(H, H) for _ in range(config.layers))
        self.norms = nn.ModuleList(nn.LayerNorm(H) for _ in range(config.layers))
        self.messages = nn.ModuleList(_Message(H, config.rbf) for _ in range(config.layers))
        self.updates = nn.ModuleList(_Update(H) for _ in range(config.layers))
        self.out_vec = nn.Linear(H, 1, bias=False)
        self.out_gate = nn.Sequential(nn.Linear(H, H), nn.SiLU(), nn.Linear(H, 1))
        for block in (*self.messages, *self.updates):
            block.reset_parameters()
        self._compiled = None  # set by compile_network()

    def condition(self, sigma: Tensor, cond: Tensor) -> Tensor:
        c = self.config
        freqs = torch.arange(1, c.fourier + 1, dtype=sigma.dtype, device=sigma.device)
        t = torch.log(sigma / c.sigma_max) / math.log(c.sigma_max / c.sigma_min)  # [-1, 0]
        ang = math.pi * t.unsqueeze(-1) * freqs
        scaled = torch.stack(
            [
                (cond[:, 0] - c.density_mean) / c.density_scale,
                (cond[:, 1] - c.log_rate_mean) / c.log_rate_scale,
                cond[:, 2] / c.x_na2o_scale,
            ],
            dim=-1,
        )
        return self.cond_mlp(torch.cat([torch.sin(ang), torch.cos(ang), scaled], dim=-1))

    def forward(
        self,
        species: Tensor,
        pos: Tensor,
        lengths: Tensor,
        batch: Tensor,
        sigma: Tensor,
        cond: Tensor,
        graph: tuple[Tensor, Tensor, Tensor] | None = None,
    ) -> Tensor:
        if graph is None:
            graph = periodic_graph(pos, lengths, batch, self.config.cutoff)
        network = self._compiled or self.network
        return network(species, batch, sigma, cond, *graph)

    def compile_network(self) -> GlassDenoiser:
        """Run :meth:`network` through ``torch.compile`` from now on (the neighbour search
        stays eager). Its elementwise edge operations are memory-bound; fused, a CPU forward
        pass on 192 atoms takes ~0.08 s instead of ~0.45 s (probe). The first call compiles
        (about a minute on a busy 2-core machine; seconds once inductor's cache holds it)."""
        self._compiled = torch.compile(self.network, dynamic=True)
        return self

    def network(
        self, species: Tensor, batch: Tensor, sigma: Tensor, cond: Tensor, src, dst, vec
    ) -> Tensor:
        """The denoiser on a given neighbour graph (``src``, ``dst``, ``vec`` as from
        :func:`periodic_graph`)."""
        c = self.config
        dist = vec.norm(dim=-1).clamp_min(1e-6)
        unit = vec / dist.unsqueeze(-1)
        rbf = _sine_rbf(dist, c.rbf, c.cutoff)
        # summed messages over ~30 neighbours, scaled to an average so features stay O(1)
        fcut = _cosine_cutoff(dist, c.cutoff).unsqueeze(-1) / c.avg_neighbours
        h = self.condition(sigma, cond)  # (B, H)
        s = self.embedding(species)
        v = s.new_zeros(s.shape[0], 3, s.shape[1])
        blocks = zip(self.norms, self.cond_in, self.messages, self.updates, strict=True)
        for norm, lin, message, update in blocks:
            s = norm(s + lin(h)[batch])
            ds, dv = message(s, v, src, dst, unit, rbf, fcut)
            s, v = s + ds, v + dv
            ds, dv = update(s, v)
            s, v = s + ds, v + dv
        return self.out_vec(v).squeeze(-1) * (1.0 + self.out_gate(s))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


# ----------------------------------------------------------------------------- training
def sample_sigma(
    n: int, config: GlassDiffusionConfig, generator=None, mid_fraction: float = 0.0
) -> Tensor:
    """Noise levels: log-uniform in ``[sigma_min, sigma_max]``, or with probability
    ``mid_fraction`` log-normal around 0.5 Å (log-std 0.8, clipped to the range), where the
    network-forming order (Si-O-Si links, ring sizes) is decided and the loss is hardest."""
    dev = generator.device if generator is not None else None
    u = torch.rand(n, generator=generator, device=dev)
    lo, hi = math.log(config.sigma_min), math.log(config.sigma_max)
    log_sigma = lo + u * (hi - lo)
    if mid_fraction > 0:
        mid = math.log(0.5) + 0.8 * torch.randn(n, generator=generator, device=dev)
        pick = torch.rand(n, generator=generator, device=dev) < mid_fraction
        log_sigma = torch.where(pick, mid.clamp(lo, hi), log_sigma)
    return torch.exp(log_sigma)


def denoising_loss(
    model: GlassDenoiser,
    species: Tensor,
    pos0: Tensor,
    lengths: Tensor,
    batch: Tensor,
    cond: Tensor,
    sigma: Tensor | None = None,
    generator=None,
    mid_fraction: float = 0.0,
) -> Tensor:
    """Mean squared error of the predicted noise (per atom and axis) at random noise levels
    (one per structure); the noisy positions are wrapped into the cell."""
    if sigma is None:
        sigma = sample_sigma(lengths.shape[0], model.config, generator, mid_fraction)
    sigma = sigma.to(pos0.device)
    # noise on the generator's device (a CPU generator gives the same noise for a GPU model)
    gdev = generator.device if generator is not None else pos0.device
    eps = torch.randn(pos0.shape, generator=generator, dtype=pos0.dtype, device=gdev)
    eps = eps.to(pos0.device)
    x = wrap(pos0 + sigma[batch].unsqueeze(-1) * eps, lengths[batch])
    eps_hat = model(species, x, lengths, batch, sigma, cond)
    return ((eps_hat - eps) ** 2).mean()


# ----------------------------------------------------------------------------- sampling
def karras_sigmas(steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> Tensor:
    """``steps`` noise levels from ``sigma_max`` down to ``sigma_min`` (Karras et al.)."""
    ramp = torch.linspace(0, 1, steps)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (hi + ramp * (lo - hi)) ** rho


@torch.no_grad()
def sample(
    model: GlassDenoiser,
    species: Tensor,
    lengths: Tensor,
    batch: Tensor,
    cond: Tensor,
    steps: int = 50,
    eta: float = 1.0,
    generator: torch.Generator | None = None,
    progress: Callable[[int, int], None] | None = None,
    corrector: int = 0,
    snr: float = 0.3,
) -> Tensor:
    """Positions (N, 3), wrapped into the cells, of new structures.

    Args:
        species, lengths, batch, cond: as for :class:`GlassDenoiser` (one cell and one
            condition row per structure).
        steps: denoising steps on the Karras schedule.
        eta: 1 = ancestral (stochastic) steps, 0 = deterministic Euler.
        progress: called as ``progress(step, steps)``.
        corrector: Langevin corrector steps after each step (predictor-corrector sampling,
            Song et al., ICLR 2021), each of size ``(snr * sigma)**2``; each costs one more
            network call.
    """
    c = model.config
    L = lengths[batch]
    x = torch.rand(L.shape, generator=generator, dtype=L.dtype, device=L.device) * L
    sigmas = karras_sigmas(steps, c.sigma_min, c.sigma_max)
    B = lengths.shape[0]
    for i in range(steps):
        s = float(sigmas[i])
        s_next = float(sigmas[i + 1]) if i + 1 < steps else 0.0
        eps_hat = model(species, x, lengths, batch, torch.full((B,), s, device=x.device), cond)
        if s_next == 0.0:
            x = x - s * eps_hat  # the final denoised estimate
        else:
            s_up = min(s_next, eta * math.sqrt(max(0.0, s_next**2 * (s**2 - s_next**2) / s**2)))
            s_down = math.sqrt(max(0.0, s_next**2 - s_up**2))
            x = x + (s_down - s) * eps_hat
            if s_up > 0:
                noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
                x = x + s_up * noise
            for _ in range(corrector):
                x = wrap(x, L)
                sig = torch.full((B,), s_next, device=x.device)
                eps_c = model(species, x, lengths, batch, sig, cond)
                delta = (snr * s_next) ** 2
                noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
                x = x - delta / s_next * eps_c + math.sqrt(2 * delta) * noise
        x = wrap(x, L)
        if progress is not None:
            progress(i + 1, steps)
    return x


__all__ = [
    "SPECIES",
    "GlassDiffusionConfig",
    "GlassDenoiser",
    "wrap",
    "minimum_image",
    "periodic_graph",
    "sample_sigma",
    "denoising_loss",
    "karras_sigmas",
    "sample",
]
