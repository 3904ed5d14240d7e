"""core.chem.composition: formulas, molar masses, composition parsing in every format."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem

from core.chem.composition import (
    COMMON_GLASS_COMPONENTS,
    MAX_COMPONENTS,
    element_fractions,
    format_composition,
    molar_mass,
    parse_composition,
    parse_formula,
    to_mass_fractions,
    to_mole_fractions,
)
from core.exceptions import InvalidInputError

SODA_LIME = {"SiO2": 0.75, "Na2O": 0.15, "CaO": 0.10}


def _weight(symbol: str) -> float:
    return Chem.GetPeriodicTable().GetAtomicWeight(symbol)


def _close(a: dict[str, float], b: dict[str, float], tol: float = 1e-9) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], abs_tol=tol) for k in a)


def test_importing_the_module_loads_neither_rdkit_nor_pandas() -> None:
    code = (
        "import sys, core.chem.composition; print(sorted({'rdkit', 'pandas'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


# --- formulas ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "counts"),
    [
        ("Al2O3", {"Al": 2, "O": 3}),
        ("(NH4)2O", {"N": 2, "H": 8, "O": 1}),
        ("Ca3(PO4)2", {"Ca": 3, "P": 2, "O": 8}),
        ("Fe2O3", {"Fe": 2, "O": 3}),
        ("F2", {"F": 2}),
        ("OH", {"O": 1, "H": 1}),
        ("Na0.5K0.5NbO3", {"Na": 0.5, "K": 0.5, "Nb": 1, "O": 3}),
        ("K4[Fe(CN)6]", {"K": 4, "Fe": 1, "C": 6, "N": 6}),
        (" SiO₂ ", {"Si": 1, "O": 2}),
    ],
)
def test_parse_formula(formula: str, counts: dict[str, float]) -> None:
    assert parse_formula(formula) == counts


def test_molar_masses_match_the_periodic_table() -> None:
    assert molar_mass("SiO2") == pytest.approx(60.08, abs=0.01)
    assert molar_mass("Na2O") == pytest.approx(61.98, abs=0.01)
    assert molar_mass("Ca3(PO4)2") == pytest.approx(
        3 * _weight("Ca") + 2 * _weight("P") + 8 * _weight("O")
    )


@pytest.mark.parametrize(
    ("formula", "fragment"),
    [
        ("Xx2O", "unknown element symbol 'Xx'"),
        ("Si(O2", "unclosed '('"),
        ("SiO2)", "unmatched ')'"),
        ("Ca3(PO4]2", "unmatched ']'"),
        ("()", "empty brackets"),
        ("2SiO2", "unexpected '2SiO2'"),
        ("Si02", "starts with a zero"),
        ("H0", "count 0"),
        ("Si-O2", "unexpected '-O2'"),
        ("", "empty"),
    ],
)
def test_malformed_formula_names_the_bad_part(formula: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_formula(formula)
    assert fragment in str(info.value)
    assert formula in str(info.value)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("SIO2", "SiO2"), ("na2o", "Na2O"), ("al2o3", "Al2O3"), ("SNO2", "SnO2"), ("PBO", "PbO")],
)
def test_wrong_capitals_of_a_common_component_are_not_silently_accepted(
    typed: str, meant: str
) -> None:
    with pytest.raises(InvalidInputError, match=f"did you mean {meant}") as info:
        parse_formula(typed)
    assert info.value.suggestion == meant
    assert info.value.entry == typed


def test_common_components_are_valid_and_distinct_ignoring_case() -> None:
    assert len(COMMON_GLASS_COMPONENTS) >= 40
    assert len({c.casefold() for c in COMMON_GLASS_COMPONENTS}) == len(COMMON_GLASS_COMPONENTS)
    assert all(molar_mass(c) > 0 for c in COMMON_GLASS_COMPONENTS)


# --- parse_composition: accepted formats -------------------------------------------


@pytest.mark.parametrize(
    "given_as",
    [
        "SiO2 75, Na2O 15, CaO 10",
        "SiO2: 75; Na2O: 15; CaO: 10",
        "SiO2=0.75, Na2O=0.15, CaO=0.10",
        "75 SiO2, 15 Na2O, 10 CaO",
        "SiO2 75\nNa2O 15\nCaO 10\n",
        "SiO2\t75\nNa2O\t15\nCaO\t10",
        "SiO2 75%, Na2O 15 %, CaO 10%",
        "75% SiO2; 15%Na2O; 10 % CaO",
        "75 mol% SiO2, 15 mol% Na2O, 10 mol% CaO",
        "75SiO2-15Na2O-10CaO",
        "75 SiO2 – 15 Na2O – 10 CaO",
        "75SiO2·15Na2O·10CaO",
        "75.00 SiO2 · 15.00 Na2O · 10.00 CaO",
        "CaO 10, SiO2 75, Na2O 15",
        {"SiO2": 75, "Na2O": 15, "CaO": 10},
        {"SiO2": "75%", "Na2O": 15.0, "CaO": 10},
        {"SiO2": 75, "Na2O": 15, "CaO": 10, "MgO": 0},
        [("SiO2", 75), ("Na2O", 15), ("CaO", 10)],
        [["SiO2", 7.5], ["Na2O", 1.5], ["CaO", 1.0], [None, None], ["", float("nan")]],
        pd.Series({"SiO2": 75, "Na2O": 15, "CaO": 10}),
        pd.DataFrame({"Oxide": ["SiO2", "Na2O", "CaO"], "mol%": [75, 15, 10]}),
        pd.DataFrame(
            {"note": ["a", "b", "c"], "component": ["SiO2", "Na2O", "CaO"], "amount": [75, 15, 10]}
        ),
        pd.DataFrame({"x": ["SiO2", "Na2O", "CaO"], "y": [75, 15, 10]}),
        pd.DataFrame(
            {
                "component": ["SiO2", "Na2O", "CaO", None],
                "wt%": [70, 20, 10, None],
                "mol%": [75, 15, 10, None],
            }
        ),
    ],
)
def test_every_accepted_format_gives_the_canonical_dict(given_as: object) -> None:
    result = parse_composition(given_as)
    assert _close(result, SODA_LIME)
    assert list(result) == ["SiO2", "Na2O", "CaO"]


@pytest.mark.parametrize("basis", ["mol", "mol%", "Mole", "MOL %"])
def test_mol_basis_spellings(basis: str) -> None:
    assert _close(parse_composition("SiO2 75, Na2O 15, CaO 10", basis), SODA_LIME)


def test_weight_percent_soda_lime_gives_mole_fractions_from_molar_masses() -> None:
    o, si, na, ca = (_weight(s) for s in ("O", "Si", "Na", "Ca"))
    moles = {"SiO2": 75 / (si + 2 * o), "Na2O": 15 / (2 * na + o), "CaO": 10 / (ca + o)}
    expected = {k: v / sum(moles.values()) for k, v in moles.items()}
    for basis in ("wt", "wt%", "weight", "mass"):
        assert _close(parse_composition("SiO2 75, Na2O 15, CaO 10", basis), expected)
    assert _close(parse_composition("75 wt% SiO2, 15 wt% Na2O, 10 wt% CaO", "wt"), expected)
    assert expected["SiO2"] == pytest.approx(0.748, abs=1e-3)


def test_result_is_ordered_by_fraction_then_name() -> None:
    result = parse_composition("Na2O 10, CaO 10, SiO2 80")
    assert list(result) == ["SiO2", "CaO", "Na2O"]


def test_expect_total_within_tolerance_is_accepted() -> None:
    result = parse_composition("SiO2 75.2, Na2O 15, CaO 10", expect_total=100)
    assert sum(result.values()) == pytest.approx(1)


# --- parse_composition: rejected input ---------------------------------------------


@pytest.mark.parametrize(
    ("given_as", "fragments", "entry"),
    [
        ("", ["empty"], None),
        ("  ;, ", ["empty"], None),
        ({}, ["empty"], None),
        ("SiO2 abc, Na2O 25", ["SiO2", "not a number", "'abc'"], "SiO2"),
        ("SiO2 -5, Na2O 25", ["SiO2", "negative"], "SiO2"),
        ({"SiO2": float("nan"), "Na2O": 25}, ["SiO2", "NaN"], "SiO2"),
        ("SiO2 nan, Na2O 25", ["SiO2", "NaN"], "SiO2"),
        ({"SiO2": float("inf")}, ["SiO2", "infinite"], "SiO2"),
        ({"SiO2": None}, ["SiO2", "missing"], "SiO2"),
        ({"SiO2": pd.NA}, ["SiO2", "missing"], "SiO2"),
        ({"SiO2": " "}, ["SiO2", "missing"], "SiO2"),
        ({"SiO2": True}, ["SiO2", "not a number"], "SiO2"),
        ("SiO2 0, Na2O 0", ["all amounts are zero"], "total"),
        ("SiO2 75, Na2O 15, SiO2 10", ["SiO2", "twice"], "SiO2"),
        ("SiO2 75, O2Si 25", ["twice", "'SiO2' and 'O2Si'"], "O2Si"),
        ("SiO2 75, sio2 25", ["did you mean SiO2"], "sio2"),
        ("SIO2 75, Na2O 25", ["did you mean SiO2"], "SIO2"),
        ("Xx2O 5, SiO2 95", ["Xx2O", "unknown element symbol 'Xx'"], "Xx2O"),
        ("SiO2 75 Na2O 25", ["'SiO2 75 Na2O 25'", "4 parts"], "SiO2 75 Na2O 25"),
        ("SiO2, Na2O 25", ["no amount given for SiO2"], "SiO2"),
        ("SiO2 Na2O", ["two formulas"], "SiO2 Na2O"),
        ("SiO2 75,5", ["'5'", "decimals"], "5"),
        ("SiO2 75 wt%, Na2O 25 wt%", ["wt%", "basis is 'mol'"], "SiO2 75 wt%"),
        ([("SiO2", 75, 3)], ["row 1", "pair"], "row 1"),
        ([(None, 75)], ["missing formula in row 1"], "row 1"),
        (pd.DataFrame({"Oxide": ["SiO2"], "wt%": [100.0]}), ["'wt%'", "basis is 'mol'"], "wt%"),
        (pd.DataFrame({"a": [1], "b": [2]}), ["which table columns"], None),
        (42, ["must be text, a mapping or table rows"], None),
    ],
)
def test_bad_compositions_name_the_problem_and_the_entry(
    given_as: object, fragments: list[str], entry: str | None
) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_composition(given_as)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert info.value.entry == entry


def test_unknown_basis_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="unknown composition basis 'atoms'"):
        parse_composition("SiO2 100", basis="atoms")


def test_expect_total_reports_the_sum_and_the_difference() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_composition("SiO2 75, Na2O 15, CaO 5", expect_total=100)
    message = str(info.value)
    assert "add up to 95" in message and "difference -5" in message
    assert info.value.entry == "total"


def test_too_many_components() -> None:
    many = {f"C{n}H{2 * n + 2}": 1 for n in range(1, MAX_COMPONENTS + 2)}
    with pytest.raises(InvalidInputError, match=f"too many components \\({MAX_COMPONENTS + 1}"):
        parse_composition(many)
    parse_composition(dict(list(many.items())[:MAX_COMPONENTS]))


# --- conversions and display -------------------------------------------------------


def test_element_fractions_of_soda_lime() -> None:
    atoms = {"Si": 0.75, "O": 0.75 * 2 + 0.15 + 0.10, "Na": 0.30, "Ca": 0.10}
    total = sum(atoms.values())
    assert _close(element_fractions(SODA_LIME), {k: v / total for k, v in atoms.items()})


def test_format_composition_round_trips() -> None:
    text = format_composition(SODA_LIME)
    assert text == "75.00 SiO2 · 15.00 Na2O · 10.00 CaO"
    assert _close(parse_composition(text), SODA_LIME)
    wt_text = format_composition(parse_composition("SiO2 75, Na2O 15, CaO 10", "wt"), "wt", 1)
    assert wt_text == "75.0 SiO2 · 15.0 Na2O · 10.0 CaO"


# --- properties --------------------------------------------------------------------

_amounts = st.floats(min_value=0.01, max_value=1000, allow_nan=False, allow_infinity=False)
_compositions = st.dictionaries(
    st.sampled_from(COMMON_GLASS_COMPONENTS), _amounts, min_size=1, max_size=12
)


def _as_text(composition: dict[str, float]) -> str:
    return ", ".join(f"{f} {a!r}" for f, a in composition.items())


@settings(max_examples=50, deadline=None)
@given(_compositions)
def test_result_is_normalised_and_positive(composition: dict[str, float]) -> None:
    for basis in ("mol", "wt"):
        result = parse_composition(_as_text(composition), basis)
        assert math.isclose(sum(result.values()), 1.0)
        assert all(x > 0 for x in result.values())
        assert result.keys() == composition.keys()


@settings(max_examples=50, deadline=None)
@given(_compositions)
def test_weight_to_mole_to_weight_round_trip(composition: dict[str, float]) -> None:
    total = sum(composition.values())
    expected = {f: a / total for f, a in composition.items()}
    assert _close(to_mass_fractions(parse_composition(composition, "wt")), expected, 1e-9)
    assert _close(to_mole_fractions(to_mass_fractions(expected)), expected, 1e-9)


@settings(max_examples=50, deadline=None)
@given(_compositions, st.randoms(use_true_random=False))
def test_entry_order_does_not_matter(composition: dict[str, float], rnd) -> None:
    items = list(composition.items())
    rnd.shuffle(items)
    assert parse_composition(dict(items)) == parse_composition(composition)
    assert parse_composition(_as_text(dict(items))) == parse_composition(composition)


@settings(max_examples=50, deadline=None)
@given(_compositions, st.floats(min_value=1e-3, max_value=1e3))
def test_scaling_all_amounts_changes_nothing(composition: dict[str, float], k: float) -> None:
    scaled = {f: a * k for f, a in composition.items()}
    for basis in ("mol", "wt"):
        assert _close(parse_composition(scaled, basis), parse_composition(composition, basis))


@pytest.mark.parametrize(
    "given",
    ["SiO2 1e308, Na2O 1e308", {"SiO2": 1e308, "Na2O": 1e308}, "SiO2 1e13, Na2O 1"],
)
@pytest.mark.parametrize("basis", ["mol", "wt"])
def test_absurdly_large_amounts_are_a_clear_error_not_an_overflow(given, basis):
    with pytest.raises(InvalidInputError, match="absurdly large"):
        parse_composition(given, basis)


@pytest.mark.parametrize("formula", ["Si" + "9" * 400 + "O2", "Si1001O2", "(Si999O2)999"])
def test_absurd_formula_counts_are_refused(formula):
    """Issue #22 item 10: 'Si' + 400 digits + 'O2' gave NaN predictions with no error."""
    with pytest.raises(InvalidInputError, match="absurdly"):
        parse_formula(formula)
    with pytest.raises(InvalidInputError, match="absurdly"):
        parse_composition({formula: 1.0, "Na2O": 1.0})


