"""Effort presets (``--effort 1..9``, as ``cjxl -e``): how much encode time buys quality.

For the default low-rank model (:mod:`hinerc.lowrank`) a level sets the ranks the search tries,
how long it goes on past the best one (patience) and the embedding quantization steps it
compares. For the published network (``--arch hiner``) it sets the training budget (epochs), the
bands per optimizer step and the peak learning rate; quality still rises with more epochs
(+0.9–1.5 dB per doubling in our trials), so the higher levels mostly train longer, and
``--epochs`` overrides a preset's epochs. Level 5 is the default.
"""

from __future__ import annotations

from dataclasses import dataclass

from hinerc.lowrank import RANKS, Search

#: Fewer ranks, for the quick levels.
_COARSE = (2, 4, 8, 16, 32, 64, 128, 255)
_MEDIUM = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 255)


@dataclass(frozen=True)
class Effort:
    level: int
    epochs: int
    bands_per_step: int
    lr: float
    ranks: tuple[int, ...] = RANKS
    patience: int = 2
    rels: tuple[float, ...] = (0.001,)

    def search(self) -> Search:
        """The low-rank model's search at this level."""
        return Search(self.ranks, self.rels, self.patience)


EFFORTS = {
    1: Effort(1, 5, 8, 3e-3, _COARSE, 1),
    2: Effort(2, 15, 8, 3e-3, _COARSE, 2),
    3: Effort(3, 30, 4, 3e-3, _MEDIUM, 1),
    4: Effort(4, 60, 4, 3e-3, _MEDIUM, 2),
    5: Effort(5, 100, 4, 3e-3, RANKS, 2),
    6: Effort(6, 150, 4, 3e-3, RANKS, 3),
    7: Effort(7, 200, 4, 3e-3, RANKS, 3),
    8: Effort(8, 300, 4, 3e-3, RANKS, 4),
    9: Effort(9, 400, 4, 3e-3, RANKS, 4, (0.0005, 0.001, 0.002)),
}
DEFAULT_EFFORT = 5


def effort(level: int) -> Effort:
    if level not in EFFORTS:
        raise ValueError(f"effort must be 1..9, got {level}")
    return EFFORTS[level]
