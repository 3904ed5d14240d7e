"""Files the app offers for download, safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (CSV injection: ``=cmd|' /C calc'!A0``).
Text cells that start so get a leading apostrophe, the usual escape (OWASP); numbers,
including negative ones, are written as numbers.
"""

from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with formula-like text cells (and column names) escaped."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(_escape)
    out.columns = [_escape(c) for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV of ``frame`` without its index, formula-like text escaped."""
    return safe_frame(frame).to_csv(index=False).encode()
