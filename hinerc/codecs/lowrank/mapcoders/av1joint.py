"""AV1 4:4:4 map coder: the maps three at a time, as the three planes of one 12-bit 4:4:4 AV1
intra picture, the bytes shared out between the pictures by equal slope.

Why: the k maps of one cube share their edges and textures (they are the principal components
of the same scene), and a 4:4:4 AV1 picture codes its second and third planes with the first
one's block partition and with *chroma from luma* prediction (each block of a plane predicted
from the co-located block of the first one, a sign and a scale per block). Coded alone, each map
pays for its own partition and predicts only from itself. Measured on the first six principal
components of CAVE 256² (libaom cpu-used 4): the 4:4:4 picture of three maps, all at one
cq-level and on one common step, at the bytes of the three maps coded alone with the best
equal-slope allocation of their levels, has 0.2–1.9 dB less error, most at the lowest rates
(``benchmarks/results/rd_notes.md``, "AV1 4:4:4").

How a group is coded: each map of a group gets the float32 offset and scale that put it in the
12-bit codes with the same *weighted* step (``scale_i · sqrt(weight_i)`` equal in the group: the
maps' weights are the :data:`~hinerc.codecs.lowrank.mapcoders.Importance` the model gives), so
one cq-level for the three planes is the equal-slope choice inside the group; the first map of
the group (the strongest: the maps come in KLT order) is the luma plane, the planes of a group
of fewer than three maps are the constant 2048. Every group is coded at every level of the grid
(one ffmpeg run per level codes every group); the levels are then chosen per group by the
allocation of :mod:`~hinerc.codecs.lowrank.mapcoders.intra` (a group may be left empty: its
maps constants). The framing, libaom's settings and the decoder (libdav1d) are the AV1 map
coder's (:mod:`~hinerc.codecs.lowrank.mapcoders.av1`); there is no refinement picture and no
sampled grid, so this coder is meant for cubes of a modest number of pixels (the efforts try it
on cubes of at most :data:`MAX_PIXELS` pixels).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from hinerc.codecs.lowrank.mapcoders import Importance, MapCode, MapCoder
from hinerc.codecs.lowrank.mapcoders import av1
from hinerc.codecs.lowrank.mapcoders.intra import (_F32, REWEIGHTS, TOP, Reader, _uv, _uv_len,
                                                   allocate, ffmpeg_jobs, padded)
from hinerc.errors import CorruptFileError

VERSION = 1
LABEL = "AV1 4:4:4"
#: maps per picture (the planes of 4:4:4)
GROUP = 3
#: the code of a plane that holds no map
MID = 2048
#: a group's mode: ``EMPTY`` (its maps are constants) or the picture's cq-level
EMPTY = 255
#: the cq-level grid (as the AV1 map coder's, without the refinement it has at level 1)
Q_GRID = av1.Q_GRID
#: the efforts try this coder on cubes of at most this many pixels (each group is coded whole
#: at every level: a 512² cube of 10 groups is 330 pictures)
MAX_PIXELS = 512 * 512

FORMAT_DOC = """\
MAPS is one AV1 4:4:4 maps codestream (version 1; files with it are format 1.9): the maps in
groups of three (maps 3g, 3g+1, 3g+2; the last group may hold one or two), each group one 12-bit
4:4:4 AV1 intra picture whose planes Y, U, V are the group's maps in order (a plane without a
map is coded as the constant 2048 and ignored), or nothing (an empty group: its maps are
constants). All little-endian:

| bytes | field |
|---|---|
| 1 | version, `1` |
| varint | k, the maps (must equal MODL `rank`) |
| varint + that many | the shared AV1 sequence header OBU (empty when every group is empty) |
| per group, in order | mode (1 byte): `255` empty, else the picture's libaom cq-level 0..63; then per map of the group: float32 offset, and when not empty float32 scale; then when not empty a varint: the picture's length in bytes |
| the rest | the pictures of the groups not empty, in group order, back to back |

