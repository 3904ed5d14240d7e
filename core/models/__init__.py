"""Predictors: trained networks + scalers + ensembles + applicability domain.

Each model lives in ``trained_models/<name>/`` (``model.safetensors`` + ``card.json``);
:mod:`core.models.registry` lists the cards without importing torch.
"""
