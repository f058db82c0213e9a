"""MODL, SPEC and MAPS of a low-rank (``arch: lowrank``) file.

* MODL: ``{"arch": "lowrank", "rank": k, "maps": NAME}`` (:class:`LowRankConfig`); ``maps``
  names the map coder (:mod:`hinerc.codecs.lowrank.mapcoders`); absent for ``jpeg2000``.
* SPEC: a width byte *w* (1, 2 or 4), k uint16 map centres, k+1 float32 dequantization steps,
  then one raw LZMA2 stream (preset 9, 1 MiB dictionary) of the (k+1)×N quantized embeddings,
  each row replaced by its differences along the bands (first value kept), as little-endian
  signed *w*-byte ints; or (*w* = 0, format 1.7) the same differences range-coded: their count
  (u32), k+1 scale codes, one a row, then the range coder's 32-bit words; or (*w* = 3, format
  1.10) each row's residuals of a prediction along the bands (order 0, 1 or 2, chosen per row)
  range-coded with a scale that follows the last two residuals' sizes: their count (u32), k+1
  bytes of order and gain, k+1 scale codes, then the words (:func:`pack_embeddings` writes the
  smallest of the three).
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
#: SPEC's width byte of context-adaptive residuals (format 1.10). Row j is predicted along the
#: bands at its order p_j (0: none, 1: the previous value, 2: the line through the previous two)
#: and each residual r[b] is a quantized Laplace on [−RC_LIMIT, RC_LIMIT] of mean 0 and scale
#: ``_RC_SCALES[c_j] + g_j / 16 · (|r[b−1]| + |r[b−2]|)`` (missing terms 0): a row's noisy
#: stretches (water-vapour bands, a weak component's tail) get wide distributions and its
#: smooth ones narrow. The gains are multiples of 1/16 so that encoder and decoder compute
#: the same float64 scales on any machine. Measured on the benchmark cubes at 1.0 bpppb
#: (``-e5``; Jasper Ridge, HYDICE Urban, ABU beach): 6–12% smaller than :data:`RANGE_CODED`.
ADAPTIVE = 3
_GAINS = np.arange(16) / 16.0
#: base scale codes tried below the row's Laplace fit (the context carries part of the scale)
_BASE_TRIES = np.arange(-24, 5, 4)

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


#: the forms :func:`pack_embeddings` may be asked for (``form``): widths 1/2/4, 0 and 3
FORMS = ("lzma", "laplace", "adaptive")


def pack_embeddings(centres: np.ndarray, steps: np.ndarray, weights: np.ndarray,
                    form: Optional[str] = None) -> bytes:
    """SPEC payload: a width byte, k uint16 map centres, k+1 float32 steps, then the rows:
    their along-band differences as LZMA2-compressed ints of that width, or range-coded
    (width 0), or their residuals range-coded with adaptive scales (width 3), whichever is
    smallest (``form``: ``"lzma"``, ``"laplace"`` or ``"adaptive"``, that one where it can hold
    the rows; the older form on a tie, so a file needs no newer reader than it must)."""
    if form is not None and form not in FORMS:
        raise ValueError(f"unknown SPEC form {form!r} (one of {', '.join(FORMS)})")
    deltas = np.diff(weights, axis=1, prepend=0) if weights.size else weights
    big = int(np.abs(deltas).max(initial=0))
    width = 1 if big < 2 ** 7 else 2 if big < 2 ** 15 else 4
    raw = deltas.astype(f"<i{width}").tobytes()
    forms = {width: lzma.compress(raw, format=lzma.FORMAT_RAW, filters=_LZMA)}
    if deltas.size and big < RC_LIMIT and form in (None, "laplace"):
        forms[RANGE_CODED] = _range_coded(deltas)
    if weights.size and form in (None, "adaptive"):
        adaptive = _adaptive_coded(weights)
        if adaptive is not None:
            forms[ADAPTIVE] = adaptive
    if form is not None and form != "lzma" and len(forms) > 1:
        forms.pop(width)
    width = min(forms, key=lambda w: (len(forms[w]), w == ADAPTIVE, w == RANGE_CODED))
    return (struct.pack("<B", width) + centres.astype("<u2").tobytes()
            + steps.astype("<f4").tobytes() + forms[width])


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


def _residuals(weights: np.ndarray, order: int) -> np.ndarray:
    """Rows × n residuals of predicting each row along the bands at ``order`` (the first
    ``order`` values predicted at the orders below)."""
    r = weights.astype(np.int64, copy=True)
    if order >= 1:
        r[:, 1:] = weights[:, 1:] - weights[:, :-1]
    if order >= 2:
        r[:, 2:] = weights[:, 2:] - 2 * weights[:, 1:-1] + weights[:, :-2]
    return r


def _integrated(r: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_residuals`, row ``j`` at ``orders[j]``."""
    w = r.copy()
    two = orders == 2
    w[two, 1:] = np.cumsum(r[two, 1:], axis=1)  # the differences back
    some = orders >= 1
    w[some] = np.cumsum(w[some], axis=1)
    return w


