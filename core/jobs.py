"""A bounded queue of heavy jobs that run in the background of the app process.

Several browser sessions share one app process. Heavy calls (a recommendation round on a
campaign) go through :func:`heavy_jobs`: a FIFO queue served by a fixed number of worker
threads (``MDS_JOB_WORKERS``, default the usable CPUs), each limited to
``MDS_JOB_THREADS`` torch threads (default 1); each page run itself is limited to
``MDS_REQUEST_THREADS`` (default 1, set by ``app.py``). Torch's OpenMP thread count is per calling
thread, so a worker's limit does not touch the rest of the app. With two cores, two rounds
run side by side on one core each instead of four spinning threads fighting over two cores
(issue #22: 279 s instead of 7 s under load); a third waits in the queue and says so.

A :class:`Job` is what the page holds: its :meth:`Job.status` (queued with position,
running with stage and progress, done, failed with the message, cancelled) and
:meth:`Job.cancel`. A queued job that is cancelled never runs; a running one stops at its
next :meth:`~core.progress.Progress.check`.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.exceptions import StudioError
from core.progress import Cancelled, Progress

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return max(1, int(value))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None


def job_workers() -> int:
    """Heavy jobs that may run at once: ``MDS_JOB_WORKERS`` or the usable CPUs."""
    from core.config import cpu_count

    return _env_int("MDS_JOB_WORKERS", cpu_count())


def job_threads() -> int:
    """Torch threads of each job: ``MDS_JOB_THREADS``, default 1."""
    return _env_int("MDS_JOB_THREADS", 1)


def request_threads() -> int:
    """Torch threads of one page run (one browser session's request, in Streamlit's
    script thread): ``MDS_REQUEST_THREADS``, default 1, so that sessions at once share the
    cores instead of spinning threads fighting over them; a single-user workstation may
    raise it."""
    return _env_int("MDS_REQUEST_THREADS", 1)


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of a job for display."""

    state: str
    title: str
    label: str  # what it is doing now, e.g. "Optimising the acquisition (2 of 4)"
    fraction: float  # 0..1, rough
    position: int  # place in the queue (1 = next), 0 unless queued
    elapsed_s: float  # since it started running (0 while queued)
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


# Rough share of a round's time per stage (benchmarks/optimization_rounds.py), for a
# progress bar that moves in proportion to the time left rather than the number of stages.
_STAGE_SPAN = {
    "fit": (0.0, 0.15),
    "acquisition": (0.15, 0.2),
    "optimise": (0.2, 0.95),
    "repair": (0.95, 0.97),
    "predict": (0.97, 1.0),
}


class Job:
    """One piece of heavy work: ``fn(progress)``, run by a worker of a :class:`JobQueue`."""

    def __init__(
        self, fn: Callable[[Progress], Any], title: str, queue: JobQueue, owner: Any = None
    ):
        self.id = next(_ids)
        self.title = title
        self.owner = owner  # what the job works on (a campaign): the page checks it is current
        self.progress = Progress()
        self.result: Any = None
        self.error: BaseException | None = None
        self._fn = fn
        self._queue = queue
        self._state = QUEUED
        self._started = 0.0
        self._finished = 0.0
        self._done = threading.Event()

    @property
    def state(self) -> str:
        return self._state

    def cancel(self) -> None:
        """Stop the job: a queued one never starts, a running one stops at its next check."""
        self.progress.cancel()
        if self._queue._withdraw(self):
            try:
                self.progress.check()
            except Cancelled as err:
                self.error = err
            self._finish(CANCELLED)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (True) or ``timeout`` seconds passed (False)."""
        return self._done.wait(timeout)

    def status(self) -> JobStatus:
        state = self._state
        elapsed = 0.0
        if self._started:
            elapsed = (self._finished or time.perf_counter()) - self._started
        if state == QUEUED:
            position = self._queue._position(self)
            ahead = "next" if position <= 1 else f"{position - 1} ahead of it"
            return JobStatus(
                state, self.title, f"Waiting for a free worker ({ahead})", 0.0, position, 0.0
            )
        if state == RUNNING:
            update = self.progress.latest
            if update is None:
                return JobStatus(state, self.title, "Starting", 0.0, 0, elapsed)
            lo, hi = _STAGE_SPAN.get(update.stage, (0.0, 1.0))
            part = update.done / update.total if update.total else 0.0
            label = update.label
            if update.total > 1:
                label += f" ({min(update.done + 1, update.total)} of {update.total})"
            return JobStatus(state, self.title, label, lo + (hi - lo) * part, 0, elapsed)
        error = None if self.error is None else str(self.error)
        label = {DONE: "Finished", FAILED: "Failed", CANCELLED: "Cancelled"}[state]
        return JobStatus(state, self.title, label, 1.0 if state == DONE else 0.0, 0, elapsed, error)

    # ----------------------------------------------------------------------- worker side
    def _run(self) -> None:
        import torch

        self._state = RUNNING
        self._started = time.perf_counter()
        torch.set_num_threads(job_threads())  # this worker thread only (OpenMP per thread)
        try:
            self.progress.check()
            self.result = self._fn(self.progress)
        except Cancelled as err:
            self.error = err
            self._finish(CANCELLED)
        except StudioError as err:  # a domain error: shown as the message it carries
            self.error = err
            self._finish(FAILED)
        except Exception as err:  # noqa: BLE001 (a worker must outlive any job)
            self.error = StudioError(f"The job failed unexpectedly: {type(err).__name__}: {err}")
            self._finish(FAILED)
        else:
            self._finish(DONE)

    def _finish(self, state: str) -> None:
        self._state = state
        self._finished = time.perf_counter()
        self._done.set()


_ids = itertools.count(1)


class JobQueue:
    """FIFO of :class:`Job` served by ``workers`` daemon threads (started on first use)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pending: deque[Job] = deque()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []

    def submit(self, fn: Callable[[Progress], Any], title: str, owner: Any = None) -> Job:
        job = Job(fn, title, self, owner)
        with self._cond:
            self._pending.append(job)
            while len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._serve, name=f"heavy-job-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._cond.notify()
        return job

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                job = self._pending.popleft()
            job._run()

    def _withdraw(self, job: Job) -> bool:
        with self._cond:
            try:
                self._pending.remove(job)
            except ValueError:
                return False
            return True

    def _position(self, job: Job) -> int:
        with self._cond:
            try:
                return self._pending.index(job) + 1
            except ValueError:
                return 0


_queue: JobQueue | None = None
_queue_lock = threading.Lock()


def heavy_jobs() -> JobQueue:
    """The process-wide queue of heavy jobs (one per app process)."""
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = JobQueue(job_workers())
        return _queue
