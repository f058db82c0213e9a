"""AV1 map coder: each map a 12-bit monochrome AV1 intra picture, the bytes shared out by the same
operational rate allocation as the HEVC coder.

Why: on cubes with few bands (the CAVE chart: 31) the maps carry most of the file, and there the
classical anchor with AV1 intra (``pca_av1_rd16`` in ``shared/anchors``, libaom through Debian's
``aomenc``) beats the HEVC map coder at the lowest rates. The ffmpeg of the ``imageio-ffmpeg``
wheel carries libaom-av1 with ``gray12le`` input, the ``obu`` muxer and demuxer and the libdav1d
decoder, so AV1 maps need nothing but pip packages too. (Its native ``av1`` decoder decodes only
through a hardware accelerator: hinerc uses libdav1d.)

Everything that is not AV1's own (12-bit scaling, the R–D grid per map, the hull allocation, the
refinement picture, the framing, the time-limited ffmpeg runner) is
:mod:`~hinerc.codecs.lowrank.mapcoders.intra`. What is here: libaom's settings, mirroring the
anchor's ``aomenc`` (``--usage=2`` all intra, ``--tune=psnr``, ``--end-usage=q --cq-level=Q``,
``--cpu-used=4``, profile 2 monochrome 12 bits) as ffmpeg's ``-usage allintra -tune psnr -crf Q
-b:v 0 -cpu-used 4``; the split of its low-overhead OBU stream into temporal units; the decoder.

The cq-level grid is finer than the anchor's (1, 2, 4, 6, then every 2nd to 62, and 63: the
anchor's every 3rd from 9 left 0.08 dB on CAVE at 0.1 bpppb). cq-level 0 is lossless
(measured: bit-exact on 12-bit codes), far more bytes than any budget here buys, so it is not in
the grid; as in the anchor, maps at the finest lossy level (1, a step of a few code values) get a
refinement picture.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from hinerc.codecs.lowrank.mapcoders import intra
from hinerc.codecs.lowrank.mapcoders.intra import (Codestream, FfmpegError, IntraMapCoder,
                                                   REFINE_MAPS, _run)

MAX_Q = 63
#: cq-levels measured for every map, fine to coarse: the anchor's fine end (1, 2, 4, 6), then
#: every 2nd level: on CAVE 256² at 0.1 bpppb 44.46 dB against 44.38 with the anchor's grid
#: (every 3rd from 9, 22 levels), in 1.6× the time (benchmarks/results/rd_notes.md).
Q_GRID = (1, 2, 4, 6) + tuple(range(8, 64, 2)) + (63,)
#: libaom ``cpu-used`` (0 slowest .. 9 fastest in all-intra): the anchor's measured table used 4.
CPU_USED = "4"
#: a temporal delimiter OBU (type 2, has_size_field, size 0): starts every temporal unit
TD = b"\x12\x00"
OBU_SEQUENCE_HEADER, OBU_TEMPORAL_DELIMITER = 1, 2

FORMAT_DOC = """\
MAPS is one AV1 maps codestream (version 1): each map a 12-bit monochrome AV1 (AOMedia
Video 1) intra picture, or a constant. The framing is the HEVC maps codestream's (above), with
these differences: the levels are libaom cq-levels, 0 ≤ q ≤ 63 (mode q, or 128 + q for a
picture at the encoder's finest lossy level plus a refinement picture at level q); the shared
header (where HEVC has its parameter sets) is one AV1 *sequence header OBU*; every picture is the
OBUs of one *temporal unit* without its temporal delimiter (a frame OBU, or a frame header and
tile groups: one key frame, shown). Every OBU has `obu_has_size_field` = 1 (the low-overhead format of AV1
§5.2). A picture that begins with a sequence header OBU carries its own (never written by this
encoder for one map size).

The decoder's input is, for each picture in stream order, the temporal delimiter `12 00`, then
the sequence header (unless the picture carries its own), then the picture: a low-overhead OBU
stream of key frames, every one decodable alone. Every picture is Hp × Wp luma samples (Hp, Wp as
for HEVC), monochrome, 12 bits (profile 2); a map is the picture's top-left H × W and decodes to
code units as for HEVC (`offset + scale · c`, plus `r_offset + r_scale · r_c` when refined; AV1
decoding is exact). A reader needs an AV1 decoder that takes 12-bit monochrome: hinerc uses
libdav1d inside the ffmpeg of the `imageio-ffmpeg` wheel (pip only; ffmpeg's own `av1` decoder
needs a hardware accelerator and is not used), under a time limit with its output capped at the
pictures expected. The encoder is libaom in that ffmpeg, with the anchor's settings (`-usage
allintra -tune psnr -crf q -b:v 0 -cpu-used 4`), each map coded at the cq-levels 1, 2, 4, 6, 8,
10, …, 62, 63 and chosen by the same equal-slope allocation. Files with AV1 maps are format 1.3."""


def ffmpeg_exe() -> str:
    """The ffmpeg inside the ``imageio-ffmpeg`` wheel (libaom-av1 with 12-bit gray, libdav1d)."""
    return intra.ffmpeg_exe("the AV1 map coder")


def _leb128(buf: bytes, pos: int) -> tuple[int, int]:
    v = 0
    for i in range(8):
        if pos >= len(buf):
            raise ValueError("truncated")
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            return v, pos
    raise ValueError("invalid leb128")


def obus(stream: bytes) -> list[tuple[int, bytes]]:
    """The OBUs of a low-overhead AV1 stream: [(type, the OBU's bytes with its header)]; a
    ``ValueError`` for an OBU without a size field or running past the end."""
    out = []
    pos = 0
    while pos < len(stream):
        head = stream[pos]
        if head & 0x80 or not head & 0x02:
            raise ValueError("an OBU without a size field")
        start = pos + 1 + ((head >> 2) & 1)
        size, body = _leb128(stream, start)
        if body + size > len(stream):
            raise ValueError("an OBU past the end")
        out.append(((head >> 3) & 0x0F, stream[pos:body + size]))
        pos = body + size
    return out


def split_temporal_units(stream: bytes, n: int) -> tuple[bytes, list[bytes]]:
    """libaom's low-overhead output for ``n`` pictures -> (sequence header OBU, [picture]), each
    picture a temporal unit's OBUs without its temporal delimiter. The first sequence header is
    the shared one; a repeat of it is dropped; a different one stays with its picture."""
    try:
        units = obus(stream)
    except ValueError as exc:
        raise FfmpegError(f"libaom wrote an invalid OBU stream ({exc})") from None
    seq = b""
    pictures: list[bytearray] = []
    for t, unit in units:
        if t == OBU_TEMPORAL_DELIMITER:
            pictures.append(bytearray())
            continue
        if not pictures:
            raise FfmpegError("libaom wrote OBUs before a temporal delimiter")
        if t == OBU_SEQUENCE_HEADER:
            if not seq:
                seq = unit
                continue
            if unit == seq:
                continue
        pictures[-1] += unit
    if len(pictures) != n or not seq or not all(pictures):
        raise FfmpegError(f"libaom wrote {len(pictures)} temporal units for {n} maps")
    return seq, [bytes(p) for p in pictures]


def _encode_stack(frames: np.ndarray, q: int, cpu_used: str) -> tuple[bytes, list[bytes]]:
    """(n, Hp, Wp) uint16 codes (or (n, 3, Hp, Wp): 4:4:4 pictures) -> one all-intra 12-bit AV1
    stream at cq-level ``q``, split into temporal units."""
    out = intra.encode_frames(
        ffmpeg_exe(), ["-c:v", "libaom-av1", "-usage", "allintra", "-cpu-used", str(cpu_used),
                       "-tune", "psnr", "-crf", str(int(q)), "-b:v", "0", "-threads", "1",
                       "-row-mt", "0", "-f", "obu"],
        frames, timeout=120 + 4e-4 * frames.size,
        failed=f"ffmpeg/libaom failed at cq-level {q}", run=_run)
    return split_temporal_units(out, frames.shape[0])


def _decode_stream(stream: bytes, n: int, hp: int, wp: int, threads: int = 1,
                   planes: int = 1) -> np.ndarray:
    """A low-overhead OBU stream of ``n`` Hp×Wp 12-bit pictures -> (n, Hp, Wp) uint16 codes
    (``planes`` 3: 4:4:4 pictures, (n, 3, Hp, Wp))."""
    return intra.decode_frames(ffmpeg_exe(), ["-c:v", "libdav1d", "-f", "obu"], stream, n, hp, wp,
                               threads=threads, label="AV1", run=_run, planes=planes)


def parse(data: bytes, k: int) -> Codestream:
    """Read and check the framing of a codestream holding ``k`` maps (no AV1 decoding)."""
    return intra.parse(data, k, label="AV1", max_q=MAX_Q, header="sequence header")


def join(seq: bytes, pictures: Sequence[bytes]) -> bytes:
    """The decoder's input: per picture a temporal delimiter, the shared sequence header
    ``seq`` unless the picture carries its own, the picture."""
    return b"".join(TD + (b"" if _carries_header(p) else seq) + p for p in pictures)


def _carries_header(picture: bytes) -> bool:
    return bool(picture) and (picture[0] >> 3) & 0x0F == OBU_SEQUENCE_HEADER


class Av1MapCoder(IntraMapCoder):
    """12-bit AV1 intra per map, bytes shared by equal slope (see the module docstring).

    Args:
        preset: libaom ``cpu-used`` (default 4, the anchor's).
        qps: the cq-level grid measured for every map.
        refine: how many maps at most get a refinement picture (0: none; needs cq-level 1 or 0
            in ``qps``).
        jobs: ffmpeg processes at once (default: the CPUs this process may use, at most 8).
        cache_mb: how much of the grid results (pictures, finest decodes) is kept for later calls.
    """

    name = "av1"
    summary = ("each map a 12-bit AV1 intra picture (libaom in imageio-ffmpeg's ffmpeg, libdav1d "
               "to decode), bytes shared out by equal slope on measured R–D hulls")
    format_doc = FORMAT_DOC
    label = "AV1"
    max_q = MAX_Q
    default_qps = Q_GRID
    default_preset = CPU_USED
    refine_from = 1
    header_name = "sequence header"

    def __init__(self, preset: str = CPU_USED, qps: Sequence[int] = Q_GRID,
                 refine: int = REFINE_MAPS, jobs: Optional[int] = None, cache_mb: float = 256):
        super().__init__(preset, qps, refine, jobs, cache_mb)

    def _encode_stack(self, frames: np.ndarray, q: int, preset: Optional[str] = None
                      ) -> tuple[bytes, list[bytes]]:
        return _encode_stack(frames, q, preset or self.preset)

    def _decode_stream(self, stream: bytes, n: int, hp: int, wp: int,
                       threads: int = 1) -> np.ndarray:
        return _decode_stream(stream, n, hp, wp, threads)

    def _join(self, ps: bytes, pictures: Sequence[bytes]) -> bytes:
        return join(ps, pictures)

    def _carry(self, ps: bytes, picture: bytes) -> bytes:
        return ps + picture
