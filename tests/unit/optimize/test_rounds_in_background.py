"""A recommendation round reports its stages, can be cancelled, and runs in the bounded
background queue (issue #24: rounds in the background with progress and cancel; issue #22:
threads bounded per job, a queue with a visible waiting state)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import torch

from core.exceptions import StudioError
from core.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, JobQueue
from core.optimize import Campaign, ContinuousVariable, Objective, RecommenderSettings
from core.optimize.recommender import STAGES
from core.progress import Cancelled, Progress

FAST = RecommenderSettings(num_restarts=2, raw_samples=32, mc_samples=32, maxiter=30)
WAIT_S = 600  # generous: the machine may be busy; every wait ends on a visible state


def campaign() -> Campaign:
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 1, 12), rng.uniform(0, 1, 12)
    df = pd.DataFrame({"a": a, "b": b, "y": -((a - 0.6) ** 2) - (b - 0.3) ** 2})
    return Campaign.from_table(
        df,
        [ContinuousVariable("a", 0, 1), ContinuousVariable("b", 0, 1)],
        [Objective("y")],
        settings=FAST,
    )


def test_round_reports_every_stage_in_order_and_times_it():
    seen = []
    progress = Progress(callback=lambda u: seen.append((u.stage, u.done, u.total)))
    out = campaign().recommend(3, progress=progress)
    assert len(out) == 3
    stages = list(dict.fromkeys(stage for stage, _, _ in seen))
    assert stages == list(STAGES)
    # the sequential optimiser reports each suggestion it fixes: 1 of 3, 2 of 3
    assert ("optimise", 1, 3) in seen and ("optimise", 2, 3) in seen
    assert set(progress.cpu_s) == set(STAGES) and all(v >= 0 for v in progress.cpu_s.values())
    assert progress.evaluations > 0


def test_cancelled_round_leaves_the_campaign_unchanged():
    c = campaign()
    progress = Progress()

    def cancel_in_optimiser(update):
        if update.stage == "optimise":
            progress.cancel()

    progress._callback = cancel_in_optimiser
    with pytest.raises(Cancelled):
        c.recommend(2, progress=progress)
    assert c.suggestions is None
    assert len(c.recommend(2)) == 2  # and the next round works


def gate_job(queue: JobQueue, release: threading.Event, started: threading.Event):
    def work(progress):
        started.set()
        while not release.wait(0.05):
            progress.check()
        return torch.get_num_threads()

    return queue.submit(work, "blocker")


def test_queue_runs_jobs_in_order_shows_waiting_and_cancels_queued_ones():
    queue = JobQueue(workers=1)
    release, started = threading.Event(), threading.Event()
    first = gate_job(queue, release, started)
    assert started.wait(WAIT_S)
    ran = []
    second = queue.submit(lambda p: ran.append("second") or 2, "second")
    third = queue.submit(lambda p: ran.append("third") or 3, "third")
    assert first.status().state == RUNNING
    status = third.status()
    assert status.state == QUEUED and status.position == 2 and "1 ahead" in status.label
    assert second.status().position == 1
    third.cancel()  # a queued job that is cancelled never runs
    assert third.status().state == CANCELLED
    release.set()
    assert first.wait(WAIT_S) and second.wait(WAIT_S)
    assert first.status().state == DONE and second.result == 2
    assert first.result == 1  # the worker's torch threads (MDS_JOB_THREADS default)
    assert ran == ["second"]


def test_running_job_stops_at_its_next_check_and_failures_carry_the_message():
    queue = JobQueue(workers=1)
    release, started = threading.Event(), threading.Event()
    job = gate_job(queue, release, started)
    assert started.wait(WAIT_S)
    job.cancel()
    assert job.wait(WAIT_S) and job.status().state == CANCELLED

    def broken(progress):
        raise StudioError("The campaign has no measured recipes")

    failed = queue.submit(broken, "broken")
    assert failed.wait(WAIT_S)
    status = failed.status()
    assert status.state == FAILED and status.error == "The campaign has no measured recipes"

    crash = queue.submit(lambda p: 1 / 0, "crash")
    assert crash.wait(WAIT_S) and crash.status().state == FAILED
    assert "ZeroDivisionError" in crash.status().error
    ok = queue.submit(lambda p: "still serving", "after")  # the worker outlived both
    assert ok.wait(WAIT_S) and ok.result == "still serving"


def test_worker_thread_limit_does_not_touch_the_callers_threads(monkeypatch):
    before = torch.get_num_threads()  # 1 here (this package's conftest)
    monkeypatch.setenv("MDS_JOB_THREADS", str(before + 1))
    job = JobQueue(workers=1).submit(lambda p: torch.get_num_threads(), "threads")
    assert job.wait(WAIT_S) and job.result == before + 1
    assert torch.get_num_threads() == before


def test_campaign_round_in_the_queue_shows_stages_and_finishes():
    c = campaign()
    labels = []
    queue = JobQueue(workers=1)
    job = queue.submit(lambda p: c.recommend(2, progress=p), "round")
    while not job.wait(0.05):
        labels.append(job.status().label)
    assert job.status().state == DONE, job.status().error
    assert len(job.result) == 2 and c.suggestions is not None
    assert job.status().fraction == 1.0
