"""Effort presets of the low-rank codec (``--effort 1..9``, as ``cjxl -e``).

A level sets where the rank search starts, how many ranks it may code, how long it goes on
past the best one (patience), how closely each rank's maps are fitted to the bytes and the
embedding quantization steps it compares: each level is at least as fast as the next
(``benchmarks/results/speed.md``). Level 5 is the default.

The quick levels (1–4) start from the rank the KLT spectrum predicts from a first code and aim
each rank's maps into a byte window in a few encodes; 1 and 2 code at most two and three
ranks, with JPEG 2000 maps (fast, and pip's imagecodecs only). 5–9 code the maps with HEVC
(:mod:`~hinerc.codecs.lowrank.mapcoders.hevc`) and again with AV1
(:mod:`~hinerc.codecs.lowrank.mapcoders.av1`, on cubes of at most :data:`ALSO_MAX_BANDS` coded
bands at rates up to :data:`ALSO_MAX_BPPPB`) and keep the file of higher measured quality
(``Preset.also``; the cost is measured in ``benchmarks/results/rd_notes.md``), each coder's
rate allocation choosing the rank (``Search.allocate``): measured against the rank search with
JPEG 2000 and with HEVC in ``benchmarks/results/rd.md``; 7–9 also compare embedding steps, 8–9
count no embedding row in the allocation (measured at 9: −0.12 to +0.28 dB from 5 on the five
benchmark cubes: the allocation at 5 already finds about the rank a search would), and run 5's
allocation as well, keeping the better file. 8–9 code the AV1 maps at libaom ``cpu-used`` 2
(the anchor's 4 elsewhere) and also try the AV1 4:4:4 coder
(:mod:`~hinerc.codecs.lowrank.mapcoders.av1joint`: three maps a picture) under the same limits
(``Preset.coder_options``; measured on CAVE 256² at 0.1 bpppb: 44.59 dB with AV1 at 4, 44.78 at
2, 44.95 with 4:4:4 at 2, in ``benchmarks/results/rd_notes.md``); 9 codes the HEVC maps with
x265's ``placebo`` at every QP (:data:`~hinerc.codecs.lowrank.mapcoders.hevc.FINE_QP_GRID`:
+0.05 dB on Jasper Ridge at 0.25 and 1.0 bpppb and CAVE 256² at 0.5, in 2.7–4× the time).
``--map-coder hevc`` or ``av1`` codes with that coder only; with ``--map-coder jpeg2000``, 5 fits
the maps to the last byte from the rate's usual rank and 6–9 look further past the best rank.
5–9 train a pixel network after the mix where the file is large enough to carry one
(:mod:`~hinerc.codecs.lowrank.pixelnet`; 3000 to 8000 steps, ``Preset.pixel_iters``). 7–9
also train a map filter on tiles of at most 1024² pixels (:mod:`~hinerc.codecs.lowrank.mapfilter`;
1000 to 2000 steps, ``Preset.filter_iters``), coding the cube a second time for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hinerc.codecs.lowrank import mapcoders
from hinerc.codecs.lowrank.mapcoders import MapCoder
from hinerc.codecs.lowrank.mapcoders.hevc import FINE_QP_GRID
from hinerc.codecs.lowrank.model import DEFAULT_REL, RANKS, Search


@dataclass(frozen=True)
class Preset:
    """One effort level: the rank search, and the map coder (its name in the registry of
    :mod:`hinerc.codecs.lowrank.mapcoders`)."""

    search: Search
    maps: str = "jpeg2000"
    #: map coders coded as well (after ``maps``, at the same budget): the file keeps the one of
    #: highest measured quality (``--map-coder`` codes with one coder only)
    also: tuple[str, ...] = ()
    #: training steps of the pixel network (:mod:`~hinerc.codecs.lowrank.pixelnet`; 0: none),
    #: tried where the file is large enough for one (``--pixel-net off``: never)
    pixel_iters: int = 0
    #: training steps of the map filter (:mod:`~hinerc.codecs.lowrank.mapfilter`; 0: none),
    #: tried on tiles of at most 1024² pixels (``--map-filter off``: never)
    filter_iters: int = 0
    #: (coder name, its keyword options) where they are not the coder's defaults: how hard
    #: the encoder looks (libaom's cpu-used or x265's ``preset``, the quantizers measured); a
    #: decoder needs none of them
    coder_options: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    #: quick codes made first (effort 1's search, JPEG 2000 maps) to weigh the bands in the
    #: KLT, each with the weights of the last one's errors (:func:`~hinerc.codecs.lowrank.
    #: model.klt_weights`; 0: the KLT in the original units)
    klt_passes: int = 0

    def coder(self, name: str) -> MapCoder:
        """A new instance of the map coder ``name``, at this level's settings for it."""
        options = {k: v for n, opts in self.coder_options if n == name for k, v in opts}
        return mapcoders.get(name)(**options)


