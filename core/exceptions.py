"""Domain errors raised by `core` and shown to users by the pages.

Every message says what was received, what was expected and how to fix it, so a page can
show it verbatim (``st.error(str(err))``) and a script user gets the same help.
"""

from __future__ import annotations


class StudioError(Exception):
    """Base class of every error `core` raises on purpose."""


class InvalidInputError(StudioError, ValueError):
    """User input that cannot be processed.

    Attributes:
        got: the offending value (or a short description of it).
        expected: what would have been accepted.
        fix: a concrete suggestion, e.g. "use the largest fragment: CCO".
        entry: the entry that caused the error (a formula, a row, a column), if any.
        suggestion: a machine-usable replacement the UI can offer (e.g. a SMILES), if any.
    """

    def __init__(
        self,
        problem: str,
        *,
        got: object = None,
        expected: str | None = None,
        fix: str | None = None,
        entry: str | None = None,
        suggestion: object = None,
    ) -> None:
        self.problem = problem
        self.got = got
        self.expected = expected
        self.fix = fix
        self.entry = entry
        self.suggestion = suggestion
        super().__init__(self._format())

    def _format(self) -> str:
        parts = [self.problem.rstrip(".") + "."]
        if self.got is not None:
            parts.append(f"Got: {self.got!s}.")
        if self.expected:
            parts.append(f"Expected: {self.expected.rstrip('.')}.")
        if self.fix:
            parts.append(f"How to fix: {self.fix.rstrip('.')}.")
        return " ".join(parts)


class DataNotAvailableError(StudioError, RuntimeError):
    """A dataset is not in the local cache (run ``python -m core.data prepare``)."""


class DataIntegrityError(StudioError, RuntimeError):
    """A downloaded file does not match its pinned sha256, or a cached file is corrupt."""


class ModelNotAvailableError(StudioError, RuntimeError):
    """A trained model folder is missing or incomplete under ``trained_models/``."""
