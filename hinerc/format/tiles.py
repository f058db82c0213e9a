"""The ``TILE`` section of a tiled ``.hnr``: rectangles, each with a complete nested plain file.

A scene larger than the tile size is cut into a grid of tiles that are fitted separately. The
tiled file keeps the scene's ``HEAD`` (flag bit 1 set), ``META`` and ``RPRT``, and one ``TILE``
section::

    u32 n_tiles
    n_tiles times: u32 top, u32 left, u32 height, u32 width, u32 length, then `length` bytes:
                   a plain .hnr of that window (its own preamble, sections and CRCs)

The tiles must cover the image exactly once. Numpy only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from hinerc.errors import CorruptFileError

_TILE = struct.Struct("<IIIII")


@dataclass
class TileRect:
    top: int
    left: int
    height: int
    width: int

    def window(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)


def grid(height: int, width: int, tile: int) -> list[TileRect]:
    """Split H×W into near-equal tiles of at most ``tile`` × ``tile`` (row-major order)."""
    ny, nx = -(-height // tile), -(-width // tile)
    ys = np.linspace(0, height, ny + 1).round().astype(int)
    xs = np.linspace(0, width, nx + 1).round().astype(int)
    return [TileRect(int(ys[i]), int(xs[j]), int(ys[i + 1] - ys[i]), int(xs[j + 1] - xs[j]))
            for i in range(ny) for j in range(nx)]


def encode_tiles(tiles: list[tuple[TileRect, bytes]]) -> bytes:
    out = [struct.pack("<I", len(tiles))]
    for r, blob in tiles:
        out.append(_TILE.pack(r.top, r.left, r.height, r.width, len(blob)) + blob)
    return b"".join(out)


def decode_tiles(buf: bytes, height: int, width: int, parse: Callable[[bytes], Any]
                 ) -> list[tuple[TileRect, Any]]:
    """Parse the TILE payload; ``parse`` turns each nested blob into a parsed plain file."""
    if len(buf) < 4:
        raise CorruptFileError("TILE section is truncated")
    (n,) = struct.unpack_from("<I", buf, 0)
    if n < 1 or n > height * width or 4 + n * _TILE.size > len(buf):
        raise CorruptFileError("TILE section declares an impossible number of tiles")
    pos, out, area = 4, [], 0
    cover = np.zeros((height, width), dtype=bool) if height * width <= 1 << 28 else None
    for _ in range(n):
        if pos + _TILE.size > len(buf):
            raise CorruptFileError("TILE section is truncated")
        top, left, h, w, length = _TILE.unpack_from(buf, pos)
        pos += _TILE.size
        if h < 1 or w < 1 or top + h > height or left + w > width:
            raise CorruptFileError("a tile lies outside the image")
        if pos + length > len(buf):
            raise CorruptFileError("TILE section is truncated")
        rect = TileRect(top, left, h, w)
        if cover is not None:
            win = cover[rect.window()]
            if win.any():
                raise CorruptFileError("tiles overlap")
            win[...] = True
        area += h * w
        out.append((rect, parse(buf[pos: pos + length])))
        pos += length
    if pos != len(buf):
        raise CorruptFileError("TILE section has trailing bytes")
    if area != height * width:
        raise CorruptFileError("tiles do not cover the image")
    return out
