"""Stages, progress and cancellation of one piece of heavy work.

Heavy work (a recommendation round, :func:`core.optimize.recommender.recommend`) runs in
named stages; a :class:`Progress` passed to it records the CPU and wall seconds of each, reports the
current stage to a callback (the page shows it while the round runs in the background) and
raises :class:`Cancelled` at the next check once :meth:`Progress.cancel` was
called. Checks happen between stages and at every acquisition evaluation, so a cancel takes
effect within one optimiser step.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.exceptions import StudioError

# What each stage name means to a user (the stages of a recommendation round, in order).
STAGE_LABELS = {
    "fit": "Fitting the surrogate",
    "acquisition": "Setting up the acquisition",
    "optimise": "Optimising the acquisition",
    "repair": "Checking the constraints",
    "predict": "Predicting the suggestions",
    "search": "Searching compositions with the glass model",
    "rank": "Ranking and checking the model's domain",
}


class Cancelled(StudioError):
    """The work was cancelled before it finished; nothing it would have changed changed."""


@dataclass(frozen=True)
class StageUpdate:
    """What a round is doing now: ``stage`` (see :data:`STAGES`), its ``label``, and
    ``done`` of ``total`` steps of it (suggestions for the optimiser, else 0 of 1)."""

    stage: str
    label: str
    done: int
    total: int


class Progress:
    """Timings, progress reports and a cancel switch for one job (thread-safe: the job
    runs in one thread, :meth:`cancel` and :attr:`latest` are read from another)."""

    def __init__(self, callback: Callable[[StageUpdate], None] | None = None) -> None:
        self._callback = callback
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self.cpu_s: dict[str, float] = {}
        self.wall_s: dict[str, float] = {}
        self.latest: StageUpdate | None = None
        self.evaluations = 0  # acquisition evaluations so far

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if :meth:`cancel` was called."""
        if self._cancel.is_set():
            raise Cancelled("Cancelled before it finished; nothing was changed.")

    def report(self, stage: str, done: int = 0, total: int = 1) -> None:
        update = StageUpdate(stage, STAGE_LABELS.get(stage, stage), done, total)
        with self._lock:
            self.latest = update
        if self._callback is not None:
            self._callback(update)
        self.check()

    @contextlib.contextmanager
    def stage(self, name: str, done: int = 0, total: int = 1):
        """Time the block as stage ``name`` (CPU seconds of this process, summed over its
        threads, and wall seconds); stages entered twice add up."""
        self.report(name, done, total)
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            yield self
        finally:
            self.cpu_s[name] = self.cpu_s.get(name, 0.0) + time.process_time() - cpu
            self.wall_s[name] = self.wall_s.get(name, 0.0) + time.perf_counter() - wall

    def tick(self) -> None:
        """One acquisition evaluation (the optimiser's inner loop): count it and check."""
        self.evaluations += 1
        self.check()