def _context(r: np.ndarray) -> np.ndarray:
    """|r[b−1]| + |r[b−2]| of each residual (missing terms 0), as float64 (exact)."""
    a = np.abs(r)
    c = np.zeros(r.shape, np.int64)
    c[:, 1:] += a[:, :-1]
    c[:, 2:] += a[:, :-2]
    return c.astype(np.float64)


def _adaptive_coded(weights: np.ndarray) -> Optional[bytes]:
    """Context-adaptive residuals (:data:`ADAPTIVE`): each row's order, gain and base scale
    chosen by the bits they would cost (:func:`_adaptive_choice`), then one stream in band
    order (all rows of band 0, then band 1, ...: the decoder's order). ``None`` when a row has
    no order whose residuals the range coder holds."""
    import constriction

    rows, n = weights.shape
    picks = [_adaptive_choice(weights[j:j + _CHOICE_ROWS]) for j in range(0, rows, _CHOICE_ROWS)]
    if any(p is None for p in picks):
        return None
    orders, gains, codes = np.concatenate(picks).T
    r = np.stack([_residuals(weights, order) for order in range(3)])[orders, np.arange(rows)]
    scale = _RC_SCALES[codes][:, None] + _GAINS[gains][:, None] * _context(r)
    enc = constriction.stream.queue.RangeEncoder()
    enc.encode(np.ascontiguousarray(r.T).reshape(-1).astype(np.int32),
               constriction.stream.model.QuantizedLaplace(-RC_LIMIT, RC_LIMIT),
               np.zeros(rows * n), np.ascontiguousarray(scale.T).reshape(-1))
    words = np.asarray(enc.get_compressed(), np.uint32)
    head = (orders * 16 + gains).astype(np.uint8).tobytes() + codes.astype(np.uint8).tobytes()
    return struct.pack("<I", rows * n) + head + words.astype("<u4").tobytes()


#: rows searched at once by :func:`_adaptive_choice` (its arrays: 16 rows × 8 bases × 16 gains
#: float64 a band, 16 KB)
_CHOICE_ROWS = 16


def _adaptive_choice(weights: np.ndarray) -> Optional[np.ndarray]:
    """Rows × (order, gain, base code) of least bits for these rows: for each order, every
    gain with the base codes :data:`_BASE_TRIES` around the row's Laplace fit, the best base
    then refined to the code; ``None`` when a row has no order the range coder holds."""
    rows = weights.shape[0]
    at = np.arange(rows)
    best = np.full(rows, np.inf)
    pick = np.zeros((rows, 3), np.int64)  # order, gain, base code
    for order in range(3):
        r = _residuals(weights, order)
        ok = np.abs(r).max(1) < RC_LIMIT
        if not ok.any():
            continue
        ctx = _context(r)
        mad = np.maximum(np.abs(r).mean(1), 0.05)
        c0 = np.clip(np.rint(8 * np.log2(mad) + 32), 0, 255).astype(int)
        bases = np.clip(c0[:, None] + _BASE_TRIES, 0, 255)  # rows × tries
        scale = (_RC_SCALES[bases][:, :, None, None]
                 + _GAINS[None, None, :, None] * ctx[:, None, None, :])  # rows×tries×gains×n
        bits = _laplace_bits(r[:, None, None, :], scale)
        t, g = np.unravel_index(bits.reshape(rows, -1).argmin(1), bits.shape[1:])
        near = np.clip(bases[at, t][:, None] + np.arange(-3, 4), 0, 255)
        fine = _laplace_bits(r[:, None, :], _RC_SCALES[near][:, :, None]
                             + _GAINS[g][:, None, None] * ctx[:, None, :])
        i = fine.argmin(1)
        cost = np.where(ok, fine[at, i], np.inf)
        better = cost < best
        best[better] = cost[better]
        pick[better] = np.stack([np.full(rows, order), g, near[at, i]], 1)[better]
    return pick if np.isfinite(best).all() else None


