"""The property registry and the one value ± std formatter."""

import math

import pytest

from core import properties


def test_glass_cte_is_stored_in_1_per_k_and_shown_in_ppm():
    cte = properties.GLASS["CTE"]
    assert cte.unit == "1/K" and cte.display_unit == "ppm/K" and cte.scale == 1e6
    assert properties.format_value_std("CTE", 9.1e-6, 0.42e-6) == "9.10 ± 0.42 ppm/K"


@pytest.mark.parametrize(
    ("key", "value", "std", "text"),
    [
        ("Tg", 751.6, 18.3, "752 ± 18 K"),
        ("RefractiveIndex", 1.51683, 0.00121, "1.5168 ± 0.0012"),
        ("u0", -6754.3181, 0.0351, "-6754.318 ± 0.035 eV"),
        ("gap", 6.8, None, "6.800 eV"),
        ("Tg", math.nan, 3.0, "–"),
    ],
)
def test_format_value_std(key, value, std, text):
    assert properties.format_value_std(key, value, std) == text


def test_every_registry_key_is_unique_and_titled():
    keys = [*properties.GLASS, *properties.QM9]
    assert len(keys) == len(set(keys))
    assert properties.get("gap").title == "HOMO-LUMO gap (eV)"
    assert properties.get("AbbeNumber").title == "Abbe number"  # dimensionless: no unit
    with pytest.raises(KeyError, match="unknown property"):
        properties.get("nope")


def test_predictions_use_the_registry_labels():
    from core.data import sciglass
    from core.models.glass import LABELS

    assert set(LABELS) == set(sciglass.PROPERTIES) == set(properties.GLASS)
    assert LABELS["CTE"] == properties.GLASS["CTE"].label
