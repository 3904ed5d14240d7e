"""Damaged model files give one ModelFileError naming the file and the fix, on every
model (issue #22 item 4: raw SafetensorError, JSONDecodeError, KeyError, ...)."""

from __future__ import annotations

import shutil

import pytest

from core.config import REPO_ROOT
from core.exceptions import ModelNotAvailableError
from core.models.integrity import ModelFileError, record_checksums, verify

MODELS = REPO_ROOT / "trained_models"


@pytest.fixture
def copy(tmp_path):
    def make(name: str):
        folder = tmp_path / name
        shutil.copytree(MODELS / name, folder)
        return folder

    return make


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def test_shipped_models_match_their_recorded_checksums():
    for card in sorted(MODELS.glob("*/card.json")):
        verify(card.parent)  # raises if a shipped file differs from its card


@pytest.mark.parametrize(
    "damage",
    [
        "truncated weights",
        "empty weights",
        "garbage card",
        "list card",
        "empty card",
        "no domain file",
        "truncated index",
    ],
)
def test_damaged_glass_model_is_one_clear_error(copy, damage):
    from core.models.glass import GlassPredictor

    folder = copy("glass")
    if damage == "truncated weights":
        _truncate(folder / "model.safetensors")
    elif damage == "empty weights":
        (folder / "model.safetensors").write_bytes(b"")
    elif damage == "garbage card":
        (folder / "card.json").write_text("{not json")
    elif damage == "list card":
        (folder / "card.json").write_text("[]")
    elif damage == "empty card":
        (folder / "card.json").write_text("{}")
    elif damage == "no domain file":
        (folder / "domain.json").unlink()
    else:
        _truncate(folder / "knn_index.safetensors")
    with pytest.raises(ModelFileError) as caught:
        GlassPredictor(folder)
    message = str(caught.value)
    assert str(folder) in message and "How to fix" in message
    assert isinstance(caught.value, ModelNotAvailableError)  # pages already show these


def test_unlisted_damage_while_loading_is_still_a_model_file_error(copy):
    """A card without checksums (older models): loading errors are wrapped too."""
    from core.models.glass import GlassPredictor

    folder = copy("glass")
    import json

    card = json.loads((folder / "card.json").read_text())
    card.pop("files")
    del card["config"]  # a damaged card: a KeyError while loading
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="KeyError"):
        GlassPredictor(folder)


@pytest.mark.parametrize("damage", ["no member config", "truncated weights", "no card"])
def test_damaged_molecule_model_is_one_clear_error(copy, damage):
    import json

    from core.models.molecules import MoleculePredictor

    folder = copy("qm9_painn")
    if damage == "no member config":
        card = json.loads((folder / "card.json").read_text())
        del card["members"][1]["model_config"]
        (folder / "card.json").write_text(json.dumps(card))
    elif damage == "truncated weights":
        _truncate(folder / "model.safetensors")
    else:
        (folder / "card.json").unlink()  # the calibration would silently be gone
    with pytest.raises(ModelFileError, match="How to fix"):
        MoleculePredictor(folder, "cpu")


def test_damaged_generators_are_one_clear_error(copy):
    from core.generate.glass import _load
    from core.generate.molecules import MoleculeGenerator

    folder = copy("smiles_gpt_moses")
    _truncate(folder / "model.safetensors")
    with pytest.raises(ModelFileError):
        MoleculeGenerator.from_folder(folder)
    folder = copy("glass_diffusion")
    (folder / "card.json").write_text("{}")
    with pytest.raises(ModelFileError):
        _load(str(folder), "cpu")


def test_the_sidebar_lists_a_damaged_model_with_its_problem(copy, tmp_path):
    from core.models.registry import list_model_cards

    folder = copy("smiles_gpt_qm9")
    copy("glass_diffusion")
    _truncate(folder / "model.safetensors")
    cards = {c["name"]: c for c in list_model_cards(tmp_path)}
    assert "not the file this model shipped with" in cards["smiles_gpt_qm9"]["error"]
    assert cards["glass_diffusion"]["error"] is None


def test_recorded_checksums_round_trip(copy):
    folder = copy("smiles_gpt_qm9")
    files = record_checksums(folder)
    assert list(files) == ["model.safetensors"] and len(files["model.safetensors"]) == 64
    verify(folder)
