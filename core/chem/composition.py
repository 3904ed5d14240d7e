"""Chemical formulas and oxide/fluoride compositions (glasses, ceramics).

Conventions:

* Molar masses in g/mol from RDKit's periodic table (IUPAC standard atomic weights).
* A *composition* is a ``dict[str, float]`` of **mole fractions** summing to 1, ordered
  by descending fraction then formula, zero entries dropped. Every function taking
  "fractions" expects mole fractions; :func:`to_mass_fractions` is the only way out to
  mass fractions and :func:`format_composition` converts for display when asked.
* Formulas are kept as written (the *canonical written form*): outer whitespace removed
  and Unicode subscripts (``SiO₂``) turned into ASCII digits; ``Na2O`` is never rewritten
  to Hill order. Two spellings of the same atoms (``Na2O``, ``ONa2``) count as duplicates.
* Case matters: ``SIO2`` is sulfur-iodine-oxygen as written, so text that is not exactly
  one of :data:`COMMON_GLASS_COMPONENTS` but equals one ignoring case is rejected with
  "did you mean SiO2?" (``suggestion="SiO2"``) instead of being silently accepted.

Accepted composition text (entries separated by ``,`` ``;`` newlines or ``·``):
``"SiO2 75, Na2O 15, CaO 10"``, ``"SiO2: 75; Na2O: 15"``, ``"SiO2=75"``, ``"75 SiO2"``,
``"75% SiO2"``, ``"SiO2 75 wt%"``, tab-separated lines pasted from a spreadsheet, and glass
notation ``"75SiO2-15Na2O-10CaO"`` / ``"75SiO2·15Na2O·10CaO"``. A unit written in an
entry (``mol%``, ``wt%``) must agree with ``basis``. Decimal commas are not supported
(``,`` separates entries), nor hydrates such as ``CaSO4·2H2O`` (``·`` separates entries).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping

from core.exceptions import InvalidInputError

MAX_COMPONENTS = 60
# Amounts are percent, fractions or parts: anything above this is a typo (1e308 overflowed
# the exact sum)
MAX_AMOUNT = 1e12
# Atoms of one element in a formula unit: far above any real compound (Na0.5K0.5NbO3 to
# zeolite-like unit cells), far below float trouble
MAX_FORMULA_COUNT = 1000.0

# fmt: off
COMMON_GLASS_COMPONENTS: tuple[str, ...] = (
    # network formers and intermediates
    "SiO2", "B2O3", "Al2O3", "P2O5", "GeO2", "TeO2", "V2O5", "As2O3", "Sb2O3", "Bi2O3",
    "Ga2O3", "TiO2", "ZrO2", "SnO2", "Nb2O5", "Ta2O5", "WO3", "MoO3", "SO3",
    # modifiers
    "Li2O", "Na2O", "K2O", "Rb2O", "Cs2O", "BeO", "MgO", "CaO", "SrO", "BaO", "ZnO", "CdO",
    "PbO", "Ag2O", "Cu2O", "CuO", "FeO", "Fe2O3", "MnO", "MnO2", "Cr2O3", "CoO", "NiO",
    # rare earths
    "La2O3", "Y2O3", "CeO2", "Nd2O3", "Gd2O3", "Er2O3", "Yb2O3", "Eu2O3", "Sm2O3",
    # fluorides
    "LiF", "NaF", "KF", "MgF2", "CaF2", "SrF2", "BaF2", "AlF3", "ZnF2", "PbF2", "LaF3",
)
_COMMON_BY_CASEFOLD = {c.casefold(): c for c in COMMON_GLASS_COMPONENTS}

_BASES = {
    "mol": "mol", "mole": "mol", "mol%": "mol", "mole%": "mol", "molar": "mol",
    "molefraction": "mol", "wt": "wt", "wt%": "wt", "wt.%": "wt", "weight": "wt",
    "weight%": "wt", "mass": "wt", "mass%": "wt", "massfraction": "wt",
}
# fmt: on
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_FORMULA_EXAMPLE = "element symbols with counts, e.g. SiO2, Al2O3, (NH4)2O, Ca3(PO4)2"
_ENTRY_SEPARATORS = re.compile(r"[,;\n\r·•⋅∙]")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_GLUED = re.compile(rf"({_NUMBER})\s*([A-Za-z(\[].*)")
_GLASS_UNIT = rf"{_NUMBER}\s*%?\s*[A-Za-z(\[][A-Za-z0-9.()\[\]]*"
_GLASS_NOTATION = re.compile(rf"{_GLASS_UNIT}(?:\s*[-–]\s*{_GLASS_UNIT})+")
_UNIT = re.compile(r"(mole?|wt\.?|weight|mass)?\s*%", re.IGNORECASE)


@functools.cache
def _atomic_weights() -> dict[str, float]:
    from rdkit import Chem  # lazy: importing this module must stay cheap

    table = Chem.GetPeriodicTable()
    return {table.GetElementSymbol(z): table.GetAtomicWeight(z) for z in range(1, 119)}


def _bad_formula(
    formula: str, problem: str, *, fix: str | None = None, suggestion: str | None = None
) -> InvalidInputError:
    return InvalidInputError(
        f"formula {formula!r}: {problem}",
        got=formula,
        expected=_FORMULA_EXAMPLE,
        fix=fix or (f"write {suggestion}" if suggestion else "check element symbols and capitals"),
        entry=formula,
        suggestion=suggestion,
    )


def _normalise_formula(formula: object) -> str:
    if not isinstance(formula, str):
        raise InvalidInputError(
            "a formula must be text",
            got=repr(formula),
            expected=_FORMULA_EXAMPLE,
            entry=repr(formula),
        )
    text = formula.strip().translate(_SUBSCRIPTS)
    if not text:
        raise InvalidInputError(
            "formula is empty", got=repr(formula), expected=_FORMULA_EXAMPLE, entry=""
        )
    known = _COMMON_BY_CASEFOLD.get(text.casefold())
    if known is not None and known != text:
        raise _bad_formula(text, f"wrong capitals (did you mean {known}?)", suggestion=known)
    return text


@functools.lru_cache(maxsize=4096)
def _parse_normalised(formula: str) -> tuple[tuple[str, float], ...]:
    weights = _atomic_weights()
    counts: dict[str, float] = {}
    stack: list[tuple[str, dict[str, float]]] = []  # (opening bracket, counts outside it)
    number = re.compile(r"\d*\.\d+|\d+")
    symbol = re.compile(r"[A-Z][a-z]*")
    i = 0
    while i < len(formula):
        char = formula[i]
        if char in "([":
            stack.append((char, counts))
            counts, i = {}, i + 1
            continue
        if char in ")]" or symbol.match(formula, i):
            if char in ")]":
                if not stack or "([".index(stack[-1][0]) != ")]".index(char):
                    raise _bad_formula(formula, f"unmatched {char!r} at position {i + 1}")
                if not counts:
                    raise _bad_formula(formula, f"empty brackets before position {i + 1}")
                group, (_, counts) = counts, stack.pop()
                i += 1
            else:
                name = symbol.match(formula, i).group()
                if name not in weights:
                    raise _bad_formula(formula, f"unknown element symbol {name!r}")
                group, i = {name: 1.0}, i + len(name)
            m = number.match(formula, i)
            mult = float(m.group()) if m else 1.0
            if m and mult == 0:
                raise _bad_formula(formula, f"count 0 after {formula[:i]!r}")
            if m and re.match(r"0\d", m.group()):  # "Si02": a zero typed for the letter O
                raise _bad_formula(
                    formula, f"count {m.group()!r} starts with a zero", fix="use the letter O"
                )
            if mult > MAX_FORMULA_COUNT:  # "Si" + 400 digits + "O2" gave NaN predictions
                raise _bad_formula(
                    formula,
                    f"count {m.group()[:12]}{'…' if len(m.group()) > 12 else ''} after "
                    f"{formula[:i][-12:]!r} is absurdly large (at most {MAX_FORMULA_COUNT:g})",
                )
            i = m.end() if m else i
            for el, n in group.items():
                counts[el] = counts.get(el, 0.0) + n * mult
            continue
        raise _bad_formula(formula, f"unexpected {formula[i:]!r} at position {i + 1}")
    if stack:
        raise _bad_formula(formula, f"unclosed {stack[-1][0]!r}")
    if not counts:
        raise _bad_formula(formula, "no element symbols")
    big = next((el for el, n in counts.items() if n > MAX_FORMULA_COUNT), None)
    if big is not None:  # nested groups multiply: (Si999O2)999
        raise _bad_formula(
            formula, f"{counts[big]:g} {big} atoms is absurdly many (at most {MAX_FORMULA_COUNT:g})"
        )
    return tuple(counts.items())


def parse_formula(formula: str) -> dict[str, float]:
    """Element counts of a formula, in order of first appearance.

    Supports nested ``()``/``[]`` groups and decimal counts (``Na0.5K0.5NbO3``).

    Raises:
        InvalidInputError: empty, malformed, unknown element symbol, zero count, or a common
            glass component with wrong capitals (``suggestion`` holds the right spelling).
    """
    return dict(_parse_normalised(_normalise_formula(formula)))


def molar_mass(formula: str) -> float:
    """Molar mass in g/mol, e.g. ``molar_mass("SiO2") == 60.084``."""
    weights = _atomic_weights()
    return math.fsum(n * weights[el] for el, n in parse_formula(formula).items())


def _basis(basis: object) -> str:
    key = re.sub(r"[\s_-]", "", basis.lower()) if isinstance(basis, str) else None
    if key not in _BASES:
        raise InvalidInputError(
            f"unknown composition basis {basis!r}",
            got=repr(basis),
            expected="'mol' (mol%, mole) or 'wt' (wt%, weight, mass)",
            entry=str(basis),
        )
    return _BASES[key]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_formula(text: str) -> bool:
    try:
        parse_formula(text)
    except InvalidInputError:
        return False
    return True


def _unparsable(piece: str, why: str) -> InvalidInputError:
    return InvalidInputError(
        f"cannot read entry {piece!r}: {why}",
        got=piece,
        expected="entries like 'SiO2 75' or '75 SiO2' separated by commas, or 75SiO2-25Na2O",
        fix="write one formula and one amount per entry",
        entry=piece,
    )


def _pieces(text: str) -> list[str]:
    pieces = []
    for piece in (p.strip() for p in _ENTRY_SEPARATORS.split(text)):
        if _GLASS_NOTATION.fullmatch(piece):
            pieces.extend(p.strip() for p in re.split(r"\s*[-–]\s*(?=[\d.])", piece))
        elif piece:
            pieces.append(piece)
    return pieces


def _parse_piece(piece: str, basis: str) -> tuple[str, str]:
    """``(formula, amount text)`` of one text entry; the amount is checked later."""
    units = {m.group(1).lower().rstrip(".") for m in _UNIT.finditer(piece) if m.group(1)}
    unit_basis = {"mole": "mol", "weight": "wt", "mass": "wt"}
    for unit in units:
        if unit_basis.get(unit, unit) != basis:
            raise InvalidInputError(
                f"entry {piece!r} is given in {unit}% but the composition basis is {basis!r}",
                got=piece,
                expected=f"amounts in {basis}%",
                fix=f"choose basis {unit_basis.get(unit, unit)!r} or remove the unit",
                entry=piece,
            )
    tokens = [t for t in re.split(r"\s*[:=]\s*|\s+", _UNIT.sub(" ", piece).strip()) if t]
    if len(tokens) == 1:
        glued = _GLUED.fullmatch(tokens[0])
        if glued:
            return glued.group(2), glued.group(1)
        if _is_formula(tokens[0]):
            raise _unparsable(piece, f"no amount given for {tokens[0]}")
        if _is_number(tokens[0]):
            hint = " (',' separates entries: write decimals with '.')"
            raise _unparsable(piece, "an amount without a formula" + hint)
        parse_formula(tokens[0])  # raises with the formula's own problem
    if len(tokens) != 2:
        raise _unparsable(piece, f"expected a formula and an amount, found {len(tokens)} parts")
    first, second = tokens
    if _is_number(first) and not _is_number(second):
        return second, first
    if _is_number(second):
        return first, second
    if _is_formula(first) and _is_formula(second):
        raise _unparsable(piece, "two formulas and no amount (separate entries with commas)")
    if _is_formula(second) or (second[:1].isupper() and not first[:1].isupper()):
        return second, first
    return first, second


def _blank(value: object) -> bool:
    """None, blank text, NaN or pandas' NA: an empty table cell."""
    if value is None or isinstance(value, str):
        return value is None or not value.strip()
    try:
        return bool(value != value)  # NaN is the only value unequal to itself
    except TypeError:  # pandas.NA refuses bool()
        return True
    except ValueError:  # an array: not a cell value
        return False


