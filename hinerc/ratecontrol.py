"""The rate: ``--bpppb R`` is the size of the written file, bytes × 8 / (H·W·C), every section
included, landed within ±:data:`TOLERANCE` (a codec fits its model into the bytes the pipeline
leaves it: :class:`hinerc.codecs.base.Budget`)."""

from __future__ import annotations

#: The file must land within ±TOLERANCE of R.
TOLERANCE = 0.03


def target_bytes(bpppb: float, samples: int) -> float:
    return bpppb * samples / 8.0