def test_entered_total_is_the_sum_before_normalising():
    from core.chem.composition import entered_total

    assert entered_total("SiO2 120, Na2O 30") == 150
    assert entered_total({"SiO2": 0.75, "Na2O": 0.25}) == 1.0
    with pytest.raises(InvalidInputError):
        entered_total("SiO2 70, Na2O lots")


@pytest.mark.parametrize("basis", ["mol", "wt"])
def test_table_rows_read_as_parse_composition_reads_each_row(basis):
    """The table reader gives every row exactly parse_composition's fractions or error
    message: plain rows (vectorised) and rows with text, negative, absurd, blank or zero
    cells (read one by one) alike."""
    import pandas as pd

    from core.chem.composition import _zero_or_blank, parse_composition_rows

    numeric = pd.DataFrame(
        {
            "SiO2": [75, 70.5, 0, None, 60, 1e13],
            "Na2O": [15, 29.5, 0, 20, 40, 1],
            "CaO": [10, 0, 0, 5, -3, 1],
        }
    )
    mixed = pd.DataFrame({"SiO2": [75, "abc", "", 60.0], "Na2O ": [25, 10, 5, "12%"]})
    for table in (numeric, mixed):
        cols = list(table.columns)
        got = parse_composition_rows(table, cols, basis)
        for row, result in zip(table.itertuples(index=False, name=None), got, strict=True):
            entry = {str(c): v for c, v in zip(cols, row, strict=True) if not _zero_or_blank(v)}
            try:
                expected = parse_composition(entry, basis)
            except InvalidInputError as err:
                assert isinstance(result, InvalidInputError) and str(result) == str(err)
            else:
                assert result == expected and list(result) == list(expected)
    assert isinstance(parse_composition_rows(numeric, list(numeric.columns))[2], InvalidInputError)
