"""Pick the torch device every model runs on: CUDA > MPS > CPU, overridable.

Order of precedence:

1. the ``preference`` argument of :func:`select_device`, when a caller passes one;
2. the environment variable ``MDS_DEVICE``;
3. ``auto``: the first available of ``cuda`` (device 0), ``mps``, ``cpu``.

Accepted values: ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps`` (case-insensitive).
A device that is named but not available raises
:class:`core.exceptions.InvalidInputError` listing the devices that are available, rather than
silently falling back: a user who asked for the GPU should know they are not getting it.

torch is imported inside the functions so that ``import core.device`` stays cheap.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from core.exceptions import InvalidInputError

if TYPE_CHECKING:
    import torch

ENV_VAR = "MDS_DEVICE"
ACCEPTED = "one of auto, cpu, cuda, cuda:N (N = GPU index), mps"
_CUDA_RE = re.compile(r"^cuda(?::(\d+))?$", re.ASCII)


def available_devices() -> list[str]:
    """Names of the devices torch can use here, e.g. ``["cuda:0", "cuda:1", "cpu"]``."""
    import torch

    names = []
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    names.append("cpu")
    return names


def select_device(preference: str | None = None) -> torch.device:
    """Return the device to run models on.

    Args:
        preference: ``auto``/``cpu``/``cuda``/``cuda:N``/``mps``; ``None`` reads ``MDS_DEVICE``
            (default ``auto``).

    Raises:
        InvalidInputError: the value is not understood, or names a device that is not
            available on this machine.
    """
    import torch

    source = "preference" if preference is not None else ENV_VAR
    raw = preference if preference is not None else os.environ.get(ENV_VAR, "auto")
    choice = raw.strip().lower() or "auto"

    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "mps":
        if not _mps_available():
            raise _unavailable(raw, source, "Apple MPS is not available on this machine")
        return torch.device("mps")

    match = _CUDA_RE.match(choice)
    if match is None:
        raise InvalidInputError(
            f"Unknown device {raw!r} (from {source})",
            got=raw,
            expected=ACCEPTED,
            fix=f"set {ENV_VAR}=auto to pick the best available device",
        )
    if not torch.cuda.is_available():
        raise _unavailable(raw, source, "CUDA is not available (no NVIDIA GPU or a CPU-only torch)")
    index = int(match.group(1) or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise _unavailable(raw, source, f"this machine has {count} CUDA device(s)")
    return torch.device("cuda", index)


def describe_device(device: torch.device) -> str:
    """One line for the sidebar, e.g. ``"CUDA: NVIDIA H100 80GB HBM3 (80 GB), torch 2.13.0"``."""
    import torch

    version = f"torch {torch.__version__.split('+')[0]}"
    if device.type == "cuda":
        index = device.index if device.index is not None else 0
        props = torch.cuda.get_device_properties(index)
        gib = props.total_memory / 2**30
        cuda = f", CUDA {torch.version.cuda}" if torch.version.cuda else ""
        return f"CUDA: {props.name} ({gib:.0f} GB), {version}{cuda}"
    if device.type == "mps":
        return f"Apple MPS (Metal GPU), {version}"
    if device.type == "cpu":
        n = torch.get_num_threads()
        return f"CPU ({n} thread{'' if n == 1 else 's'}), {version}"
    return f"{device}, {version}"


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _unavailable(raw: str, source: str, reason: str) -> InvalidInputError:
    return InvalidInputError(
        f"Device {raw!r} (from {source}) is not available: {reason}",
        got=raw,
        expected=f"an available device: {', '.join(available_devices())} (or auto)",
        fix=f"set {ENV_VAR}=auto (or cpu), or run on a machine with that device",
    )