A map of an empty group decodes to its offset; a map of a coded group to `offset + scale · c`,
c its plane's 12-bit code at each pixel (the picture's top-left H × W of Hp × Wp, padded as for
the HEVC maps). A picture is the OBUs of one temporal unit without its temporal delimiter, as
in the AV1 maps codestream (a picture that begins with a sequence header OBU carries its own);
the decoder's input is, per picture, `12 00`, the sequence header unless the picture carries
one, the picture. The pictures are profile 1 (4:4:4), 12 bits. The varints are unsigned LEB128
(at most 10 bytes); the bytes after the records must be exactly the pictures' lengths."""


@dataclass(frozen=True)
class GroupRecord:
    """How one group of maps is coded: empty (constants), or one 4:4:4 picture."""

    mode: int  # EMPTY or a cq-level
    offsets: tuple[float, ...]
    scales: tuple[float, ...] = ()
    length: int = 0

    @property
    def empty(self) -> bool:
        return self.mode == EMPTY

    def packed(self) -> bytes:
        out = bytearray([self.mode])
        for j, o in enumerate(self.offsets):
            out += _F32.pack(o)
            if not self.empty:
                out += _F32.pack(self.scales[j])
        if not self.empty:
            out += _uv(self.length)
        return bytes(out)


@dataclass(frozen=True)
class JointCodestream:
    k: int
    seq: bytes
    records: list[GroupRecord]
    pictures: list[bytes]

    def packed(self) -> bytes:
        head = bytes([VERSION]) + _uv(self.k) + _uv(len(self.seq)) + self.seq
        return head + b"".join(r.packed() for r in self.records) + b"".join(self.pictures)


def groups(k: int) -> list[range]:
    """The maps of each picture: 0–2, 3–5, …"""
    return [range(i, min(i + GROUP, k)) for i in range(0, k, GROUP)]


def parse(data: bytes, k: int) -> JointCodestream:
    """Read and check the framing of a codestream of ``k`` maps (no AV1 decoding); a
    :class:`CorruptFileError` for anything else."""
    r = Reader(data, LABEL)
    r.head(VERSION, k)
    seq = r.take(r.uv("the sequence header's length"), "the sequence header")
    records = []
    for gi, g in enumerate(groups(k)):
        mode = r.u8(f"group {gi}'s mode")
        if mode != EMPTY and mode > av1.MAX_Q:
            raise CorruptFileError(f"{LABEL} maps codestream gives group {gi} an invalid mode "
                                   f"{mode}")
        offs, scales = [], []
        for j in g:
            offs.append(r.f32(f"map {j}'s offset"))
            if mode != EMPTY:
                scales.append(r.f32(f"map {j}'s scale"))
                if scales[-1] < 0:
                    raise CorruptFileError(f"{LABEL} maps codestream gives map {j} a negative "
                                           "scale")
        length = r.uv("a length") if mode != EMPTY else 0
        if mode != EMPTY and length == 0:
            raise CorruptFileError(f"{LABEL} maps codestream gives group {gi} an empty picture")
        records.append(GroupRecord(mode, tuple(offs), tuple(scales), length))
    lengths = [rec.length for rec in records if not rec.empty]
    if lengths and not seq:
        raise CorruptFileError(f"{LABEL} maps codestream has no sequence header")
    pictures = r.pictures(lengths)
    return JointCodestream(k, seq, records, pictures)


def _plane_scaling(ms: Sequence[np.ndarray], weights: Sequence[float]
                   ) -> tuple[list[np.float32], list[np.float32]]:
    """float32 offsets and scales putting each map of a group in the 12-bit codes with one
    weighted step (``scale · sqrt(weight)`` the same for every map of weight > 0); a map of
    weight 0 or of one value gets scale 0 (its mean)."""
    roots = [float(np.sqrt(max(float(w), 0.0))) for w in weights]
    spans = [float(m.max()) - float(m.min()) for m in ms]
    step = max((s * r for s, r in zip(spans, roots)), default=0.0) / (TOP - 1)
    offs, scales = [], []
    for m, r, span in zip(ms, roots, spans):
        if not (step > 0 and r > 0 and span > 0):
            offs.append(np.float32(m.mean()))
            scales.append(np.float32(0.0))
            continue
        s = np.float32(step / r)
        mid = 0.5 * (float(m.max()) + float(m.min()))
        offs.append(np.float32(mid - float(s) * (TOP + 1) / 2))
        scales.append(s)
    return offs, scales


