"""Near-lossless and lossless encodes (``--max-error E``, ``--lossless``): the smallest file.

Why: with an error bound the quality is fixed, and the rate of the lossy model (the predictor
whose residual :mod:`hinerc.format.residual` codes) is a free parameter: a finer model costs
more bytes and leaves a smaller residual. The total is flat near its minimum (Jasper Ridge,
lossless: 5.94 bits per sample at 0.1 and 0.2 bpppb of model, 6.00 at 0.05; see
``benchmarks/lossless_designs.py``), so a few encodes find it: the model at
:data:`FIRST_RATE`, then doubled (or halved) while the whole file shrinks (at
``--effort`` 7 and above, and on small cubes; else the first rate only). ``--bpppb`` is a
ceiling: a smallest file above it is an error naming the bound (exit 1).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from typing import Callable, Optional

from hinerc import pipeline
from hinerc.errors import RateError
from hinerc.io import Cube
from hinerc.progress import Progress
from hinerc.settings import EncodeSettings

#: the model's first rate (bpppb of the lossy part)
FIRST_RATE = 0.1
#: the lowest model rate tried
MIN_RATE = 0.025
#: the model's rate is searched at this effort and above, or on cubes of at most
#: SEARCH_SAMPLES samples; otherwise it is coded at FIRST_RATE (or the first rate that works)
#: only: an encode of Jasper Ridge takes 5-16 s (2 cores, load 1-4), the search gains about 1%
SEARCH_EFFORT = 7
SEARCH_SAMPLES = 1 << 19


def bound_words(max_error: float) -> str:
    """The CLI's words for the bound: ``--lossless`` or ``--max-error E``."""
    return "--lossless" if max_error == 0 else f"--max-error {max_error:g}"


def encode(cube: Cube, settings: EncodeSettings,
           progress: Optional[Callable[[Progress], None]] = None,
           on_stage: Optional[Callable[[str], None]] = None) -> "pipeline.Encoded":
    """The smallest file found that keeps ``settings.max_error`` on every sample.

    Raises:
        RateError: no model rate works for this cube, or the file exceeds ``--bpppb``;
        BoundError: the bound could not be kept (nothing is written).
    """
    assert settings.max_error is not None
    t0 = time.perf_counter()
    if "map_coder" in {o.name for o in settings.codec.options} \
            and "map_coder" not in settings.codec_options:
        # the predictor keeps the effort's own map coder alone: a second coder (AV1 beside
        # HEVC on few-band cubes) costs more time than it saves bytes (CAVE 256², lossless:
        # 9.285 bits per sample with HEVC alone in 64 s, 9.288 with both in 88 s)
        settings = replace(settings, codec_options={**settings.codec_options,
                                                    "map_coder": settings.preset().maps})
    if "pixel_net" in {o.name for o in settings.codec.options}:
        # the residual needs a predictor every decoder computes to the bit: the pixel network
        # and the map filter are float arithmetic with a tanh, which two machines may round
        # apart
        settings = replace(settings, codec_options={**settings.codec_options,
                                                    "pixel_net": "off", "map_filter": "off"})
    words = bound_words(settings.max_error)
    ceiling_bits = cube.dtype.itemsize * 8
    tried: dict[float, Optional[pipeline.Encoded]] = {}
    said: dict[float, list] = {}

    def at(rate: float) -> Optional[pipeline.Encoded]:
        if rate not in tried:
            if on_stage is not None:
                on_stage(f"{words}: the model at {rate:.4g} bpppb")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    tried[rate] = pipeline.encode(cube, settings, progress, None,
                                                  model_bpppb=rate)
                except RateError:
                    tried[rate] = None
            said[rate] = caught
        return tried[rate]

    def size(rate: float) -> float:
        enc = tried.get(rate)
        return len(enc.data) if enc is not None else float("inf")

    rate = FIRST_RATE
    while at(rate) is None:  # a small cube: its side information alone exceeds the rate
        rate *= 2
        if rate > 4 * ceiling_bits:
            raise RateError(f"{words}: the model cannot be coded at any rate for this cube")
    best = rate
    if settings.effort >= SEARCH_EFFORT or cube.data.size <= SEARCH_SAMPLES:
        for factor in (2.0, 0.5):
            r = best * factor
            while MIN_RATE <= r <= ceiling_bits and at(r) is not None and size(r) < size(best):
                best, r = r, r * factor
            if best != rate:
                break
    enc = tried[best]
    assert enc is not None
    for w in said.get(best, []):
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    h, w_, c = cube.shape
    got = len(enc.data) * 8 / (h * w_ * c)
    if settings.bpppb is not None and got > settings.bpppb:
        raise RateError(f"{words} cannot be met within --bpppb {settings.bpppb:g}: the smallest "
                        f"file found is {got:.4f} bpppb; allow a higher --bpppb")
    return replace(enc, seconds=time.perf_counter() - t0)


__all__ = ["encode", "bound_words", "FIRST_RATE"]
