"""Set network for glass compositions with a physics-informed MYEGA viscosity head.

Each component of a glass (a compound such as ``SiO2``) is embedded from its physical
descriptors (:mod:`core.featurizers.composition`) together with its mole fraction; the
components talk to each other through one self-attention block (a Set Transformer layer,
Lee et al., ICML 2019, arXiv:1810.00825) and are pooled by attention whose logits are
shifted by log(mole fraction), so a component's weight scales with its amount, plus a
fraction-weighted mean. Two heads read the pooled vector:

* properties: Tg, Tliquidus, nD, Abbe number, CTE, E (standardised targets),
* viscosity: the MYEGA parameters (Mauro et al., PNAS 106, 19780 (2009)),
  ``log10 eta(T) = A + (12 - A) (T12 / T) exp[(m / (12 - A) - 1) (T12 / T - 1)]``
  with ``A = log10 eta_inf`` (Pa s), ``T12`` the temperature of 10^12 Pa s and ``m`` the
  fragility, constrained by construction: ``A`` in ``[a_min, a_max]`` (sigmoid),
  ``m >= max(m_min, 12 - A)`` (softplus; this makes every curve decrease monotonically in T)
  and ``T12 > 0``. ``T12`` *is* the predicted Tg plus a bounded learned offset
  (``|offset| <= t12_max_offset`` K), which ties the property and viscosity heads, as in
  ViscNet (Cassar, Acta Mater. 206, 116602 (2021)) where Tg-like T12 is shared.

Every task the network shares costs Tg accuracy (the viscosity loss most; auxiliary targets
such as the annealing point or the density too). ``tg_network`` (a count) adds set networks of
the same layout trained on Tg alone (``tg_net``, then ``extra_tg_nets``, each from its own
seed): the reported Tg is their mean, while the MYEGA head keeps the joint network, whose
own Tg output builds T12 as above. The two Tg estimates
are not forced together (forcing T12 to follow the better Tg made held-out viscosity clearly
worse): the card reports how closely they agree, and a result whose two values differ by
more than 50 K says so (:func:`core.models.glass.tie_message`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.featurizers.composition import N_DESCRIPTORS
from core.properties import LOG10_VISCOSITY_CEILING

PROPERTY_NAMES = ("Tg", "Tliquidus", "RefractiveIndex", "AbbeNumber", "CTE", "ElasticModulus")


@dataclass
class GlassSetConfig:
    """Hyper-parameters of :class:`GlassSetNet`; the card stores ``asdict(config)``.

    ``tg_mean``/``tg_std`` (K) undo the standardisation of the Tg output so that T12 can be
    built from it in kelvin.
    """

    n_descriptors: int = N_DESCRIPTORS
    hidden: int = 64
    n_heads: int = 4
    n_layers: int = 1
    dropout: float = 0.0
    n_properties: int = len(PROPERTY_NAMES)
    tg_mean: float = 700.0
    tg_std: float = 150.0
    a_min: float = -7.0
    a_max: float = -1.0
    m_min: float = 14.97
    t12_max_offset: float = 50.0
    property_names: list[str] = field(default_factory=lambda: list(PROPERTY_NAMES))
    # False: no MYEGA head (a network of properties only, e.g. the ``tg_net`` below)
    viscosity: bool = True
    # n > 0: the reported Tg is the mean of n networks of the same layout with one output
    # trained on Tg alone (``tg_net`` and n - 1 ``extra_tg_nets``); the joint network's Tg
    # (``Tg_joint``) still builds T12. Cards before the count held True (= 1).
    tg_network: int = 0

    def __post_init__(self) -> None:
        self.tg_network = int(self.tg_network)

    def to_dict(self) -> dict:
        return asdict(self)


class GlassSetNet(nn.Module):
    """Composition set -> standardised properties and MYEGA parameters.

    Args:
        config: :class:`GlassSetConfig` (keyword hyper-parameters; see its fields).
    """

    def __init__(self, config: GlassSetConfig | None = None, **overrides) -> None:
        super().__init__()
        config = config or GlassSetConfig()
        if overrides:
            config = GlassSetConfig(**{**asdict(config), **overrides})
        self.config = c = config
        h = c.hidden
        self.compound_mlp = _mlp(c.n_descriptors, h, h)
        self.token_mlp = _mlp(h + 2, h, h)
        self.blocks = nn.ModuleList(
            [_SetAttentionBlock(h, c.n_heads, c.dropout) for _ in range(c.n_layers)]
        )
        self.pool_score = nn.Sequential(nn.Linear(h, h), nn.Tanh(), nn.Linear(h, 1))
        self.trunk = _mlp(2 * h, 2 * h, h, dropout=c.dropout)
        self.property_head = _mlp(h, h, c.n_properties)
        if c.viscosity:
            self.viscosity_head = _mlp(h, h, 3)  # raw A, raw (m - m_floor), raw T12 offset
        if c.tg_network:
            self.tg_net = GlassSetNet(tg_network_config(c))
        if c.tg_network > 1:
            self.extra_tg_nets = nn.ModuleList(
                [GlassSetNet(tg_network_config(c)) for _ in range(c.tg_network - 1)]
            )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5))
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                module.reset_parameters()
            elif isinstance(module, nn.MultiheadAttention):
                module._reset_parameters()

    def embed(self, descriptors: Tensor, index: Tensor, fraction: Tensor) -> Tensor:
        """Pooled glass embedding.

        Args:
            descriptors: (C, n_descriptors) standardised descriptors of every compound.
            index: (B, K) long, rows of ``descriptors`` (any value where padded).
            fraction: (B, K) mole fractions, 0 where padded; rows sum to 1.

        Returns:
            (B, hidden) embedding.
        """
        mask = fraction > 0  # (B, K)
        compound = self.compound_mlp(descriptors)  # (C, H)
        x = compound[index]  # (B, K, H)
        f = fraction.unsqueeze(-1)
        log_f = torch.log(fraction.clamp_min(1e-6)).unsqueeze(-1)
        x = self.token_mlp(torch.cat([x, f, log_f / 7.0], dim=-1))  # (B, K, H)
        for block in self.blocks:
            x = block(x, mask)
        score = self.pool_score(x).squeeze(-1) + log_f.squeeze(-1)  # (B, K)
        score = score.masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(score, dim=-1).unsqueeze(-1)  # (B, K, 1)
        pooled = torch.cat([(alpha * x).sum(1), (f * x).sum(1)], dim=-1)  # (B, 2H)
        return self.trunk(pooled)  # (B, H)

    def forward(self, descriptors: Tensor, index: Tensor, fraction: Tensor) -> dict[str, Tensor]:
        """Properties and MYEGA parameters of a batch of compositions.

        Args: as :meth:`embed`.

        Returns:
            ``properties`` (B, n_properties) standardised; ``Tg`` (B,) K; ``embedding``
            (B, H); with the MYEGA head ``A`` (B,) log10 eta_inf (Pa s), ``T12`` (B,) K and
            ``m`` (B,) fragility and ``Tg_joint`` (B,) K, the Tg that T12 is built from (the
            same as ``Tg`` unless ``tg_network``: ``Tg`` and ``properties[:, 0]`` are then
            the Tg network's).
        """
        c = self.config
        z = self.embed(descriptors, index, fraction)
        props = self.property_head(z)  # (B, P)
        tg = c.tg_mean + c.tg_std * props[:, 0]
        out = {"properties": props, "Tg": tg, "embedding": z}
        if c.viscosity:
            raw = self.viscosity_head(z)  # (B, 3)
            a = c.a_min + (c.a_max - c.a_min) * torch.sigmoid(raw[:, 0])
            m_floor = torch.clamp(12.0 - a, min=c.m_min)
            m = m_floor + F.softplus(raw[:, 1] + 3.0)  # +3: start near m = 15 + 3 (fragile-ish)
            offset = c.t12_max_offset * torch.tanh(raw[:, 2])
            t12 = 50.0 + F.softplus(tg + offset - 50.0)  # > 50 K, ~ tg + offset
            out.update(A=a, T12=t12, m=m, Tg_joint=tg)  # the Tg that T12 is tied to
        if c.tg_network:
            tg_z = self.tg_net(descriptors, index, fraction)["properties"]  # (B, 1)
            if c.tg_network > 1:
                extra = [
                    net(descriptors, index, fraction)["properties"] for net in self.extra_tg_nets
                ]
                tg_z = torch.stack([tg_z, *extra]).mean(0)
            out["properties"] = torch.cat([tg_z, props[:, 1:]], dim=1)
            out["Tg"] = c.tg_mean + c.tg_std * tg_z[:, 0]
        return out


def tg_network_config(config: GlassSetConfig) -> GlassSetConfig:
    """The layout of a ``tg_network`` model's Tg network: the same set network, one output
    (standardised Tg, same scaler), no MYEGA head."""
    return replace(config, n_properties=1, property_names=["Tg"], viscosity=False, tg_network=0)


def myega_log10_viscosity(a: Tensor, t12: Tensor, m: Tensor, temperature: Tensor) -> Tensor:
    """MYEGA log10 viscosity (Pa s) at ``temperature`` (K); parameters broadcast with it.

    The exponent is capped at 40 (log10 eta beyond ~10^17 Pa s is not physical anyway), so
    the curve stays finite far below T12 while remaining non-increasing in T.
    """
    ratio = t12 / temperature
    exponent = ((m / (12.0 - a) - 1.0) * (ratio - 1.0)).clamp(max=40.0)
    return a + (12.0 - a) * ratio * torch.exp(exponent)


def predicted_log10_viscosity(a: Tensor, t12: Tensor, m: Tensor, temperature: Tensor) -> Tensor:
    """Member viscosity curves as the predictor reports them: MYEGA, capped at
    :data:`~core.properties.LOG10_VISCOSITY_CEILING` per member before any ensemble average,
    so one member's far extrapolation below its T12 cannot carry the mean. Training uses the
    uncapped curve (its labels lie below the ceiling)."""
    return myega_log10_viscosity(a, t12, m, temperature).clamp(max=LOG10_VISCOSITY_CEILING)


def temperature_at(a, t12, m, log10_eta: float):
    """Temperature (K) where the MYEGA curve reaches ``log10_eta`` (exact, via Lambert W).

    With x = T12 / T, y = (log10_eta - A) / (12 - A) and c = m / (12 - A) - 1 > 0 the curve
    reads y = x exp(c (x - 1)), so x = W(c y e^c) / c. Inputs are tensors or arrays
    (broadcast); returns a float64 numpy array, NaN where ``log10_eta <= A`` (never reached).
    """
    from scipy.special import lambertw

    a, t12, m = (np.asarray(v, dtype=np.float64) for v in (a, t12, m))
    y = (log10_eta - a) / (12.0 - a)
    c = m / (12.0 - a) - 1.0
    with np.errstate(invalid="ignore", over="ignore"):
        x = np.real(lambertw(c * y * np.exp(c))) / c
        t = np.where(y > 0, t12 / x, np.nan)
    return t


class _SetAttentionBlock(nn.Module):
    """Pre-norm multi-head self-attention + feed-forward over the components of a glass."""

    def __init__(self, hidden: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = nn.MultiheadAttention(hidden, n_heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(hidden)
        self.ff = nn.Sequential(
            nn.Linear(hidden, 2 * hidden), nn.SiLU(), nn.Linear(2 * hidden, hidden)
        )

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x: (B, K, H); mask: (B, K) True for real components. Returns (B, K, H)."""
        y = self.norm1(x)
        y, _ = self.attn(y, y, y, key_padding_mask=~mask, need_weights=False)
        x = x + y
        return x + self.ff(self.norm2(x))


def _mlp(n_in: int, n_hidden: int, n_out: int, dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(n_in, n_hidden), nn.SiLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(n_hidden, n_hidden), nn.SiLU(), nn.Linear(n_hidden, n_out)]
    return nn.Sequential(*layers)
