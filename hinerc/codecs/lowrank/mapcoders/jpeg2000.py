"""JPEG 2000 maps: one k-component codestream (ISO/IEC 15444-1, 9/7 wavelet, OpenJPEG through
``imagecodecs``), its quality target fitted to the byte budget.

The maps are rounded to uint16 and coded as the components of one codestream (no colour
transform, no JP2 box). The quality (OpenJPEG's PSNR target of the uint16 components, between
1 and 160 dB) is bisected in 14 steps to the last byte that fits, or, for the quick effort
levels, aimed by secant steps on log(size) into a window under the budget (3–5 encodes). Every
encode of the maps in hand is kept, so the rate rounds of one rank share them.
"""

from __future__ import annotations

import math
import struct
from typing import Callable, Optional

import numpy as np

from hinerc.codecs.lowrank.mapcoders import Importance, MapCode, MapCoder
from hinerc.errors import CorruptFileError

#: JPEG 2000 quality (PSNR of the uint16 maps, dB) searched between these.
Q_LO, Q_HI = 1.0, 160.0
#: Start of a JPEG 2000 codestream: SOC then SIZ marker.
J2K_START = b"\xff\x4f\xff\x51"
BISECTIONS = 14
AIMED_TRIES = 14


def resolutions(height: int, width: int) -> int:
    """Wavelet decomposition levels + 1: up to 6, fewer on small images."""
    return max(1, min(6, int(math.log2(min(height, width))) - 2)) if min(height, width) > 1 else 1


def to_codes(maps: np.ndarray) -> np.ndarray:
    """Maps in code units rounded to the uint16 samples the codestream holds."""
    return np.clip(np.rint(maps), 0, 65535).astype(np.uint16)


class Jpeg2000MapCoder(MapCoder):
    name = "jpeg2000"
    label = "JPEG 2000"
    summary = "one k-component JPEG 2000 codestream (OpenJPEG), quality fitted to the bytes"
    format_doc = """\
MAPS is one JPEG 2000 codestream (ISO/IEC 15444-1 Part 1, the bare codestream: no JP2 box; SOC
`FF 4F` then SIZ `FF 51`) of k components of W × H unsigned 16-bit samples (`Ssiz` = 15, no
subsampling), irreversible 9/7 wavelet, no colour transform; written by OpenJPEG through
`imagecodecs`, any Part 1 decoder reads it. Before decoding, a reader checks that the SIZ
marker declares exactly that (a hostile file cannot make the decoder allocate more). The
decoded samples, as float64, are the maps `d_j` in code units. The encoder fits OpenJPEG's
quality target to the bytes left by the rest of the file. This is the map coder of every file
whose MODL has no `maps`."""

    def __init__(self) -> None:
        self._maps: Optional[np.ndarray] = None  # the maps whose encodes are in _memo
        self._codes: Optional[np.ndarray] = None
        self._memo: dict[float, bytes] = {}
        self._level: Optional[float] = None  # the quality the last aimed fit found

    # ------------------------------------------------------------------------- encoding
    def encode(self, maps: np.ndarray, budget_bytes: int, *, window: Optional[float] = None,
               tick: Optional[Callable[[], None]] = None,
               importance: Optional[Importance] = None,
               map_cost: float = 0.0) -> MapCode:  # one quality for all: no weights, no empties
        if maps is not self._maps:
            self._maps, self._codes, self._memo = maps, to_codes(maps), {}
        import imagecodecs

        q = self._codes
        res = resolutions(q.shape[0], q.shape[1])
        data = q[:, :, 0] if q.shape[2] == 1 else q
        memo = self._memo

        def enc(level: float) -> bytes:
            if level not in memo:
                memo[level] = imagecodecs.jpeg2k_encode(
                    data, level=level, codecformat="J2K", reversible=False, mct=False,
                    planar=False, resolutions=res, numthreads=1)
                if tick is not None:
                    tick()
            return memo[level]

        if window is not None:
            blob, finest = _aim(enc, memo, budget_bytes, window, AIMED_TRIES, self._level)
            if blob:
                self._level = next(lv for lv, b in memo.items() if b is blob)
            return MapCode(blob, finest)
        return MapCode(*_bisect(enc, budget_bytes, BISECTIONS))

    # ------------------------------------------------------------------------- decoding
    def decode(self, data: bytes, height: int, width: int, k: int) -> np.ndarray:
        import imagecodecs

        try:
            q = imagecodecs.jpeg2k_decode(data)
        except Exception as exc:  # imagecodecs raises its own error types
            raise CorruptFileError(f"MAPS section is not a valid JPEG 2000 codestream ({exc})"
                                   ) from None
        if q.ndim == 2:
            q = q[:, :, None]
        if q.shape != (height, width, k) or q.dtype != np.uint16:
            raise CorruptFileError(f"MAPS codestream holds {q.shape} {q.dtype}, expected "
                                   f"({height}, {width}, {k}) uint16")
        return q.reshape(-1, k).astype(np.float64)

    def check(self, data: bytes, height: int, width: int, k: int) -> None:
        if not data.startswith(J2K_START) or len(data) < 42 + 3 * k:
            raise CorruptFileError("MAPS section is not a JPEG 2000 codestream")
        lsiz, _rsiz, xsiz, ysiz, xo, yo = struct.unpack_from(">HHIIII", data, 4)
        (csiz,) = struct.unpack_from(">H", data, 40)
        comps = [struct.unpack_from(">BBB", data, 42 + 3 * i) for i in range(min(csiz, k))]
        ok = (lsiz == 38 + 3 * csiz and csiz == k and xsiz - xo == width
              and ysiz - yo == height and xo <= xsiz and yo <= ysiz
              and all(c == (15, 1, 1) for c in comps))
        if not ok:
            raise CorruptFileError(f"MAPS codestream does not declare {k} 16-bit maps of "
                                   f"{height}×{width}")


