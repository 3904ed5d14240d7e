"""The viscosity/Tg consistency filter of the glass training data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from core.nn.glass import myega_log10_viscosity
from core.train.glass.data import inconsistent_viscosity_series


def _series(key: str, t12: float, m: float = 30.0) -> pd.DataFrame:
    temps = np.linspace(t12 - 20, t12 + 60, 6)
    eta = myega_log10_viscosity(
        torch.tensor(-3.0), torch.tensor(t12), torch.tensor(m), torch.tensor(temps)
    ).numpy()
    return pd.DataFrame({"key": key, "temperature": temps, "log_viscosity": eta})


def test_a_series_in_degrees_celsius_is_flagged_and_a_good_one_kept() -> None:
    good = _series("good", 800.0)
    celsius = _series("celsius", 800.0)
    celsius["temperature"] -= 273.15  # degrees C filed as K
    no_tg = _series("no_tg", 500.0)
    tg = pd.Series({"good": 805.0, "celsius": 800.0})
    bad = inconsistent_viscosity_series(pd.concat([good, celsius, no_tg]), tg)
    assert bad["key"].tolist() == ["celsius"]
    assert bad["T12_points"].iloc[0] - bad["Tg"].iloc[0] == pytest.approx(-273.15, abs=15)


def test_a_test_key_list_replaces_the_test_split_and_keeps_validation() -> None:
    """``TrainConfig.test_keys`` (a peer's own test set, e.g. GlassNet's): the listed glasses
    are the test split wherever they were; other test glasses train; validation stays."""
    from core.train.glass.data import resplit

    frame = pd.DataFrame(
        {
            "key": ["a", "b", "c", "d", "e", "f"],
            "split": ["train", "val", "test", "test", "val", "train"],
        }
    )
    out = resplit(frame, {"a", "b", "c"})
    assert out["split"].tolist() == ["test", "test", "test", "train", "val", "train"]
    assert frame["split"].tolist()[0] == "train"  # the input is not modified
