from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from core.config import REPO_ROOT
from core.device import ENV_VAR, available_devices, describe_device, select_device
from core.exceptions import InvalidInputError


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize("value", ["cpu", "CPU", " cpu "])
def test_cpu_always_works(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    assert select_device() == torch.device("cpu")


def test_auto_without_gpu_is_cpu(monkeypatch, no_gpu):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert select_device() == torch.device("cpu")
    monkeypatch.setenv(ENV_VAR, "auto")
    assert select_device() == torch.device("cpu")
    assert available_devices() == ["cpu"]


def test_auto_prefers_cuda_then_mps(monkeypatch, two_gpus):
    monkeypatch.setenv(ENV_VAR, "auto")
    assert select_device() == torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert select_device() == torch.device("mps")


def test_cuda_index(monkeypatch, two_gpus):
    monkeypatch.setenv(ENV_VAR, "cuda:1")
    assert select_device() == torch.device("cuda", 1)
    with pytest.raises(InvalidInputError, match="2 CUDA device"):
        select_device("cuda:2")


def test_preference_argument_beats_env_var(monkeypatch, no_gpu):
    monkeypatch.setenv(ENV_VAR, "cuda")
    assert select_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("value", ["cuda", "cuda:0", "mps"])
def test_unavailable_device_raises_helpful_error(monkeypatch, no_gpu, value):
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(InvalidInputError) as info:
        select_device()
    message = str(info.value)
    assert "not available" in message
    assert ENV_VAR in message  # says where the value came from and what to set
    assert "Expected: an available device: cpu" in message
    assert "How to fix" in message
    assert info.value.got == value


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "cuda:-1", "tpu", "cpu:0"])
def test_unknown_value_lists_accepted_values(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(InvalidInputError, match="auto, cpu, cuda, cuda:N"):
        select_device()


@given(st.text(max_size=12))
def test_any_text_gives_a_device_or_invalid_input(text):
    try:
        device = select_device(text)
    except InvalidInputError:
        return
    assert isinstance(device, torch.device)


def test_describe_cpu():
    label = describe_device(torch.device("cpu"))
    n = torch.get_num_threads()
    assert label.startswith(f"CPU ({n} thread{'' if n == 1 else 's'})")
    assert f"torch {torch.__version__.split('+')[0]}" in label


def test_describe_cuda(monkeypatch):
    props = SimpleNamespace(name="NVIDIA H100 80GB HBM3", total_memory=80 * 2**30)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: props)
    label = describe_device(torch.device("cuda", 0))
    assert label.startswith("CUDA: NVIDIA H100 80GB HBM3 (80 GB), torch ")


def test_import_is_cheap():
    """`import core.device` must not import torch (the sidebar imports it on every page)."""
    code = "import sys, core.device; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)
