"""Intra-picture map coders: the codec-neutral parts of the map coders that code each map as a
12-bit monochrome intra picture of a video codec run through the bundled ffmpeg.

Why: the HEVC coder (:mod:`~hinerc.codecs.lowrank.mapcoders.hevc`) and the AV1 coder
(:mod:`~hinerc.codecs.lowrank.mapcoders.av1`) differ only in the program they run and in how its
output is split into pictures; the rest is one design and lives here once:

* the scaling of each map to 12-bit codes (two float32 per map) and the edge padding;
* the R–D points of every map at each quantizer level of a grid (coded, decoded, measured), cached
  per map by content;
* the allocation across maps: equal slope on each map's lower convex hull, the bytes left filled
  greedily (:func:`allocate`), a map left empty when worth no bytes;
* the refinement picture past the finest level (the residual, scaled by its own range);
* the codestream framing (version, per-map records, the shared header, the pictures), parsed
  and checked completely before any decoding;
* the ffmpeg runner with a time limit and a cap on what it may write (:func:`_run`).

A codec supplies :meth:`IntraMapCoder._encode_stack` (frames -> shared header + pictures),
:meth:`IntraMapCoder._decode_stream` and :meth:`IntraMapCoder._join` (the decoder's input).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import struct
import subprocess
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional, Sequence

import numpy as np

from hinerc.codecs.lowrank.mapcoders import Importance, MapCode, MapCoder, MapCoderUnavailable
from hinerc.errors import CorruptFileError

VERSION = 1
BITS = 12
TOP = (1 << BITS) - 1
EMPTY = 255
REFINED = 128
#: How many maps (the strongest first) may get a refinement picture.
REFINE_MAPS = 8
_F32 = struct.Struct("<f")
#: Allocations with the errors the previous one left (the grid is cached: these are free);
#: measured on Jasper Ridge at 0.25 bpppb (HEVC): 47.83 dB with one, 48.34 dB with three in all.
REWEIGHTS = 2


class FfmpegError(MapCoderUnavailable):
    """The bundled ffmpeg is missing or failed on input it should take."""


# ----------------------------------------------------------------------------- ffmpeg
def ffmpeg_exe(who: str = "this map coder") -> str:
    """The ffmpeg inside the ``imageio-ffmpeg`` wheel (libx265 and libaom with 12-bit gray,
    libdav1d)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise FfmpegError(f"{who} needs imageio-ffmpeg "
                          "(pip install 'imageio-ffmpeg>=0.5')") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(cmd: list[str], data: bytes, timeout: float, max_out: int) -> tuple[int, bytes, str]:
    """Run ``cmd`` with ``data`` on stdin; (return code, stdout, stderr tail). The process is
    killed after ``timeout`` seconds or as soon as it writes more than ``max_out`` bytes (the
    code is then -9 and the stdout cut)."""
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    except OSError as exc:
        raise FfmpegError(f"cannot run {cmd[0]} ({exc.strerror or exc})") from None
    err = bytearray()

    def feed() -> None:
        try:
            proc.stdin.write(data)  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass

    def drain() -> None:
        for chunk in iter(lambda: proc.stderr.read(4096), b""):  # type: ignore[union-attr]
            if len(err) < 8192:
                err.extend(chunk)

    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    threads = [threading.Thread(target=feed, daemon=True), threading.Thread(target=drain,
                                                                            daemon=True)]
    timer = threading.Timer(timeout, kill)
    for t in threads:
        t.start()
    timer.start()
    out = bytearray()
    try:
        while True:
            chunk = proc.stdout.read(1 << 16)  # type: ignore[union-attr]
            if not chunk:
                break
            out.extend(chunk)
            if len(out) > max_out:
                kill()
                break
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for t in threads:
            t.join(timeout=5)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    if killed.is_set():
        why = "timed out" if len(out) <= max_out else "wrote more than expected"
        return -9, bytes(out), why
    return proc.returncode, bytes(out), _first_line(err.decode(errors="replace"))


def encode_frames(exe: str, codec_args: Sequence[str], frames: np.ndarray, *, timeout: float,
                  failed: str, run: Callable = _run) -> bytes:
    """The encoder's output for (n, Hp, Wp) uint16 ``frames`` piped to ffmpeg as 12-bit gray
    raw video (or (n, 3, Hp, Wp): 12-bit planar 4:4:4), ``codec_args`` choosing the encoder and
    the output format; a :class:`FfmpegError` ``failed (its complaint)`` when it fails.
    ``run``: the runner (a codec passes its module's name for it, so that tests can replace it
    there)."""
    hp, wp = frames.shape[-2:]
    pix = "gray12le" if frames.ndim == 3 else "yuv444p12le"
    cmd = [exe, "-hide_banner", "-nostdin", "-v", "error", "-f", "rawvideo",
           "-pix_fmt", pix, "-s", f"{wp}x{hp}", "-r", "1", "-i", "-", *codec_args, "-"]
    raw = np.ascontiguousarray(frames, "<u2").tobytes()
    code, out, err = run(cmd, raw, timeout=timeout, max_out=4 * len(raw) + (1 << 20))
    if code != 0:
        raise FfmpegError(f"{failed} ({err or f'exit {code}'})")
    return out


def decode_frames(exe: str, input_args: Sequence[str], stream: bytes, n: int, hp: int, wp: int,
                  *, threads: int, label: str, run: Callable = _run, planes: int = 1
                  ) -> np.ndarray:
    """``n`` Hp×Wp 12-bit pictures decoded by ffmpeg from ``stream`` (``input_args`` name the
    decoder and the input format) -> (n, Hp, Wp) uint16 codes (``planes`` 3: 4:4:4 pictures,
    (n, 3, Hp, Wp)); a :class:`CorruptFileError` naming ``label`` when it does not decode to
    exactly that. Time-limited, output capped."""
    expect = 2 * n * planes * hp * wp
    cmd = [exe, "-hide_banner", "-nostdin", "-v", "error", "-threads", str(threads),
           "-err_detect", "explode", "-max_pixels", str((hp + 128) * (wp + 128)),
           *input_args, "-i", "-",
           "-frames:v", str(n), "-fps_mode", "passthrough", "-f", "rawvideo",
           "-pix_fmt", "gray12le" if planes == 1 else "yuv444p12le", "-"]
    code, out, err = run(cmd, stream, timeout=30 + 2e-5 * n * planes * hp * wp
                         + 1e-5 * len(stream), max_out=expect)
    if code != 0:
        raise CorruptFileError(f"{label} maps do not decode ({err or f'ffmpeg exit {code}'})")
    if len(out) != expect:
        raise CorruptFileError(f"{label} maps decode to {len(out) // 2} samples, expected "
                               f"{n} pictures of {hp}×{wp}")
    return np.frombuffer(out, "<u2").reshape((n, hp, wp) if planes == 1 else (n, planes, hp, wp))