def _amount(value: object, formula: str, where: str) -> float:
    """A finite, non-negative amount; ``where`` locates it in the input (e.g. " in row 3")."""
    text = value.strip().removesuffix("%").strip() if isinstance(value, str) else value
    problem = None
    if _blank(text) and not isinstance(value, float):
        problem = "missing"
    elif isinstance(value, bool):
        problem = f"not a number ({value!r})"
    else:
        try:
            x = float(text)
        except OverflowError:  # an integer with hundreds of digits
            problem = f"absurdly large (at most {MAX_AMOUNT:g})"
        except (TypeError, ValueError):
            problem = f"not a number ({value!r})"
        else:
            if math.isnan(x):
                problem = "NaN (missing or not a number)"
            elif math.isinf(x):
                problem = f"infinite ({value!r})"
            elif x < 0:
                problem = f"negative ({x:g})"
            elif x > MAX_AMOUNT:
                problem = f"absurdly large ({x:g}; at most {MAX_AMOUNT:g})"
    if problem:
        raise InvalidInputError(
            f"amount of {formula}{where} is {problem}",
            got=repr(value),
            expected="a finite number >= 0 (percent or fraction)",
            fix=f"enter a non-negative number for {formula}, or remove it",
            entry=formula,
        )
    return x


def _unit_of(header: object) -> str | None:
    name = str(header).lower()
    if re.search(r"\b(wt|weight|mass)", name):
        return "wt"
    return "mol" if re.search(r"\bmol", name) else None