def _bisect(enc: Callable[[float], bytes], budget: int, iterations: int) -> tuple[bytes, bool]:
    """The best-quality codestream within ``budget`` bytes by bisection on the quality;
    ``b""`` when even the coarsest does not fit; the flag says it is the finest quality."""
    lo, hi = Q_LO, Q_HI
    best = enc(lo)
    if len(best) > budget:
        return b"", False
    top = enc(hi)
    if len(top) <= budget:
        return top, True
    for _ in range(iterations):
        mid = (lo + hi) / 2
        blob = enc(mid)
        if len(blob) <= budget:
            lo, best = mid, blob
        else:
            hi = mid
    return best, False


def _aim(enc: Callable[[float], bytes], memo: dict[float, bytes], budget: int, window: float,
         tries: int, guess: Optional[float]) -> tuple[bytes, bool]:
    """The quality by secant steps on log(bytes), bracketed by every codestream encoded so far
    (``memo``): stops at the first of ``window``·budget..budget bytes, or after ``tries``
    encodes with the largest that fits. The codestream's size grows about exponentially with
    the quality target, so two or three steps from a near guess land in a 2% window."""
    aim = math.log(budget * (1 - (1 - window) / 3))  # the window's upper part
    best = b""
    for _ in range(max(tries, 1) + 1):
        fitting = [lv for lv, b in memo.items() if len(b) <= budget]
        if Q_HI in fitting:
            return memo[Q_HI], True
        best = max((memo[lv] for lv in fitting), key=len, default=b"")
        if len(best) >= window * budget or tries <= 0:
            return best, False
        level = _next_level({lv: math.log(len(b)) for lv, b in memo.items()}, math.log(budget),
                            aim, guess)
        if level is None:
            return best, False
        enc(level)
        tries -= 1
    return best, False


def _next_level(size: dict[float, float], limit: float, aim: float,
                guess: Optional[float]) -> Optional[float]:
    """The next quality to try for log-size ``aim`` (at most ``limit``), from the log sizes
    ``size`` of those tried; ``None`` when there is nothing left to try."""
    if not size:
        return min(max(guess if guess is not None else 60.0, Q_LO), Q_HI)
    over = [lv for lv in size if size[lv] > limit]
    hi = min(over) if over else None
    under = [lv for lv in size if lv not in over and (hi is None or lv < hi)]
    lo = max(under) if under else None
    if lo is not None and hi is not None:
        if hi - lo < 0.01:
            return None
        t = (aim - size[lo]) / (size[hi] - size[lo]) if size[hi] > size[lo] else 0.5
        return lo + (hi - lo) * min(max(t, 0.1), 0.9)
    if hi is not None and hi <= Q_LO or lo is not None and lo >= Q_HI:
        return None
    # one side only: a secant step (2–30 dB) from the nearest quality tried
    base = lo if lo is not None else hi
    others = [lv for lv in size if lv != base]
    slope = 0.0
    if others:
        nb = min(others, key=lambda lv: abs(lv - base))
        slope = (size[base] - size[nb]) / (base - nb)
    step = (aim - size[base]) / slope if slope > 1e-6 else (8.0 if lo is not None else -8.0)
    step = math.copysign(min(max(abs(step), 2.0), 30.0), 1.0 if lo is not None else -1.0)
    return min(max(base + step, Q_LO), Q_HI)
