"""SPEC and MAPS: what a low-rank (``arch: lowrank``) file stores besides the band table.

* SPEC: a width byte *w* (1, 2 or 4), k uint16 map centres, k+1 float32 dequantization steps,
  then one raw LZMA2 stream (preset 9, 1 MiB dictionary) of the (k+1)×N quantized embeddings,
  each row replaced by its differences along the bands (first value kept), as little-endian
  signed *w*-byte ints.
* MAPS: a JPEG 2000 codestream (ISO/IEC 15444-1, no JP2 box) of k uint16 components, H×W;
  empty when k = 0.

The codec that fills them is :mod:`hinerc.lowrank`; ``docs/format.md`` §3 has the layout.
"""

from __future__ import annotations

import lzma
import struct
from dataclasses import dataclass

import numpy as np

from hinerc.errors import CorruptFileError

#: A 1 MiB dictionary (not preset 9's 64 MiB): the decoder allocates it, even for a hostile file.
_LZMA = [{"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": 1 << 20}]
#: Start of a JPEG 2000 codestream: SOC then SIZ marker.
J2K_START = b"\xff\x4f\xff\x51"


@dataclass
class LowRankCode:
    """What a low-rank file stores besides the band table: embeddings and maps."""

    rank: int
    centres: np.ndarray  # (k,) uint16: the code each map is centred on
    steps: np.ndarray  # (k+1,) float32: dequantization step of each embedding row
    weights: np.ndarray  # (k+1, N) int64: quantized embeddings; row k is the offset
    maps: bytes  # JPEG 2000 codestream of k uint16 components H×W (empty when k = 0)

    def embeddings(self) -> np.ndarray:
        """The (k+1)×N float64 embedding matrix the decoder multiplies by."""
        return self.weights * self.steps.astype(np.float64)[:, None]


def pack_embeddings(centres: np.ndarray, steps: np.ndarray, weights: np.ndarray) -> bytes:
    """SPEC payload: a width byte, k uint16 map centres, k+1 float32 steps, then the LZMA2
    stream of the along-band differences of each row (little-endian ints of that width)."""
    deltas = np.diff(weights, axis=1, prepend=0) if weights.size else weights
    big = int(np.abs(deltas).max(initial=0))
    width = 1 if big < 2 ** 7 else 2 if big < 2 ** 15 else 4
    raw = deltas.astype(f"<i{width}").tobytes()
    body = lzma.compress(raw, format=lzma.FORMAT_RAW, filters=_LZMA)
    return (struct.pack("<B", width) + centres.astype("<u2").tobytes()
            + steps.astype("<f4").tobytes() + body)


def unpack_embeddings(buf: bytes, rank: int, n_coded: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`pack_embeddings`; any inconsistency is a :class:`CorruptFileError`."""
    rows = rank + 1
    head = 1 + 2 * rank + 4 * rows
    if len(buf) < head:
        raise CorruptFileError("SPEC section is truncated")
    width = buf[0]
    if width not in (1, 2, 4):
        raise CorruptFileError("SPEC section declares an invalid integer width")
    centres = np.frombuffer(buf, "<u2", rank, 1).astype(np.uint16)
    steps = np.frombuffer(buf, "<f4", rows, 1 + 2 * rank).astype(np.float32)
    if not (np.isfinite(steps).all() and (steps >= 0).all()):
        raise CorruptFileError("SPEC section holds invalid quantization steps")
    size = rows * n_coded * width
    dec = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_LZMA)
    try:
        raw = dec.decompress(bytes(buf[head:]), max_length=size + 1)
    except lzma.LZMAError as exc:
        raise CorruptFileError("SPEC section is corrupt") from exc
    if len(raw) != size or not dec.eof and size:
        raise CorruptFileError("SPEC section does not match the model's size")
    deltas = np.frombuffer(raw, f"<i{width}").astype(np.int64).reshape(rows, n_coded)
    return centres, steps, np.cumsum(deltas, axis=1)




def check_maps(blob: bytes, rank: int, height: int, width: int) -> None:
    """Check MAPS before any decoding: empty for rank 0, else a codestream whose SIZ marker
    declares exactly ``rank`` unsigned 16-bit components of ``height`` × ``width`` at full
    resolution (so a hostile file cannot make the JPEG 2000 decoder allocate more)."""
    if rank == 0:
        if blob:
            raise CorruptFileError("MAPS section holds data for a rank-0 model")
        return
    if not blob.startswith(J2K_START) or len(blob) < 42 + 3 * rank:
        raise CorruptFileError("MAPS section is not a JPEG 2000 codestream")
    lsiz, _rsiz, xsiz, ysiz, xo, yo = struct.unpack_from(">HHIIII", blob, 4)
    (csiz,) = struct.unpack_from(">H", blob, 40)
    comps = [struct.unpack_from(">BBB", blob, 42 + 3 * i) for i in range(min(csiz, rank))]
    ok = (lsiz == 38 + 3 * csiz and csiz == rank and xsiz - xo == width and ysiz - yo == height
          and xo <= xsiz and yo <= ysiz and all(c == (15, 1, 1) for c in comps))
    if not ok:
        raise CorruptFileError(f"MAPS codestream does not declare {rank} 16-bit maps of "
                               f"{height}×{width}")
