"""Train the QM9 property model (PaiNN on RDKit conformers), one ensemble member at a time.

    python -m core.train.molecules train --member 0 [--epochs 60] [--max-minutes 90]
    python -m core.train.molecules evaluate      # pack the members; test metrics -> card.json

The model sees what users give it: SMILES -> ETKDG + MMFF conformer (seeded), never the DFT
geometry (see :mod:`core.featurizers.molecules`). Training is resumable: every epoch writes
``checkpoints/qm9_painn/member<k>.ckpt`` (model, optimiser, scheduler, epoch, history;
loadable with ``torch.load(weights_only=True)``; never among the shipped models) and the
best-on-validation weights to ``checkpoints/qm9_painn/member<k>.safetensors`` (+ ``.json``);
``evaluate`` packs the members into ``trained_models/qm9_painn/model.safetensors`` (member
``i`` under ``member<i>.``, its config in the card's ``members``) before measuring them.
Re-running ``train`` with the same member continues where it stopped, so training longer
than a session works; the data order of every epoch is a pure function of (seed, epoch), so
an interrupted and a straight run see the same batches.
"""
