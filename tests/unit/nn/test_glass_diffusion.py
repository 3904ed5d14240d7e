"""Periodic geometry, noise and sampling of the glass-structure diffusion model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.neighborlist import neighbor_list

from core.nn import glass_diffusion as G


def _random_atoms(n: int, length: float, seed: int) -> Atoms:
    rng = np.random.default_rng(seed)
    symbols = ["Si"] * (n // 3) + ["O"] * (n - n // 3)
    return Atoms(symbols, positions=rng.uniform(0, length, (n, 3)), cell=[length] * 3, pbc=True)


@pytest.mark.parametrize("length", [12.0, 7.0, 4.0])  # minimum image; 1 and 2 extra images
def test_periodic_graph_matches_ase(length):
    atoms = _random_atoms(24, length, seed=int(length))
    cutoff = 5.0
    i, j, d = neighbor_list("ijd", atoms, cutoff)
    pos = torch.tensor(atoms.positions, dtype=torch.float64)
    lengths = torch.tensor([[length] * 3], dtype=torch.float64)
    src, dst, vec = G.periodic_graph(pos, lengths, torch.zeros(24, dtype=torch.long), cutoff)
    assert len(src) == len(i)
    dist = np.round(vec.norm(dim=-1).numpy(), 6)
    ours = sorted(zip(dst.tolist(), src.tolist(), dist, strict=True))
    theirs = sorted(zip(i.tolist(), j.tolist(), np.round(d, 6), strict=True))
    assert ours == theirs
    # the vector points from receiver to sender and is a true image displacement
    frac = (pos[src] - pos[dst] - vec) / length
    assert torch.allclose(frac, torch.round(frac), atol=1e-9)


def test_graph_of_a_batch_keeps_structures_apart():
    a, b = _random_atoms(12, 8.0, 0), _random_atoms(15, 11.0, 1)
    pos = torch.tensor(np.vstack([a.positions, b.positions]))
    lengths = torch.tensor([[8.0] * 3, [11.0] * 3], dtype=torch.float64)
    batch = torch.tensor([0] * 12 + [1] * 15)
    src, dst, _ = G.periodic_graph(pos, lengths, batch, 4.0)
    assert torch.equal(batch[src], batch[dst])
    assert len(src) == len(neighbor_list("i", a, 4.0)) + len(neighbor_list("i", b, 4.0))


def test_wrap_and_minimum_image():
    L = torch.tensor([10.0, 10.0, 10.0])
    x = torch.tensor([[-0.5, 10.5, 25.0]])
    assert torch.allclose(G.wrap(x, L), torch.tensor([[9.5, 0.5, 5.0]]))
    d = torch.tensor([[9.0, -6.0, 4.9]])
    assert torch.allclose(G.minimum_image(d, L), torch.tensor([[-1.0, 4.0, 4.9]]))


def _inputs(atoms, sigma=0.3):
    species = torch.tensor([G.SPECIES.index(s) for s in atoms.get_chemical_symbols()])
    pos = torch.tensor(atoms.positions, dtype=torch.float32)
    lengths = torch.tensor([atoms.cell.lengths()], dtype=torch.float32)
    batch = torch.zeros(len(atoms), dtype=torch.long)
    cond = torch.tensor([[2.2, 13.0, 0.0]])
    return species, pos, lengths, batch, torch.tensor([sigma]), cond


def test_denoiser_is_translation_invariant_and_rotation_equivariant():
    torch.manual_seed(0)
    model = G.GlassDenoiser(G.GlassDiffusionConfig(hidden=16, layers=2, rbf=8)).double()
    atoms = _random_atoms(24, 11.0, 3)
    species, pos, lengths, batch, sigma, cond = _inputs(atoms)
    pos, lengths, cond, sigma = pos.double(), lengths.double(), cond.double(), sigma.double()
    out = model(species, pos, lengths, batch, sigma, cond)
    assert out.shape == (24, 3) and torch.isfinite(out).all()
    shifted = G.wrap(pos + torch.tensor([3.3, -7.1, 0.4], dtype=torch.float64), lengths[0])
    assert torch.allclose(model(species, shifted, lengths, batch, sigma, cond), out, atol=1e-9)
    # a symmetry of the cube (axis swap + mirror) maps the periodic structure onto itself
    R = torch.tensor([[0, 1, 0], [1, 0, 0], [0, 0, -1]], dtype=torch.float64)
    rotated = G.wrap(pos @ R.T, lengths[0])
    assert torch.allclose(
        model(species, rotated, lengths, batch, sigma, cond), out @ R.T, atol=1e-9
    )
    perm = torch.randperm(24)
    assert torch.allclose(
        model(species[perm], pos[perm], lengths, batch, sigma, cond), out[perm], atol=1e-9
    )


def test_karras_sigmas_run_from_max_to_min():
    s = G.karras_sigmas(50, 0.01, 3.5)
    assert len(s) == 50 and np.isclose(float(s[0]), 3.5) and np.isclose(float(s[-1]), 0.01)
    assert bool((s[1:] < s[:-1]).all())


def test_sample_is_seeded_and_stays_in_the_cell():
    torch.manual_seed(0)
    model = G.GlassDenoiser(G.GlassDiffusionConfig(hidden=16, layers=2, rbf=8)).eval()
    atoms = _random_atoms(24, 7.5, 4)
    species, _, lengths, batch, _, cond = _inputs(atoms)
    runs = [
        G.sample(
            model,
            species,
            lengths,
            batch,
            cond,
            steps=12,
            generator=torch.Generator().manual_seed(s),
        )
        for s in (1, 1, 2)
    ]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    assert bool(((runs[0] >= 0) & (runs[0] < 7.5)).all())


def _cristobalite():
    """Ideal beta-cristobalite SiO2, 24 atoms: a cell smaller than twice the cutoff."""
    from ase.spacegroup import crystal

    atoms = crystal(
        ["Si", "O"],
        basis=[(0, 0, 0), (0.125, 0.125, 0.125)],
        spacegroup=227,
        cellpar=[7.16] * 3 + [90] * 3,
    )
    atoms.info.update(density_g_cm3=2.2, cooling_rate_K_s=1e13, x_na2o=0.0)
    return atoms


@pytest.mark.slow
def test_tiny_overfit_learns_one_structure(tmp_path):
    """Training on one 24-atom SiO2 structure (ideal beta-cristobalite, a cell smaller than
    twice the cutoff) drives its denoising loss well down."""
    from core.train.glass_generator.training import TrainConfig, eval_loss, train

    atoms = _cristobalite()
    cfg = TrainConfig(steps=300, batch_atoms=24, warmup=20, lr=3e-3, ema=0.9, ckpt_minutes=60)
    mcfg = G.GlassDiffusionConfig(hidden=32, layers=2, rbf=8, sigma_max=1.0)
    torch.manual_seed(0)
    before = eval_loss(G.GlassDenoiser(mcfg), [atoms])
    state = train(cfg, tmp_path, data=[atoms], model_cfg=mcfg)
    assert state["step"] == 300 and (tmp_path / "ema.safetensors").exists()
    from core.train.glass_generator.training import load_model

    after = eval_loss(load_model(tmp_path / "ema.safetensors", state["model_config"]), [atoms])
    assert after["0.1"] < 0.5 * before["0.1"]
    assert after["0.02"] < 0.5 * before["0.02"]


def test_noise_levels_stay_in_range_and_the_mid_mix_moves_mass_to_half_an_angstrom():
    cfg = G.GlassDiffusionConfig()
    g = torch.Generator().manual_seed(0)
    plain = G.sample_sigma(20000, cfg, g)
    mixed = G.sample_sigma(20000, cfg, g, mid_fraction=0.5)
    for s in (plain, mixed):
        assert float(s.min()) >= cfg.sigma_min - 1e-9 and float(s.max()) <= cfg.sigma_max + 1e-6
    share = lambda s: float(((s > 0.2) & (s < 1.25)).float().mean())  # noqa: E731
    assert share(plain) == pytest.approx(np.log(1.25 / 0.2) / np.log(350), abs=0.02)
    assert share(mixed) > share(plain) + 0.2


def test_corrector_steps_are_seeded_and_stay_in_the_cell():
    torch.manual_seed(0)
    model = G.GlassDenoiser(G.GlassDiffusionConfig(hidden=16, layers=2, rbf=8)).eval()
    atoms = _random_atoms(24, 7.5, 5)
    species, _, lengths, batch, _, cond = _inputs(atoms)
    runs = [
        G.sample(
            model,
            species,
            lengths,
            batch,
            cond,
            steps=8,
            corrector=1,
            generator=torch.Generator().manual_seed(3),
        )
        for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])
    assert bool(((runs[0] >= 0) & (runs[0] < 7.5)).all())


def test_resume_keeps_the_saved_config_except_given_fields(tmp_path):
    """A resumed run keeps its saved TrainConfig (seed, lr, ...) but takes the fields given
    explicitly (here the batch size and learning rate used for the GPU continuation)."""
    from core.train.glass_generator.training import TrainConfig, train

    atoms = _cristobalite()
    mcfg = G.GlassDiffusionConfig(hidden=16, layers=1, rbf=8, sigma_max=1.0)
    first = TrainConfig(
        steps=3, batch_atoms=24, warmup=1, lr=3e-3, mid_fraction=0.5, ckpt_minutes=60
    )
    train(first, tmp_path, data=[atoms], model_cfg=mcfg)
    again = TrainConfig(steps=5, batch_atoms=48, lr=1e-4, seed=7, warmup=1, ckpt_minutes=60)
    state = train(again, tmp_path, data=[atoms], overrides=frozenset({"batch_atoms", "lr"}))
    assert state["step"] == 5
    assert state["train"]["batch_atoms"] == 48 and state["train"]["lr"] == 1e-4
    # not given: the saved values stay (a resume once reset mid_fraction to 0)
    assert state["train"]["seed"] == 0 and state["train"]["mid_fraction"] == 0.5
    assert state["wall_seconds_by_device"]["cpu"] > 0


def test_given_generator_draws_the_noise_on_its_own_device():
    """The held-out loss draws its noise from a CPU generator, whatever the model's device,
    so GPU- and CPU-trained checkpoints are scored on the same noisy structures: the loss
    equals the one computed by hand from that generator's first draw."""
    torch.manual_seed(0)
    model = G.GlassDenoiser(G.GlassDiffusionConfig(hidden=16, layers=1, rbf=8)).eval()
    atoms = _random_atoms(24, 7.5, 5)
    species, pos, lengths, batch, _, cond = _inputs(atoms)
    sigma = torch.tensor([0.3])
    with torch.no_grad():
        got = G.denoising_loss(
            model,
            species,
            pos,
            lengths,
            batch,
            cond,
            sigma=sigma,
            generator=torch.Generator().manual_seed(3),
        )
        eps = torch.randn(pos.shape, generator=torch.Generator().manual_seed(3))
        x = G.wrap(pos + 0.3 * eps, lengths[batch])
        want = ((model(species, x, lengths, batch, sigma, cond) - eps) ** 2).mean()
    assert float(got) == pytest.approx(float(want), rel=1e-6)


