"""The code version written into model cards."""

from __future__ import annotations

import subprocess

import pytest

from core.provenance import git_version


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "trained_models").mkdir()
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "table.txt").write_text("a\n")
    (tmp_path / "core" / "model.py").write_text("x = 1\n")
    (tmp_path / "trained_models" / "card.json").write_text("{}\n")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "member3.ckpt").write_bytes(b"epoch 38")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return tmp_path


def test_changed_weights_do_not_make_the_code_dirty(repo):
    clean = git_version(repo)
    assert len(clean) >= 7 and "+" not in clean
    (repo / "trained_models" / "card.json").write_text('{"new": 1}\n')
    assert git_version(repo) == clean


def test_new_benchmark_results_do_not_make_the_code_dirty(repo):
    clean = git_version(repo)
    (repo / "benchmarks" / "results" / "table.txt").write_text("b\n")
    assert git_version(repo) == clean


def test_a_training_checkpoint_does_not_make_the_code_dirty(repo):
    # a member still training rewrites its checkpoint every epoch while others are evaluated
    clean = git_version(repo)
    (repo / "checkpoints" / "member3.ckpt").write_bytes(b"epoch 39")
    assert git_version(repo) == clean


def test_changed_code_is_dirty(repo):
    (repo / "core" / "model.py").write_text("x = 2\n")
    assert git_version(repo).endswith("+dirty")


def test_outside_a_repository_is_unknown(tmp_path):
    assert git_version(tmp_path / "nowhere") == "unknown"
