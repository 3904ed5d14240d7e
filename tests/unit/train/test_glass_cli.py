"""`python -m core.train.glass evaluate` rescoring a model: test metrics and calibration
again, the weights and the measured-neighbour correction left alone."""

from __future__ import annotations

import pytest
import torch

import core.models.integrity as integrity
import core.train.glass.calibration as calibration
import core.train.glass.correction as correction
import core.train.glass.data as data_module
import core.train.glass.evaluate as evaluate
from core.train.glass.__main__ import main


@pytest.fixture
def calls(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(data_module, "data_for", lambda folder, d, desc: ("data", "desc"))
    monkeypatch.setattr(
        correction, "fit_neighbour_correction", lambda *a: seen.append("correction")
    )
    monkeypatch.setattr(evaluate, "evaluate_test", lambda *a: seen.append("evaluate"))
    monkeypatch.setattr(calibration, "calibrate", lambda *a: seen.append("calibrate"))
    monkeypatch.setattr(integrity, "record_checksums", lambda folder: seen.append("checksums"))
    threads = torch.get_num_threads()  # main() sets one thread for the whole process
    yield seen
    torch.set_num_threads(threads)


def test_evaluate_rescores_without_refitting_the_correction(calls, tmp_path):
    main(["evaluate", "--out", str(tmp_path)])
    assert calls == ["evaluate", "calibrate", "checksums"]


def test_fit_correction_refits_then_rescores(calls, tmp_path):
    main(["fit-correction", "--out", str(tmp_path)])
    assert calls == ["correction", "evaluate", "calibrate", "checksums"]
