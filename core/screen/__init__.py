"""Batch screening: the page predictors over files of any size, streamed in chunks.

``python -m core.screen molecules|glasses IN OUT`` (see :mod:`core.screen.__main__`) or
:func:`screen` from Python. The local engine runs here; a Ray engine is not built yet.
"""

from core.screen.run import ScreenSummary, screen

__all__ = ["ScreenSummary", "screen"]