#: ``also`` is tried only on a cube of at most this many coded bands. Where the bands are few,
#: the maps carry most of the bits and the spatial coder decides (AV1 ahead of HEVC on CAVE
#: 256², 31 bands, at 0.1 and 0.25 bpppb); on the airborne cubes (162–224 bands) HEVC was
#: ahead at every point measured (benchmarks/results/rd.md) and a second coder would only
#: double the encode time, which whole scenes cannot afford (benchmarks/results/scene.md).
ALSO_MAX_BANDS = 64
#: ... and only at a rate of at most this many bpppb: on CAVE AV1 was ahead at 0.1 and 0.25,
#: level at 0.5 and behind at 1.0 (benchmarks/results/rd.md).
ALSO_MAX_BPPPB = 0.3


_QUICK = dict(aim=True, predict=True)
#: 5–9 code the maps with HEVC and with AV1 and keep the better file (measured in
#: benchmarks/results/rd.md: AV1 ahead on CAVE 256² at 0.1–0.25 bpppb, HEVC at 1.0)
_BOTH = ("av1",)
#: 8–9 also run the default level's allocation (its embedding step and row cost) and keep the
#: better file: their own finer step and free rows were 0.24 dB behind it on the EnMAP mosaic
#: at 0.1 bpppb, 0.30 dB ahead on HYDICE Urban at 0.1 (``Search.also_allocate``)
_DEFAULT_ALLOCATION = ((DEFAULT_REL, Search.row_cost),)
#: 8–9: AV1 at libaom cpu-used 2 (3× the time of 4; CAVE 256²: +0.19 dB at 0.1 bpppb, +0.10 at
#: 0.5), and the 4:4:4 coder too (+0.17 dB more at 0.1; behind the others at 0.25 and on the
#: airborne cubes, where the better file is kept)
_SLOW_AV1 = (("av1", (("preset", "2"),)), ("av1-444", (("preset", "2"),)))
#: 9: HEVC at x265's placebo on every QP (FINE_QP_GRID)
_SLOWEST = _SLOW_AV1 + (("hevc", (("preset", "placebo"), ("qps", FINE_QP_GRID))),)
_ALL_AV1 = ("av1", "av1-444")
#: 5–9: HEVC and AV1 maps, the rank chosen by the maps' rate allocation (``allocate``); the rank
#: search fields apply when ``--map-coder jpeg2000`` replaces the coder (then 5–9 are as before
#: HEVC).
EFFORTS: dict[int, Preset] = {
    1: Preset(Search(RANKS, patience=1, max_ranks=2, window=0.975, **_QUICK)),
    2: Preset(Search(RANKS, patience=1, max_ranks=3, window=0.98, **_QUICK)),
    3: Preset(Search(RANKS, patience=1, **_QUICK), klt_passes=1),
    4: Preset(Search(RANKS, patience=2, **_QUICK), klt_passes=1),
    5: Preset(Search(RANKS, patience=2, allocate=True), "hevc", _BOTH, 3000, klt_passes=2),
    6: Preset(Search(RANKS, patience=3, allocate=True), "hevc", _BOTH, 4000, klt_passes=2),
    7: Preset(Search(RANKS, (0.0005, 0.001), patience=3, allocate=True), "hevc", _BOTH, 6000,
              1000, klt_passes=2),
    8: Preset(Search(RANKS, (0.0005, 0.001), patience=4, allocate=True, row_cost=0.0,
                     also_allocate=_DEFAULT_ALLOCATION), "hevc", _ALL_AV1, 6000, 1500,
              _SLOW_AV1, klt_passes=2),
    9: Preset(Search(RANKS, (0.0005, 0.001, 0.002), patience=4, allocate=True, row_cost=0.0,
                     also_allocate=_DEFAULT_ALLOCATION), "hevc", _ALL_AV1, 8000, 2000,
              _SLOWEST, klt_passes=2),
}
#: the quick codes that weigh the bands (``Preset.klt_passes``): effort 1's
WEIGHING = EFFORTS[1]
#: ... on a tile's centre window of at most this many pixels a side
WEIGHING_SIDE = 400
