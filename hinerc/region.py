"""What part of a file to decode: a window of rows and columns and a list of bands.

``--window ROW,COL,HEIGHT,WIDTH`` counts rows and columns from 0 at the top left corner (as
numpy and GDAL's ``-srcwin`` do). ``--bands`` is a comma list of 0-based band indices and
``START:STOP`` ranges, the stop excluded as in Python (``10:60`` is 50 bands, ``:5`` the first
five, ``200:`` from band 200 to the last). The syntax is checked before any work (a usage error);
whether the part lies inside the cube is checked against the file (bad input).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np

from hinerc.errors import InputError, UsageError


@dataclass(frozen=True)
class Region:
    """A window of the image (``top``, ``left``, ``height``, ``width``) and the bands to decode
    (indices in output order; ``None`` for every band)."""

    top: int
    left: int
    height: int
    width: int
    bands: Optional[np.ndarray] = None

    @classmethod
    def whole(cls, height: int, width: int) -> "Region":
        return cls(0, 0, height, width)

    def is_whole(self, height: int, width: int) -> bool:
        return (self.top, self.left, self.height, self.width) == (0, 0, height, width) \
            and self.bands is None

    def overlap(self, top: int, left: int, height: int, width: int
                ) -> Optional[tuple[slice, slice, slice, slice]]:
        """Where the rectangle (a tile) and the window meet: (rows, cols) in the window, then
        (rows, cols) in the rectangle; ``None`` when they do not."""
        r0, r1 = max(top, self.top), min(top + height, self.top + self.height)
        c0, c1 = max(left, self.left), min(left + width, self.left + self.width)
        if r0 >= r1 or c0 >= c1:
            return None
        return (slice(r0 - self.top, r1 - self.top), slice(c0 - self.left, c1 - self.left),
                slice(r0 - top, r1 - top), slice(c0 - left, c1 - left))


WindowLike = Union[str, Sequence[int], None]
BandsLike = Union[str, Sequence[int], None]


def parse_window(text: WindowLike) -> Optional[tuple[int, int, int, int]]:
    """``"ROW,COL,HEIGHT,WIDTH"`` (or four integers) -> a tuple; a malformed one is a usage
    error."""
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        vals = tuple(int(str(p).strip()) for p in parts)
    except ValueError:
        vals = ()
    if len(vals) != 4 or vals[0] < 0 or vals[1] < 0 or vals[2] < 1 or vals[3] < 1:
        raise UsageError(f"--window takes ROW,COL,HEIGHT,WIDTH (rows and columns from 0, a "
                         f"height and width of at least 1), got {text!r}")
    return vals  # type: ignore[return-value]


def parse_bands(text: BandsLike, count: Optional[int] = None) -> Optional[list[int]]:
    """``"10:60,70"`` (or a list of indices) -> band indices. Without ``count`` only the syntax
    is checked (open ranges are kept for later); with it, every index must be below it."""
    if text is None:
        return None
    what = f"--bands {text!r}"
    out: list[int] = []
    items = text.split(",") if isinstance(text, str) else list(text)
    if not items:
        raise UsageError(f"{what}: no band")
    for item in items:
        item = str(item).strip()
        try:
            if ":" in item:
                a, b = item.split(":")
                start = int(a) if a.strip() else 0
                stop = int(b) if b.strip() else (count if count is not None else start + 1)
                if start < 0 or stop <= start:
                    raise ValueError
                out.extend(range(start, stop))
            else:
                v = int(item)
                if v < 0:
                    raise ValueError
                out.append(v)
        except ValueError:
            raise UsageError(f"{what}: give 0-based band numbers and START:STOP ranges (stop "
                             "excluded), for instance 10:60 or 0,5,9") from None
    if len(set(out)) != len(out):
        raise UsageError(f"{what} names a band twice")
    if count is not None and max(out) >= count:
        raise InputError(f"{what}: the cube has {count} bands (0 to {count - 1})")
    return out


def region(window: WindowLike, bands: BandsLike, height: int, width: int,
           count: int) -> Region:
    """The checked :class:`Region` of an H×W×C cube (the whole cube when both are ``None``)."""
    win = parse_window(window)
    sel = parse_bands(bands, count)
    if win is None:
        win = (0, 0, height, width)
    top, left, h, w = win
    if top + h > height or left + w > width:
        raise InputError(f"--window {top},{left},{h},{w} is outside the {height}×{width} image "
                         f"(rows 0 to {height - 1}, columns 0 to {width - 1})")
    return Region(top, left, h, w, None if sel is None else np.asarray(sel, dtype=np.int64))
