"""Train the glass-structure diffusion model (:mod:`core.nn.glass_diffusion`) on our MD glasses.

    python -m core.train.glass_generator train [--out checkpoints/glass_diffusion_wip] [--steps N]
    python -m core.train.glass_generator export [--ckpt ...] [--per-condition 2]

Data: the minimised structures of the ``train`` split of :mod:`core.data.glass_md` (SHIK
melt-quench, SiO2 and Na2O-SiO2), re-read at every checkpoint so runs that finish while it
trains join in. Each step draws structures at random until ``batch_atoms`` atoms are in the
batch, one noise level per structure (log-uniform, or with probability ``mid_fraction``
log-normal around 0.5 Å), fresh Gaussian noise; the model is invariant to translation,
rotation and atom order by construction, so no augmentation is needed. Adam, linear warm-up
then cosine decay to ``min_lr_frac``, gradient clip 1, and an
exponential moving average of the weights (``ema``) that sampling uses.

Resumable: every ``ckpt_minutes`` (and on SIGTERM/SIGINT) the work folder gets
``model.safetensors``, ``ema.safetensors``, ``optim.pt`` (Adam state + torch RNG,
``weights_only`` loadable) and ``state.json``; re-running ``train`` continues. ``log.jsonl``
holds the training loss and, every ``eval_every`` steps, the denoising loss of the held-out
test structures at fixed noise levels (fixed noise), from the EMA weights.

``export`` (:mod:`core.train.glass_generator.export`) samples structures at every test
condition and writes ``trained_models/glass_diffusion/`` with the structural comparison to
the held-out MD in the card.
"""
