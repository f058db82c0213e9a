"""Effort presets (``--effort 1..9``, as ``cjxl -e``): how much encode time buys quality.

For the default low-rank model (:mod:`hinerc.lowrank`) a level sets where the rank search
starts, how many ranks it may code, how long it goes on past the best one (patience), how
closely each rank's maps are fitted to the bytes and the embedding quantization steps it
compares: each level is at least as fast as the next (``benchmarks/results/speed.md``).
For the published network (``--arch hiner``) it sets the training budget (epochs), the bands
per optimizer step and the peak learning rate; quality still rises with more epochs
(+0.9–1.5 dB per doubling in our trials), so the higher levels mostly train longer, and
``--epochs`` overrides a preset's epochs. Level 5 is the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from hinerc.lowrank import RANKS, Search


@dataclass(frozen=True)
class Effort:
    level: int
    epochs: int
    bands_per_step: int
    lr: float
    ranks: tuple[int, ...] = RANKS
    patience: int = 2
    rels: tuple[float, ...] = (0.001,)
    max_ranks: Optional[int] = None
    window: float = 0.985
    aim: bool = False
    predict: bool = False

    def search(self) -> Search:
        """The low-rank model's search at this level."""
        return Search(self.ranks, self.rels, self.patience, self.max_ranks, self.window,
                      self.aim, self.predict)


#: The quick levels (1–4) start from the rank the KLT spectrum predicts from a first code and
#: aim each rank's maps into a byte window in a few JPEG 2000 encodes; 1 and 2 code at most two
#: and three ranks. 5 (the default) bisects the maps' quality to the last byte from the rate's
#: usual rank; 6–9 look further past the best rank, and 7–9 also compare embedding steps.
_QUICK = dict(aim=True, predict=True)
EFFORTS = {
    1: Effort(1, 5, 8, 3e-3, RANKS, 1, max_ranks=2, window=0.975, **_QUICK),
    2: Effort(2, 15, 8, 3e-3, RANKS, 1, max_ranks=3, window=0.98, **_QUICK),
    3: Effort(3, 30, 4, 3e-3, RANKS, 1, **_QUICK),
    4: Effort(4, 60, 4, 3e-3, RANKS, 2, **_QUICK),
    5: Effort(5, 100, 4, 3e-3, RANKS, 2),
    6: Effort(6, 150, 4, 3e-3, RANKS, 3),
    7: Effort(7, 200, 4, 3e-3, RANKS, 3, (0.0005, 0.001)),
    8: Effort(8, 300, 4, 3e-3, RANKS, 4, (0.0005, 0.001)),
    9: Effort(9, 400, 4, 3e-3, RANKS, 4, (0.0005, 0.001, 0.002)),
}
DEFAULT_EFFORT = 5


def effort(level: int) -> Effort:
    if level not in EFFORTS:
        raise ValueError(f"effort must be 1..9, got {level}")
    return EFFORTS[level]
