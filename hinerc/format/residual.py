"""The RESD section: what makes a file near-lossless (``--max-error E``) or lossless.

Why: the lossy model (any codec) already predicts the cube well; what it misses, the residual
between the cube and the model's decoded samples, is quantized so that every sample comes back
within E of the original (integers: exactly; floats: up to the float's own rounding; E = 0:
bit-identical), and coded losslessly here. The format is specified in ``docs/format.md``
(§``RESD``); this module is its writer and reader.

Per coded band (N of them, in band order) the residual becomes an integer field k:

* mode 0, integer samples: ``r = x − p`` (p the model's restored sample), step ``2E+1``,
  ``k = sign(r)·⌊(|r| + E)/(2E+1)⌋``, sample ``p + k·(2E+1)`` (clipped to the type);
* mode 1, float samples, lossless: k is the difference of the samples' bit patterns mapped to
  order-preserving integers (wrapping two's-complement arithmetic), sample = the pattern back;
* mode 2, float samples, E > 0: ``k = round((x − p)/(2E))``, sample ``float(p + 2E·k)``.

The k field is coded losslessly: a per-band integer least-squares prediction ρ from causal
neighbours (the previous two coded bands, and the row above in this band), the prediction
error ``e = k − ρ`` split into ``q = e >> s`` and ``s`` raw low bits, q coded by a range coder
(``constriction``) with a quantized Laplace whose scale is looked up per band from a context
bin (the magnitude of the errors around the pixel in the previous band and the row above).
Decoding goes band by band, row by row, vectorized over the row.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Optional

import numpy as np

from hinerc.errors import CorruptFileError, HinercError

TAG = "RESD"
VERSION = 1
MODE_INT, MODE_FLOAT_BITS, MODE_FLOAT_STEP = 0, 1, 2
#: weights of the predictor are integers in units of 2**-SHIFT
SHIFT = 12
N_WEIGHTS = 9
#: context bins: bin = number of thresholds T_k <= m
THRESHOLDS = np.array([int(np.floor(2.0 ** (k / 2) + 0.5)) for k in range(72)], np.int64)
N_BINS = THRESHOLDS.size + 1
#: |e| counted at most this much in a context
CTX_CAP = 1 << 31
#: the range coder's symbols are q in [-LIMIT, LIMIT]; ±LIMIT is an escape
LIMIT = 1 << 14
#: scale of code c: 2 ** ((c - 32) / 8)
_SCALE_CODES = 2.0 ** ((np.arange(256) - 32) / 8)
_FIT_SAMPLES = 1 << 16
_HEAD = struct.Struct("<BBdII")
_BAND = struct.Struct("<" + "h" * N_WEIGHTS + "iBBB")


@dataclass
class Residual:
    """A parsed RESD: cheap checks done, nothing decoded."""

    mode: int
    max_error: float
    n: int
    weights: np.ndarray  # n × 9 int64
    bias: np.ndarray  # n int64
    shifts: np.ndarray  # n int
    scales: list[np.ndarray]  # per band, N_BINS scale codes (0 where unused)
    escapes: np.ndarray  # uint64
    crc: int  # CRC-32 of the decoded k field (int64 little-endian, band, row, column order)
    lows: bytes
    words: np.ndarray  # uint32 range coder words


def describe_bound(max_error: float) -> str:
    """What ``info`` says a file with this bound guarantees."""
    if max_error == 0:
        return "lossless: every sample bit-identical to the original"
    return f"every sample within ±{max_error:g} of the original (near-lossless)"


def mode_for(dtype: np.dtype, max_error: float) -> int:
    if dtype.kind == "f":
        return MODE_FLOAT_BITS if max_error == 0 else MODE_FLOAT_STEP
    return MODE_INT


# --------------------------------------------------------------------------- k field
def _ordered(a: np.ndarray) -> np.ndarray:
    """Float bit patterns as order-preserving signed integers (int64); an involution."""
    if a.dtype == np.float32:
        i = a.view(np.int32).astype(np.int64)
        return i ^ ((i >> 31) & 0x7FFFFFFF)
    i = a.view(np.int64)
    return i ^ ((i >> 63) & 0x7FFFFFFFFFFFFFFF)


def _from_ordered(o: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.float32:
        o = o.astype(np.int64)
        i = (o ^ ((o >> 31) & 0x7FFFFFFF)).astype(np.int32)
        return i.view(np.float32)
    i = o ^ ((o >> 63) & 0x7FFFFFFFFFFFFFFF)
    return i.view(np.float64)


def _as_int(a: np.ndarray) -> np.ndarray:
    """Integer samples as int64 (uint64 wraps: differences stay right modulo 2**64)."""
    return a.astype(np.int64) if a.dtype != np.uint64 else a.view(np.int64)


def to_field(x: np.ndarray, p: np.ndarray, mode: int, max_error: float) -> np.ndarray:
    """k of one band (x the original, p the model's samples, both in the cube's type)."""
    with np.errstate(over="ignore"):
        if mode == MODE_INT:
            r = _as_int(x) - _as_int(p)
            e = int(max_error)
            if e == 0:
                return r
            return np.sign(r) * ((np.abs(r) + e) // (2 * e + 1))
        if mode == MODE_FLOAT_BITS:
            return _ordered(x) - _ordered(p)
        k = np.rint((x.astype(np.float64) - p.astype(np.float64)) / (2 * max_error))
        return np.clip(k, -(2.0 ** 52), 2.0 ** 52).astype(np.int64)


def from_field(k: np.ndarray, p: np.ndarray, mode: int, max_error: float) -> np.ndarray:
    """The samples of one band from k and the model's samples p (the cube's type)."""
    dt = p.dtype
    with np.errstate(over="ignore", invalid="ignore"):
        if mode == MODE_INT:
            e = int(max_error)
            v = _as_int(p) + k * (2 * e + 1)
            if e and dt.itemsize < 8:
                info = np.iinfo(dt)
                v = np.clip(v, info.min, info.max)
            return v.view(np.uint64) if dt == np.uint64 else v.astype(dt)
        if mode == MODE_FLOAT_BITS:
            return _from_ordered(_ordered(p) + k, dt)
        return (p.astype(np.float64) + k.astype(np.float64) * (2 * max_error)).astype(dt)


# --------------------------------------------------------------------------- predictor
def _features(k: np.ndarray, b: int) -> list[np.ndarray]:
    """The 9 causal neighbours of every sample of band b (zero outside the field)."""
    n, h, w = k.shape
    z = np.zeros((h, w), np.int64)
    p1 = k[b - 1] if b >= 1 else z
    p2 = k[b - 2] if b >= 2 else z
    cur = k[b]

    def sh(a: np.ndarray, di: int, dj: int) -> np.ndarray:  # a[i + di, j + dj], 0 outside
        out = np.zeros_like(a)
        rs = slice(max(0, -di), h - max(0, di))
        cs = slice(max(0, -dj), w - max(0, dj))
        rd = slice(max(0, di), h - max(0, -di) if max(0, -di) else h)
        cd = slice(max(0, dj), w - max(0, -dj) if max(0, -dj) else w)
        if rs.start < rs.stop and cs.start < cs.stop:
            out[rs, cs] = a[rd, cd]
        return out

    return [p1, sh(p1, 0, -1), sh(p1, 0, 1), sh(p1, -1, 0), sh(p1, 1, 0), p2,
            sh(cur, -1, -1), sh(cur, -1, 0), sh(cur, -1, 1)]


def _predict(feats: list[np.ndarray], w: np.ndarray, bias: int) -> np.ndarray:
    acc = np.zeros(feats[0].shape, np.int64)
    with np.errstate(over="ignore"):
        for m in range(N_WEIGHTS):
            if w[m]:
                acc += np.int64(w[m]) * feats[m]
        return ((acc + (1 << (SHIFT - 1))) >> SHIFT) + np.int64(bias)


def _fit(feats: list[np.ndarray], y: np.ndarray, valid: Optional[np.ndarray]
         ) -> tuple[np.ndarray, int]:
    """Least-squares integer weights (and bias) of y on the features; zeros when that does not
    lower the sum of absolute errors."""
    sel = valid.reshape(-1) if valid is not None else slice(None)
    A = np.stack([f.reshape(-1)[sel] for f in feats] + [np.ones(y.size)[sel]], 1)
    t = y.reshape(-1)[sel]
    step = max(1, A.shape[0] // _FIT_SAMPLES)
    A, t = A[::step].astype(np.float64), t[::step].astype(np.float64)
    zero = np.zeros(N_WEIGHTS, np.int64)
    if A.shape[0] == 0 or not np.isfinite(A).all() or np.abs(A).max() > 2.0 ** 40:
        return zero, 0
    sol, *_ = np.linalg.lstsq(A, t, rcond=None)
    if not np.isfinite(sol).all():
        return zero, 0
    wq = np.clip(np.rint(sol[:N_WEIGHTS] * (1 << SHIFT)), -32768, 32767).astype(np.int64)
    bias = int(np.clip(np.rint(sol[N_WEIGHTS]), -(2 ** 31), 2 ** 31 - 1))
    yy = y.reshape(-1)[sel]
    with_w = np.abs(yy - _predict(feats, wq, bias).reshape(-1)[sel]).sum()
    if with_w < np.abs(yy).sum():
        return wq, bias
    return zero, 0


# --------------------------------------------------------------------------- context
def _cap(a: np.ndarray) -> np.ndarray:
    a = np.abs(a)
    return np.where(a < 0, CTX_CAP, np.minimum(a, CTX_CAP))


def _box3(a: np.ndarray) -> np.ndarray:
    """Sum over the 3×3 neighbourhood (zero outside)."""
    p = np.pad(a, 1)
    h, w = a.shape
    return sum(p[1 + di: 1 + di + h, 1 + dj: 1 + dj + w]
               for di in (-1, 0, 1) for dj in (-1, 0, 1))


def _above3(a: np.ndarray) -> np.ndarray:
    """a[i−1, j−1] + a[i−1, j] + a[i−1, j+1] (zero outside)."""
    p = np.pad(a, 1)
    h, w = a.shape
    return p[0:h, 0:w] + p[0:h, 1:w + 1] + p[0:h, 2:w + 2]


def _bins(m: np.ndarray) -> np.ndarray:
    return np.searchsorted(THRESHOLDS, m, side="right")


# --------------------------------------------------------------------------- encoding
def encode_field(k: np.ndarray, valid: Optional[np.ndarray]) -> tuple[list, np.ndarray,
                                                                      np.ndarray, bytes]:
    """Code the N×H×W int64 field ``k`` (``valid``: N×H×W bool or None); the samples that are
    not valid must be 0. Returns the band records, escapes, low bits and coder words."""
    import constriction

    n, h, w = k.shape
    records = []
    syms, scales, lows_bits = [], [], []
    escapes: list[np.ndarray] = []
    a_prev = np.zeros((h, w), np.int64)
    for b in range(n):
        feats = _features(k, b)
        v = valid[b] if valid is not None else None
        wq, bias = _fit(feats, k[b], v)
        with np.errstate(over="ignore"):
            e = k[b] - _predict(feats, wq, bias)
        if v is not None:
            e = np.where(v, e, 0)
        a = _cap(e)
        m = _box3(a_prev) + 3 * _above3(a)
        bins = _bins(m)
        sel = v.reshape(-1) if v is not None else slice(None)
        ev, bv = e.reshape(-1)[sel], bins.reshape(-1)[sel]
        mean = float(np.minimum(_cap(ev), 2 ** 62).astype(np.float64).mean()) if ev.size else 0.0
        s = int(max(0, np.floor(np.log2(mean)) - 5)) if mean >= 64 else 0
        q = ev >> s
        lo = (ev - (q << s)).astype(np.uint64)
        codes = np.zeros(N_BINS, np.uint8)
        used = np.unique(bv)
        for u in used:
            mq = np.abs(q[bv == u]).astype(np.float64).mean()
            codes[u] = int(np.clip(np.rint(8 * np.log2(max(mq, 2.0 ** -4)) + 32), 0, 255))
        lo_bin = int(used.min()) if used.size else 0
        hi_bin = int(used.max()) + 1 if used.size else 0
        records.append((wq, bias, s, lo_bin, codes[lo_bin:hi_bin]))
        big = (q >= LIMIT) | (q <= -LIMIT)
        if big.any():
            qb = q[big]
            mag = np.where(qb < 0, (~qb.view(np.uint64)) + np.uint64(1), qb.view(np.uint64))
            escapes.append(mag - np.uint64(LIMIT))
            q = np.where(big, np.sign(q) * LIMIT, q)
        syms.append(q.astype(np.int32))
        scales.append(_SCALE_CODES[codes[bv]])
        if s:
            lows_bits.append(((lo[:, None] >> np.arange(s, dtype=np.uint64)) & np.uint64(1))
                             .astype(np.uint8).reshape(-1))
        a_prev = a
    enc = constriction.stream.queue.RangeEncoder()
    if syms:
        allq = np.concatenate(syms)
        if allq.size:
            sc = np.concatenate(scales)
            enc.encode(allq, constriction.stream.model.QuantizedLaplace(-LIMIT, LIMIT),
                       np.zeros(allq.size), sc)
    words = np.asarray(enc.get_compressed(), np.uint32)
    lows = (np.packbits(np.concatenate(lows_bits), bitorder="little").tobytes()
            if lows_bits else b"")
    esc = np.concatenate(escapes) if escapes else np.zeros(0, np.uint64)
    return records, esc, lows, words


def field_crc(k: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(k, "<i8").tobytes())


def pack(mode: int, max_error: float, records: list, escapes: np.ndarray, lows: bytes,
         words: np.ndarray, crc: int) -> bytes:
    side = bytearray()
    for wq, bias, s, lo_bin, codes in records:
        side += _BAND.pack(*(int(v) for v in wq), int(bias), s, lo_bin, len(codes))
        side += bytes(codes)
    side += struct.pack("<I", escapes.size) + escapes.astype("<u8").tobytes()
    side_z = zlib.compress(bytes(side), 9)
    return (_HEAD.pack(VERSION, mode, float(max_error), len(records), crc)
            + struct.pack("<I", len(side_z)) + side_z
            + struct.pack("<I", len(lows)) + lows + words.astype("<u4").tobytes())


# --------------------------------------------------------------------------- reading
def parse(buf: bytes, n_coded: int, dtype: str) -> Residual:
    """Check a RESD payload against its plain file (``n_coded`` bands of ``dtype``)."""
    from hinerc.format.deflate import inflate

    try:
        version, mode, max_error, n, crc = _HEAD.unpack_from(buf, 0)
        pos = _HEAD.size
        (side_len,) = struct.unpack_from("<I", buf, pos)
        pos += 4
        side_z = buf[pos: pos + side_len]
        if len(side_z) != side_len:
            raise CorruptFileError("RESD section is truncated")
        pos += side_len
        (lows_len,) = struct.unpack_from("<I", buf, pos)
        pos += 4
    except struct.error:
        raise CorruptFileError("RESD section is truncated") from None
    if version != VERSION:
        raise CorruptFileError(f"RESD version {version} is not known to this hinerc")
    if n != n_coded:
        raise CorruptFileError("RESD and HEAD disagree on the number of coded bands")
    is_float = np.dtype(dtype).kind == "f"
    if mode not in (MODE_INT, MODE_FLOAT_BITS, MODE_FLOAT_STEP) \
            or (mode != MODE_INT) != is_float or not np.isfinite(max_error) or max_error < 0 \
            or (mode == MODE_FLOAT_BITS) != (is_float and max_error == 0) \
            or (mode == MODE_INT and max_error != int(max_error)):
        raise CorruptFileError("RESD section: invalid mode or bound")
    lows = buf[pos: pos + lows_len]
    if len(lows) != lows_len:
        raise CorruptFileError("RESD section is truncated")
    rest = buf[pos + lows_len:]
    if len(rest) % 4:
        raise CorruptFileError("RESD section: the coded words are not whole")
    side = inflate(side_z, "RESD section", limit=n * (_BAND.size + N_BINS) + 4 + (64 << 20))
    weights = np.zeros((n, N_WEIGHTS), np.int64)
    bias = np.zeros(n, np.int64)
    shifts = np.zeros(n, np.int64)
    scales = []
    p = 0
    try:
        for b in range(n):
            vals = _BAND.unpack_from(side, p)
            p += _BAND.size
            weights[b] = vals[:N_WEIGHTS]
            bias[b], shifts[b] = vals[N_WEIGHTS], vals[N_WEIGHTS + 1]
            lo_bin, count = vals[N_WEIGHTS + 2], vals[N_WEIGHTS + 3]
            if shifts[b] > 62 or lo_bin + count > N_BINS:
                raise CorruptFileError("RESD section: invalid band record")
            codes = np.zeros(N_BINS, np.uint8)
            codes[lo_bin: lo_bin + count] = np.frombuffer(side, np.uint8, count, p)
            p += count
            scales.append(codes)
        (n_esc,) = struct.unpack_from("<I", side, p)
        p += 4
        if len(side) != p + 8 * n_esc:
            raise CorruptFileError("RESD section: invalid escapes")
        escapes = np.frombuffer(side, "<u8", n_esc, p).astype(np.uint64)
    except (struct.error, ValueError):
        raise CorruptFileError("RESD section: band records are truncated") from None
    return Residual(mode, float(max_error), n, weights, bias, shifts, scales, escapes, crc, lows,
                    np.frombuffer(rest, "<u4").astype(np.uint32))


def decode_field(res: Residual, h: int, w: int, valid: Optional[np.ndarray]) -> np.ndarray:
    """The N×H×W int64 k field of a parsed RESD (row by row, vectorized over a row)."""
    import constriction

    n = res.n
    k = np.zeros((n, h, w), np.int64)
    bits = np.unpackbits(np.frombuffer(res.lows, np.uint8), bitorder="little")
    bit_pos = 0
    esc_pos = 0
    model = constriction.stream.model.QuantizedLaplace(-LIMIT, LIMIT)
    try:
        dec = constriction.stream.queue.RangeDecoder(res.words)
    except Exception as exc:  # noqa: BLE001  (constriction's own errors)
        raise CorruptFileError("RESD section: corrupt coded words") from exc
    a_prev = np.zeros((h, w), np.int64)
    scale_tabs = [_SCALE_CODES[c] for c in res.scales]
    for b in range(n):
        feats = _features(k, b)
        wq, bias, s = res.weights[b], int(res.bias[b]), int(res.shifts[b])
        spec = np.zeros((h, w), np.int64)
        with np.errstate(over="ignore"):
            for m in range(6):
                if wq[m]:
                    spec += np.int64(wq[m]) * feats[m]
        box = _box3(a_prev)
        a = np.zeros((h, w), np.int64)
        row_above = np.zeros(w + 2, np.int64)  # k of the row above, padded
        a_above = np.zeros(w + 2, np.int64)
        tab = scale_tabs[b]
        for i in range(h):
            with np.errstate(over="ignore"):
                acc = (spec[i] + np.int64(wq[6]) * row_above[0:w] + np.int64(wq[7])
                       * row_above[1:w + 1] + np.int64(wq[8]) * row_above[2:w + 2])
                rho = ((acc + (1 << (SHIFT - 1))) >> SHIFT) + np.int64(bias)
            m = box[i] + 3 * (a_above[0:w] + a_above[1:w + 1] + a_above[2:w + 2])
            v = valid[b, i] if valid is not None else None
            bins = _bins(m if v is None else m[v])
            cnt = bins.size
            if cnt:
                try:
                    q = np.asarray(dec.decode(model, np.zeros(cnt), tab[bins]), np.int64)
                except Exception as exc:  # noqa: BLE001
                    raise CorruptFileError("RESD section: corrupt coded words") from exc
            else:
                q = np.zeros(0, np.int64)
            big = (q == LIMIT) | (q == -LIMIT)
            if big.any():
                nb = int(big.sum())
                if esc_pos + nb > res.escapes.size:
                    raise CorruptFileError("RESD section: escapes are missing")
                mag = res.escapes[esc_pos: esc_pos + nb] + np.uint64(LIMIT)
                esc_pos += nb
                neg = q[big] < 0
                with np.errstate(over="ignore"):
                    val = np.where(neg, (~(mag - np.uint64(1))), mag).view(np.int64)
                q = q.copy()
                q[big] = val
            with np.errstate(over="ignore"):
                if s:
                    need = cnt * s
                    if bit_pos + need > bits.size:
                        raise CorruptFileError("RESD section: low bits are missing")
                    chunk = bits[bit_pos: bit_pos + need].reshape(cnt, s).astype(np.uint64)
                    bit_pos += need
                    lo = (chunk << np.arange(s, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
                    e = (q << np.int64(s)) + lo.view(np.int64)
                else:
                    e = q
                if v is None:
                    krow = e + rho
                    arow = _cap(e)
                else:
                    krow = np.zeros(w, np.int64)
                    arow = np.zeros(w, np.int64)
                    krow[v] = e + rho[v]
                    arow[v] = _cap(e)
            k[b, i] = krow
            a[i] = arow
            row_above[1:w + 1] = krow
            a_above[1:w + 1] = arow
        a_prev = a
    if esc_pos != res.escapes.size or (bits.size - bit_pos) >= 8:
        raise CorruptFileError("RESD section: data left over")
    if field_crc(k) != res.crc:
        raise CorruptFileError("RESD section: the decoded residual fails its check")
    return k


# --------------------------------------------------------------------------- whole cubes
class BoundError(HinercError):
    """The residual could not keep the promised bound (never written)."""


def _valid(table, mask: np.ndarray, nodata, h: int, w: int) -> Optional[np.ndarray]:
    """N×H×W: the real samples of the coded bands (None when all are real)."""
    coded = table.coded
    if nodata is None or not mask.any():
        return None
    mask_pos = {int(b): j for j, b in enumerate(np.nonzero(table.kinds != 2)[0])}
    v = np.stack([~mask[:, :, mask_pos[int(b)]] for b in coded]) if coded.size \
        else np.zeros((0, h, w), bool)
    return None if v.all() else v


def encode_cube(x: np.ndarray, pred: np.ndarray, table, mask: np.ndarray, nodata,
                max_error: float) -> tuple[bytes, np.ndarray]:
    """The RESD payload of one plain file and the samples it decodes to, checked.

    ``x`` the original H×W×C samples, ``pred`` the model's (as :func:`hinerc.bands.restore`
    gives them), ``mask`` the H×W×M no-data mask of the non-no-data bands.

    Raises:
        BoundError: a decoded sample misses the bound (a bug or a float beyond repair)."""
    h, w, c = x.shape
    mode = mode_for(x.dtype, max_error)
    if mode == MODE_INT:
        max_error = float(int(max_error))
    coded = table.coded
    valid = _valid(table, mask, nodata, h, w)
    k = np.zeros((coded.size, h, w), np.int64)
    for i, b in enumerate(coded):
        k[i] = to_field(x[:, :, b], pred[:, :, b], mode, max_error)
        if valid is not None:
            k[i][~valid[i]] = 0
    records, esc, lows, words = encode_field(k, valid)
    buf = pack(mode, max_error, records, esc, lows, words, field_crc(k))
    out = decode_cube(pred, table, mask, nodata, parse(buf, coded.size, x.dtype.name))
    check_bound(x, out, table, mask, nodata, max_error)
    return buf, out


def decode_cube(pred: np.ndarray, table, mask: np.ndarray, nodata, res: Residual
                ) -> np.ndarray:
    """The samples of a plain file: the model's ``pred`` (H×W×C) with the residual added."""
    h, w, c = pred.shape
    coded = table.coded
    valid = _valid(table, mask, nodata, h, w)
    k = decode_field(res, h, w, valid)
    out = pred.copy()
    for i, b in enumerate(coded):
        band = from_field(k[i], pred[:, :, b], res.mode, res.max_error)
        if valid is not None:
            band = np.where(valid[i], band, pred[:, :, b])
        out[:, :, b] = band
    return out


