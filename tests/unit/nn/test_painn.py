import math

import pytest
import torch

from core.nn.painn import PaiNN, PaiNNConfig, radius_graph


def _random_rotation(seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(seed)))
    return q * torch.sign(torch.det(q))  # a proper rotation (det +1)


def _toy_batch():
    g = torch.Generator().manual_seed(0)
    z = torch.tensor([6, 1, 1, 1, 1, 8, 1, 1, 7, 6, 1])
    pos = torch.randn(11, 3, generator=g) * 1.2
    batch = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    return z, pos, batch


def _model(**kw) -> PaiNN:
    torch.manual_seed(0)
    return PaiNN(
        PaiNNConfig(hidden=16, layers=2, rbf=8, targets=("a", "b"), extensive=(True, False), **kw)
    )


def test_radius_graph_matches_brute_force():
    z, pos, batch = _toy_batch()
    src, dst = radius_graph(pos, batch, cutoff=2.0)
    got = set(zip(src.tolist(), dst.tolist(), strict=True))
    want = {
        (i, j)
        for i in range(len(z))
        for j in range(len(z))
        if i != j and batch[i] == batch[j] and (pos[i] - pos[j]).norm() < 2.0
    }
    assert got == want


def test_shapes():
    z, pos, batch = _toy_batch()
    out = _model()(z, pos, batch, 3)
    assert out["scalars"].shape == (3, 2)
    assert out["atom_contributions"].shape == (11, 2)
    assert out["dipole"].shape == (3, 3)
    assert out["charges"].shape == (11,)


def test_invariance_and_equivariance_under_rotation_and_translation():
    z, pos, batch = _toy_batch()
    model = _model().eval()
    rot = _random_rotation(1)
    with torch.no_grad():
        a = model(z, pos, batch, 3)
        b = model(z, pos @ rot.T + torch.tensor([3.0, -1.0, 2.0]), batch, 3)
    assert torch.allclose(a["scalars"], b["scalars"], atol=1e-4)
    assert torch.allclose(a["dipole"] @ rot.T, b["dipole"], atol=1e-4)


def test_atom_contributions_add_up_to_prediction():
    z, pos, batch = _toy_batch()
    out = _model()(z, pos, batch, 3)
    summed = torch.zeros(3, 2).index_add_(0, batch, out["atom_contributions"])
    counts = torch.bincount(batch).float()
    assert torch.allclose(out["scalars"][:, 0], summed[:, 0], atol=1e-5)  # extensive: sum
    assert torch.allclose(out["scalars"][:, 1], summed[:, 1] / counts, atol=1e-5)  # mean


def test_charges_are_neutral_per_molecule():
    z, pos, batch = _toy_batch()
    q = _model()(z, pos, batch, 3)["charges"]
    assert torch.allclose(torch.zeros(3).index_add_(0, batch, q), torch.zeros(3), atol=1e-5)


def test_extensive_reference_scales_with_size():
    model = _model()
    model.atomref[6, 0] = -1000.0
    z = torch.tensor([6, 6, 6])
    pos = torch.tensor([[0.0, 0, 0], [20.0, 0, 0], [40.0, 0, 0]])  # beyond the cutoff
    one = model(z[:1], pos[:1], torch.zeros(1, dtype=torch.long), 1)["scalars"][0, 0]
    three = model(z, pos, torch.zeros(3, dtype=torch.long), 1)["scalars"][0, 0]
    assert three.item() == pytest.approx(3 * one.item(), rel=1e-5)


@pytest.mark.slow
def test_overfits_a_tiny_batch():
    z, pos, batch = _toy_batch()
    target = torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.0]])
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(300):
        loss = (model(z, pos, batch, 3)["scalars"] - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3, f"did not overfit: loss {loss.item():.4f}"
    assert math.isfinite(loss.item())
