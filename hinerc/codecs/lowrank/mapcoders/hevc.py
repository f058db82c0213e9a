"""HEVC map coder: each map a 12-bit monochrome HEVC intra picture, the bytes shared out by an
operational rate allocation.

Why: coding the low-rank model's maps as one JPEG 2000 codestream leaves quality on the table. A
classical pipeline that codes each principal component as its own 12-bit HEVC intra picture and
shares the bytes out by equal slope on each component's measured R–D hull codes the same maps
0.8–2.1 dB better (``pca_hevc_rd16`` in ``shared/anchors``). This module is that coder behind the
:class:`~hinerc.codecs.lowrank.mapcoders.MapCoder` interface, with nothing but pip packages: x265 (libx265, 12-bit
build) and the HEVC decoder inside the ffmpeg that the ``imageio-ffmpeg`` wheel bundles, driven
through pipes (raw ``gray12le`` in, an Annex-B byte stream out, and back; no temporary files).

Encoding ``maps`` (H×W×k floats) into ``budget_bytes``:

1. each map is scaled to 12-bit codes by its own range (``map ≈ offset + scale · code``, two
   float32 per map) and edge-padded to what x265 takes (a multiple of 8, at least 16 a side);
2. every map is coded at each QP of a grid (all maps of one QP as the pictures of one intra-only
   stream; the QPs run in parallel, one single-threaded ffmpeg each), decoded, and its bytes and
   squared error measured, the error weighted by how much the map matters to the cube (the
   ``importance`` the low-rank model passes, see :mod:`hinerc.codecs.lowrank.model`; by
   default every map's own squared error counts the same);
3. the QP of every map is chosen by equal slope on each map's lower convex R–D hull (the
   Lagrangian multiplier bisected to the budget), then the bytes left are filled greedily;
   a map may also get no bytes at all ("empty": it decodes to its mean, a constant);
4. x265 goes no finer than QP 0 (a step of about 10 codes at 12 bits): maps the allocation puts
   at QP 0 get a second round in which a *refinement picture* (the residual after the QP-0
   picture, scaled by its own range, at any QP of the grid) adds points to their hulls.

Grid results are cached per map (by content), so coding a prefix of the same maps again (the rank
search of the low-rank model) costs only the maps not seen before.

The codestream (version 1), little-endian, ``uv`` = unsigned LEB128 varint::

    u8 version (= 1)
    uv k                                       must equal the k the decoder is given
    k records, one per map, in map order:
        u8 mode: 255 = empty, then f32 value (the map is that constant)
                 q in 0..51 = one picture at QP q, then f32 offset, f32 scale, uv length
                 128 + q (q in 0..51) = a QP-0 picture and a refinement picture at QP q, then
                     f32 offset, f32 scale, uv length, f32 r_offset, f32 r_scale, uv r_length
    if any map is not empty: uv length, then the parameter sets (VPS, SPS, PPS)
    the pictures: the base picture of every non-empty map in map order, then the refinement
        pictures in map order, each of the length its record gives

The parameter sets and each picture are HEVC NAL units in Annex-B form with their first start
code left out (a decoder puts ``00 00 01`` in front of each and concatenates them). Every picture
is Hp×Wp, Hp = max(16, H rounded up to a multiple of 8) (Wp likewise), 4:0:0, 12 bits; the decoder
crops the top-left H×W. A map decodes to ``offset + scale · code`` (plus ``r_offset + r_scale ·
r_code`` when refined).

The codec-neutral parts (scaling, R–D grid, allocation, refinement, framing, the ffmpeg runner)
live in :mod:`~hinerc.codecs.lowrank.mapcoders.intra`, shared with the AV1 coder; this module is
what is HEVC's: the x265 command, the split of its Annex-B output into pictures, the decoder.

Decoding checks the framing completely before it starts ffmpeg, runs ffmpeg under a time limit
with its output capped at the expected size, and turns every failure into one
:class:`~hinerc.errors.CorruptFileError` (a ``ValueError``) line.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from hinerc.codecs.lowrank.mapcoders import intra
from hinerc.codecs.lowrank.mapcoders.intra import (  # noqa: F401  (names tests and tools use)
    BITS, EMPTY, REFINE_MAPS, REFINED, REWEIGHTS, TOP, VERSION, Codestream, EncodeStats,
    FfmpegError, IntraMapCoder, MapRecord, _codes, _first_line, _MapGrid, _run, _scaling, _uv,
    _uv_len, allocate, lower_hull, padded)

MAX_QP = 51
#: QPs measured for every map, fine to coarse: the anchor's grid (2 apart at the fine end, where
#: a map's hull bends most, 3 apart after) less QP 2: at 12 bits this libx265 writes the same
#: stream for QPs 0 to 3 (measured), so 0 stands for them.
QP_GRID = (0, 4, 6) + tuple(range(9, 52, 3))
#: every QP x265 codes differently (the highest effort's grid, with x265's ``placebo``): the
#: allocation's hulls get three times the points. Measured with ``-e5``'s search on Jasper
#: Ridge at 0.25 and 1.0 bpppb and CAVE 256² at 0.5: +0.05 dB each against ``slow`` on
#: QP_GRID, in 2.7–4× the encode time (``placebo`` alone: +0.04 at 1.0).
FINE_QP_GRID = (0,) + tuple(range(4, 52))
#: x265 preset (``tune psnr`` always); benchmarks/mapcoders.py --presets measures the others.
PRESET = "slow"
_START = b"\x00\x00\x01"
_PS_TYPES = (32, 33, 34)  # VPS, SPS, PPS

FORMAT_DOC = """\
MAPS is one HEVC maps codestream (version 1): each map a 12-bit 4:0:0 HEVC (ITU-T H.265) intra
picture, or a constant. Little-endian; `uv` is an unsigned LEB128 varint (at most 5 bytes).

