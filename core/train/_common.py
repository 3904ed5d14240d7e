"""Seeding shared by the training scripts (provenance: :mod:`core.provenance`; uncertainty
calibration: :mod:`core.uncertainty`)."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
