"""Composition featurizer: physical descriptors of compounds and padded set tensors."""

from __future__ import annotations

import numpy as np
import pytest

from core.exceptions import InvalidInputError
from core.featurizers.composition import (
    DESCRIPTOR_NAMES,
    N_DESCRIPTORS,
    DescriptorTable,
    ElementTable,
    compound_descriptors,
    encode,
    is_oxide_compound,
)


@pytest.fixture(scope="module")
def elements() -> ElementTable:
    return ElementTable.from_mendeleev()


def named(formula: str, elements: ElementTable) -> dict[str, float]:
    return dict(zip(DESCRIPTOR_NAMES, compound_descriptors(formula, elements), strict=True))


def test_silica_descriptors(elements):
    d = named("SiO2", elements)
    assert d["mean_z"] == pytest.approx(4.0)
    assert d["share_O"] == pytest.approx(2 / 3)
    assert d["anions_per_cation"] == pytest.approx(2.0)
    assert d["mean_Z"] == 14 and d["mean_group"] == 14 and d["mean_period"] == 3
    assert d["mean_en"] == pytest.approx(1.90)
    assert d["mean_field_strength"] == pytest.approx(4.0 / d["mean_radius"] ** 2)
    assert np.exp(d["log_molar_mass"]) == pytest.approx(60.08, abs=0.01)


def test_oxidation_state_from_charge_balance(elements):
    assert named("Fe2O3", elements)["mean_z"] == pytest.approx(3.0)
    assert named("FeO", elements)["mean_z"] == pytest.approx(2.0)
    # Fe3+ is smaller than Fe2+, so its field strength is higher
    assert named("Fe2O3", elements)["mean_radius"] < named("FeO", elements)["mean_radius"]
    assert (
        named("Na2O", elements)["mean_field_strength"]
        < named("MgO", elements)["mean_field_strength"]
    )


def test_mixed_cation_compound_is_neutral(elements):
    d = named("NaAlSiO4", elements)
    assert d["min_z"] == pytest.approx(1.0) and d["max_z"] == pytest.approx(4.0)
    assert d["n_cation_elements"] == 3


def test_bad_formula_is_an_input_error(elements):
    with pytest.raises(InvalidInputError, match="unknown element symbol"):
        compound_descriptors("XyO2", elements)


def test_table_adds_unseen_compounds_on_the_fly(elements, tmp_path):
    table = DescriptorTable.build(["SiO2", "Na2O", "CaO"], elements)
    assert table.scaled().shape == (3, N_DESCRIPTORS)
    i = table.index_of("Tl2O")
    assert i == 3 and table.scaled().shape == (4, N_DESCRIPTORS)
    assert table.index_of("Tl2O") == 3  # computed once
    table.to_json(tmp_path / "d.json")
    elements.to_json(tmp_path / "e.json")
    back = DescriptorTable.from_json(
        tmp_path / "d.json", ElementTable.from_json(tmp_path / "e.json")
    )
    np.testing.assert_allclose(back.scaled(), table.scaled(), atol=1e-4)


def test_encode_pads_and_normalises(elements):
    table = DescriptorTable.build(["SiO2", "Na2O", "CaO"], elements)
    index, fraction, extra = encode(
        [{"SiO2": 0.75, "Na2O": 0.25}, {"CaO": 2.0, "SiO2": 0.0}], table
    )
    assert index.shape == fraction.shape == (2, 2) and extra.shape == (0, N_DESCRIPTORS)
    np.testing.assert_allclose(fraction.sum(axis=1), 1.0)
    assert fraction[1, 1] == 0  # padding
    assert table.formulas[index[1, 0]] == "CaO"


@pytest.mark.parametrize(
    ("formula", "oxide"),
    [
        ("SiO2", True),
        ("NaAlSiO4", True),
        ("CaF2", False),
        ("NaCl", False),
        ("Pd", False),
        ("As2S3", False),
        ("Xx", False),
    ],
)
def test_oxide_filter(formula, oxide):
    assert is_oxide_compound(formula) is oxide


def test_encode_never_changes_the_shared_table(elements):
    """Compounds the table lacks get rows of the request alone (issue #22 item 8: a shared
    table that grew under concurrent requests gave IndexErrors and wrong descriptors)."""
    table = DescriptorTable.build(["SiO2", "Na2O"], elements)
    index, _, extra = encode([{"SiO2": 0.7, "TiO2": 0.2, "Tl2O": 0.1}, {"Tl2O": 1.0}], table)
    assert len(table) == 2 and table.formulas == ["SiO2", "Na2O"]  # unchanged
    assert index[0].tolist() == [0, 2, 3] and index[1, 0] == 3  # one row per new compound
    np.testing.assert_array_equal(extra[0], compound_descriptors("TiO2", elements))
    np.testing.assert_array_equal(extra[1], compound_descriptors("Tl2O", elements))
    again = encode([{"Tl2O": 1.0}], table)  # another request: its own numbering
    assert again[0][0, 0] == 2 and len(table) == 2