def _frame_rows(frame, basis: str) -> list[tuple[object, object, str]]:
    """Rows of a two-column (component, amount) pandas DataFrame."""
    import pandas as pd  # only reached when given a DataFrame, so pandas is loaded already

    columns = list(frame.columns)
    name_like = re.compile(r"component|oxide|formula|compound|species|constituent|name", re.I)
    amount_like = re.compile(r"amount|mol|wt|weight|mass|frac|percent|%|value|content", re.I)
    names = [c for c in columns if name_like.search(str(c))]
    names = names or [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
    amounts = [c for c in columns if amount_like.search(str(c)) and c not in names[:1]]
    amounts = amounts or [
        c
        for c in columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    amounts = [c for c in amounts if _unit_of(c) == basis] or amounts
    if not names or not amounts:
        raise InvalidInputError(
            "cannot tell which table columns hold the components and the amounts",
            got=f"columns {[str(c) for c in columns]}",
            expected="a text column such as 'component' and a number column such as 'mol%'",
            fix="rename the columns to 'component' and 'amount'",
        )
    if _unit_of(amounts[0]) not in (None, basis):
        raise InvalidInputError(
            f"column {amounts[0]!r} holds {_unit_of(amounts[0])}% but the basis is {basis!r}",
            got=str(amounts[0]),
            expected=f"amounts in {basis}%",
            fix=f"choose basis {_unit_of(amounts[0])!r}",
            entry=str(amounts[0]),
        )
    rows = frame[[names[0], amounts[0]]].itertuples(index=False, name=None)
    return [(f, a, f" in row {i}") for i, (f, a) in enumerate(rows, start=1)]


def _raw_entries(composition: object, basis: str) -> list[tuple[object, object, str]]:
    """``(formula, amount, where)`` triples from any accepted input form, not yet checked."""
    if isinstance(composition, str):
        return [(*_parse_piece(p, basis), f" in {p!r}") for p in _pieces(composition)]
    if hasattr(composition, "columns") and hasattr(composition, "itertuples"):
        return _frame_rows(composition, basis)
    if isinstance(composition, Mapping) or callable(getattr(composition, "items", None)):
        return [(f, a, "") for f, a in composition.items()]  # dict, pandas Series
    if isinstance(composition, Iterable) and not isinstance(composition, (bytes, bytearray)):
        rows = []
        for i, row in enumerate(composition, start=1):
            if isinstance(row, str) or not isinstance(row, Iterable) or len(row := list(row)) != 2:
                raise InvalidInputError(
                    f"row {i} is not a (formula, amount) pair",
                    got=repr(row),
                    expected="pairs such as ('SiO2', 75)",
                    entry=f"row {i}",
                )
            rows.append((row[0], row[1], f" in row {i}"))
        return rows
    raise InvalidInputError(
        "composition must be text, a mapping or table rows",
        got=type(composition).__name__,
        expected="'SiO2 75, Na2O 25', {'SiO2': 75, 'Na2O': 25} or [('SiO2', 75), ('Na2O', 25)]",
    )


def _ordered(values: dict[str, float]) -> dict[str, float]:
    total = math.fsum(values.values())  # exact, so entry order cannot change the result
    return {k: v / total for k, v in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))}


