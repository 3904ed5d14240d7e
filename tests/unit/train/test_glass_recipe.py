"""Recipe helpers of the glass training: a member's Tg network and reused joint networks."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch
from safetensors.torch import save_file

from core.exceptions import InvalidInputError
from core.train.glass.data import TrainConfig
from core.train.glass.fit import joint_members, tg_config


def test_tg_network_recipe_drops_the_viscosity_losses_and_keeps_the_rest():
    cfg = TrainConfig(seed=3, epochs=60, tg_epochs=100, tg_network=1, lr=1e-3, joint_from="x")
    tg = tg_config(cfg)
    assert (tg.visc_weight, tg.offset_weight, tg.epochs, tg.seed, tg.lr) == (0.0, 0.0, 100, 3, 1e-3)
    changed = {k for k, v in asdict(tg).items() if v != asdict(cfg)[k]}
    assert changed == {"visc_weight", "offset_weight", "epochs", "tg_network", "joint_from"}


def _model(folder, train_config: dict, seeds=(0, 1)) -> None:
    folder.mkdir()
    card = {"train_config": train_config, "seeds": list(seeds)}
    (folder / "card.json").write_text(json.dumps(card))
    weights = {}
    for i, s in enumerate(seeds):
        weights[f"member{i}.trunk.w"] = torch.full((2,), float(s))
        weights[f"member{i}.tg_net.trunk.w"] = torch.zeros(2)
    save_file(weights, str(folder / "model.safetensors"))


def test_joint_networks_are_reused_by_seed_only_from_the_same_recipe(tmp_path):
    cfg = TrainConfig(tg_network=1, joint_from=str(tmp_path / "same"))
    # an older card without the Tg-network fields, another seed and job count: same recipe
    _model(tmp_path / "same", {"epochs": 60, "lr": 2e-3, "seed": 5, "jobs": 1})
    members = joint_members(tmp_path / "same", cfg)
    assert sorted(members) == [0, 1]
    assert set(members[1]["joint"]) == {"trunk.w"}
    assert members[1]["tg"] == []  # its card has no Tg recipe: its Tg network is not reused
    assert members[1]["joint"]["trunk.w"].tolist() == [1.0, 1.0]
    _model(tmp_path / "other", {"epochs": 40, "visc_weight": 0.5})
    with pytest.raises(InvalidInputError, match="epochs.*visc_weight"):
        joint_members(tmp_path / "other", cfg)


def test_a_stopped_run_skips_only_members_trained_with_the_same_recipe(tmp_path):
    from core.train.glass.fit import member_done

    cfg = TrainConfig(seed=0, members=4, jobs=2, epochs=60)
    (tmp_path / "_members").mkdir()
    assert not member_done(tmp_path, 0, cfg)
    save_file({"w": torch.zeros(1)}, str(tmp_path / "_members" / "seed0.safetensors"))
    assert not member_done(tmp_path, 0, cfg)  # weights without their record
    record = {"seed": 0, "train_config": asdict(TrainConfig(seed=0, members=1, jobs=1))}
    (tmp_path / "_members" / "seed0.json").write_text(json.dumps(record))
    assert member_done(tmp_path, 0, cfg)  # another job/member count: same weights
    assert not member_done(tmp_path, 1, cfg)
    # trained alone (python -m core.train.glass train --members 1 --seed 1): the same member
    save_file({"w": torch.zeros(1)}, str(tmp_path / "_members" / "seed1.safetensors"))
    record = {"seed": 1, "train_config": asdict(TrainConfig(seed=1, members=1, jobs=1))}
    (tmp_path / "_members" / "seed1.json").write_text(json.dumps(record))
    assert member_done(tmp_path, 1, cfg)
    assert not member_done(tmp_path, 0, TrainConfig(seed=0, members=4, epochs=40))
    # trees are an assembly step: members trained before the field existed are still done
    assert member_done(tmp_path, 0, TrainConfig(seed=0, members=4, trees="Tg"))


def test_tg_networks_are_reused_only_from_the_same_tg_recipe_and_never_more_than_asked(tmp_path):
    recipe = {"epochs": 60, "tg_network": 1, "tg_epochs": 100}
    _model(tmp_path / "one", recipe)
    two = TrainConfig(tg_network=2, tg_epochs=100, joint_from=str(tmp_path / "one"))
    members = joint_members(tmp_path / "one", two)
    assert [len(m["tg"]) for m in members.values()] == [1, 1]  # the second one is trained
    assert set(members[0]["tg"][0]) == {"trunk.w"}
    longer = TrainConfig(tg_network=2, tg_epochs=150, joint_from=str(tmp_path / "one"))
    assert all(m["tg"] == [] for m in joint_members(tmp_path / "one", longer).values())
    fewer = TrainConfig(tg_network=0, joint_from=str(tmp_path / "one"))
    assert all(m["tg"] == [] for m in joint_members(tmp_path / "one", fewer).values())


def test_an_earlier_member_with_fewer_tg_networks_is_extended_not_retrained(tmp_path):
    from core.train.glass.fit import earlier_member, tg_seed, with_tg_network

    (tmp_path / "_members").mkdir()
    joint, tg0 = {"trunk.w": torch.ones(2)}, {"trunk.w": torch.zeros(2)}
    save_file(with_tg_network(joint, [tg0]), str(tmp_path / "_members" / "seed3.safetensors"))
    done = TrainConfig(seed=3, members=1, jobs=1, tg_network=1)
    record = {"seed": 3, "train_config": asdict(done), "history": [], "tg_history": []}
    (tmp_path / "_members" / "seed3.json").write_text(json.dumps(record))
    found = earlier_member(tmp_path, 3, TrainConfig(seed=0, members=4, tg_network=2))
    assert found["joint"]["trunk.w"].tolist() == [1.0, 1.0]
    assert [t["trunk.w"].tolist() for t in found["tg"]] == [[0.0, 0.0]]
    assert earlier_member(tmp_path, 3, TrainConfig(tg_network=2, epochs=40)) is None
    assert earlier_member(tmp_path, 3, TrainConfig(tg_network=0)) is None
    assert earlier_member(tmp_path, 4, TrainConfig(tg_network=2)) is None
    assert tg_seed(3, 0) == 3 and len({tg_seed(3, k) for k in range(8)}) == 8
