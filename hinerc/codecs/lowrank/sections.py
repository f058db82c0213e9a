"""MODL, SPEC and MAPS of a low-rank (``arch: lowrank``) file.

* MODL: ``{"arch": "lowrank", "rank": k, "maps": NAME}`` (:class:`LowRankConfig`); ``maps``
  names the map coder (:mod:`hinerc.codecs.lowrank.mapcoders`); absent for ``jpeg2000``.
* SPEC: a width byte *w* (1, 2 or 4), k uint16 map centres, k+1 float32 dequantization steps,
  then one raw LZMA2 stream (preset 9, 1 MiB dictionary) of the (k+1)×N quantized embeddings,
  each row replaced by its differences along the bands (first value kept), as little-endian
  signed *w*-byte ints; or (*w* = 0, format 1.7) the same differences range-coded: their count
  (u32), k+1 scale codes, one a row, then the range coder's 32-bit words (:func:`pack_embeddings` writes the
  smaller of the two).
* MAPS: the map coder's codestream of k maps of H×W; empty when k = 0.
* MFLT (when MODL has ``"mflt": true``): the map filter on the decoded maps
  (:mod:`hinerc.codecs.lowrank.mapfilter`).
* PNET (when MODL has ``"pnet": true``): the pixel network after the mix
  (:mod:`hinerc.codecs.lowrank.pixelnet`).

The codec that fills them is :mod:`hinerc.codecs.lowrank`; ``docs/format.md`` has the layout.
"""

from __future__ import annotations

import lzma
import struct
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from hinerc.codecs.lowrank.mapfilter import MapFilter
from hinerc.codecs.lowrank.pixelnet import PixelNet

from hinerc.errors import CorruptFileError

#: A 1 MiB dictionary (not preset 9's 64 MiB): the decoder allocates it, even for a hostile file.
_LZMA = [{"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": 1 << 20}]

#: SPEC's width byte of range-coded differences (format 1.7): each row's along-band differences
#: are symbols of a quantized Laplace on [−RC_LIMIT, RC_LIMIT] (constriction's range coder), of
#: mean 0 and the scale ``2 ** ((c − 32) / 8)`` of the row's code c (a byte). Measured on the
#: benchmark cubes: LZMA2 takes 1.4–1.6× the rows' empirical entropy of these differences.
RANGE_CODED = 0
RC_LIMIT = 1 << 14
_RC_SCALES = 2.0 ** ((np.arange(256) - 32) / 8)

#: The map coder of a MODL without ``maps``.
DEFAULT_MAPS = "jpeg2000"


@dataclass
class LowRankConfig:
    """The MODL record: ``rank`` maps, coded by the map coder ``maps``; ``pnet``: a pixel
    network (PNET) corrects the mix; ``mflt``: a map filter (MFLT) corrects the maps."""

    rank: int = 0
    maps: str = "jpeg2000"  # DEFAULT_MAPS
    arch: str = "lowrank"
    pnet: bool = False
    mflt: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The record; ``maps`` is left out for JPEG 2000, the map coder of every file before
        it was named (16 bytes saved, and the same file as those versions wrote)."""
        d: dict[str, Any] = {"arch": self.arch, "rank": self.rank}
        if self.maps != DEFAULT_MAPS:
            d["maps"] = self.maps
        if self.mflt:
            d["mflt"] = True
        if self.pnet:
            d["pnet"] = True
        return d

    def stored_values(self, n_coded: int) -> int:
        """Embedding values (the maps are not counted: they are a codestream)."""
        return (self.rank + 1) * n_coded if n_coded else 0

    @classmethod
    def from_dict(cls, d: dict[str, Any], n_coded: int, height: int, width: int
                  ) -> "LowRankConfig":
        """A MODL record read from a file; any inconsistency is a corrupt file."""
        rank, maps, pnet = d.get("rank"), d.get("maps", DEFAULT_MAPS), d.get("pnet", False)
        mflt = d.get("mflt", False)
        if d.get("arch") != "lowrank" or not (isinstance(rank, int) and not isinstance(rank, bool)):
            raise CorruptFileError("invalid model configuration")
        if not 0 <= rank <= min(255, n_coded, height * width):
            raise CorruptFileError("invalid model configuration (rank)")
        if not isinstance(maps, str):
            raise CorruptFileError("invalid model configuration (maps)")
        if not isinstance(pnet, bool) or pnet and rank == 0:
            raise CorruptFileError("invalid model configuration (pnet)")
        if not isinstance(mflt, bool) or mflt and rank == 0:
            raise CorruptFileError("invalid model configuration (mflt)")
        return cls(rank, maps, pnet=pnet, mflt=mflt)


@dataclass
class LowRankCode:
    """What a low-rank file stores besides the band table: embeddings and maps."""

    rank: int
    centres: np.ndarray  # (k,) uint16: the code each map is centred on
    steps: np.ndarray  # (k+1,) float32: dequantization step of each embedding row
    weights: np.ndarray  # (k+1, N) int64: quantized embeddings; row k is the offset
    maps: bytes  # the map coder's codestream of k maps H×W (empty when k = 0)
    net: Optional[PixelNet] = None  # the pixel network after the mix (PNET)
    filt: Optional[MapFilter] = None  # the map filter on the decoded maps (MFLT)

    def embeddings(self) -> np.ndarray:
        """The (k+1)×N float64 embedding matrix the decoder multiplies by."""
        return self.weights * self.steps.astype(np.float64)[:, None]


def pack_embeddings(centres: np.ndarray, steps: np.ndarray, weights: np.ndarray,
                    range_coded: Optional[bool] = None) -> bytes:
    """SPEC payload: a width byte, k uint16 map centres, k+1 float32 steps, then the along-band
    differences of each row: LZMA2-compressed ints of that width, or range-coded (width 0),
    whichever is smaller (``range_coded``: that one, where it can hold the differences)."""
    deltas = np.diff(weights, axis=1, prepend=0) if weights.size else weights
    big = int(np.abs(deltas).max(initial=0))
    width = 1 if big < 2 ** 7 else 2 if big < 2 ** 15 else 4
    raw = deltas.astype(f"<i{width}").tobytes()
    body = lzma.compress(raw, format=lzma.FORMAT_RAW, filters=_LZMA)
    coded = (_range_coded(deltas) if deltas.size and big < RC_LIMIT
             and range_coded is not False else None)
    if coded is not None and (range_coded or len(coded) < len(body)):
        width, body = RANGE_CODED, coded
    return (struct.pack("<B", width) + centres.astype("<u2").tobytes()
            + steps.astype("<f4").tobytes() + body)


def _laplace_bits(d: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Bits of the integers ``d`` (… × n) under Laplaces of ``scale`` (broadcast against ``d``)
    quantized to the integers, summed over the last axis: what the range coder spends, to
    within its few bits of overhead."""
    a = np.abs(d).astype(np.float64)
    p = np.where(a == 0, 1.0 - np.exp(-0.5 / scale),
                 0.5 * (np.exp(-(a - 0.5) / scale) - np.exp(-(a + 0.5) / scale)))
    return -np.log2(np.maximum(p, 1e-300)).sum(-1)