def parse_composition(
    composition: object,
    basis: str = "mol",
    *,
    expect_total: float | None = None,
    tolerance: float = 0.5,
) -> dict[str, float]:
    """Normalised mole fractions of a composition given as text, mapping or table.

    Args:
        composition: text (formats in the module docstring), a ``{formula: amount}``
            mapping or pandas Series, an iterable of ``(formula, amount)`` rows, or a pandas
            DataFrame with a component column and an amount column (found by header names
            like ``component``/``oxide`` and ``amount``/``mol%``/``wt%``, else the first
            text and first numeric column). Fully blank rows are skipped.
        basis: ``"mol"`` or ``"wt"`` (also ``mol%``, ``mole``, ``wt%``, ``weight``, ``mass``).
        expect_total: if given, the raw amounts must add up to it within ``tolerance``.
        tolerance: allowed absolute deviation from ``expect_total``.

    Returns:
        ``{formula: mole fraction}``, summing to 1, descending, zero entries dropped.

    Raises:
        InvalidInputError: ``entry`` names the offending formula or text piece.
    """
    basis = _basis(basis)
    raw = [r for r in _raw_entries(composition, basis) if not (_blank(r[0]) and _blank(r[1]))]
    if not raw:
        raise InvalidInputError(
            "the composition is empty", got=repr(composition), expected="at least one entry"
        )
    if len(raw) > MAX_COMPONENTS:
        raise InvalidInputError(
            f"too many components ({len(raw)}, at most {MAX_COMPONENTS})",
            expected=f"at most {MAX_COMPONENTS} components",
            fix="merge minor components or drop trace ones",
        )
    amounts: dict[str, float] = {}
    seen: dict[tuple[tuple[str, float], ...], str] = {}
    for formula, value, where in raw:
        if _blank(formula):
            raise InvalidInputError(
                f"missing formula{where}",
                got=repr(formula),
                expected=f"a formula for the amount {value!r}",
                entry=where.strip().removeprefix("in ") or "formula",
            )
        name = _normalise_formula(formula)
        atoms = tuple(sorted(parse_formula(name).items()))
        if atoms in seen:
            same = "" if seen[atoms] == name else f" (as {seen[atoms]!r} and {name!r})"
            raise InvalidInputError(
                f"{name} is listed twice{same}",
                got=f"a second entry{where}" if where else None,
                fix="give each component once (add the amounts up if both are meant)",
                entry=name,
            )
        seen[atoms] = name
        amounts[name] = _amount(value, name, where)
    total = math.fsum(amounts.values())
    if total == 0:
        raise InvalidInputError(
            "all amounts are zero", expected="at least one positive amount", entry="total"
        )
    if expect_total is not None and abs(total - expect_total) > tolerance:
        raise InvalidInputError(
            f"amounts add up to {total:g}, not {expect_total:g} "
            f"(difference {total - expect_total:+g}, tolerance {tolerance:g})",
            got=f"sum {total:g}",
            expected=f"a total of {expect_total:g}",
            fix="check for a missing or mistyped component",
            entry="total",
        )
    if basis == "wt":
        amounts = {f: w / molar_mass(f) for f, w in amounts.items()}
    return _ordered({f: x for f, x in amounts.items() if x > 0})


