"""Progress events of an encode, the same for every codec: what a progress bar shows.

A codec reports how much of its planned work is done (``done`` of ``total``, in its own units:
JPEG 2000 encodes of a rank search, epochs of a training), a short ``label`` for the bar
("rank 24", "epoch") and ``info`` beside it ("best 47.52 dB", "loss 0.0123"). ``note`` is a
line worth printing on its own under ``--verbose`` ("rank 24: 47.52 dB (11,322 bytes)"); an
event with ``total == 0`` carries only its note.
The pipeline scales a tile's events to the whole scene (:meth:`Progress.in_tile`), so a caller
sees one bar from 0 to 1 whatever the codec and the tiling.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional


@dataclass(frozen=True)
class Progress:
    """Where an encode stands: ``done`` of ``total`` units of planned work."""

    done: float
    total: float
    label: str = ""
    info: str = ""
    note: Optional[str] = None

    @property
    def fraction(self) -> float:
        return min(max(self.done / self.total, 0.0), 1.0) if self.total else 0.0

    def in_tile(self, index: int, tiles: int) -> "Progress":
        """This event of tile ``index`` (0-based) as part of a scene of ``tiles`` tiles: each
        tile counts as one unit of the scene's work."""
        if tiles <= 1 or not self.total:  # one tile, or a note
            return self
        where = f"tile {index + 1}/{tiles}"
        return replace(self, done=index + self.fraction, total=float(tiles),
                       label=f"{where}, {self.label}" if self.label else where)


#: What the API calls with every :class:`Progress`.
ProgressCallback = Callable[[Progress], None]
