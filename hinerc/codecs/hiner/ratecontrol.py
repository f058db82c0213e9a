"""Rate control of the published network: from a byte budget to a model size, and from a trained
model to exact bytes.

1. Before training, the known sections (header, metadata, band table, mask, report) are sized
   exactly; what remains, divided by an expected cost per stored value (:data:`BITS_PER_VALUE`,
   8-bit symbols after Huffman coding), is the number of values the model may have
   (:func:`value_budget`); :mod:`hinerc.codecs.hiner.sizing` turns it into an architecture.
2. After training, the coded payload is measured exactly. If the file would miss R by more than
   the tolerance, single tensors move one bit of quantization depth at a time (from 8 towards
   5..12), choosing each time the move that brings the size closest to R (:func:`fit_bits`).
   If that cannot land the rate, the caller retrains with a budget corrected by the measured
   cost per value.
"""

from __future__ import annotations

import numpy as np

from hinerc.codecs.hiner.payload import coded_size
from hinerc.format.quant import QuantTensor, quantize

#: Expected coded bits per stored value at 8-bit quantization (measured 7.5–7.9 after Huffman).
BITS_PER_VALUE = 7.75
#: The bit-depth search aims inside this window (the file's tolerance is wider:
#: :data:`hinerc.ratecontrol.TOLERANCE`).
AIM = 0.02
MIN_BITS, MAX_BITS, DEFAULT_BITS = 5, 12, 8


def value_budget(payload_bytes: float, bits_per_value: float = BITS_PER_VALUE) -> int:
    return max(0, int(payload_bytes * 8.0 / bits_per_value))


def payload_room(budget_bytes: float, fixed_bytes: int, n_tensors: int) -> float:
    """Bytes left for the coded values once everything else is paid for.

    Everything else: the sections whose size is known before training (``fixed_bytes``), the
    QPRM records (3 bytes + one float32 pair per tensor), the section counts, and about 100
    bytes per Huffman table (one or two tables in practice).
    """
    return budget_bytes - fixed_bytes - (4 + 11 * n_tensors + 2 * 100)


def fit_bits(tensors: list[np.ndarray], budget: float, aim: float = AIM
             ) -> tuple[list[QuantTensor], int]:
    """Quantize ``tensors`` so that their coded size is as close to ``budget`` bytes as possible.

    Starts at 8 bits everywhere and stops as soon as the size is within ``±aim·budget``.
    Returns the quantized tensors and their exact coded size (QPRM + HUFF + DATA payloads).
    """
    qts = [quantize(t, DEFAULT_BITS) for t in tensors]
    size = coded_size(qts)
    cache: dict[tuple[int, int], QuantTensor] = {}
    for _ in range(8 * len(tensors)):
        if abs(size - budget) <= aim * budget:
            break
        best = None
        direction = -1 if size > budget else 1
        for i, t in enumerate(tensors):
            nb = qts[i].bits + direction
            if not MIN_BITS <= nb <= MAX_BITS:
                continue
            key = (i, nb)
            if key not in cache:
                cache[key] = quantize(t, nb)
            trial = qts[:i] + [cache[key]] + qts[i + 1:]
            s = coded_size(trial)
            if best is None or abs(s - budget) < abs(best[0] - budget):
                best = (s, trial)
        if best is None or abs(best[0] - budget) >= abs(size - budget):
            break
        size, qts = best
    return qts, size