def parse_composition_rows(
    amounts, formulas: list[str], basis: str = "mol"
) -> list[dict[str, float] | InvalidInputError]:
    """Each row of a table with one amount column per formula, as :func:`parse_composition`
    reads ``{formula: amount}`` of the row's non-zero, non-blank cells (the same fractions,
    or the same error for that row), at table speed.

    ``amounts``: a 2-D array-like (rows x ``formulas``), e.g. ``frame[formulas]``. Rows of
    plain non-negative numbers take a vectorised check; any other row (text, negative,
    absurd amounts, two spellings of one compound) goes through :func:`parse_composition`
    itself, so its message is that function's.
    """
    import numpy as np
    import pandas as pd

    basis = _basis(basis)
    table = pd.DataFrame(amounts)
    n = len(table)
    fast = np.zeros(n, dtype=bool)
    values = np.zeros((n, len(formulas)))
    names: list[str] | None = None
    wt = False
    try:
        names = [_normalise_formula(str(f)) for f in formulas]
        atoms = [tuple(sorted(parse_formula(f).items())) for f in names]
        wt = basis == "wt"
    except InvalidInputError:
        names = None
    numeric = all(
        pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
        for c in table.columns
    )
    if names is not None and numeric and len(set(atoms)) == len(atoms):
        values = table.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isnan(values), 0.0, values)  # blank cells: not entered
        nonzero = (values != 0).sum(axis=1)
        fast = (
            np.isfinite(values).all(axis=1)
            & (values >= 0).all(axis=1)
            & (values <= MAX_AMOUNT).all(axis=1)
            & (nonzero > 0)
            & (nonzero <= MAX_COMPONENTS)
        )
    out: list[dict[str, float] | InvalidInputError] = []
    cells = table.itertuples(index=False, name=None)
    for i, row in enumerate(cells):
        if fast[i]:
            x = values[i]
            keep = np.flatnonzero(x)
            amounts_i = {names[j]: float(x[j]) for j in keep}
            if wt:
                amounts_i = {f: w / molar_mass(f) for f, w in amounts_i.items()}
            out.append(_ordered(amounts_i))
            continue
        entry = {str(f): v for f, v in zip(formulas, row, strict=True) if not _zero_or_blank(v)}
        try:
            out.append(parse_composition(entry, basis))
        except InvalidInputError as err:
            out.append(err)
    return out


