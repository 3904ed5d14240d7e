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


def test_fit_trees_fits_then_refits_the_correction_on_the_blend(calls, monkeypatch, tmp_path):
    import json

    import core.train.glass.trees as trees

    (tmp_path / "card.json").write_text(
        json.dumps(
            {
                "train_config": {"seed": 3, "trees": ""},
                "reproduce": ["python -m core.train.glass assemble --seed 3 --members 4"],
            }
        )
    )
    got = {}
    monkeypatch.setattr(
        trees,
        "fit_trees",
        lambda folder, d, desc, props, seed: (calls.append("trees"), got.update(p=props, s=seed)),
    )
    main(["fit-trees", "--out", str(tmp_path), "--trees", "Tg,CTE"])
    assert calls == ["trees", "correction", "evaluate", "calibrate", "checksums"]
    assert got == {"p": ("Tg", "CTE"), "s": 3}
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["train_config"]["trees"] == "Tg,CTE"
    assert card["reproduce"][-1].endswith("--members 4 --trees Tg,CTE")


def test_fit_trees_names_an_unknown_property(calls, tmp_path):
    import json

    from core.exceptions import InvalidInputError

    (tmp_path / "card.json").write_text(json.dumps({"train_config": {"seed": 0}}))
    with pytest.raises(InvalidInputError, match="Tgg"):
        main(["fit-trees", "--out", str(tmp_path), "--trees", "Tgg"])
    assert calls == []