def _first_line(text: str) -> str:
    """ffmpeg's first complaint, without its ``[component @ 0x...]`` prefixes."""
    for line in text.splitlines():
        line = re.sub(r"\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", line).strip()
        if line:
            return line[:200]
    return ""


def ffmpeg_jobs(jobs: Optional[int] = None) -> int:
    """ffmpeg processes a coder runs at once: ``jobs``, or the CPUs this process may use;
    1 to 8."""
    if jobs is None:
        try:
            jobs = len(os.sched_getaffinity(0))
        except AttributeError:
            jobs = os.cpu_count() or 1
    return max(1, min(8, int(jobs)))


def padded(h: int, w: int) -> tuple[int, int]:
    """The picture size the encoder is given for an H×W map: a multiple of 8, at least 16 a
    side (what x265 takes; AV1 takes it too)."""
    return max(16, -(-h // 8) * 8), max(16, -(-w // 8) * 8)


# ----------------------------------------------------------------------------- framing
def _uv(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _uv_len(n: int) -> int:
    return max(1, -(-n.bit_length() // 7))


@dataclass(frozen=True)
class MapRecord:
    """How one map is coded: empty (a constant), one picture, or a picture at the finest level
    + a refinement picture."""

    mode: int  # EMPTY, a level (QP), or REFINED + the refinement's level
    offset: float  # the constant of an empty map
    scale: float = 0.0
    length: int = 0
    r_offset: float = 0.0
    r_scale: float = 0.0
    r_length: int = 0

    @property
    def empty(self) -> bool:
        return self.mode == EMPTY

    @property
    def refined(self) -> bool:
        return REFINED <= self.mode < EMPTY

    @property
    def qp(self) -> int:
        """The base picture's level (0 when refined)."""
        return 0 if self.refined else self.mode

    def packed(self) -> bytes:
        f = lambda v: _F32.pack(v)  # noqa: E731
        if self.empty:
            return bytes([EMPTY]) + f(self.offset)
        out = bytes([self.mode]) + f(self.offset) + f(self.scale) + _uv(self.length)
        if self.refined:
            out += f(self.r_offset) + f(self.r_scale) + _uv(self.r_length)
        return out


@dataclass(frozen=True)
class Codestream:
    """A parsed codestream: one record per map, the parameter sets and the pictures."""

    records: list[MapRecord]
    ps: bytes
    pictures: list[bytes]  # base pictures in map order, then refinement pictures

    def packed(self) -> bytes:
        out = bytearray([VERSION]) + _uv(len(self.records))
        for r in self.records:
            out += r.packed()
        if self.ps:
            out += _uv(len(self.ps)) + self.ps
        for p in self.pictures:
            out += p
        return bytes(out)


class Reader:
    """Bounds-checked reads of a maps codestream (``label`` names the codec in the errors, each
    a :class:`CorruptFileError` of one line); ``pos`` is where the next read starts."""

    def __init__(self, data: bytes, label: str):
        self.data, self.label, self.pos = bytes(data), label, 0

    def need(self, n: int, what: str) -> None:
        if self.pos + n > len(self.data):
            raise CorruptFileError(f"{self.label} maps codestream is truncated (in {what})")

    def take(self, n: int, what: str) -> bytes:
        self.need(n, what)
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def f32(self, what: str) -> float:
        (v,) = _F32.unpack(self.take(4, what))
        if not math.isfinite(v):
            raise CorruptFileError(f"{self.label} maps codestream holds a non-finite {what}")
        return v

    def uv(self, what: str) -> int:
        v = shift = 0
        while True:
            b = self.u8(what)
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v
            if shift > 35:
                raise CorruptFileError(f"{self.label} maps codestream holds an invalid {what}")

    def head(self, version: int, k: int) -> None:
        """The codestream's version byte and map count, checked against ``version`` and ``k``."""
        got = self.u8("the version")
        if got != version:
            raise CorruptFileError(f"{self.label} maps codestream has version {got}, this build "
                                   f"reads version {version}")
        n = self.uv("the map count")
        if n != k:
            raise CorruptFileError(f"{self.label} maps codestream holds {n} maps, expected {k}")

    def pictures(self, lengths: Sequence[int]) -> list[bytes]:
        """The rest of the codestream cut at ``lengths``, which must add up to it exactly."""
        if self.pos + sum(lengths) != len(self.data):
            raise CorruptFileError(f"{self.label} maps codestream holds "
                                   f"{len(self.data) - self.pos} bytes of pictures, its records "
                                   f"declare {sum(lengths)}")
        return [self.take(n, "a picture") for n in lengths]


def parse(data: bytes, k: int, *, label: str, max_q: int,
          header: str = "parameter sets") -> Codestream:
    """Read and check the framing of a codestream holding ``k`` maps (no picture decoding):
    ``label`` names the codec in the errors, ``max_q`` its highest level, ``header`` its shared
    header."""
    r = Reader(data, label)
    r.head(VERSION, k)
    records = []
    for j in range(k):
        mode = r.u8(f"map {j}'s mode")
        if mode == EMPTY:
            records.append(MapRecord(EMPTY, r.f32(f"map {j}'s value")))
            continue
        if not (mode <= max_q or REFINED <= mode <= REFINED + max_q):
            raise CorruptFileError(f"{label} maps codestream gives map {j} an invalid mode {mode}")
        offset, scale = r.f32(f"map {j}'s offset"), r.f32(f"map {j}'s scale")
        length = r.uv("a length")
        r_offset = r_scale = 0.0
        r_length = 0
        if mode >= REFINED:
            r_offset, r_scale = r.f32(f"map {j}'s offset"), r.f32(f"map {j}'s scale")
            r_length = r.uv("a length")
        if length == 0 or (mode >= REFINED and r_length == 0):
            raise CorruptFileError(f"{label} maps codestream gives map {j} an empty picture")
        records.append(MapRecord(mode, offset, scale, length, r_offset, r_scale, r_length))
    lengths = ([rec.length for rec in records if not rec.empty]
               + [rec.r_length for rec in records if rec.refined])
    ps = b""
    if lengths:
        n_ps = r.uv(f"the {header}' length" if header.endswith("s")
                    else f"the {header}'s length")
        ps = r.take(n_ps, f"the {header}")
        if n_ps == 0:
            raise CorruptFileError(f"{label} maps codestream has no {header}")
    return Codestream(records, ps, r.pictures(lengths))


# ----------------------------------------------------------------------------- allocation
def lower_hull(nbytes: Sequence[float], dist: Sequence[float]) -> list[int]:
    """Indices of the points on the lower convex hull of (bytes, distortion), bytes ascending
    and distortion strictly descending (the points an equal-slope allocation can pick)."""
    order = sorted(range(len(nbytes)), key=lambda i: (nbytes[i], dist[i]))
    pareto: list[int] = []
    for i in order:
        if not pareto or dist[i] < dist[pareto[-1]]:
            if pareto and nbytes[i] == nbytes[pareto[-1]]:
                pareto.pop()
            pareto.append(i)
    hull: list[int] = []
    for i in pareto:
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b when it lies on or above the segment a -> i
            if (dist[b] - dist[a]) * (nbytes[i] - nbytes[a]) >= \
                    (dist[i] - dist[a]) * (nbytes[b] - nbytes[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def allocate(points: Sequence[tuple[np.ndarray, np.ndarray]], budget: float
             ) -> Optional[list[int]]:
    """One point per map, (bytes, distortion) given per map, minimising the total distortion
    within ``budget`` total bytes: equal slope on the lower convex hulls (the multiplier
    bisected), then the bytes left filled greedily (best slope first, along the hulls, then any
    point). ``None`` when even the cheapest points do not fit."""
    hulls = [np.asarray(lower_hull(b, d), int) for b, d in points]
    hb = [np.asarray(b, float)[h] for (b, _), h in zip(points, hulls)]
    hd = [np.asarray(d, float)[h] for (_, d), h in zip(points, hulls)]
    if sum(b[0] for b in hb) > budget:
        return None

    def pick(lam: float) -> tuple[list[int], float]:
        idx = [int(np.argmin(d + lam * b)) for b, d in zip(hb, hd)]
        return idx, float(sum(b[i] for b, i in zip(hb, idx)))

    idx = [0] * len(hb)
    if pick(0.0)[1] <= budget:
        idx = pick(0.0)[0]
    else:
        slopes = [(d[:-1] - d[1:]) / np.maximum(b[1:] - b[:-1], 1e-12) for b, d in zip(hb, hd)]
        top = max((float(s.max()) for s in slopes if s.size), default=1.0)
        lo, hi = math.log(max(top, 1e-300)) - 80.0, math.log(max(top, 1e-300)) + 1.0
        for _ in range(60):  # invariant: exp(hi) fits the budget
            mid = 0.5 * (lo + hi)
            ii, used = pick(math.exp(mid))
            if used <= budget:
                hi, idx = mid, ii
            else:
                lo = mid
        if pick(math.exp(hi))[1] <= budget:
            idx = pick(math.exp(hi))[0]
    used = float(sum(b[i] for b, i in zip(hb, idx)))
    while True:  # greedy along the hulls
        best = None
        for j, (b, d) in enumerate(zip(hb, hd)):
            i = idx[j]
            if i + 1 < len(b) and used + b[i + 1] - b[i] <= budget:
                s = (d[i] - d[i + 1]) / max(b[i + 1] - b[i], 1e-12)
                if best is None or s > best[0]:
                    best = (s, j)
        if best is None:
            break
        j = best[1]
        used += hb[j][idx[j] + 1] - hb[j][idx[j]]
        idx[j] += 1
    chosen = [int(h[i]) for h, i in zip(hulls, idx)]
    while True:  # any point (off the hulls too) that lowers the total and fits what is left
        best = None
        for j, (b, d) in enumerate(points):
            b, d = np.asarray(b, float), np.asarray(d, float)
            c = chosen[j]
            ok = (b - b[c] <= budget - used) & (d < d[c])
            if ok.any():
                i = int(np.argmin(np.where(ok, d, np.inf)))
                if best is None or d[c] - d[i] > best[0]:
                    best = (d[c] - d[i], j, i, b[i] - b[c])
        if best is None:
            break
        _, j, i, db = best
        chosen[j] = i
        used += db
    return chosen


# ----------------------------------------------------------------------------- sampling
#: Maps of more pixels than this get their R–D grid measured on a sample of blocks, and are
#: coded whole only at the levels picked (:meth:`IntraMapCoder._encode_sampled`): a 1000² map
#: costs x265 about 0.7 s a picture, 18 levels × 30 maps of it 6 minutes.
SAMPLE_ABOVE = 400 * 400
#: The sample's blocks: the encoders' largest coding unit, so a block is coded much as in place.
SAMPLE_BLOCK = 64
#: The share of a map's blocks in its sample, at least :data:`SAMPLE_MIN` blocks.
SAMPLE_SHARE = 1 / 24
SAMPLE_MIN = 16
#: Allocations with the whole maps' measures before the last, which picks coded points only.
SAMPLED_ROUNDS = 2
#: The sampled grid measures every this-many-th level (and the last); the levels between are
#: interpolated (:func:`_between`).
SAMPLED_STRIDE = 2


def _between(qs: Sequence[int], values: np.ndarray, every: Sequence[int]) -> np.ndarray:
    """``values`` measured at levels ``qs`` at every level of ``every`` (ascending, the ends
    measured): linear in the level between two measured levels on a log scale (a picture's
    bytes and error change by about a constant factor a level)."""
    v = np.log(np.maximum(np.asarray(values, np.float64), 1e-300))
    return np.exp(np.interp(np.asarray(every, float), np.asarray(qs, float), v))


def sample_blocks(h: int, w: int) -> tuple[list[tuple[int, int]], int, int]:
    """Block origins spread evenly over an H×W map (every n-th block in raster order, n about
    1 / :data:`SAMPLE_SHARE`) and the mosaic's rows × columns of blocks holding them."""
    b = SAMPLE_BLOCK
    by, bx = max(1, h // b), max(1, w // b)
    total = by * bx
    want = min(total, max(SAMPLE_MIN, int(math.ceil(total * SAMPLE_SHARE))))
    cols = max(1, int(math.ceil(math.sqrt(want))))
    rows = max(1, want // cols)
    want = rows * cols
    idx = np.floor((np.arange(want) + 0.5) * total / want).astype(int)
    return [(int(i // bx) * b, int(i % bx) * b) for i in idx], rows, cols


def _mosaic(m: np.ndarray, blocks: list[tuple[int, int]], rows: int, cols: int) -> np.ndarray:
    """The blocks of ``m`` at ``blocks`` side by side, ``rows`` × ``cols`` (a block past the
    map's edge is the edge repeated)."""
    b = SAMPLE_BLOCK
    h, w = m.shape
    if h < b or w < b:
        m = np.pad(m, ((0, max(0, b - h)), (0, max(0, b - w))), mode="edge")
    out = np.empty((rows * b, cols * b), m.dtype)
    for n, (y, x) in enumerate(blocks):
        r, c = divmod(n, cols)
        out[r * b:(r + 1) * b, c * b:(c + 1) * b] = m[y:y + b, x:x + b]
    return out


# ----------------------------------------------------------------------------- the coder
@dataclass
class _MapGrid:
    """One map coded at every QP of the grid: its scaling, bytes, squared error, pictures."""

    offset: np.float32
    scale: np.float32
    nbytes: np.ndarray  # (G,) picture bytes
    sse: np.ndarray  # (G,) squared error against the map, map units, unweighted
    pictures: list[bytes]
    ps: bytes
    fine: Optional[np.ndarray] = None  # the codes decoded at the grid's finest QP (uint16)
    refine: Optional["_MapGrid"] = None  # the residual after the finest QP, at every QP

    def finest(self, h: int, w: int) -> np.ndarray:
        """The map as the finest QP decodes it (float64 H×W)."""
        assert self.fine is not None
        return float(self.offset) + float(self.scale) * self.fine[:h, :w].astype(np.float64)

    def rebased(self, ps: bytes, carry: Callable[[bytes, bytes], bytes]) -> "_MapGrid":
        """The same grid for a stream whose shared header is ``ps``: if it differs from its
        own, each picture carries its own (``carry(header, picture)``; never the case for one
        size and preset, but cheap to be sure of)."""
        if ps == self.ps:
            return self
        pics = [carry(self.ps, p) for p in self.pictures]
        return _MapGrid(self.offset, self.scale, np.array([len(p) for p in pics], float),
                        self.sse, pics, ps, self.fine,
                        None if self.refine is None else self.refine.rebased(ps, carry))

    def size(self) -> int:
        """Bytes held (for the cache's bound)."""
        own = sum(len(p) for p in self.pictures) + (0 if self.fine is None else self.fine.nbytes)
        return own + (self.refine.size() if self.refine is not None else 0)


@dataclass
class EncodeStats:
    """What the last :meth:`IntraMapCoder.encode` did (for benchmarks and reports)."""

    modes: list[int] = field(default_factory=list)
    nbytes: int = 0
    distortion: float = 0.0  # predicted weighted squared error
    map_sse: list[float] = field(default_factory=list)  # each map's squared error, unweighted
    seconds: float = 0.0
    encodes: int = 0  # ffmpeg runs
    refined: int = 0
    finest: bool = False  # every map at the least error it has


def _scaling(m: np.ndarray) -> tuple[np.float32, np.float32]:
    """float32 offset and scale putting ``m`` in 0..4095 (scale 0 for a constant map)."""
    lo = np.float32(m.min())
    if float(lo) > float(m.min()):
        lo = np.nextafter(lo, np.float32(-np.inf))
    span = float(m.max()) - float(lo)
    if not span > 0:
        return lo, np.float32(0.0)
    scale = np.float32(span / TOP)
    while float(lo) + TOP * float(scale) < float(m.max()):
        scale = np.nextafter(scale, np.float32(np.inf))
    return lo, scale


def _codes(m: np.ndarray, offset: np.float32, scale: np.float32) -> np.ndarray:
    q = np.rint((m - float(offset)) / float(scale))
    return np.clip(q, 0, TOP).astype(np.uint16)


class IntraMapCoder(MapCoder):
    """Each map a 12-bit intra picture of a video codec, bytes shared by equal slope (see the
    module docstring). A codec subclasses it with its class attributes and the hooks.

    Args:
        preset: the encoder's speed setting (codec-specific; part of the cache key).
        qps: the quantizer levels (QP, cq-level) measured for every map.
        refine: how many maps at most get a refinement picture (0: none; needs a level at or
            below :attr:`refine_from` in ``qps``).
        jobs: ffmpeg processes at once (default: the CPUs this process may use, at most 8).
        cache_mb: how much of the grid results (pictures, finest decodes) is kept for later calls.
    """

    #: the codec's name in errors ("HEVC", "AV1")
    label: ClassVar[str] = ""
    #: the highest quantizer level; levels are 0..max_q
    max_q: ClassVar[int] = 51
    #: the default grid (fine to coarse) and encoder setting
    default_qps: ClassVar[tuple[int, ...]] = ()
    default_preset: ClassVar[str] = ""
    #: maps coded at the grid's finest level get a refinement picture only when that level is
    #: at most this (the finest lossy level of the codec)
    refine_from: ClassVar[int] = 0
    #: what the codestream calls its shared header
    header_name: ClassVar[str] = "parameter sets"
    leaves_maps_out = True
    #: maps of more pixels than this get their grid measured on a sample (:meth:`_encode_sampled`)
    sample_above: int = SAMPLE_ABOVE
    #: the encoder setting of the sampled grid (its bytes and errors are corrected by the maps
    #: coded whole; ``None``: the coder's own)
    sample_preset: ClassVar[Optional[str]] = None

    def __init__(self, preset: Optional[str] = None, qps: Optional[Sequence[int]] = None,
                 refine: int = REFINE_MAPS, jobs: Optional[int] = None, cache_mb: float = 256):
        qps = self.default_qps if qps is None else qps
        if not qps or any(not 0 <= int(q) <= self.max_q for q in qps):
            raise ValueError(f"QPs must lie in 0..{self.max_q}")
        self.preset = self.default_preset if preset is None else preset
        self.qps = tuple(sorted({int(q) for q in qps}))
        self.refine = int(refine) if self.qps[0] <= self.refine_from else 0
        self.jobs = ffmpeg_jobs(jobs)
        self.cache_bytes = int(cache_mb * 2 ** 20)
        self._cache: OrderedDict[bytes, _MapGrid] = OrderedDict()
        self._lock = threading.Lock()
        #: maps coded whole (large maps): (map key, level) -> (shared header, picture, error)
        self._whole: dict[tuple[bytes, int], tuple[bytes, bytes, float]] = {}
        self.last = EncodeStats()
        self._tick: Optional[Callable[[], None]] = None

    # ------------------------------------------------------------------ grid
    def _key(self, m: np.ndarray) -> bytes:
        h = hashlib.sha1(np.ascontiguousarray(m, np.float64).tobytes())
        h.update(repr((m.shape, self.preset, self.qps)).encode())
        return h.digest()

    def _grids(self, frames: list[np.ndarray], targets: list[np.ndarray],
               offsets: list[float], scales: list[float], bases: Optional[list[np.ndarray]],
               stats: EncodeStats, keep_fine: bool = True,
               preset: Optional[str] = None) -> list[_MapGrid]:
        """Code the (padded uint16) ``frames`` at every QP, in parallel over the QPs; measure each
        picture's bytes and the squared error of ``base + offset + scale·decoded`` against its
        target (H×W float64)."""
        n = len(frames)
        h, w = targets[0].shape
        stack = np.stack(frames)
        hp, wp = stack.shape[1:]
        g = len(self.qps)
        sse = np.zeros((n, g))
        pics: list[list[bytes]] = [[b""] * g for _ in range(n)]
        fine: list[Optional[np.ndarray]] = [None] * n
        shared: list[bytes] = [b""] * g

        def one(gi: int) -> None:
            ps, pictures = self._encode_stack(stack, self.qps[gi], preset)
            dec = self._decode_stream(self._join(ps, pictures), n, hp, wp)
            shared[gi] = ps
            for i in range(n):
                rec = offsets[i] + scales[i] * dec[i, :h, :w].astype(np.float64)
                if bases is not None:
                    rec += bases[i]
                sse[i, gi] = float(((rec - targets[i]) ** 2).sum())
                pics[i][gi] = pictures[i]
                if gi == 0 and bases is None and keep_fine:
                    fine[i] = dec[i].copy()

        with ThreadPoolExecutor(max_workers=min(self.jobs, g)) as pool:
            list(pool.map(one, range(g)))
        stats.encodes += g
        if self._tick is not None:  # in this thread: progress callbacks need not be thread-safe
            for _ in range(g):
                self._tick()
        out = []
        for i in range(n):
            ps = shared[0]
            # a picture whose stream had other parameter sets carries them
            p = [pic if shared[gi] == ps else self._carry(shared[gi], pic)
                 for gi, pic in enumerate(pics[i])]
            nb = np.array([len(x) for x in p], float)
            out.append(_MapGrid(np.float32(offsets[i]), np.float32(scales[i]), nb, sse[i], p, ps,
                                fine[i]))
        return out

    def _remember(self, key: bytes, grid: _MapGrid) -> None:
        with self._lock:
            self._cache[key] = grid
            self._cache.move_to_end(key)
            total = sum(g.size() for g in self._cache.values())
            while len(self._cache) > 1 and total > self.cache_bytes:
                total -= self._cache.popitem(last=False)[1].size()

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
            self._whole.clear()

    # ------------------------------------------------------------------ the codec's hooks
    def _encode_stack(self, frames: np.ndarray, q: int, preset: Optional[str] = None
                      ) -> tuple[bytes, list[bytes]]:
        """(n, Hp, Wp) uint16 codes -> one intra-only 12-bit stream at level ``q``, split into
        (shared header, [picture]), with the encoder setting ``preset`` (default: the coder's);
        :class:`FfmpegError` when the encoder fails."""
        raise NotImplementedError

    def _decode_stream(self, stream: bytes, n: int, hp: int, wp: int,
                       threads: int = 1) -> np.ndarray:
        """The decoder's input for ``n`` Hp×Wp pictures -> (n, Hp, Wp) uint16 codes; a
        :class:`CorruptFileError` when it does not decode to exactly that."""
        raise NotImplementedError

    def _join(self, ps: bytes, pictures: Sequence[bytes]) -> bytes:
        """The decoder's input: the shared header and the pictures, as the format says."""
        raise NotImplementedError

    def _carry(self, ps: bytes, picture: bytes) -> bytes:
        """A picture that carries its own shared header ``ps`` (when it differs)."""
        raise NotImplementedError

    def parse(self, data: bytes, k: int) -> Codestream:
        """The framing of ``data`` (:func:`parse`) for this codec."""
        return parse(data, k, label=self.label, max_q=self.max_q, header=self.header_name)

    # ------------------------------------------------------------------ encode
    def encode(self, maps: np.ndarray, budget_bytes: int, *, window: Optional[float] = None,
               tick: Optional[Callable[[], None]] = None,
               importance: Optional[Importance] = None, map_cost: float = 0.0) -> MapCode:
        """The interface's encode: ``importance`` weights the maps (one allocation with its
        weights for unknown errors, then :data:`REWEIGHTS` more with the errors the last one
        left: only allocations, the grid is cached); ``window`` is not needed (one encode of the
        grid fills the budget to the byte). An empty code when even every map empty does not
        fit; :class:`FfmpegError` when the bundled ffmpeg is missing or fails."""
        self._tick = tick
        cost = max(0.0, float(map_cost))
        try:
            weights = None if importance is None else importance(None)
            large = np.ndim(maps) == 3 and np.shape(maps)[0] * np.shape(maps)[1] > self.sample_above
            data = self.encode_bytes(maps, budget_bytes, weights=weights, map_cost=cost,
                                     reweigh=importance if large else None)
            if importance is not None and not large:
                for _ in range(REWEIGHTS):
                    weights = importance(np.asarray(self.last.map_sse))
                    data = self.encode_bytes(maps, budget_bytes, weights=weights, map_cost=cost)
        except ValueError:
            return MapCode(b"", False)
        finally:
            self._tick = None
        empty = tuple(j for j, m in enumerate(self.last.modes) if m == EMPTY)
        return MapCode(data, self.last.finest, empty)

    def encode_bytes(self, maps: np.ndarray, budget_bytes: int, *,
                     weights: Optional[np.ndarray] = None, map_cost: float = 0.0,
                     reweigh: Optional[Importance] = None) -> bytes:
        """The codestream of ``maps`` (H×W×k floats) of least weighted squared error within
        ``budget_bytes``. ``weights`` (k, ≥ 0): how much a unit of squared error in each map
        costs in the cube (default: 1 each, every map's own squared error). ``map_cost``: bytes
        outside the codestream that a map not left empty costs (the interface's ``encode``):
        each empty map lets the codestream grow by that much past ``budget_bytes``.
        ``reweigh`` (large maps only): :data:`REWEIGHTS` allocations on the sampled grid with
        the weights it gives for the errors the last one predicts, before any map is coded whole.

        Raises:
            ValueError: maps that are not a finite H×W×k array, bad weights, or a budget below
                the smallest codestream (every map empty: 2 + 5·k bytes for k < 128).
        """
        t0 = time.perf_counter()
        maps = np.asarray(maps)
        if maps.ndim != 3 or maps.shape[0] < 1 or maps.shape[1] < 1:
            raise ValueError(f"maps must be an H×W×k array, got shape {maps.shape}")
        if not np.issubdtype(maps.dtype, np.number) or not np.isfinite(maps).all():
            raise ValueError("maps must be finite numbers")
        h, w, k = maps.shape
        if weights is None:
            wts = np.ones(k)
        else:
            wts = np.asarray(weights, np.float64).reshape(-1)
            if wts.shape != (k,) or not (np.isfinite(wts).all() and (wts >= 0).all()):
                raise ValueError(f"weights must be {k} finite values ≥ 0")
        stats = EncodeStats()
        budget = int(budget_bytes)
        floor = 1 + _uv_len(k) + 5 * k
        if budget < floor:
            raise ValueError(f"a budget of {budget} bytes is below the {floor} bytes of the "
                             f"smallest {self.label} maps codestream ({k} empty maps)")
        # float32 maps (a large cube's) stay float32: a map-by-map array is not copied
        kind = np.float32 if maps.dtype == np.float32 else np.float64
        ms = [np.ascontiguousarray(maps[:, :, j], kind) for j in range(k)]
        means = [np.float32(m.mean()) for m in ms]
        empty_sse = [float(((m - float(c)) ** 2).sum()) for m, c in zip(ms, means)]
        keys = [self._key(m) for m in ms]
        if h * w > self.sample_above:
            return self._encode_sampled(ms, keys, means, empty_sse, wts, budget, map_cost,
                                        stats, t0, reweigh)
        grids: list[Optional[_MapGrid]] = [None] * k
        todo = []
        for j, m in enumerate(ms):
            with self._lock:
                cached = self._cache.get(keys[j])
            if cached is not None:
                grids[j] = cached
                continue
            offset, scale = _scaling(m)
            if scale > 0:
                todo.append((j, offset, scale))
        hp, wp = padded(h, w)
        if todo:
            frames = [np.pad(_codes(ms[j], o, s), ((0, hp - h), (0, wp - w)), mode="edge")
                      for j, o, s in todo]
            new = self._grids(frames, [ms[j] for j, _, _ in todo], [float(o) for _, o, _ in todo],
                              [float(s) for _, _, s in todo], None, stats)
            for (j, _, _), grid in zip(todo, new):
                grids[j] = grid
                self._remember(keys[j], grid)

        ref_ps = next((gr.ps for gr in grids if gr is not None), b"")

        def solve() -> tuple[Optional[list[int]], list[list[tuple[str, int]]], list[np.ndarray],
                             list[np.ndarray]]:
            """Allocate; per map the chosen point, every point's (kind, grid index), weighted
            and unweighted distortion."""
            ps_len = len(ref_ps)
            fixed = 1 + _uv_len(k) + (_uv_len(ps_len) + ps_len if ps_len else 0)
            points, tags, dists, raws = [], [], [], []
            for j in range(k):
                nb, dd, tg = [5.0], [empty_sse[j]], [("empty", 0)]
                gr = None if grids[j] is None else grids[j].rebased(ref_ps, self._carry)
                if gr is not None:
                    for gi in range(len(self.qps)):
                        ln = int(gr.nbytes[gi])
                        nb.append(9 + _uv_len(ln) + ln + map_cost)
                        dd.append(gr.sse[gi])
                        tg.append(("qp", gi))
                    if gr.refine is not None:
                        base = 9 + _uv_len(int(gr.nbytes[0])) + gr.nbytes[0] + map_cost
                        for gi in range(len(self.qps)):
                            ln = int(gr.refine.nbytes[gi])
                            nb.append(base + 8 + _uv_len(ln) + ln)
                            dd.append(gr.refine.sse[gi])
                            tg.append(("ref", gi))
                d = wts[j] * np.array(dd)
                points.append((np.array(nb), d))
                tags.append(tg)
                dists.append(d)
                raws.append(np.array(dd))
            return allocate(points, budget - fixed + k * map_cost), tags, dists, raws

        choice, tags, dists, raws = solve()
        if choice is not None and self.refine > 0:
            held = sum(1 for gr in grids if gr is not None and gr.refine is not None)
            finest = [j for j in range(k) if grids[j] is not None and grids[j].refine is None
                      and tags[j][choice[j]] == ("qp", 0)]
            finest.sort(key=lambda j: -wts[j] * empty_sse[j])
            finest = finest[:max(0, self.refine - held)]
            if finest:
                self._add_refinement([(ms[j], grids[j]) for j in finest], stats)
                for j in finest:
                    self._remember(keys[j], grids[j])
                choice, tags, dists, raws = solve()
        if choice is None:  # the parameter sets do not fit: every map empty
            choice = [0] * k
        stream = self._assemble([tags[j][c] for j, c in enumerate(choice)],
                                [None if gr is None else gr.rebased(ref_ps, self._carry)
                                 for gr in grids], means)
        data = stream.packed()
        n_empty = sum(1 for r in stream.records if r.empty)
        if len(data) > budget + n_empty * map_cost:  # the accounting above is exact: a bug
            raise RuntimeError(f"{self.label} maps codestream of {len(data)} bytes exceeds the "
                               f"budget of {budget}")
        stats.modes = [r.mode for r in stream.records]
        stats.distortion = float(sum(d[c] for d, c in zip(dists, choice)))
        stats.map_sse = [float(r[c]) for r, c in zip(raws, choice)]
        stats.nbytes = len(data)
        stats.refined = sum(1 for r in stream.records if r.refined)
        # finest: every map at its least error (more bytes would buy nothing)
        stats.finest = all(float(r[c]) <= float(r.min()) for r, c in zip(raws, choice))
        stats.seconds = time.perf_counter() - t0
        self.last = stats
        return data

    # ------------------------------------------------------------------ large maps
    def _encode_sampled(self, ms: list[np.ndarray], keys: list[bytes], means: list[np.float32],
                        empty_sse: list[float], wts: np.ndarray, budget: int, map_cost: float,
                        stats: EncodeStats, t0: float, reweigh: Optional[Importance] = None
                        ) -> bytes:
        """:meth:`encode_bytes` for maps of more than :attr:`sample_above` pixels: the grid is
        measured on a mosaic of blocks (:func:`sample_blocks`) and scaled by the area; the maps
        are then coded whole only at the levels the allocation picks, and the allocation is
        repeated with what those codes measured (exact bytes and errors at the points coded,
        the sample's curve corrected by their ratio elsewhere) until every point it picks has
        been coded: the stream is then exactly within the budget. No refinement pictures."""
        k = len(ms)
        h, w = ms[0].shape
        blocks, rows, cols = sample_blocks(h, w)
        area = (h * w) / (len(blocks) * SAMPLE_BLOCK ** 2)
        scaling = [_scaling(m) for m in ms]
        grids: list[Optional[_MapGrid]] = [None] * k
        todo = []
        for j, m in enumerate(ms):
            with self._lock:
                cached = self._cache.get(keys[j] + b"sampled")
            if cached is not None:
                grids[j] = cached
            elif scaling[j][1] > 0:
                todo.append(j)
        if todo:
            frames, targets = [], []
            for j in todo:
                o, s = scaling[j]
                codes = _codes(ms[j], o, s)
                frames.append(_mosaic(codes, blocks, rows, cols))
                targets.append(_mosaic(ms[j], blocks, rows, cols))
            every = self.qps
            self.qps = every[::SAMPLED_STRIDE] + ((every[-1],) if (len(every) - 1)
                                                  % SAMPLED_STRIDE else ())
            try:
                new = self._grids(frames, targets, [float(scaling[j][0]) for j in todo],
                                  [float(scaling[j][1]) for j in todo], None, stats,
                                  keep_fine=False, preset=self.sample_preset)
            finally:
                measured, self.qps = self.qps, every
            for j, grid in zip(todo, new):
                grid.nbytes = _between(measured, grid.nbytes, every) * area
                grid.sse = _between(measured, grid.sse, every) * area
                grids[j] = grid
                self._remember(keys[j] + b"sampled", grid)
        g = len(self.qps)
        whole = self._whole
        ref_ps = b""
        for j in range(k):
            for gi in range(g):
                got = whole.get((keys[j], self.qps[gi]))
                if got is not None:
                    ref_ps = ref_ps or got[0]

        def points(only_coded: bool) -> tuple[list, list, list]:
            """Per map its points (bytes, weighted error), their grid indices (-1: empty), and
            the unweighted errors: coded points as measured, the others from the sample,
            corrected by the ratio measured at the map's coded points."""
            pts, tags, raws = [], [], []
            for j in range(k):
                nb, dd, tg = [5.0], [empty_sse[j]], [-1]
                gr = grids[j]
                if gr is not None:
                    known = {gi: whole[(keys[j], self.qps[gi])] for gi in range(g)
                             if (keys[j], self.qps[gi]) in whole}
                    rb = [len(self._pic(known[gi], ref_ps)) / max(gr.nbytes[gi], 1.0)
                          for gi in known]
                    rd = [known[gi][2] / max(gr.sse[gi], 1e-300) for gi in known]
                    cb = float(np.exp(np.mean(np.log(rb)))) if rb else 1.0
                    cd = float(np.exp(np.mean(np.log(np.maximum(rd, 1e-12))))) if rd else 1.0
                    for gi in range(g):
                        if gi in known:
                            ln = len(self._pic(known[gi], ref_ps))
                            err = known[gi][2]
                        elif only_coded:
                            continue
                        else:
                            ln = int(math.ceil(gr.nbytes[gi] * cb))
                            err = float(gr.sse[gi] * cd)
                        nb.append(9 + _uv_len(ln) + ln + map_cost)
                        dd.append(err)
                        tg.append(gi)
                pts.append((np.array(nb), wts[j] * np.array(dd)))
                tags.append(tg)
                raws.append(np.array(dd))
            return pts, tags, raws

        def fixed() -> int:
            return 1 + _uv_len(k) + (_uv_len(len(ref_ps)) + len(ref_ps) if ref_ps else 0)

        ps_guess = next((gr.ps for gr in grids if gr is not None), b"")
        guess_room = (budget - (1 + _uv_len(k) + _uv_len(len(ps_guess)) + len(ps_guess))
                      + k * map_cost)
        if reweigh is not None:  # the weights for the errors predicted: allocations only
            for _ in range(REWEIGHTS):
                pts, tags, raws = points(only_coded=False)
                choice = allocate(pts, guess_room)
                if choice is None:
                    break
                wts = np.asarray(reweigh(np.array([r[c] for r, c in zip(raws, choice)])),
                                 np.float64)
        choice = tags = raws = pts = None
        for rnd in range(SAMPLED_ROUNDS + 1):
            last = rnd == SAMPLED_ROUNDS
            pts, tags, raws = points(only_coded=last)
            room = budget - fixed() + k * map_cost if ref_ps else guess_room
            choice = allocate(pts, room)
            if choice is None:
                break
            need: dict[int, list[int]] = {}
            for j, c in enumerate(choice):
                if tags[j][c] >= 0:
                    need.setdefault(self.qps[tags[j][c]], []).append(j)
            need = {q: [j for j in js if (keys[j], q) not in whole] for q, js in need.items()}
            need = {q: js for q, js in need.items() if js}
            if not need:
                break
            self._code_whole(need, ms, keys, scaling, stats)
            if not ref_ps:
                ref_ps = next(v[0] for v in whole.values())
        if choice is None:  # the parameter sets do not fit: every map empty
            choice = [0] * k
            tags = [[-1] for _ in range(k)]
            raws = [np.array([e]) for e in empty_sse]
            pts = [(np.array([5.0]), wts[j] * raws[j]) for j in range(k)]
        records, pictures = [], []
        for j, c in enumerate(choice):
            gi = tags[j][c]
            if gi < 0:
                records.append(MapRecord(EMPTY, float(means[j])))
                continue
            pic = self._pic(whole[(keys[j], self.qps[gi])], ref_ps)
            o, s = scaling[j]
            records.append(MapRecord(self.qps[gi], float(o), float(s), len(pic)))
            pictures.append(pic)
        stream = Codestream(records, ref_ps if pictures else b"", pictures)
        data = stream.packed()
        n_empty = sum(1 for r in records if r.empty)
        if len(data) > budget + n_empty * map_cost:  # every point picked was coded: a bug
            raise RuntimeError(f"{self.label} maps codestream of {len(data)} bytes exceeds the "
                               f"budget of {budget}")
        stats.modes = [r.mode for r in records]
        stats.distortion = float(sum(p[1][c] for p, c in zip(pts, choice)))
        stats.map_sse = [float(r[c]) for r, c in zip(raws, choice)]
        stats.nbytes = len(data)
        stats.finest = all(float(r[c]) <= float(r.min()) for r, c in zip(raws, choice))
        stats.seconds = time.perf_counter() - t0
        self.last = stats
        return data

    def _pic(self, got: tuple[bytes, bytes, float], ps: bytes) -> bytes:
        """A whole map's picture for a stream whose shared header is ``ps``."""
        return got[1] if not ps or got[0] == ps else self._carry(got[0], got[1])

    def _code_whole(self, need: dict[int, list[int]], ms: list[np.ndarray], keys: list[bytes],
                    scaling: list[tuple[np.float32, np.float32]], stats: EncodeStats) -> None:
        """Code maps whole at the levels given (level -> maps), decode and measure them: into
        :attr:`_whole` (key, level) -> (shared header, picture, squared error). The runs are
        spread over :attr:`jobs` threads (each level's maps cut in about equal runs)."""
        h, w = ms[0].shape
        hp, wp = padded(h, w)
        total = sum(len(js) for js in need.values())
        per_run = max(1, -(-total // self.jobs))
        runs = [(q, js[i:i + per_run]) for q, js in need.items()
                for i in range(0, len(js), per_run)]

        def one(run: tuple[int, list[int]]) -> list[tuple[tuple[bytes, int], tuple]]:
            q, js = run
            stack = np.stack([np.pad(_codes(ms[j], *scaling[j]), ((0, hp - h), (0, wp - w)),
                                     mode="edge") for j in js])
            ps, pics = self._encode_stack(stack, q)
            dec = self._decode_stream(self._join(ps, pics), len(js), hp, wp)
            out = []
            for i, j in enumerate(js):
                o, s = scaling[j]
                rec = float(o) + float(s) * dec[i, :h, :w].astype(np.float64)
                out.append(((keys[j], q), (ps, pics[i], float(((rec - ms[j]) ** 2).sum()))))
            return out

        with ThreadPoolExecutor(max_workers=min(self.jobs, len(runs))) as pool:
            results = list(pool.map(one, runs))
        for res in results:
            for key, val in res:
                self._whole[key] = val
        stats.encodes += len(runs)
        if self._tick is not None:
            for _ in runs:
                self._tick()

    def _add_refinement(self, items: list[tuple[np.ndarray, _MapGrid]],
                        stats: EncodeStats) -> None:
        """Give each map's grid a refinement grid: the residual after its finest picture."""
        h, w = items[0][0].shape
        hp, wp = padded(h, w)
        todo, frames, offsets, scales = [], [], [], []
        for m, gr in items:
            resid = m - gr.finest(h, w)
            o, s = _scaling(resid)
            if s > 0:
                todo.append((m, gr))
                frames.append(np.pad(_codes(resid, o, s), ((0, hp - h), (0, wp - w)),
                                     mode="edge"))
                offsets.append(float(o))
                scales.append(float(s))
        if not todo:
            return
        new = self._grids(frames, [m for m, _ in todo], offsets, scales,
                          [gr.finest(h, w) for _, gr in todo], stats)
        for (_, gr), rg in zip(todo, new):
            gr.refine = rg.rebased(gr.ps, self._carry)

    def _assemble(self, picks: list[tuple[str, int]], grids: list[Optional[_MapGrid]],
                  means: list[np.float32]) -> Codestream:
        records, base, refine = [], [], []
        ps = b""
        for j, (kind, gi) in enumerate(picks):
            gr = grids[j]
            if kind == "empty" or gr is None:
                records.append(MapRecord(EMPTY, float(means[j])))
                continue
            ps = ps or gr.ps
            if kind == "qp":
                pic = gr.pictures[gi]
                records.append(MapRecord(self.qps[gi], float(gr.offset), float(gr.scale),
                                         len(pic)))
                base.append(pic)
            else:
                rg = gr.refine
                assert rg is not None
                pic, rpic = gr.pictures[0], rg.pictures[gi]
                records.append(MapRecord(REFINED + self.qps[gi], float(gr.offset),
                                         float(gr.scale), len(pic), float(rg.offset),
                                         float(rg.scale), len(rpic)))
                base.append(pic)
                refine.append(rpic)
        return Codestream(records, ps, base + refine)

    def without(self, data: bytes, k: int, drop: Sequence[int]) -> Optional[bytes]:
        """The interface's ``without``: the records of empty maps taken out (their maps have
        no picture, so the pictures stay as they are)."""
        stream = self.parse(data, k)
        gone = set(drop)
        if any(not stream.records[j].empty for j in gone):
            return None
        records = [r for j, r in enumerate(stream.records) if j not in gone]
        return Codestream(records, stream.ps, stream.pictures).packed()

    # ------------------------------------------------------------------ decode
    def decode(self, data: bytes, height: int, width: int, k: int) -> np.ndarray:
        return np.ascontiguousarray(self.decode_maps(data, height, width, k)).reshape(-1, k)

    def check(self, data: bytes, height: int, width: int, k: int) -> None:
        if height < 1 or width < 1:
            raise CorruptFileError(f"invalid map size {height}×{width}")
        self.parse(data, k)

    def decode_maps(self, data: bytes, h: int, w: int, k: int) -> np.ndarray:
        """The H×W×k float64 maps of a codestream; :class:`CorruptFileError` (a ``ValueError``)
        for anything that is not a valid one."""
        return np.moveaxis(self.decode_planes(data, h, w, k), 0, 2)

    def decode_planes(self, data: bytes, h: int, w: int, k: int) -> "_Planes":
        """The interface's ``decode_planes``: k×H×W float64, map by map, converted from the
        decoded codes only where indexed (a window of the maps converts only itself)."""
        if h < 1 or w < 1 or k < 0:
            raise ValueError(f"invalid map size {h}×{w}×{k}")
        stream = self.parse(data, k)
        coded = [j for j, r in enumerate(stream.records) if not r.empty]
        refined = [j for j, r in enumerate(stream.records) if r.refined]
        codes = None
        if coded:
            hp, wp = padded(h, w)
            n = len(coded) + len(refined)
            codes = self._decode_stream(self._join(stream.ps, stream.pictures), n, hp, wp,
                                        threads=0)
        return _Planes(stream.records, codes, coded, refined, h, w)


class _Planes:
    """k×H×W float64 maps of a decoded codestream (offset + scale · the picture's codes, plus
    the refinement picture's), converted where indexed: ``planes[:, rows, columns]``."""

    ndim = 3

    def __init__(self, records: list[MapRecord], codes: Optional[np.ndarray],
                 coded: list[int], refined: list[int], h: int, w: int):
        self.records, self.codes, self.h, self.w = records, codes, h, w
        self.base = {j: i for i, j in enumerate(coded)}
        self.extra = {j: len(coded) + i for i, j in enumerate(refined)}
        self.shape = (len(records), h, w)

    def __getitem__(self, key: object) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (3 - len(key))
        rows, cols = key[1], key[2]
        if not isinstance(rows, slice) or not isinstance(cols, slice):
            return np.asarray(self)[key]
        r = range(self.h)[rows]
        c = range(self.w)[cols]
        out = np.empty((len(self.records), len(r), len(c)))
        for j, rec in enumerate(self.records):
            if rec.empty:
                out[j] = rec.offset
                continue
            assert self.codes is not None
            out[j] = rec.offset + rec.scale * self.codes[self.base[j], :self.h, :self.w][
                rows, cols].astype(np.float64)
            if j in self.extra:
                out[j] += rec.r_offset + rec.r_scale * self.codes[
                    self.extra[j], :self.h, :self.w][rows, cols]
        return out[key[0]]

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        out = self[:, :, :]
        return out if dtype is None else out.astype(dtype)