def _zero_or_blank(value: object) -> bool:
    """An empty or zero table cell: the component is not in that row."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return float(value) == 0 or value != value
    except (TypeError, ValueError):
        return False


def entered_total(composition: object, basis: str = "mol") -> float:
    """The sum of the amounts as entered, before normalising (``"SiO2 120, Na2O 30"`` ->
    150), for saying that they were scaled. Reads the entries as :func:`parse_composition`
    does and raises on a bad amount; call it on input that function accepted."""
    basis = _basis(basis)
    return math.fsum(
        _amount(value, _normalise_formula(formula), where)
        for formula, value, where in _raw_entries(composition, basis)
        if not _blank(formula)
    )


def to_mass_fractions(mole_fractions: object) -> dict[str, float]:
    """Mass fractions (sum 1, descending) of a mole-fraction composition."""
    x = parse_composition(mole_fractions, "mol")
    return _ordered({f: xi * molar_mass(f) for f, xi in x.items()})


def to_mole_fractions(mass_fractions: object) -> dict[str, float]:
    """Mole fractions of a mass-fraction composition (inverse of :func:`to_mass_fractions`)."""
    return parse_composition(mass_fractions, "wt")


def element_fractions(mole_fractions: object) -> dict[str, float]:
    """Atomic fractions of the elements (sum 1, descending), e.g. O ≈ 0.6 in soda-lime."""
    atoms: dict[str, list[float]] = {}
    for formula, xi in parse_composition(mole_fractions, "mol").items():
        for el, n in parse_formula(formula).items():
            atoms.setdefault(el, []).append(xi * n)
    return _ordered({el: math.fsum(parts) for el, parts in atoms.items()})


def format_composition(fractions: object, basis: str = "mol", digits: int = 2) -> str:
    """Display string in percent, e.g. ``"75.00 SiO2 · 15.00 Na2O · 10.00 CaO"``.

    ``fractions`` are mole fractions (any input :func:`parse_composition` accepts);
    ``basis="wt"`` shows the corresponding wt% instead. The result parses back with
    :func:`parse_composition`.
    """
    x = parse_composition(fractions, "mol")
    shown = to_mass_fractions(x) if _basis(basis) == "wt" else x
    return " · ".join(f"{100 * v:.{digits}f} {f}" for f, v in shown.items())