def check_bound(x: np.ndarray, out: np.ndarray, table, mask: np.ndarray, nodata,
                max_error: float) -> None:
    """Every real sample of ``out`` within ``max_error`` of ``x`` (bit-identical for 0)."""
    h, w, c = x.shape
    valid = _valid(table, mask, nodata, h, w)
    for i, b in enumerate(table.coded):
        xs, os_ = x[:, :, b], out[:, :, b]
        if valid is not None:
            xs, os_ = xs[valid[i]], os_[valid[i]]
        if max_error == 0:
            bad = xs.view(f"u{x.dtype.itemsize}") != os_.view(f"u{x.dtype.itemsize}")
        elif x.dtype.kind == "f":
            a, o = xs.astype(np.float64), os_.astype(np.float64)
            slack = np.spacing(np.maximum(np.abs(a), np.abs(o)).astype(x.dtype)).astype(np.float64)
            bad = ~(np.abs(a - o) <= max_error + slack)
        else:
            bad = np.abs(_as_int(xs).astype(np.float64) - _as_int(os_).astype(np.float64)) \
                > max_error
            if x.dtype.itemsize == 8:  # exact for 64-bit integers
                bad = np.array([abs(int(p) - int(q)) > max_error
                                for p, q in zip(xs.reshape(-1), os_.reshape(-1))], bool)
        if bad.any():
            raise BoundError(f"--max-error {max_error:g} could not be kept in band {b + 1} "
                             f"({int(bad.sum())} samples): nothing written")
