"""Effort presets (``--effort 1..9``, as ``cjxl -e``): how much training buys quality.

Each level sets the training budget (epochs), the bands per optimizer step and the peak
learning rate. Level 5, the default, is the setting measured in the README (Jasper Ridge at
0.25 bpppb: 41.5 dB in about two minutes on 2 CPU cores); quality still rises with more epochs
(+0.9–1.5 dB per doubling in our trials), so the higher levels mostly train longer.
``--epochs`` overrides a preset's epochs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Effort:
    level: int
    epochs: int
    bands_per_step: int
    lr: float


EFFORTS = {
    1: Effort(1, 5, 8, 3e-3),
    2: Effort(2, 15, 8, 3e-3),
    3: Effort(3, 30, 4, 3e-3),
    4: Effort(4, 60, 4, 3e-3),
    5: Effort(5, 100, 4, 3e-3),
    6: Effort(6, 150, 4, 3e-3),
    7: Effort(7, 200, 4, 3e-3),
    8: Effort(8, 300, 4, 3e-3),
    9: Effort(9, 400, 4, 3e-3),
}
DEFAULT_EFFORT = 5


def effort(level: int) -> Effort:
    if level not in EFFORTS:
        raise ValueError(f"effort must be 1..9, got {level}")
    return EFFORTS[level]
