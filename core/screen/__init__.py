"""Batch screening: the page predictors over files of any size, streamed in chunks.

``python -m core.screen molecules|glasses IN OUT`` (see :mod:`core.screen.__main__`) or
:func:`screen` from Python, on the local engine or on Ray (`engine="ray"`, see
:mod:`core.screen.ray_engine`).
"""

from core.screen.chunks import ScreenSummary
from core.screen.run import screen

__all__ = ["ScreenSummary", "screen"]
