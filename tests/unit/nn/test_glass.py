"""GlassSetNet: shapes, MYEGA constraints by construction, and a tiny overfit."""

from __future__ import annotations

import time

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
    start = time.monotonic()
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
    assert time.monotonic() - start < 20


def test_element_channel_reads_the_glass_atomic_fractions():
    """With ``elements`` the network also sees the glass's atomic fractions of those elements
    (computed from the components' formulas), after the descriptor columns."""
    from core.featurizers.composition import DescriptorTable, ElementTable

    table = DescriptorTable.build(["SiO2", "Na2O", "Na2SO4"], ElementTable.from_mendeleev())
    symbols = ["Na", "O", "Si"]
    counts = table.atom_counts(symbols)
    np.testing.assert_array_equal(counts, [[0, 2, 1, 3], [2, 1, 0, 3], [2, 4, 0, 7]])
    inputs = torch.from_numpy(table.inputs(symbols))
    assert inputs.shape == (3, table.scaled().shape[1] + 4)
    torch.manual_seed(0)
    model = GlassSetNet(
        GlassSetConfig(n_descriptors=table.scaled().shape[1], hidden=8, n_heads=2, elements=symbols)
    ).eval()
    seen = []
    model.element_mlp.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    index = torch.tensor([[0, 1, 0], [2, 0, 0]])
    fraction = torch.tensor([[0.75, 0.25, 0.0], [0.5, 0.5, 0.0]])  # last slot padded
    out = model(inputs, index, fraction)
    # 75 SiO2 25 Na2O: 0.75*3 + 0.25*3 = 3 atoms per unit; Na 0.5, O 1.75, Si 0.75
    # 50 Na2SO4 50 SiO2: 5 atoms; Na 1, O 3, Si 0.5 (S is not in the channel)
    expected = torch.tensor([[0.5, 1.75, 0.75], [1.0, 3.0, 0.5]]) / torch.tensor([[3.0], [5.0]])
    torch.testing.assert_close(seen[0], expected)
    # the channel reaches the outputs
    changed = inputs.clone()
    changed[1, -4] = 0.0  # pretend Na2O carried no Na
    assert not torch.allclose(
        model(changed, index, fraction)["properties"][0], out["properties"][0]
    )
    # a model without the channel ignores extra columns it was not built for
    plain = tiny()
    desc, index, fraction = batch()
    padded = torch.cat([desc, torch.randn(C, 3)], 1)
    torch.testing.assert_close(
        plain(desc, index, fraction)["Tg"], plain(padded, index, fraction)["Tg"]
    )


def test_detached_tie_keeps_the_viscosity_loss_off_the_tg_output():
    """``t12_detach_tg``: T12 is still Tg plus the bounded offset, but a loss on T12 (the
    viscosity curve) sends no gradient into the Tg output row of the property head."""
    desc, index, fraction = batch()
    grads = {}
    for detach in (False, True):
        model = tiny(t12_detach_tg=detach)
        out = model(desc, index, fraction)
        out["T12"].sum().backward()
        grad = model.property_head[-1].weight.grad
        grads[detach] = None if grad is None else grad[0]
        assert ((out["T12"] - out["Tg"]).abs() <= model.config.t12_max_offset + 1e-3).all()
    assert grads[False].abs().sum() > 0
    assert grads[True] is None or not grads[True].any()


def test_separate_viscosity_network_shares_no_weights_with_the_properties():
    """``separate_viscosity``: the MYEGA head reads its own set network. Changing it leaves
    the properties alone, a loss on the viscosity outputs reaches none of the property
    network's weights, and T12 stays tied to the (detached) Tg."""
    desc, index, fraction = batch()
    model = tiny(separate_viscosity=True)
    assert model.viscosity_net.property_head is None
    assert not hasattr(model, "viscosity_head")
    out = model(desc, index, fraction)
    assert ((out["T12"] - out["Tg"]).abs() <= model.config.t12_max_offset + 1e-3).all()
    (out["T12"].sum() + out["A"].sum() + out["m"].sum()).backward()
    for name, p in model.named_parameters():
        if name.startswith("viscosity_net."):
            continue
        assert p.grad is None or not p.grad.any(), name
    assert any(p.grad is not None and p.grad.any() for p in model.viscosity_net.parameters())
    with torch.no_grad():
        for p in model.viscosity_net.parameters():
            p.add_(0.5)
    again = model(desc, index, fraction)
    torch.testing.assert_close(again["properties"], out["properties"])
    assert not torch.allclose(again["A"], out["A"])