def _adaptive_decoded(body: bytes, rows: int, n: int) -> np.ndarray:
    """The rows × n integers of a :data:`ADAPTIVE` SPEC body, decoded band by band (each
    band's scales follow the residuals decoded before it); :class:`CorruptFileError` when the
    bytes cannot be such a body."""
    import constriction

    if len(body) < 4 + 2 * rows or (len(body) - 4 - 2 * rows) % 4:
        raise CorruptFileError("SPEC section: adaptive embeddings of a wrong size")
    if struct.unpack_from("<I", body)[0] != rows * n:
        raise CorruptFileError("SPEC section does not match the model's size")
    head = np.frombuffer(body, np.uint8, 2 * rows, 4).astype(np.int64)
    orders, gains, codes = head[:rows] >> 4, head[:rows] & 15, head[rows:]
    if (orders > 2).any():
        raise CorruptFileError("SPEC section declares an invalid prediction order")
    words = np.frombuffer(body, "<u4", offset=4 + 2 * rows).astype(np.uint32)
    base, gain = _RC_SCALES[codes], _GAINS[gains]
    model = constriction.stream.model.QuantizedLaplace(-RC_LIMIT, RC_LIMIT)
    zeros = np.zeros(rows)
    r = np.zeros((rows, n), np.int64)
    prev = np.zeros((2, rows), np.int64)  # |r| one and two bands back
    try:
        dec = constriction.stream.queue.RangeDecoder(words)
        for b in range(n):
            scale = base + gain * (prev[0] + prev[1]).astype(np.float64)
            r[:, b] = dec.decode(model, zeros, scale)
            prev = np.stack([np.abs(r[:, b]), prev[0]])
        done = dec.maybe_exhausted()
    except Exception as exc:  # noqa: BLE001  (constriction's own errors)
        raise CorruptFileError("SPEC section: corrupt adaptive embeddings") from exc
    if not done:
        raise CorruptFileError("SPEC section: adaptive embeddings with words left over")
    return _integrated(r, orders)


def unpack_embeddings(buf: bytes, rank: int, n_coded: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`pack_embeddings`; any inconsistency is a :class:`CorruptFileError`."""
    rows = rank + 1
    head = 1 + 2 * rank + 4 * rows
    if len(buf) < head:
        raise CorruptFileError("SPEC section is truncated")
    width = buf[0]
    if width not in (RANGE_CODED, ADAPTIVE, 1, 2, 4):
        raise CorruptFileError("SPEC section declares an invalid integer width")
    centres = np.frombuffer(buf, "<u2", rank, 1).astype(np.uint16)
    steps = np.frombuffer(buf, "<f4", rows, 1 + 2 * rank).astype(np.float32)
    if not (np.isfinite(steps).all() and (steps >= 0).all()):
        raise CorruptFileError("SPEC section holds invalid quantization steps")
    if width == RANGE_CODED:
        deltas = _range_decoded(bytes(buf[head:]), rows, n_coded)
        return centres, steps, np.cumsum(deltas, axis=1)
    if width == ADAPTIVE:
        return centres, steps, _adaptive_decoded(bytes(buf[head:]), rows, n_coded)
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
