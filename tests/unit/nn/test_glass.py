"""GlassSetNet: shapes, MYEGA constraints by construction, and a tiny overfit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.nn.glass import (
    LOG10_VISCOSITY_CEILING,
    GlassSetConfig,
    GlassSetNet,
    myega_log10_viscosity,
    predicted_log10_viscosity,
    temperature_at,
)

B, K, C, D = 5, 4, 7, 6


def tiny(**kw) -> GlassSetNet:
    torch.manual_seed(0)
    return GlassSetNet(GlassSetConfig(n_descriptors=D, hidden=8, n_heads=2, **kw))


def batch(b: int = B, k: int = K):
    g = torch.Generator().manual_seed(1)
    desc = torch.randn(C, D, generator=g)
    index = torch.randint(0, C, (b, k), generator=g)
    fraction = torch.rand(b, k, generator=g)
    fraction[:, -1] = 0  # one padded slot per row
    return desc, index, fraction / fraction.sum(1, keepdim=True)


def test_output_shapes_and_constraints():
    out = tiny()(*batch())
    assert out["properties"].shape == (B, 6)
    assert out["embedding"].shape == (B, 8)
    for key in ("A", "T12", "m", "Tg"):
        assert out[key].shape == (B,)
    c = GlassSetConfig()
    assert ((out["A"] >= c.a_min) & (out["A"] <= c.a_max)).all()
    assert (out["m"] >= torch.clamp(12 - out["A"], min=c.m_min) - 1e-5).all()
    assert (out["m"] > 14.97).all() and (out["T12"] > 0).all()
    assert ((out["T12"] - out["Tg"]).abs() <= c.t12_max_offset + 1e-3).all()


def test_padding_and_component_order_do_not_matter():
    model = tiny().eval()
    desc, index, fraction = batch()
    ref = model(desc, index, fraction)["properties"]
    perm = torch.tensor([2, 0, 1, 3])  # keep the padded slot, shuffle the rest
    again = model(desc, index[:, perm], fraction[:, perm])["properties"]
    torch.testing.assert_close(ref, again, atol=1e-5, rtol=1e-5)
    wider = model(
        desc, torch.cat([index, index[:, :2]], 1), torch.cat([fraction, torch.zeros(B, 2)], 1)
    )["properties"]
    torch.testing.assert_close(ref, wider, atol=1e-5, rtol=1e-5)


def test_reset_parameters_reinitialises():
    a, b = tiny(), tiny()
    with torch.no_grad():
        for p in a.parameters():
            p.add_(1.0)
    torch.manual_seed(3)
    a.reset_parameters()
    torch.manual_seed(3)
    b.reset_parameters()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize(("a", "m"), [(-2.9, 15.0), (-5.0, 40.0), (-1.5, 80.0)])
def test_myega_curve_is_monotonic_and_hits_12_at_t12(a, m):
    m = max(m, 12 - a)
    t12 = 800.0
    temps = torch.linspace(500, 3000, 400, dtype=torch.float64)
    curve = myega_log10_viscosity(torch.tensor(a), torch.tensor(t12), torch.tensor(m), temps)
    assert torch.all(torch.diff(curve) < 0)
    at_t12 = myega_log10_viscosity(
        torch.tensor(a), torch.tensor(t12), torch.tensor(m), torch.tensor(t12)
    )
    assert float(at_t12) == pytest.approx(12.0)
    # slope at T12 is the fragility: m = d log10 eta / d (T12 / T) at T = T12
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    y = myega_log10_viscosity(torch.tensor(a), torch.tensor(t12), torch.tensor(m), t12 / x)
    y.backward()
    assert float(x.grad) == pytest.approx(m, rel=1e-6)


def test_predicted_curve_is_myega_up_to_the_ceiling_and_capped_below():
    """Far below T12 the MYEGA curve runs to log10 eta of hundreds (the case found on
    GlassNet's split: T = T12 / 2.5); the reported curve stops at the ceiling."""
    a, t12, m = torch.tensor(-3.0), torch.tensor(837.0), torch.tensor(60.0)
    temps = torch.linspace(300.0, 2000.0, 500, dtype=torch.float64)
    raw = myega_log10_viscosity(a, t12, m, temps)
    assert float(raw[0]) > 100  # the extrapolation the cap exists for
    capped = predicted_log10_viscosity(a, t12, m, temps)
    below = raw <= LOG10_VISCOSITY_CEILING
    torch.testing.assert_close(capped[below], raw[below])
    assert torch.all(capped[~below] == LOG10_VISCOSITY_CEILING)
    assert torch.all(torch.diff(capped) <= 0)
    # the ceiling lies above the strain point (10^13.5 Pa s), so every characteristic
    # temperature is still on the uncapped curve
    assert LOG10_VISCOSITY_CEILING > 13.5


def test_temperature_at_inverts_the_curve():
    a, t12, m = np.array([-3.0, -4.5]), np.array([800.0, 600.0]), np.array([30.0, 60.0])
    for level in (13.5, 12.0, 6.6, 3.0, 1.0):
        t = temperature_at(a, t12, m, level)
        back = myega_log10_viscosity(
            torch.tensor(a), torch.tensor(t12), torch.tensor(m), torch.tensor(t)
        )
        np.testing.assert_allclose(back.numpy(), level, atol=1e-6)
    assert np.isnan(temperature_at(a, t12, m, -5.0)).all()  # below log10 eta_inf


@pytest.mark.slow
def test_overfits_a_tiny_batch():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead on a shared CPU
    torch.manual_seed(0)
    model = GlassSetNet(
        GlassSetConfig(n_descriptors=D, hidden=32, n_heads=2, tg_mean=700, tg_std=100)
    )
    desc, index, fraction = batch(16, 4)
    y = torch.randn(16, 6)
    y[:, 0] = 1.0  # Tg = 800 K: a target the tied T12 (Tg ± 50 K) can meet
    temps = torch.tensor([900.0, 1200.0, 1500.0])
    target_visc = torch.tensor([9.0, 5.0, 3.0]).expand(16, 3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        out = model(desc, index, fraction)
        visc = myega_log10_viscosity(
            out["A"][:, None], out["T12"][:, None], out["m"][:, None], temps[None, :]
        )
        loss = ((out["properties"] - y) ** 2).mean() + ((visc - target_visc) ** 2).mean() / 10
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert ((out["properties"] - y) ** 2).mean().item() < 0.05
    assert ((visc - target_visc) ** 2).mean().item() < 0.1
    torch.set_num_threads(threads)


def test_tg_network_member_reports_its_own_tg_and_keeps_the_joint_viscosity():
    """``tg_network``: Tg (and properties[:, 0]) are the Tg network's; the other properties,
    A, m and T12 are the joint network's unchanged, and T12 stays tied to the joint
    network's own Tg (``Tg_joint``). Weights combine with ``with_tg_network``."""
    from core.nn.glass import tg_network_config
    from core.train.glass.fit import with_tg_network

    desc, index, fraction = batch()
    joint = tiny().eval()
    torch.manual_seed(5)
    tg_net = GlassSetNet(tg_network_config(joint.config)).eval()
    assert not hasattr(tg_net, "viscosity_head") and tg_net.config.n_properties == 1
    model = tiny(tg_network=True).eval()
    model.load_state_dict(with_tg_network(joint.state_dict(), [tg_net.state_dict()]))
    out, j, t = (m(desc, index, fraction) for m in (model, joint, tg_net))
    assert set(t) == {"properties", "Tg", "embedding"}  # no MYEGA outputs without the head
    torch.testing.assert_close(out["properties"][:, :1], t["properties"])
    torch.testing.assert_close(out["properties"][:, 1:], j["properties"][:, 1:])
    torch.testing.assert_close(out["Tg"], t["Tg"])
    torch.testing.assert_close(out["Tg_joint"], j["Tg"])
    for k in ("A", "T12", "m"):
        torch.testing.assert_close(out[k], j[k])
    assert not torch.allclose(out["Tg"], j["Tg"])  # two different estimates
    c = model.config
    assert ((out["T12"] - out["Tg_joint"]).abs() <= c.t12_max_offset + 1e-3).all()


def test_several_tg_networks_report_their_mean_and_split_back_into_their_parts():
    """``tg_network=3``: Tg is the mean of three Tg networks (weights placed by
    ``with_tg_network`` and taken apart by ``split_member``); the joint outputs are
    unchanged. An old card's ``tg_network: true`` reads as one network."""
    from core.nn.glass import tg_network_config
    from core.train.glass.fit import split_member, with_tg_network

    assert GlassSetConfig(tg_network=True).tg_network == 1
    desc, index, fraction = batch()
    joint = tiny().eval()
    nets = []
    for seed in (5, 6, 7):
        torch.manual_seed(seed)
        nets.append(GlassSetNet(tg_network_config(joint.config)).eval())
    model = tiny(tg_network=3).eval()
    state = with_tg_network(joint.state_dict(), [n.state_dict() for n in nets])
    model.load_state_dict(state)  # strict: every Tg network found its place
    out, j = model(desc, index, fraction), joint(desc, index, fraction)
    tgs = torch.stack([n(desc, index, fraction)["Tg"] for n in nets])
    torch.testing.assert_close(out["Tg"], tgs.mean(0))
    assert (tgs.std(0) > 0).all()  # three different networks, not one three times
    for k in ("A", "T12", "m", "Tg_joint"):
        torch.testing.assert_close(out[k], j[k if k != "Tg_joint" else "Tg"])
    back_joint, back_tg = split_member(state)
    assert back_joint.keys() == joint.state_dict().keys()
    assert len(back_tg) == 3
    for got, net in zip(back_tg, nets, strict=True):
        for name, v in net.state_dict().items():
            torch.testing.assert_close(got[name], v)
