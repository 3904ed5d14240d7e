"""Measured tables of a campaign: uploads read, columns checked, variables inferred.

Tables are checked column by column (missing, non-numeric, NaN, constant) and every problem is
an :class:`~core.exceptions.InvalidInputError` saying what was wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from core.config import UPLOAD_LIMITS_BYTES
from core.exceptions import InvalidInputError
from core.optimize.parts import CategoricalVariable, ContinuousVariable, FixedVariable, Variable
from core.optimize.search_space import SearchSpace

MIN_ROWS = 3
MAX_ROWS = 100_000


def _rows(index: Iterable, limit: int = 8) -> str:
    rows = [str(int(i) + 1) if isinstance(i, (int, np.integer)) else str(i) for i in index]
    return ", ".join(rows[:limit]) + (f" (+{len(rows) - limit} more)" if len(rows) > limit else "")


def check_table(
    df: pd.DataFrame,
    space: SearchSpace,
    *,
    what: str = "The table",
    min_rows: int = MIN_ROWS,
    fill_fixed: bool = False,
) -> pd.DataFrame:
    """The measured rows of ``df`` as a clean table (variables + measured objectives), or an
    :class:`InvalidInputError` naming the column/rows that are wrong and how to fix them."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(
            f"{what} is not a table",
            got=type(df).__name__,
            expected="a pandas DataFrame",
            fix="read the CSV with pandas",
        )
    if len(df) > MAX_ROWS:
        raise InvalidInputError(
            f"{what} is too large",
            got=f"{len(df):,} rows",
            expected=f"at most {MAX_ROWS:,} rows",
            fix="keep the experiments of this campaign only",
        )
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    if fill_fixed:
        for v in space.variables:
            if isinstance(v, FixedVariable) and v.name not in df.columns:
                df[v.name] = v.value
    needed = space.names + [o.name for o in space.measured_objectives]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"{what} lacks column(s) {missing}",
            got=list(df.columns)[:20],
            expected=f"columns {needed}",
            fix="rename the columns or map them again",
        )
    out = pd.DataFrame(index=df.index)
    for v in space.variables:
        col = df[v.name]
        if isinstance(v, CategoricalVariable):
            labels = col.astype("string").str.strip()
            bad = labels.isna() | ~labels.isin(v.choices)
            if bad.any():
                raise InvalidInputError(
                    f"Column {v.name!r} has labels outside its choices",
                    got=f"{sorted(set(labels[bad].fillna('<empty>')))[:5]} in rows "
                    f"{_rows(np.flatnonzero(bad))}",
                    expected=f"one of {list(v.choices)}",
                    fix="correct those cells",
                    entry=v.name,
                )
            out[v.name] = labels.astype(object)
        else:
            out[v.name] = _numeric(col, v.name, what)
    for o in space.measured_objectives:
        out[o.name] = _numeric(df[o.name], o.name, what)
    if len(out) < min_rows:
        raise InvalidInputError(
            f"{what} has too few rows",
            got=len(out),
            expected=f"at least {min_rows}",
            fix="add more measured recipes",
        )
    return out.reset_index(drop=True)


def _numeric(col: pd.Series, name: str, what: str) -> pd.Series:
    values = pd.to_numeric(col, errors="coerce")
    text = col.astype("string").str.strip()
    non_numeric = values.isna() & text.notna() & (text != "")
    if non_numeric.any():
        rows = np.flatnonzero(non_numeric)
        raise InvalidInputError(
            f"Column {name!r} in {what.lower()} is not numeric",
            got=f"{list(text[non_numeric].head(3))} in rows {_rows(rows)}",
            expected="numbers (decimal point, no units in the cells)",
            fix="remove text and units from those cells",
            entry=name,
        )
    missing = values.isna() | ~np.isfinite(values.astype(float))
    if missing.any():
        raise InvalidInputError(
            f"Column {name!r} in {what.lower()} has missing values",
            got=f"empty or non-finite cells in rows {_rows(np.flatnonzero(missing))}",
            expected="a number in every row",
            fix="fill them in or delete those rows",
            entry=name,
        )
    return values.astype(float)


def infer_variables(df: pd.DataFrame, names: Sequence[str]) -> tuple[Variable, ...]:
    """Continuous variables with the columns' observed range as bounds (a constant column is
    an error: make it a :class:`FixedVariable` instead)."""
    out: list[Variable] = []
    for name in names:
        if name not in df.columns:
            raise InvalidInputError(
                f"No column {name!r}",
                got=list(df.columns)[:20],
                expected="a column of the table",
                fix="pick another column",
            )
        values = _numeric(df[name], name, "the table")
        lo, hi = float(values.min()), float(values.max())
        if lo == hi:
            raise InvalidInputError(
                f"Column {name!r} is constant",
                got=f"every row = {lo:g}",
                expected="a column that varies",
                fix="leave it out or make it a fixed variable",
                entry=name,
            )
        out.append(ContinuousVariable(name, lo, hi))
    return tuple(out)


MAX_UPLOAD_BYTES = UPLOAD_LIMITS_BYTES["campaign_table"]


def read_csv_upload(raw: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> pd.DataFrame:
    """An uploaded CSV as a table, or a clear error (too large, not text, not a table)."""
    import io

    if len(raw) > max_bytes:
        raise InvalidInputError(
            "The file is too large",
            got=f"{len(raw) / 1e6:.1f} MB",
            expected=f"at most {max_bytes / 1e6:.0f} MB",
            fix="upload only this campaign's recipes and results",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInputError(
            "The file is not UTF-8 text",
            got="binary or another encoding",
            expected="a CSV file saved as UTF-8",
            fix="export it again as 'CSV UTF-8'",
        ) from None
    if not text.strip():
        raise InvalidInputError(
            "The file is empty",
            got="0 rows",
            expected="a CSV table",
            fix="check you picked the right file",
        )
    import csv

    try:  # comma, semicolon (European spreadsheets) or tab
        sep = csv.Sniffer().sniff(text[:20_000], delimiters=",;\t").delimiter
    except csv.Error:
        sep = ","
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep)
    except (pd.errors.ParserError, ValueError) as err:
        raise InvalidInputError(
            "The file is not a readable CSV table",
            got=str(err)[:200],
            expected="one header row and one row per recipe",
            fix="check separators and quotes",
        ) from None
    if df.shape[1] < 2:
        raise InvalidInputError(
            "The table has fewer than two columns",
            got=list(df.columns),
            expected="recipe columns and at least one result column",
            fix="use commas or semicolons between columns",
        )
    return df
