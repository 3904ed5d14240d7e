"""GlassSetNet: shapes, MYEGA constraints by construction, and a tiny overfit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.nn.glass import GlassSetConfig, GlassSetNet, myega_log10_viscosity, temperature_at

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


def test_separate_viscosity_member_ties_its_own_myega_network_to_the_property_tg():
    """``separate_viscosity``: the properties are the property network's; A, m and the T12
    offset come from the viscosity network (started from a joint network's weights by
    ``core.train.glass.combine_member``), and T12 is the property network's Tg plus that
    bounded offset. A loss on the viscosity outputs reaches no property weight."""
    import torch.nn.functional as F

    from core.train.glass import combine_member

    desc, index, fraction = batch()
    props_net = tiny().eval()
    torch.manual_seed(5)
    joint = GlassSetNet(GlassSetConfig(n_descriptors=D, hidden=8, n_heads=2)).eval()
    model = tiny(separate_viscosity=True).eval()
    assert model.viscosity_net.property_head is None and not hasattr(model, "viscosity_head")
    model.load_state_dict(combine_member(props_net.state_dict(), joint.state_dict()))
    out, p = model(desc, index, fraction), props_net(desc, index, fraction)
    torch.testing.assert_close(out["properties"], p["properties"])
    torch.testing.assert_close(out["Tg"], p["Tg"])
    c = model.config
    raw = joint.viscosity_head(joint.embed(desc, index, fraction))
    a = c.a_min + (c.a_max - c.a_min) * torch.sigmoid(raw[:, 0])
    torch.testing.assert_close(out["A"], a)
    offset = c.t12_max_offset * torch.tanh(raw[:, 2])
    torch.testing.assert_close(out["T12"], 50.0 + F.softplus(p["Tg"] + offset - 50.0))
    assert ((out["T12"] - out["Tg"]).abs() <= c.t12_max_offset + 1e-3).all()
    (out["T12"].sum() + out["A"].sum() + out["m"].sum()).backward()
    for name, param in model.named_parameters():
        if not name.startswith("viscosity_net."):
            assert param.grad is None or not param.grad.any(), name
    assert any(q.grad is not None and q.grad.any() for q in model.viscosity_net.parameters())