| size | field |
|---|---|
| 1 | version, 1 |
| uv | the number of maps, = k |
| k records | per map, in map order: a mode byte, then its fields (below) |
| uv + n | if any map is not empty: n, then n bytes of parameter sets (VPS, SPS, PPS) |
| rest | the pictures: the base picture of every non-empty map in map order, then the refinement picture of every refined map in map order, each of the length its record gives |

Mode 255: an *empty* map, then f32 `v`: the map is `v` everywhere. Mode q (0 ≤ q ≤ 51): one
picture coded at QP q, then f32 `offset`, f32 `scale`, uv `length` (> 0). Mode 128 + q: a
QP-0 picture and a *refinement picture* at QP q, then f32 `offset`, f32 `scale`, uv `length`,
f32 `r_offset`, f32 `r_scale`, uv `r_length` (both > 0). Every float is finite; any other mode,
a count ≠ k, a length past the end or bytes left over make the file corrupt (checked before any
HEVC decoding).

The parameter sets and every picture are HEVC NAL units in Annex-B form with their first start
code left out: the decoder's input is `00 00 01` + parameter sets, then `00 00 01` + each
picture, in stream order, one intra picture (IDR) each. Every picture is Hp × Wp luma samples,
Hp = max(16, H rounded up to a multiple of 8) (Wp likewise), 4:0:0, 12 bits; a map is the
picture's top-left H × W. With `c` the decoded 12-bit samples (HEVC decoding is exact: every
conforming decoder gives the same `c`), map j in code units is

    d_j = float64(offset) + float64(scale) · c                  (mode q)
    d_j = float64(offset) + float64(scale) · c + (float64(r_offset) + float64(r_scale) · r_c)
                                                                (mode 128 + q)

