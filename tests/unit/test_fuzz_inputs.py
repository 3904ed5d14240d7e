"""Any text in, either a result or InvalidInputError out, nothing else (issue #22): the
parsers every page and the API put user input through, fed by Hypothesis (bounded)."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.exceptions import InvalidInputError, StudioError

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
SMILES_ALPHABET = "CNOSPFIBrcnosp()[]=#@+-/\\%0123456789.Hl Ω\u200b\t\n"
smiles_like = st.text(alphabet=SMILES_ALPHABET, max_size=40) | st.text(max_size=40)
composition_like = st.text(alphabet=string.printable + "·×–%", max_size=60) | st.text(max_size=60)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.text(max_size=10),
    st.none(),
    st.booleans(),
)


def _either(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except InvalidInputError:
        return None


@FUZZ
@given(smiles_like)
def test_parse_smiles_gives_a_molecule_or_invalid_input(text):
    from core.chem.molecules import parse_smiles

    _either(parse_smiles, text)


@FUZZ
@given(composition_like, st.sampled_from(["mol", "wt"]))
def test_parse_composition_text(text, basis):
    from core.chem.composition import parse_composition

    result = _either(parse_composition, text, basis)
    if result is not None:
        assert abs(sum(result.values()) - 1) < 1e-9 and all(v > 0 for v in result.values())


@FUZZ
@given(st.dictionaries(st.sampled_from(["SiO2", "Na2O", "CaO", "B2O3", "Xx", "", "sio2"]), numbers))
def test_parse_composition_mapping(mapping):
    from core.chem.composition import parse_composition

    _either(parse_composition, mapping)


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_molecule_batch_files(data):
    from core.models.molecules import read_batch_table

    for name in ("upload.csv", "upload.sdf", "upload.xyz"):
        _either(read_batch_table, data, name)


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_glass_batch_csv_and_recipe_uploads(data):
    from core.models.glass_report import read_batch_csv
    from core.optimize.tables import read_csv_upload

    _either(read_batch_csv, data, "glasses.csv")
    _either(read_csv_upload, data)


@FUZZ
@given(st.binary(max_size=400))
def test_3d_structure_files(data):
    from core.chem.molecules import mol_from_file

    for name in ("x.sdf", "x.mol", "x.xyz"):
        _either(mol_from_file, data, name)


@pytest.fixture(scope="module")
def glass_model():
    from core.models.glass import load_predictor

    return load_predictor()


@FUZZ
@given(st.lists(composition_like, min_size=1, max_size=3))
def test_glass_predictions_of_any_text_are_rows_with_errors(glass_model, texts):
    rows = glass_model.predict(texts)
    assert len(rows) == len(texts)
    bad = rows["error"] != ""
    assert rows.loc[~bad, "Tg"].notna().all()


@FUZZ
@given(st.lists(numbers, min_size=0, max_size=4))
def test_viscosity_temperatures(glass_model, temps):
    _either(glass_model.viscosity, {"SiO2": 75, "Na2O": 25}, temps)


@pytest.fixture(scope="module")
def generator():
    from core.generate.molecules import load_generator

    return load_generator()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.dictionaries(st.sampled_from(["logp", "sas", "mw", "qed", "tpsa", "gap", "x"]), numbers),
    st.one_of(st.none(), smiles_like),
    st.one_of(st.integers(-5, 3), st.floats(allow_nan=True), st.text(max_size=3)),
)
def test_generator_requests_are_answered_or_refused(generator, conditions, fragment, n):
    try:
        generator.sample(n, conditions, seed=0, fragment=fragment)
    except StudioError:
        pass


# Found by the fuzz tests above, kept as plain regression tests:
def test_a_400_digit_integer_amount_is_refused_not_an_overflow():
    from core.chem.composition import parse_composition

    with pytest.raises(InvalidInputError, match="absurdly large"):
        parse_composition({"SiO2": 10**400, "Na2O": 1})


def test_a_csv_upload_with_a_stray_carriage_return_and_nul_is_refused():
    from core.models.glass_report import read_batch_csv

    with pytest.raises(InvalidInputError):
        read_batch_csv(b"\r\x00", "x.csv")


def test_a_400_digit_temperature_is_refused_not_an_overflow(glass_model):
    with pytest.raises(InvalidInputError, match="absurdly large"):
        glass_model.viscosity({"SiO2": 75, "Na2O": 25}, [10**400])