def _range_coded(deltas: np.ndarray) -> bytes:
    """Range-coded rows (:data:`RANGE_CODED`): each row's scale code chosen among the 9 around
    the Laplace fit (the mean absolute difference) by the bits it would cost, all rows at once
    (the search packs every trial), then one stream of all rows."""
    import constriction

    rows, n = deltas.shape
    mad = np.maximum(np.abs(deltas).mean(1), 0.05)
    c0 = np.clip(np.rint(8 * np.log2(mad) + 32), 0, 255).astype(int)
    cands = np.clip(c0[:, None] + np.arange(-4, 5), 0, 255)  # rows × 9, ascending
    bits = _laplace_bits(deltas[:, None, :], _RC_SCALES[cands][:, :, None])
    codes = cands[np.arange(rows), np.argmin(bits, 1)].astype(np.uint8)
    enc = constriction.stream.queue.RangeEncoder()
    enc.encode(deltas.reshape(-1).astype(np.int32),
               constriction.stream.model.QuantizedLaplace(-RC_LIMIT, RC_LIMIT),
               np.zeros(rows * n), np.repeat(_RC_SCALES[codes], n))
    words = np.asarray(enc.get_compressed(), np.uint32)
    return (struct.pack("<I", rows * n) + codes.tobytes() + words.astype("<u4").tobytes())


def _range_decoded(body: bytes, rows: int, n: int) -> np.ndarray:
    """The rows × n differences of a range-coded SPEC body; :class:`CorruptFileError` when the
    bytes cannot be such a body."""
    import constriction

    if len(body) < 4 + rows or (len(body) - 4 - rows) % 4:
        raise CorruptFileError("SPEC section: range-coded embeddings of a wrong size")
    if struct.unpack_from("<I", body)[0] != rows * n:
        raise CorruptFileError("SPEC section does not match the model's size")
    codes = np.frombuffer(body, np.uint8, rows, 4)
    words = np.frombuffer(body, "<u4", offset=4 + rows).astype(np.uint32)
    try:
        dec = constriction.stream.queue.RangeDecoder(words)
        out = dec.decode(constriction.stream.model.QuantizedLaplace(-RC_LIMIT, RC_LIMIT),
                         np.zeros(rows * n), np.repeat(_RC_SCALES[codes], n))
        done = dec.maybe_exhausted()
    except Exception as exc:  # noqa: BLE001  (constriction's own errors)
        raise CorruptFileError("SPEC section: corrupt range-coded embeddings") from exc
    if not done:  # words left over: not the stream of these symbols
        raise CorruptFileError("SPEC section: range-coded embeddings with words left over")
    return np.asarray(out, np.int64).reshape(rows, n)


def unpack_embeddings(buf: bytes, rank: int, n_coded: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`pack_embeddings`; any inconsistency is a :class:`CorruptFileError`."""
    rows = rank + 1
    head = 1 + 2 * rank + 4 * rows
    if len(buf) < head:
        raise CorruptFileError("SPEC section is truncated")
    width = buf[0]
    if width not in (RANGE_CODED, 1, 2, 4):
        raise CorruptFileError("SPEC section declares an invalid integer width")
    centres = np.frombuffer(buf, "<u2", rank, 1).astype(np.uint16)
    steps = np.frombuffer(buf, "<f4", rows, 1 + 2 * rank).astype(np.float32)
    if not (np.isfinite(steps).all() and (steps >= 0).all()):
        raise CorruptFileError("SPEC section holds invalid quantization steps")
    if width == RANGE_CODED:
        deltas = _range_decoded(bytes(buf[head:]), rows, n_coded)
        return centres, steps, np.cumsum(deltas, axis=1)
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