@pytest.mark.slow
def test_the_compiled_network_gives_the_eager_outputs(monkeypatch):
    """``compile_network`` (the default in the app when a C compiler is there) changes the
    speed, not the numbers: on two structure sizes (dynamic shapes) it agrees with the eager
    network to float32 rounding."""
    import shutil

    if not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
        pytest.skip("no C compiler: torch.compile cannot build CPU kernels here")
    torch.manual_seed(0)
    model = G.GlassDenoiser(G.GlassDiffusionConfig(hidden=16, layers=2, rbf=8)).eval()
    eager = G.GlassDenoiser(model.config).eval()
    eager.load_state_dict(model.state_dict())
    model.compile_network()
    for n_atoms, length in ((24, 7.5), (30, 8.1)):
        species, pos, lengths, batch, sigma, cond = _inputs(_random_atoms(n_atoms, length, 5))
        with torch.inference_mode():
            got = model(species, pos, lengths, batch, sigma, cond)
            want = eager(species, pos, lengths, batch, sigma, cond)
        assert got.shape == want.shape == (n_atoms, 3)
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-5), (got - want).abs().max()
    assert model._compiled is not None and eager._compiled is None


def test_compile_setting_reads_the_environment(monkeypatch):
    from core.config import torch_compile_enabled

    for off in ("0", "false", "No", "off"):
        monkeypatch.setenv("MDS_TORCH_COMPILE", off)
        assert not torch_compile_enabled()
    monkeypatch.setenv("MDS_TORCH_COMPILE", "1")
    monkeypatch.setattr("shutil.which", lambda name: None)  # no C compiler: eager
    assert not torch_compile_enabled()
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    assert torch_compile_enabled()


def test_the_committed_gpu_checkpoint_resumes_on_the_cpu(tmp_path):
    """Regression: the shipped denoiser's work folder was saved on a GPU and its optimiser
    state would not load on a CPU-only machine (torch.load without map_location)."""
    import json
    import shutil

    from core import config
    from core.train.glass_generator.training import TrainConfig, train

    src = config.REPO_ROOT / "checkpoints" / "glass_diffusion_wip"
    if not (src / "optim.pt").exists():
        pytest.skip("no committed glass_diffusion work folder")
    work = tmp_path / "wip"
    shutil.copytree(src, work)
    step = json.loads((work / "state.json").read_text())["step"]
    cfg = TrainConfig(steps=step + 1, batch_atoms=24, ckpt_minutes=60, eval_every=10**9)
    state = train(
        cfg, work, data=[_cristobalite()], overrides=frozenset({"batch_atoms", "eval_every"})
    )
    assert state["step"] == step + 1
