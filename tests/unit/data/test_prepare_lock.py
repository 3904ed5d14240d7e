"""Two processes (or threads) preparing one dataset into one cache take turns (issue #22
item 17: they shared a temporary file name without a lock), and the one that finds the
work done says so instead of 'ready (0.0 s)'."""

from __future__ import annotations

import threading
import types

import core.data as data


def test_concurrent_prepares_take_turns_and_the_second_finds_it_ready(studio_env, monkeypatch):
    state = {"inside": 0, "most": 0, "prepared": False}
    guard = threading.Lock()
    started = threading.Event()

    def prepare(force=False):
        with guard:
            state["inside"] += 1
            state["most"] = max(state["most"], state["inside"])
        started.set()
        if not state["prepared"]:
            threading.Event().wait(0.3)  # a slow conversion, so a second caller would overlap
            state["prepared"] = True
        with guard:
            state["inside"] -= 1

    fake = types.SimpleNamespace(INFO=object(), prepare=prepare)
    monkeypatch.setattr(data, "module", lambda name: fake)
    monkeypatch.setattr(data, "is_prepared", lambda info: state["prepared"])
    results = []
    first = threading.Thread(target=lambda: results.append(data.prepare(["qm9"])))
    first.start()
    started.wait(timeout=60)
    second = data.prepare(["qm9"])  # blocks on the lock until the first is done
    first.join(timeout=60)
    assert state["most"] == 1  # never two at once
    assert results == [{"qm9": "prepared"}] and second == {"qm9": "already prepared"}
