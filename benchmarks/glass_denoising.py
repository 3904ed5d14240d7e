"""Where the glass denoiser works and where it does not: one-step denoising by noise level.

    python benchmarks/glass_denoising.py [--draws 2]

For every MD glass of the held-out ``test`` split (and, for the gap between the two, the
``train`` split) of :mod:`core.data.glass_md`, at each noise level sigma: wrapped Gaussian
noise on the minimised structure, one call of the shipped denoiser, and

- the noise-prediction error ``mean((eps_hat - eps)^2)`` (the training loss; 1 = the model
  predicts nothing, 0 = perfect),
- the distance of the one-step estimate ``x - sigma * eps_hat`` from the MD positions
  (minimum image, mean over atoms) beside that of the noised input,
- the Si 4-fold fraction of the noised input and of the one-step estimate.

The sampler walks sigma from 3.5 A down to 0.01 A; the levels where the error stays near 1
are the levels where the sampler's steps are close to random walks, so the structure's
topology (which O binds which Si) is decided there by chance. Writes
``benchmarks/results/glass_denoising_table.txt``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)
import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"
SIGMAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.65, 0.8, 1.0, 1.2, 1.6, 2.0, 3.0)


def measure(model, structures, sigma: float, draws: int, seed: int) -> dict[str, float]:
    from core.generate.glass_analysis import bonds_and_angles
    from core.nn.glass_diffusion import SPECIES, minimum_image, wrap

    gen = torch.Generator().manual_seed(seed)
    mse, d_in, d_out, si4_in, si4_out = [], [], [], [], []
    for atoms in structures:
        species = torch.tensor([SPECIES.index(s) for s in atoms.get_chemical_symbols()])
        lengths = torch.tensor(np.array([atoms.cell.lengths()]), dtype=torch.float32)
        batch = torch.zeros(len(atoms), dtype=torch.long)
        cell = lengths[batch]
        x0 = torch.tensor(atoms.positions, dtype=torch.float32)
        info = atoms.info
        cond = torch.tensor(
            [[info["density_g_cm3"], math.log10(info["cooling_rate_K_s"]), info["x_na2o"]]],
            dtype=torch.float32,
        )
        for _ in range(draws):
            eps = torch.randn(x0.shape, generator=gen)
            x = wrap(x0 + sigma * eps, cell)
            with torch.inference_mode():
                eps_hat = model(
                    species, x, lengths, batch, torch.tensor([sigma], dtype=torch.float32), cond
                )
            x_hat = wrap(x - sigma * eps_hat, cell)
            mse.append(float(((eps_hat - eps) ** 2).mean()))
            d_in.append(float(minimum_image(x - x0, cell).norm(dim=-1).mean()))
            d_out.append(float(minimum_image(x_hat - x0, cell).norm(dim=-1).mean()))
            for pos, sink in ((x, si4_in), (x_hat, si4_out)):
                probe = atoms.copy()
                probe.positions = pos.numpy().astype(float)
                sink.append(float(np.mean(bonds_and_angles(probe)["cn_si"] == 4)))
    return {
        "eps_mse": float(np.mean(mse)),
        "dist_in": float(np.mean(d_in)),
        "dist_out": float(np.mean(d_out)),
        "si4_in": float(np.mean(si4_in)),
        "si4_out": float(np.mean(si4_out)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=2, help="noise draws per structure")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from core.data.glass_md import load_structures
    from core.generate.glass import load_generator

    gen = load_generator()
    splits = {s: load_structures(s, "min") for s in ("test", "train")}
    card = gen.card
    lines = [
        f"# Glass denoiser by noise level, {dt.date.today()} "
        f"(benchmarks/glass_denoising.py --draws {args.draws})",
        f"model {card.get('name')} {card.get('version')}, step "
        f"{card.get('training', {}).get('step')}; MD glasses (minimised): "
        + ", ".join(f"{k} {len(v)}" for k, v in splits.items()),
        "eps MSE: noise-prediction error (1 = predicts nothing); dist: mean minimum-image "
        "distance (A) from the MD positions of the noised input / of the one-step estimate; "
        "Si4: Si 4-fold fraction of the noised input / of the one-step estimate (MD ~1.0)",
        "",
        f"{'sigma (A)':>9}{'split':>7}{'eps MSE':>9}{'dist in':>9}{'dist out':>10}"
        f"{'Si4 in':>8}{'Si4 out':>9}",
    ]
    for sigma in SIGMAS:
        for k, (split, structures) in enumerate(splits.items()):
            m = measure(gen.model, structures, sigma, args.draws, seed=1000 * k + 17)
            lines.append(
                f"{sigma:>9.2f}{split:>7}{m['eps_mse']:>9.3f}{m['dist_in']:>9.3f}"
                f"{m['dist_out']:>10.3f}{m['si4_in']:>8.3f}{m['si4_out']:>9.3f}"
            )
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "glass_denoising_table.txt").write_text(text)


if __name__ == "__main__":
    main()
