"""Quality targets: the smallest file whose quality reaches what was asked.

``--psnr DB`` asks for a band-mean PSNR (as :mod:`hinerc.metrics` reports it) of at least DB,
``--min-band-psnr DB`` for every band at least DB; either works for every codec, because it
only drives the rate: the rate is searched (a bisection on log-rate, each probe a whole encode
whose quality is measured on the file's own bytes) for the smallest rate whose file meets the
target. ``--bpppb`` becomes a ceiling: when even a file of that rate misses the target, the
command says so (exit 1). The rate is known to within :data:`PRECISION` (a ratio), so the file
is at most that much larger than the smallest that meets the target, plus the rate tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

from hinerc.errors import RateError

#: The search stops when the passing rate is within this ratio of a failing one.
PRECISION = 1.06
#: At most this many encodes.
MAX_PROBES = 12
#: The first rate tried when nothing else says where to start.
FIRST_GUESS = 0.25
#: The lowest rate ever tried.
FLOOR = 0.005


class QualityTargetError(RateError):
    """The target cannot be met within the ceiling (exit 1)."""


@dataclass(frozen=True)
class Target:
    """What quality is asked: band-mean PSNR and/or worst-band PSNR, in dB."""

    psnr_db: Optional[float] = None
    min_band_psnr_db: Optional[float] = None

    def met(self, psnr_db: float, worst_band_psnr_db: Optional[float]) -> bool:
        if self.psnr_db is not None and not psnr_db >= self.psnr_db:
            return False
        if self.min_band_psnr_db is not None:
            worst = psnr_db if worst_band_psnr_db is None else worst_band_psnr_db
            return worst >= self.min_band_psnr_db
        return True

    def describe(self) -> str:
        parts = []
        if self.psnr_db is not None:
            parts.append(f"--psnr {self.psnr_db:g}")
        if self.min_band_psnr_db is not None:
            parts.append(f"--min-band-psnr {self.min_band_psnr_db:g}")
        return " and ".join(parts)


def search(encode: Callable[[float], "object"], target: Target, ceiling: float,
           on_probe: Optional[Callable[[float, Optional[object]], None]] = None) -> object:
    """The encode of the smallest rate (within :data:`PRECISION`) that meets ``target``.

    ``encode(bpppb)`` returns an encode with ``.quality.psnr_db`` and
    ``.quality.worst_band_psnr_db``, or raises :class:`RateError` for a rate too low to reach.
    ``on_probe(rate, encoded_or_None)`` is told of each probe.

    Raises:
        QualityTargetError: even ``ceiling`` misses the target.
    """
    best = None  # the smallest passing encode so far, and its rate
    best_rate = math.inf
    fail_rate = FLOOR  # the largest rate known to miss (or not reachable)
    reached = None

    def probe(rate: float) -> bool:
        nonlocal best, best_rate, fail_rate, reached
        try:
            enc = encode(rate)
        except RateError:
            if on_probe:
                on_probe(rate, None)
            fail_rate = max(fail_rate, rate)
            return False
        if on_probe:
            on_probe(rate, enc)
        q = enc.quality  # type: ignore[attr-defined]
        reached = q
        if target.met(q.psnr_db, q.worst_band_psnr_db):
            if rate < best_rate:
                best, best_rate = enc, rate
            return True
        fail_rate = max(fail_rate, rate)
        return False

    rate = min(FIRST_GUESS, ceiling)
    probes = 0
    # bracket: up by 2× until a pass (or the ceiling), or down by 2× until a miss
    while probes < MAX_PROBES:
        probes += 1
        if probe(rate):
            if rate / 2 <= fail_rate:
                break
            rate = max(rate / 2, fail_rate)
        else:
            if rate >= ceiling:
                break
            rate = min(rate * 2, ceiling)
        if best is not None and best_rate / fail_rate <= 2.0 + 1e-9 and fail_rate > FLOOR:
            break
    if best is None:
        got = (f" (the file at {ceiling:g} bpppb reached {reached.psnr_db:.2f} dB, worst band "
               f"{reached.worst_band_psnr_db:.2f} dB)" if reached is not None
               and reached.worst_band_psnr_db is not None else "")
        raise QualityTargetError(f"{target.describe()} cannot be met within --bpppb "
                                 f"{ceiling:g}{got}; allow a higher --bpppb")
    # bisect on log-rate between the largest miss and the smallest pass
    while probes < MAX_PROBES and best_rate / fail_rate > PRECISION:
        probes += 1
        probe(math.sqrt(best_rate * fail_rate))
    return best


def ceiling_of(bpppb: Optional[float], source_bits: int) -> float:
    """The highest rate the search may use: ``--bpppb`` when given, else the source's own
    bits per sample (a lossy file larger than the raw samples makes no sense)."""
    return float(bpppb) if bpppb is not None else float(source_bits)


__all__ = ["Target", "search", "ceiling_of", "QualityTargetError", "PRECISION"]