def _codes(m: np.ndarray, offset: np.float32, scale: np.float32) -> np.ndarray:
    if not float(scale) > 0:
        return np.full(m.shape, MID, np.uint16)
    return np.clip(np.rint((m - float(offset)) / float(scale)), 0, TOP).astype(np.uint16)


@dataclass
class _Grid:
    """One group's picture at every level: the shared header of each level's stream, the
    pictures, and each map's squared error (levels × maps)."""

    seqs: list[bytes]
    pictures: list[bytes]
    sse: np.ndarray

    def size(self) -> int:
        return sum(len(p) for p in self.pictures)


class Av1JointMapCoder(MapCoder):
    """The maps three at a time as the planes of 12-bit 4:4:4 AV1 intra pictures, bytes shared
    out between the pictures by equal slope (see the module docstring).

    Args:
        preset: libaom ``cpu-used`` (default: the AV1 map coder's, 4).
        qps: the cq-level grid measured for every group.
        jobs: ffmpeg processes at once (default: the CPUs this process may use, at most 8).
        cache_mb: how much of the grid results is kept for later calls.
    """

    name = "av1-444"
    label = LABEL
    summary = ("the maps three at a time as the planes of one 12-bit 4:4:4 AV1 intra picture "
               "(chroma from luma), bytes shared out between the pictures by equal slope")
    format_doc = FORMAT_DOC
    leaves_maps_out = True
    also_max_pixels = MAX_PIXELS
    default_preset = av1.CPU_USED

    def __init__(self, preset: Optional[str] = None, qps: Sequence[int] = Q_GRID,
                 jobs: Optional[int] = None, cache_mb: float = 256):
        if not qps or any(not 0 <= int(q) <= av1.MAX_Q for q in qps):
            raise ValueError(f"cq-levels must lie in 0..{av1.MAX_Q}")
        self.preset = self.default_preset if preset is None else str(preset)
        self.qps = tuple(sorted({int(q) for q in qps}))
        self.jobs = ffmpeg_jobs(jobs)
        self.cache_bytes = int(cache_mb * 2 ** 20)
        self._cache: OrderedDict[bytes, _Grid] = OrderedDict()
        self._tick: Optional[Callable[[], None]] = None
        #: the last encode's per-map squared errors (code units)
        self.map_sse: list[float] = []

    # ------------------------------------------------------------------ encode
    def encode(self, maps: np.ndarray, budget_bytes: int, *, window: Optional[float] = None,
               tick: Optional[Callable[[], None]] = None,
               importance: Optional[Importance] = None, map_cost: float = 0.0) -> MapCode:
        """The interface's encode: the groups' planes scaled by ``importance`` (its weights for
        unknown errors), every group coded at every level (cached: the rank search offers the
        same leading maps again), one allocation. An empty code when even every group empty
        does not fit; :class:`~hinerc.codecs.lowrank.mapcoders.intra.FfmpegError` when the
        bundled ffmpeg is missing or fails."""
        maps = np.asarray(maps)
        if maps.ndim != 3 or maps.shape[0] < 1 or maps.shape[1] < 1:
            raise ValueError(f"maps must be an H×W×k array, got shape {maps.shape}")
        if not np.isfinite(maps).all():
            raise ValueError("maps must be finite numbers")
        k = maps.shape[2]
        wts = np.ones(k) if importance is None else np.asarray(importance(None), float)
        if wts.shape != (k,) or not (np.isfinite(wts).all() and (wts >= 0).all()):
            raise ValueError(f"weights must be {k} finite values ≥ 0")
        self._tick = tick
        cost, budget = max(0.0, float(map_cost)), int(budget_bytes)
        ms = [np.ascontiguousarray(maps[:, :, j], np.float64) for j in range(k)]
        # what every allocation below needs of the maps, computed once
        prep = (ms, [hashlib.sha1(m.tobytes()).digest() for m in ms],
                [np.float32(m.mean()) for m in ms])
        try:
            got = self._encode(prep, budget, wts, wts, cost)
            if importance is not None:
                # allocations with the weights the errors give (the grid is cached), then the
                # planes scaled again by those weights (a second grid) and allocated once more:
                # on CAVE 256² at 0.1 bpppb 44.74 -> 44.78 dB (cpu-used 4)
                for rescale in [False] * REWEIGHTS + [True, False]:
                    if got is None:
                        break
                    weights = np.asarray(importance(np.asarray(self.map_sse)), float)
                    if rescale:
                        wts = weights
                    got = self._encode(prep, budget, wts, weights, cost)
        finally:
            self._tick = None
        if got is None:
            return MapCode(b"", False)
        data, empty, finest = got
        return MapCode(data, finest, empty)

    def _grid(self, todo: list[tuple[bytes, list[np.ndarray], list[np.float32],
                                     list[np.float32]]], h: int, w: int) -> list[_Grid]:
        """Code the groups ``todo`` (key, maps, offsets, scales) at every level, in parallel over
        the levels: what each picture costs and leaves (also kept in the cache)."""
        hp, wp = padded(h, w)
        frames = np.full((len(todo), GROUP, hp, wp), MID, np.uint16)
        for i, (_, ms, offs, scales) in enumerate(todo):
            for j, (m, o, s) in enumerate(zip(ms, offs, scales)):
                frames[i, j] = np.pad(_codes(m, o, s), ((0, hp - h), (0, wp - w)), mode="edge")
        g = len(self.qps)
        n = len(todo)
        seqs, pics = [b""] * g, [[b""] * g for _ in range(n)]
        sse = [np.zeros((g, len(t[1]))) for t in todo]

        def one(gi: int) -> None:
            seq, pictures = av1._encode_stack(frames, self.qps[gi], self.preset)
            dec = av1._decode_stream(av1.join(seq, pictures), n, hp, wp, planes=GROUP)
            seqs[gi] = seq
            for i, (_, ms, offs, scales) in enumerate(todo):
                pics[i][gi] = pictures[i]
                for j, (m, o, s) in enumerate(zip(ms, offs, scales)):
                    rec = float(o) + float(s) * dec[i, j, :h, :w].astype(np.float64)
                    sse[i][gi, j] = float(((rec - m) ** 2).sum())

        with ThreadPoolExecutor(max_workers=min(self.jobs, g)) as pool:
            list(pool.map(one, range(g)))
        if self._tick is not None:
            for _ in range(g):
                self._tick()
        new = [_Grid(list(seqs), pics[i], sse[i]) for i in range(n)]
        for (key, *_), grid in zip(todo, new):
            self._cache[key] = grid
        total = sum(gr.size() for gr in self._cache.values())
        while len(self._cache) > n and total > self.cache_bytes:
            total -= self._cache.popitem(last=False)[1].size()
        return new

    def _encode(self, prep: tuple[list[np.ndarray], list[bytes], list[np.float32]],
                budget: int, wts: np.ndarray, weights: np.ndarray, map_cost: float
                ) -> Optional[tuple[bytes, tuple[int, ...], bool]]:
        """One allocation of the maps ``prep`` (each map, its digest, its mean): the planes
        scaled by ``wts``, the errors weighed by ``weights``."""
        ms, digests, means = prep
        k = len(ms)
        h, w = ms[0].shape
        parts = groups(k)
        empty_sse = [float(((m - float(c)) ** 2).sum()) for m, c in zip(ms, means)]
        scaling = [_plane_scaling([ms[j] for j in g], wts[list(g)]) for g in parts]
        grids: list[Optional[_Grid]] = [None] * len(parts)
        todo, waiting = [], []
        for gi, (g, (offs, scales)) in enumerate(zip(parts, scaling)):
            if not any(float(s) > 0 for s in scales):
                continue  # every map of the group a constant: no picture
            key = hashlib.sha1(repr((h, w, self.preset, self.qps)).encode())
            for j, o, s in zip(g, offs, scales):
                key.update(digests[j] + _F32.pack(o) + _F32.pack(s))
            digest = key.digest()
            grids[gi] = self._cache.get(digest)
            if grids[gi] is None:
                todo.append((digest, [ms[j] for j in g], offs, scales))
                waiting.append(gi)
        for gi, grid in zip(waiting, self._grid(todo, h, w) if todo else []):
            grids[gi] = grid
        seq = next((gr.seqs[0] for gr in grids if gr is not None), b"")
        fixed = 1 + _uv_len(k) + _uv_len(len(seq)) + len(seq)
        points, tags = [], []
        for g, gr in zip(parts, grids):
            wg = weights[list(g)]
            nb = [1.0 + 4 * len(g)]
            dd = [float(sum(wj * empty_sse[j] for wj, j in zip(wg, g)))]
            tg = [-1]
            if gr is not None:
                for gi in range(len(self.qps)):
                    ln = len(_carried(gr, gi, seq))
                    nb.append(1 + 8 * len(g) + _uv_len(ln) + ln + map_cost * len(g))
                    dd.append(float(gr.sse[gi] @ wg))
                    tg.append(gi)
            points.append((np.array(nb), np.array(dd)))
            tags.append(tg)
        choice = allocate(points, budget - fixed + k * map_cost)
        if choice is None:
            if budget < 1 + _uv_len(k) + 1 + sum(1 + 4 * len(g) for g in parts):
                return None
            choice = [0] * len(parts)
        records, pictures, empty, finest = [], [], [], True
        self.map_sse = []
        for g, gr, tg, c, (offs, scales) in zip(parts, grids, tags, choice, scaling):
            gi = tg[c]
            raw = [empty_sse[j] for j in g] if gi < 0 else list(gr.sse[gi])
            self.map_sse += raw
            if gr is not None:
                least = gr.sse.sum(1).min()
                finest = finest and gi >= 0 and float(gr.sse[gi].sum()) <= float(least)
            if gi < 0:
                records.append(GroupRecord(EMPTY, tuple(float(means[j]) for j in g)))
                empty += [j for j in g]
                continue
            pic = _carried(gr, gi, seq)
            records.append(GroupRecord(self.qps[gi], tuple(float(o) for o in offs),
                                       tuple(float(s) for s in scales), len(pic)))
            pictures.append(pic)
        data = JointCodestream(k, seq if pictures else b"", records, pictures).packed()
        if len(data) > budget + len(empty) * map_cost:  # the accounting above is exact: a bug
            raise RuntimeError(f"AV1 4:4:4 maps codestream of {len(data)} bytes exceeds the "
                               f"budget of {budget}")
        return data, tuple(empty), finest

    def clear_cache(self) -> None:
        self._cache.clear()

    # ------------------------------------------------------------------ decode
    def check(self, data: bytes, height: int, width: int, k: int) -> None:
        if height < 1 or width < 1:
            raise CorruptFileError(f"invalid map size {height}×{width}")
        parse(data, k)

    def decode(self, data: bytes, height: int, width: int, k: int) -> np.ndarray:
        return np.moveaxis(self.decode_planes(data, height, width, k), 0, 2).reshape(-1, k)

    def decode_planes(self, data: bytes, height: int, width: int, k: int) -> np.ndarray:
        """k×H×W float64 maps."""
        if height < 1 or width < 1 or k < 0:
            raise ValueError(f"invalid map size {height}×{width}×{k}")
        stream = parse(data, k)
        out = np.empty((k, height, width))
        codes = None
        if stream.pictures:
            hp, wp = padded(height, width)
            codes = av1._decode_stream(av1.join(stream.seq, stream.pictures),
                                       len(stream.pictures), hp, wp, threads=0, planes=GROUP)
        i = 0
        for g, r in zip(groups(k), stream.records):
            if r.empty:
                for j, o in zip(g, r.offsets):
                    out[j] = o
                continue
            assert codes is not None
            for p, (j, o, s) in enumerate(zip(g, r.offsets, r.scales)):
                out[j] = o + s * codes[i, p, :height, :width].astype(np.float64)
            i += 1
        return out


def _carried(grid: _Grid, gi: int, seq: bytes) -> bytes:
    """Level ``gi``'s picture of a group, carrying its stream's sequence header where it is not
    the file's shared one."""
    pic = grid.pictures[gi]
    return pic if grid.seqs[gi] == seq else grid.seqs[gi] + pic
