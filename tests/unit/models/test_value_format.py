import math

import pytest

from core.models.molecules import format_with_std


@pytest.mark.parametrize(
    ("value", "std", "expected"),
    [
        (-6754.31812, 0.0351, ("-6754.318", "0.035")),  # U0: the digits the std vouches for
        (406.49, 18.2, ("406", "18")),
        (2.0171, 0.4149, ("2.02", "0.41")),
        (1.0, 0.0996, ("1.00", "0.10")),  # the std rounds up to a new decade
        (-0.58871, 0.085, ("-0.589", "0.085")),
    ],
)
def test_value_is_rounded_to_the_decimal_place_of_its_std(value, std, expected) -> None:
    assert format_with_std(value, std) == expected


def test_without_a_std_the_value_keeps_six_significant_figures() -> None:
    assert format_with_std(-6754.31812, math.nan) == ("-6754.32", "")
    assert format_with_std(-6754.31812, 0.0) == ("-6754.32", "")
    assert format_with_std(math.nan, 0.1) == ("", "")
