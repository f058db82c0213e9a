"""Where a model runs: ``--device auto|cpu|cuda|cuda:N``, checked and resolved.

A name is checked at once (a typo is a usage error); whether CUDA is there only where a network
runs, so that a low-rank file encodes and decodes without importing torch.
"""

from __future__ import annotations

from typing import Optional

from hinerc.errors import InputError, UsageError


def check_device_name(device: Optional[str]) -> str:
    """``device`` lower-cased if it is ``auto``, ``cpu``, ``cuda`` or ``cuda:N``; otherwise a
    :class:`UsageError` (exit 2)."""
    name = (device or "auto").strip().lower()
    if name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit()):
        return name
    raise UsageError(f"unknown --device {device!r} (use auto, cpu, cuda or cuda:N)")


def resolve_device(device: Optional[str] = "auto") -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; an explicit CUDA device must exist
    (:class:`InputError` otherwise). Imports torch unless the device is ``cpu``."""
    device = check_device_name(device)
    if device == "cpu":
        return device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise InputError(f"--device {device}: CUDA is not available on this machine")
    if ":" in device and int(device[5:]) >= torch.cuda.device_count():
        raise InputError(f"--device {device} does not exist "
                         f"({torch.cuda.device_count()} CUDA device(s))")
    return device


def checked_device(device: Optional[str]) -> str:
    """``device`` checked now when it names CUDA, else kept as is: ``auto`` is resolved only
    if a network runs."""
    device = check_device_name(device)
    return device if device in ("auto", "cpu") else resolve_device(device)
