"""Recipe helpers of the glass training: the property network of a separate-viscosity member."""

from __future__ import annotations

from dataclasses import asdict

from core.train.glass import TrainConfig, finetune_config, property_config


def test_property_network_recipe_drops_the_viscosity_losses_and_keeps_the_rest():
    cfg = TrainConfig(seed=3, epochs=60, property_epochs=100, separate_viscosity=1, lr=1e-3)
    prop = property_config(cfg)
    assert (prop.visc_weight, prop.offset_weight, prop.epochs) == (0.0, 0.0, 100)
    assert prop.separate_viscosity == 0
    changed = {k for k, v in asdict(prop).items() if v != asdict(cfg)[k]}
    assert changed == {"visc_weight", "offset_weight", "epochs", "separate_viscosity"}
    assert property_config(TrainConfig(epochs=40, separate_viscosity=1)).epochs == 40


def test_viscosity_finetune_recipe_uses_its_own_epochs_and_rate_without_early_stop():
    cfg = TrainConfig(epochs=60, finetune_epochs=20, finetune_lr=5e-4, separate_viscosity=1)
    ft = finetune_config(cfg)
    assert (ft.epochs, ft.lr, ft.patience) == (20, 5e-4, 20)
    assert (ft.visc_weight, ft.offset_weight, ft.seed) == (cfg.visc_weight, cfg.offset_weight, 0)