`r_c` being the refinement picture's samples: the residual after the QP-0 picture, which x265
cannot code finer (a step of about 10 codes at 12 bits), scaled to 0..4095 by its own range.
A reader needs an HEVC Main 12 (monochrome 12) decoder: hinerc uses the ffmpeg inside the
`imageio-ffmpeg` wheel (`pip install imageio-ffmpeg`, nothing else on a fresh machine), run
under a time limit with its output capped at the k + (refined maps) pictures expected. The
encoder codes each map at a grid of QPs (x265 `--preset slow --tune psnr`), measures every
point's bytes and error, weighted by the map's importance to the band-mean PSNR, and picks one
point per map by equal slope on the maps' convex R–D hulls, the bytes left filled greedily; a
map worth no bytes is empty. Files with HEVC maps are format 1.3."""

# ----------------------------------------------------------------------------- ffmpeg
def ffmpeg_exe() -> str:
    """The ffmpeg inside the ``imageio-ffmpeg`` wheel (libx265 with 12-bit gray)."""
    return intra.ffmpeg_exe("the HEVC map coder")


def _nal_units(stream: bytes) -> list[bytes]:
    """The NAL units of an Annex-B byte stream, start codes and trailing zeros removed."""
    starts = []
    i = stream.find(_START)
    while i >= 0:
        starts.append(i)
        i = stream.find(_START, i + 3)
    units = []
    for n, s in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(stream)
        unit = stream[s + 3:end].rstrip(b"\x00")
        if unit:
            units.append(unit)
    return units


def _nal_type(unit: bytes) -> int:
    return (unit[0] >> 1) & 0x3F


def _split_pictures(stream: bytes, n: int) -> tuple[bytes, list[bytes]]:
    """x265's Annex-B output for ``n`` pictures -> (parameter sets, [picture]), each a fragment
    with its first start code left out. A parameter set repeated unchanged is dropped; a changed
    one travels with its picture."""
    ps: dict[int, bytes] = {}
    pictures: list[list[bytes]] = []
    pending: list[bytes] = []  # non-VCL units that go with the next picture
    for unit in _nal_units(stream):
        t = _nal_type(unit)
        if t in _PS_TYPES:
            if t not in ps:
                ps[t] = unit
            elif unit != ps[t]:
                pending.append(unit)
        elif t < 32:  # a slice: first_slice_segment_in_pic_flag starts a picture
            if unit[2] & 0x80 or not pictures:
                pictures.append(pending + [unit])
            else:
                pictures[-1].extend(pending + [unit])
            pending = []
        elif t == 40 and pictures:  # suffix SEI: with the picture before
            pictures[-1].append(unit)
        else:  # AUD, prefix SEI, ...: with the next picture
            pending.append(unit)
    if len(pictures) != n or any(t not in ps for t in _PS_TYPES):
        raise FfmpegError(f"x265 wrote {len(pictures)} pictures for {n} maps")
    return _START.join(ps[t] for t in _PS_TYPES), [_START.join(p) for p in pictures]


#: x265's ``placebo`` asks for transform trees 4 deep, which the 16×16 coding tree units x265
#: takes for a picture under 32 samples a side cannot hold (it refuses: "QuadtreeTUMaxDepthInter
#: must be less than or equal to ..."): such pictures are coded at ``veryslow`` (depth 3)
PLACEBO_MIN_SIDE = 32


def _encode_stack(frames: np.ndarray, qp: int, preset: str) -> tuple[bytes, list[bytes]]:
    """(n, Hp, Wp) uint16 codes -> one intra-only 12-bit stream at ``qp``, split in pictures."""
    if preset == "placebo" and min(frames.shape[1:]) < PLACEBO_MIN_SIDE:
        preset = "veryslow"
    out = intra.encode_frames(
        ffmpeg_exe(), ["-c:v", "libx265", "-preset", preset, "-tune", "psnr", "-qp", str(int(qp)),
                       "-x265-params", "keyint=1:info=0:pools=1:frame-threads=1:log-level=error",
                       "-f", "hevc"],
        frames, timeout=60 + 1e-4 * frames.size, failed=f"ffmpeg/libx265 failed at QP {qp}",
        run=_run)
    return _split_pictures(out, frames.shape[0])


def _decode_stream(stream: bytes, n: int, hp: int, wp: int, threads: int = 1) -> np.ndarray:
    """An Annex-B stream of ``n`` Hp×Wp 12-bit pictures -> (n, Hp, Wp) uint16 codes."""
    return intra.decode_frames(ffmpeg_exe(), ["-f", "hevc"], stream, n, hp, wp,
                               threads=threads, label="HEVC", run=_run)


def parse(data: bytes, k: int) -> Codestream:
    """Read and check the framing of a codestream holding ``k`` maps (no HEVC decoding)."""
    return intra.parse(data, k, label="HEVC", max_q=MAX_QP)


class HevcMapCoder(IntraMapCoder):
    """12-bit HEVC intra per map, bytes shared by equal slope (see the module docstring).

    Args:
        preset: x265 preset (``tune psnr`` is always on).
        qps: the QP grid measured for every map.
        refine: how many maps at most get a refinement picture (0: none; needs QP 0 in ``qps``).
        jobs: ffmpeg processes at once (default: the CPUs this process may use, at most 8).
        cache_mb: how much of the grid results (pictures, finest decodes) is kept for later calls.
    """

    name = "hevc"
    summary = ("each map a 12-bit HEVC intra picture (x265 in imageio-ffmpeg's ffmpeg), bytes "
               "shared out by equal slope on measured R–D hulls")
    format_doc = FORMAT_DOC
    label = "HEVC"
    max_q = MAX_QP
    default_qps = QP_GRID
    default_preset = PRESET
    #: the sampled grid of large maps (measured on a 1000² scene of Jasper Ridge: as slow, to
    #: the corrections of the maps coded whole, in about half the time)
    sample_preset = "medium"
    refine_from = 0

    def __init__(self, preset: str = PRESET, qps: Sequence[int] = QP_GRID,
                 refine: int = REFINE_MAPS, jobs: Optional[int] = None, cache_mb: float = 256):
        super().__init__(preset, qps, refine, jobs, cache_mb)

    def _encode_stack(self, frames: np.ndarray, q: int, preset: Optional[str] = None
                      ) -> tuple[bytes, list[bytes]]:
        return _encode_stack(frames, q, preset or self.preset)

    def _decode_stream(self, stream: bytes, n: int, hp: int, wp: int,
                       threads: int = 1) -> np.ndarray:
        return _decode_stream(stream, n, hp, wp, threads)

    def _join(self, ps: bytes, pictures: Sequence[bytes]) -> bytes:
        return b"".join(_START + u for u in [ps, *pictures])

    def _carry(self, ps: bytes, picture: bytes) -> bytes:
        return _START.join([ps, picture])
