"""Choice of the decoder geometry: strides and embedding grid that cover H×W with little padding.

The decoder turns an ``embed_h × embed_w`` grid into a frame ``Π strides`` times larger; the
image is a centred H×W window of it. We enumerate stride ladders (non-increasing, 3 to 5 stages,
each 2..5) and keep the one whose frame wastes the fewest pixels, preferring four stages (as
published) and then a small embedding grid, whose size is paid for in every band.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Geometry:
    strides: tuple[int, ...]
    embed_h: int
    embed_w: int
    crop_top: int
    crop_left: int

    @property
    def upscale(self) -> int:
        return math.prod(self.strides)

    @property
    def frame(self) -> tuple[int, int]:
        return self.embed_h * self.upscale, self.embed_w * self.upscale


def choose_geometry(height: int, width: int, max_grid: int = 64) -> Geometry:
    """Best geometry for an H×W image; the embedding grid has at most ``max_grid`` cells."""
    best = None
    for n in (3, 4, 5):
        for strides in itertools.combinations_with_replacement((5, 4, 3, 2), n):
            s = math.prod(strides)
            fh, fw = math.ceil(height / s), math.ceil(width / s)
            if fh * fw > max_grid:
                continue
            waste = fh * fw * s * s / (height * width)
            key = (round(waste, 2), abs(n - 4), fh * fw, strides)
            if best is None or key < best[0]:
                best = (key, strides, fh, fw)
    if best is None:  # a very large image: grow the grid instead of the strides
        strides = (5, 4, 4, 2, 2)
        s = math.prod(strides)
        fh, fw = math.ceil(height / s), math.ceil(width / s)
        best = (None, strides, fh, fw)
    _, strides, fh, fw = best
    s = math.prod(strides)
    return Geometry(tuple(strides), fh, fw, (fh * s - height) // 2, (fw * s - width) // 2)
