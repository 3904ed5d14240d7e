"""Train the conditional SMILES generator (:class:`core.nn.smiles_gpt.SmilesGPT`) on MOSES.

    python -m core.train.molecule_generator train [--out checkpoints/smiles_gpt_wip] [--steps 60000]
    python -m core.train.molecule_generator export [--ckpt ...] [--samples 2000]

Data: the MOSES training split with RDKit labels (:mod:`core.data.moses_labels`; training uses
whatever is labelled, re-read at every checkpoint). Each sample is the canonical SMILES after
``<bos>`` or (with probability ``p_random``) a randomised SMILES after ``<bos_r>``; each
condition is dropped per sample (all of them with ``p_uncond``, else each with
``1 - p_keep``). AdamW, linear warm-up then cosine decay to ``min_lr_frac``, gradient clip 1.

Resumable: every ``ckpt_minutes`` (and on SIGTERM/SIGINT) the work folder gets
``model.safetensors`` (fp32 weights), ``optim.pt`` (AdamW state with bf16 moments to keep
commits small, plus the torch RNG state; ``torch.load(weights_only=True)``) and
``state.json`` (step, molecules seen, configs, vocabulary, condition statistics, numpy RNG
state). Re-running ``train`` with the same ``--out`` continues. ``log.jsonl`` holds the loss
and, every ``eval_every`` steps, validation loss and validity/uniqueness of 256 unconditional
samples (T=1): the validity-vs-training-molecules curve.

On an accelerator (:mod:`core.train.molecule_generator.packed`): ``pack-input`` writes the
whole MOSES training split with its labels to one ``.npz`` here; ``pack`` tokenises it on the
accelerator machine's cores (canonical + 4 randomised SMILES per molecule); ``train --device
cuda --packed <pack> --time-budget-minutes M`` trains with bf16 autocast and sizes its cosine
schedule to the budget from the speed of its first steps. ``scripts/accelerator_generator_leg.sh``
runs the whole leg (two model sizes side by side on one GPU). Each leg is recorded in
``state.json`` (device, torch, code commit, steps).

``export`` writes ``trained_models/smiles_gpt_moses/{model.safetensors, card.json}`` with
metrics measured on held-out data (samples vs the MOSES test labels).
"""
