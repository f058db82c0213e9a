"""The low-rank model: band embeddings mixing k shared maps, and the search for its rank.

A cube of N coded bands (each normalised to [0, 1] by :mod:`hinerc.bands`) is written as

    band_b(x, y) = Σ_j E[j, b] · m_j(x, y) + E[k, b]

k feature maps ``m_j`` in [-1, 1], shared by every band, and per band an embedding of k weights
plus an offset: the spectral-redundancy decoder the rate–distortion issue asks for, "a few
feature maps once per cube, mixed per band by the band's embedding", with the maps coded by a
wavelet codec instead of a small convolutional network (which codes them poorly).

Encoding, for each candidate rank k:

1. the maps are the k leading principal components of the cube (a KLT over the bands, in the
   original units, or each band weighed by the inverse of its error in quick codes made first:
   :func:`klt_weights`), scaled to the code range [0, 65535] and coded by the map coder
   (:mod:`hinerc.codecs.lowrank.mapcoders`: JPEG 2000 by default) into the bytes left;
2. the embeddings are then *fitted to the decoded maps* by least squares, per band in its
   normalised units, so they absorb part of the maps' coding error (the published PCA + JPEG
   2000 keeps the basis it started from);
3. the embeddings are quantized with one step per map, inversely proportional to the map's
   energy (an error in a strong map's weight costs more), delta-coded along the bands (an
   embedding row is a smooth spectrum) and LZMA-compressed: 4–6 bits per value instead of the
   32 of a float basis.

The rank with the best mean per-band PSNR at the rate wins; ``--effort`` sets how many ranks
and quantization steps are tried (:mod:`hinerc.codecs.lowrank.presets`): the quick levels start
from the rank the KLT spectrum predicts (:func:`predict_rank`) and aim each rank's maps into a
byte window in a few encodes instead of fitting them to the last byte. The search never knows
which map coder runs. Numpy only (the map coder brings its own library).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from hinerc.codecs.lowrank.mapcoders import Importance, MapCode, MapCoder
from hinerc.codecs.lowrank.mapfilter import MapFilter
from hinerc.codecs.lowrank.pixelnet import PixelNet
from hinerc.codecs.lowrank.sections import LowRankCode, pack_embeddings
from hinerc.errors import RateError
from hinerc.metrics import band_mse_normalised, psnr_of_band_mse

#: Ranks the search may try, in order (an effort level takes a subset).
RANKS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128,
         160, 192, 224, 255)
MAX_RANK = 255
#: The embeddings' quantization error, relative to the maps' coding error (0.0003–0.001 measured
#: best on Jasper Ridge at 0.25 bpppb; the embeddings then cost 4–6 bits per value).
DEFAULT_REL = 0.001
_CODE_MID = 32767.5
#: Allocated codes (:func:`_try_allocated`) are taken at this share of the bytes or more.
ALLOCATED_WINDOW = 0.997
#: Cubes of more pixels than this are searched by :class:`_LargeProblem` (no float64 copy of
#: the cube; fits scored from Gram matrices); the same cut as the map coders' sampled grid.
LARGE_PIXELS = 400 * 400
#: Pixels in the KLT's covariance sample, and in one chunk of a pass over the cube.
COV_SAMPLE = 1 << 18
CHUNK = 1 << 15
#: Samples mixed at once when decoding a whole (float64: 16 MB).
_MIX_SAMPLES = 1 << 21


# ----------------------------------------------------------------------------- decoding
def decode_maps(coder: MapCoder, blob: bytes, height: int, width: int, centres: np.ndarray
                ) -> np.ndarray:
    """The maps of a codestream as an (H·W)×k float64 array: ``(code - centre) / 32767.5``.

    Centring matters: the embeddings are quantized by each map's energy, which a map's mean
    would otherwise dominate."""
    maps = coder.decode(blob, height, width, centres.size)
    return (maps - centres.astype(np.float64)) / _CODE_MID


class Mixed:
    """The bands a low-rank code decodes to (N×H×W float32 in [0, 1]), mixed from the decoded
    maps only where asked: :meth:`block` mixes a window of rows and columns (what decoding by
    windows and restoring a few rows at a time need), :meth:`full` the whole. ``net``: the
    pixel network's correction is added before the clip (``coded``: the bands of ``emb``
    among the network's N outputs)."""

    def __init__(self, maps: Optional[np.ndarray], emb: np.ndarray, height: int, width: int,
                 centres: Optional[np.ndarray] = None, net: Optional[PixelNet] = None,
                 coded: Optional[np.ndarray] = None):
        self.maps = maps  # k×H×W float64, code units, map by map (None for rank 0)
        self.centres = (np.zeros(0) if centres is None else centres).astype(np.float64)
        self.emb = emb  # (k+1) × N
        self.shape = (emb.shape[1], height, width)
        self.net, self.coded = net, coded

    def block(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """N × (r1−r0) × (c1−c0) float32."""
        n = self.shape[0]
        rows, cols = r1 - r0, c1 - c0
        if self.maps is None:
            flat = np.broadcast_to(self.emb[-1], (rows * cols, n))
        else:
            k = self.maps.shape[0]
            px = self._centred(self.maps[:, r0:r1, c0:c1].reshape(k, rows * cols))
            flat = self.emb[:-1].T @ px + self.emb[-1][:, None]  # bands × pixels
            if self.net is not None:
                flat += self.net.correction(px, self.coded)
            return np.clip(flat, 0.0, 1.0).astype(np.float32).reshape(n, rows, cols)
        out = np.clip(flat, 0.0, 1.0).astype(np.float32)
        return np.ascontiguousarray(out.T).reshape(n, rows, cols)

    def _centred(self, codes: np.ndarray) -> np.ndarray:
        """k × pixels maps in code units, centred and scaled as the mix takes them (here, block
        by block: :func:`decode_maps` does the same to the whole; a window converts only
        itself)."""
        return (codes - self.centres[:, None]) / _CODE_MID

    def maps_at(self, sel: np.ndarray) -> np.ndarray:
        """k × len(sel) float64: the maps, as the mix takes them, at the pixels ``sel`` (sorted
        indices of the H·W in raster order), converted a band of rows at a time."""
        assert self.maps is not None
        k = self.maps.shape[0]
        _, h, w = self.shape
        rows = sel // w
        out = np.empty((k, sel.size))
        step = max(1, (1 << 22) // max(1, w * k))
        for r0 in range(0, h, step):
            lo, hi = np.searchsorted(rows, [r0, r0 + step])
            if hi > lo:
                block = self.maps[:, r0:r0 + step, :]
                out[:, lo:hi] = block[:, rows[lo:hi] - r0, sel[lo:hi] % w]
        return self._centred(out)

    def full(self) -> np.ndarray:
        n, h, w = self.shape
        out = np.empty((n, h, w), np.float32)
        step = max(1, _MIX_SAMPLES // max(1, w * max(n, 1)))
        for r0 in range(0, h, step):
            out[:, r0:r0 + step] = self.block(r0, min(h, r0 + step), 0, w)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.full()
        return out if dtype is None else out.astype(dtype)


def mixed(code: LowRankCode, coder: MapCoder, height: int, width: int,
          coded: Optional[np.ndarray] = None) -> Mixed:
    """Decode the maps of ``code`` and return its bands, mixed on demand; with ``coded``
    (positions among the N), only those bands."""
    emb = code.embeddings()
    if coded is not None:
        emb = emb[:, coded]
    maps = None
    if code.rank:
        maps = coder.decode_planes(code.maps, height, width, code.rank)
        if code.filt is not None:  # MFLT: the maps as the filter corrects them, in code units
            maps = code.filt.apply(maps, code.centres)
    return Mixed(maps, emb, height, width, code.centres, code.net, coded)


def reconstruct(code: LowRankCode, coder: MapCoder, height: int, width: int, n_coded: int,
                coded: Optional[np.ndarray] = None) -> np.ndarray:
    """Decode: N×H×W float32 in [0, 1] (the coded bands, normalised); with ``coded`` (positions
    among the N), only those bands, mixing the maps for them alone."""
    return mixed(code, coder, height, width, coded).full()


# ----------------------------------------------------------------------------- encoding
def quantize_embeddings(emb: np.ndarray, norms: np.ndarray, step: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """One step per row, ``step / norm``: every row's error costs the same in the cube."""
    top = np.abs(emb).max(axis=1) / 2.0 ** 30  # keeps every weight within int32
    steps = np.maximum(step / np.maximum(norms, 1e-12), np.maximum(top, 1e-30))
    steps = steps.astype(np.float32)
    weights = np.rint(emb / steps.astype(np.float64)[:, None]).astype(np.int64)
    return steps, weights


@dataclass
class Trial:
    """One (rank, step) tried by the search: its exact coded size and its quality."""

    rank: int
    rel: float
    code: LowRankCode
    spec: bytes
    psnr_db: float
    #: the bands as the trial decodes (None where the problem scores without decoding)
    decoded: Optional[np.ndarray] = field(repr=False)
    finest: bool = False  # the maps are at JPEG 2000's finest quality
    #: each coded band's mean squared error in its normalised units (what ``psnr_db`` averages)
    band_mse: Optional[np.ndarray] = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.spec) + len(self.maps)

    @property
    def maps(self) -> bytes:
        return self.code.maps


@dataclass
class Search:
    """How hard the encoder looks: ranks to try, embedding steps, patience, and how closely a
    rank's code is fitted to the bytes."""

    ranks: Sequence[int]
    rels: Sequence[float] = (DEFAULT_REL,)
    patience: int = 2
    #: code at most this many ranks (``None``: as many as the patience takes)
    max_ranks: Optional[int] = None
    #: a rank's code is taken once it is ``window``·budget..budget bytes
    window: float = 0.985
    #: ``False``: the maps' quality is bisected in 14 steps to the last byte; ``True``: aimed
    #: into the window by secant steps (3–5 encodes instead of 16 or more)
    aim: bool = False
    #: start at the rank :func:`predict_rank` finds from the KLT spectrum and the budget
    #: (the rank itself is also tried), instead of the candidate nearest :func:`first_rank`
    predict: bool = False
    #: with a map coder that shares bytes out between maps (HEVC): no rank search; the coder
    #: gets a generous number of components and its allocation (each map's embedding row
    #: counted as part of its bytes) leaves out the maps worth no bytes; the rank is the maps
    #: it codes (:func:`_try_allocated`). A coder that never leaves a map out gets the usual
    #: rank search.
    allocate: bool = False
    #: the allocation counts each map's embedding row as this × the embeddings' measured bytes
    #: per row (a weak map's row costs far less than the mean): 0.05 measured best on Jasper
    #: Ridge at 0.25 bpppb (48.35 dB; 1.0: 48.27 dB; 0: 48.35 dB in 5× the time, 56 maps coded)
    row_cost: float = 0.05
    #: (embedding step, row cost) pairs the allocation is also run with, the best file measured
    #: kept: each pair shares the bytes out differently (the step sets the embeddings' bytes
    #: the maps leave room for). A level that tries other steps and row costs than the default
    #: also runs the default's, and is never worse than it for that (measured in
    #: benchmarks/results/rd.md: -e9 alone was 0.24 dB below -e5 on the EnMAP mosaic at 0.1
    #: bpppb and 0.30 dB above on HYDICE Urban)
    also_allocate: tuple[tuple[float, float], ...] = ()

    def steps_per_rank(self) -> int:
        """About the JPEG 2000 encodes one rank takes: a progress bar's unit of planned work."""
        return (5 if self.aim else 20) + (2 if self.aim else 6) * (len(self.rels) - 1)

    def planned_ranks(self) -> int:
        """About the ranks the search codes (the best is usually one or two past the start,
        then ``patience`` more; a predicted start costs one more code): the planned work is
        this × :meth:`steps_per_rank`."""
        plan = (4 if self.predict else 3) + self.patience
        return min(plan, self.max_ranks) if self.max_ranks else plan


@dataclass
class SearchProgress:
    """Where a rank search stands, after every JPEG 2000 encode and every rank coded.

    ``done`` and ``total`` count encodes: ``total`` is the planned work (ranks to try ×
    encodes per rank), raised when the search goes on past its plan; a rank once coded counts
    its full share."""

    done: float
    total: float
    rank: int
    ranks_done: int
    best_psnr_db: Optional[float] = None



class _Problem:
    """The cube as the encoder sees it: pixels × bands, no-data filled, KLT computed once."""

    def __init__(self, target: np.ndarray, valid: Optional[np.ndarray], scales: np.ndarray,
                 coder: MapCoder):
        n, h, w = target.shape
        self.shape = (n, h, w)
        self.coder = coder
        t = target.reshape(n, -1).T.astype(np.float64)  # pixels × bands, normalised
        if valid is not None:
            v = valid.reshape(n, -1).T
            fill = (t * v).sum(0) / np.maximum(v.sum(0), 1)
            t = np.where(v, t, fill)
        self.t = t
        self.target, self.valid = target, valid
        y = t * scales[None, :]  # original units: the KLT that served PCA + JPEG 2000 best
        y -= y.mean(0)
        vals, vecs = np.linalg.eigh(y.T @ y)
        self.basis = vecs[:, ::-1]
        self.eigvals = np.clip(vals[::-1], 0, None)
        self.scales = np.maximum(scales, 1e-300)
        self.y = y
        self._left: Optional[np.ndarray] = None
        self._code_scale: dict[int, float] = {}  # k → code units per unit of the components

    @property
    def pixels(self) -> int:
        return self.shape[1] * self.shape[2]

    def fit(self, k: int, blob: bytes, finest: bool, filt: Optional[MapFilter] = None
            ) -> "_Fit":
        """Least-squares embeddings for the maps of ``blob`` (:func:`_fit`); with ``filt``,
        for the maps as that map filter corrects them."""
        return _fit(self, k, blob, finest, filt)

    def quantized(self, f: "_Fit", rel: float) -> "Trial":
        """The fit's embeddings quantized at ``rel``, scored (:func:`_quantized`)."""
        return _quantized(self, f, rel)

    @property
    def left(self) -> np.ndarray:
        """``left[k]``: the mean per-band squared error, in the normalised units of the PSNR,
        of the best k components: the spectrum of the normalised bands' covariance, summed
        from k on (it predicts the best rank better than the original units' KLT)."""
        if self._left is None:
            t = self.t - self.t.mean(0)
            lam = np.clip(np.linalg.eigvalsh(t.T @ t / t.shape[0])[::-1], 0, None)
            self._left = np.append(np.cumsum(lam[::-1])[::-1], 0.0) / self.shape[0]
        return self._left

    def maps_for(self, k: int) -> np.ndarray:
        """The k leading components as H×W×k maps in code units: each shifted to start at 0,
        all scaled by one factor to span at most [0, 65535]."""
        comps = self.y @ self.basis[:, :k]
        lo = comps.min(0)
        span = float((comps.max(0) - lo).max())
        scale = span / 65535.0 if span > 0 else 1.0
        self._code_scale[k] = scale
        _, h, w = self.shape
        return ((comps - lo) / scale).reshape(h, w, k)

    def importance(self, k: int, cols: Optional[Sequence[int]] = None) -> Importance:
        """The maps' weights for the map coder (:data:`~hinerc.codecs.lowrank.mapcoders.
        Importance`): a unit of squared error in map j (code units) puts ``e_jb²`` in band b's
        normalised units (``e_jb`` = the code scale × the KLT basis / the band's scale), and the
        band-mean PSNR counts band b's error relative to that band's own: its truncation error
        (the components past k) plus the maps' coding error. Without errors yet (``None``):
        each map's ``Σ_b e_jb²``. The embedding refit lowers every error a little; measured
        (HEVC maps, Jasper Ridge 0.25 bpppb) 48.34 dB against 47.83 dB with the plain sums.
        ``cols``: the maps are these of :meth:`maps_for` (k)'s (the others are left out)."""
        if k not in self._code_scale:
            self.maps_for(k)
        scale = self._code_scale[k]
        cols = np.arange(k) if cols is None else np.asarray(cols, int)
        rest = np.setdiff1d(np.arange(self.basis.shape[1]), cols)
        e2 = (scale * self.basis[:, cols] / self.scales[:, None]) ** 2  # bands × maps
        trunc = (self.basis[:, rest] ** 2 * self.eigvals[rest]).sum(1) / self.scales ** 2
        floor = 1e-12 * self.pixels

        def weigh(sse: Optional[np.ndarray]) -> np.ndarray:
            if sse is None:
                return e2.sum(0)
            band = np.maximum(trunc + e2 @ np.asarray(sse, np.float64), floor)
            return (e2 / band[:, None]).sum(0)

        return weigh


class _LargeProblem(_Problem):
    """:class:`_Problem` for cubes of more than :data:`LARGE_PIXELS` pixels: never a copy of the
    cube in float64. The KLT comes from the covariance of a pixel sample (at most
    :data:`COV_SAMPLE` pixels, evenly strided), the maps from a pass by chunks of pixels, and a
    fit is scored without decoding: the Gram matrix G = AᵀA of the decoded maps (and the
    constant), C = AᵀT and the bands' ‖t_b‖² give every band's squared error of quantized
    embeddings e_b as ‖t_b‖² − 2·e_b·C_b + e_bᵀGe_b (the decoder's clip to [0, 1] can only
    lower it). Samples that are not real are filled with their band's mean, as
    :class:`_Problem` does; where every band has the same no-data pixels, those pixels are left
    out of the fit and the score altogether."""

    def __init__(self, target: np.ndarray, valid: Optional[np.ndarray], scales: np.ndarray,
                 coder: MapCoder):
        n, h, w = target.shape
        self.shape = (n, h, w)
        self.coder = coder
        self.target, self.valid = target, valid
        self.scales = np.maximum(scales, 1e-300)
        self._src = target if hasattr(target, "pixels") else _ArrayPixels(target)
        self._keep: Optional[np.ndarray] = None  # pixels scored (None: all)
        self._vflat: Optional[np.ndarray] = None  # per-sample validity when it varies by band
        if valid is not None:
            vf = valid.reshape(n, h * w)
            per_pixel = vf.all(0)
            if np.array_equal(vf.any(0), per_pixel):  # the same pixels in every band
                self._keep = np.flatnonzero(per_pixel)
            else:
                self._vflat = vf
        idx = self._keep if self._keep is not None else None
        count = idx.size if idx is not None else h * w
        # the band means (of the real samples), and each band's ‖t_b‖² over the pixels scored
        total, tt, real = np.zeros(n), np.zeros(n), np.zeros(n)
        for t, v in self._chunks(fill=None):
            total += t.sum(1)
            real += v.sum(1) if v is not None else t.shape[1]
            if self._vflat is None:  # no sample to fill: one pass
                tt += np.einsum("ij,ij->i", t, t)
        self.fill = total / np.maximum(real, 1)
        if self._vflat is not None:
            for t, _ in self._chunks():
                tt += np.einsum("ij,ij->i", t, t)
        self.tt = tt
        self.count = count
        self.mean = self.fill.copy() if self._vflat is not None else total / max(count, 1)
        # the covariance of a pixel sample (filled), in the normalised units
        step = max(1, -(-count // COV_SAMPLE))
        cov = np.zeros((n, n))
        m = 0
        for t, _ in self._chunks(stride=step):
            t = t - self.mean[:, None]
            cov += t @ t.T
            m += t.shape[1]
        cov /= max(m, 1)
        self.cov = cov
        ys = cov * np.outer(self.scales, self.scales)  # original units: the maps' KLT
        vals, vecs = np.linalg.eigh(ys)
        self.basis = vecs[:, ::-1]
        self.eigvals = np.clip(vals[::-1], 0, None) * count
        self._left: Optional[np.ndarray] = None
        self._code_scale: dict[int, float] = {}

    @property
    def pixels(self) -> int:
        return self.count

    def _chunks(self, fill: Optional[str] = "mean", stride: int = 1):
        """(N × c float64 normalised samples, N × c validity or None) for every chunk of the
        pixels scored (every ``stride``-th); not-real samples are the band's mean (``fill``
        None: left as they are, with their validity)."""
        n, h, w = self.shape
        idx = self._keep
        total = idx.size if idx is not None else h * w
        size = CHUNK * stride
        for start in range(0, total, size):
            sel = slice(start, min(total, start + size), stride)
            cols = idx[sel] if idx is not None else sel
            t = self._src.pixels(cols)
            v = None
            if self._vflat is not None:
                v = self._vflat[:, cols]
                if fill is not None:
                    t = np.where(v, t, self.fill[:, None])
            yield t, v

    @property
    def left(self) -> np.ndarray:
        if self._left is None:
            lam = np.clip(np.linalg.eigvalsh(self.cov)[::-1], 0, None)
            self._left = np.append(np.cumsum(lam[::-1])[::-1], 0.0) / self.shape[0]
        return self._left

    def maps_for(self, k: int) -> np.ndarray:
        n, h, w = self.shape
        proj = (self.basis[:, :k] * self.scales[:, None]).T  # k × N: components of t − mean
        comps = np.empty((k, h * w), np.float32)  # map by map: each map contiguous
        for start in range(0, h * w, CHUNK):
            sl = slice(start, min(h * w, start + CHUNK))
            t = self._src.pixels(sl)
            if self._vflat is not None:
                t = np.where(self._vflat[:, sl], t, self.fill[:, None])
            comps[:, sl] = proj @ (t - self.mean[:, None])
        if self._keep is not None and self._keep.size < h * w:  # no-data pixels: the mean
            out = np.zeros(h * w, bool)
            out[self._keep] = True
            comps[:, ~out] = 0.0
        lo = comps.min(1)
        span = float((comps.max(1).astype(np.float64) - lo).max())
        scale = span / 65535.0 if span > 0 else 1.0
        self._code_scale[k] = scale
        comps -= lo[:, None]
        comps /= np.float32(scale)
        return np.moveaxis(comps.reshape(k, h, w), 0, 2)  # H×W×k, float32

    def fit(self, k: int, blob: bytes, finest: bool, filt: Optional[MapFilter] = None
            ) -> "_Fit":
        """As :meth:`_Problem.fit`; with ``filt``, the maps as that map filter corrects them
        (around the centres of the maps decoded, as the file's SPEC holds them)."""
        n, h, w = self.shape
        codes = self.coder.decode(blob, h, w, k)  # pixels × k, code units
        idx = self._keep
        rows = idx if idx is not None else np.arange(h * w)
        centres = np.clip(np.rint(codes[rows].mean(0) if idx is not None else codes.mean(0)),
                          0, 65535).astype(np.uint16)
        if filt is not None:  # one k×H×W copy, filtered in place (a scene's maps not thrice)
            planes = np.ascontiguousarray(codes.T, np.float64).reshape(k, h, w)
            del codes
            codes = filt.apply(planes, centres).reshape(k, h * w).T
        g = np.zeros((k + 1, k + 1))
        c = np.zeros((k + 1, n))
        pos = 0
        for t, _ in self._chunks():  # the pixels scored, in order, a chunk at a time
            m = t.shape[1]
            a = np.empty((m, k + 1))
            a[:, :k] = (codes[rows[pos:pos + m]] - centres) / _CODE_MID
            a[:, k] = 1.0
            g += a.T @ a
            c += a.T @ t.T
            pos += m
        del codes
        emb = _solve_normal(g, c)
        norms = np.sqrt(np.maximum(np.diag(g), 0.0))
        dist = float(np.maximum(self._sse(g, c, emb), 0.0).sum())
        return _Fit(k, blob, finest, None, centres, emb, dist, norms, g, c)

    def _sse(self, g: np.ndarray, c: np.ndarray, emb: np.ndarray) -> np.ndarray:
        """Each band's squared error of embeddings ``emb`` over the pixels scored."""
        return self.tt - 2.0 * np.einsum("jb,jb->b", emb, c) + np.einsum("jb,jb->b", emb,
                                                                           g @ emb)

    def quantized(self, f: "_Fit", rel: float) -> "Trial":
        n, h, w = self.shape
        step = embedding_step(f.dist, rel, f.k, n, self.count)
        steps, weights = quantize_embeddings(f.emb, f.norms, step)
        code = LowRankCode(f.k, f.centres, steps, weights, f.blob)
        assert f.gram is not None and f.cross is not None
        sse = np.maximum(self._sse(f.gram, f.cross, code.embeddings()), 0.0)
        mse = sse / max(self.count, 1)
        return Trial(f.k, rel, code, pack_embeddings(f.centres, steps, weights),
                     psnr_of_band_mse(mse), None, f.finest, mse)


class _ArrayPixels:
    """``pixels(sel)`` of an N×H×W array (what :class:`~hinerc.bands.PreparedCube` gives
    without holding the array)."""

    def __init__(self, target: np.ndarray):
        self.shape = target.shape
        self._flat = target.reshape(target.shape[0], -1)

    def pixels(self, sel: "slice | np.ndarray") -> np.ndarray:
        return self._flat[:, sel].astype(np.float64)


def _solve_normal(g: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``argmin ‖a·x − t‖`` from G = aᵀa and C = aᵀt, on unit-norm columns; a degenerate G
    (an empty map, a map that is a constant) by least squares on its eigen-decomposition."""
    d = np.sqrt(np.maximum(np.diag(g), 0.0))
    if d.min() > 0:
        gn = g / np.outer(d, d)
        if np.linalg.cond(gn) < 1e8:
            return np.linalg.solve(gn, c / d[:, None]) / d[:, None]
    return np.linalg.pinv(g, rcond=1e-12, hermitian=True) @ c


@dataclass
class _Fit:
    """Least-squares embeddings for one set of decoded maps, before quantization."""

    k: int
    blob: bytes
    finest: bool
    a: Optional[np.ndarray]  # pixels × (k+1): centred maps and the constant (None: large)
    centres: np.ndarray
    emb: np.ndarray  # (k+1) × N
    dist: float  # squared error of the unquantized fit, normalised units
    norms: np.ndarray
    gram: Optional[np.ndarray] = None  # AᵀA (large problems)
    cross: Optional[np.ndarray] = None  # AᵀT (large problems)


def _least_squares(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``argmin ‖a·x − t‖`` by the normal equations on unit-norm columns (the maps are nearly
    uncorrelated, so they are well conditioned): 10–30× faster than ``np.linalg.lstsq``'s SVD
    for the same result to rounding; the SVD still takes a degenerate or ill-conditioned case."""
    norms = np.linalg.norm(a, axis=0)
    if norms.min() > 0:
        an = a / norms
        g = an.T @ an
        if np.linalg.cond(g) < 1e8:
            return np.linalg.solve(g, an.T @ t) / norms[:, None]
    return np.linalg.lstsq(a, t, rcond=None)[0]


def _fit(p: _Problem, k: int, blob: bytes, finest: bool, filt: Optional[MapFilter] = None
         ) -> _Fit:
    n, h, w = p.shape
    a = np.empty((h * w, k + 1))
    codes = decode_maps(p.coder, blob, h, w, np.zeros(k, np.uint16)) * _CODE_MID
    centres = np.clip(np.rint(codes.mean(0)), 0, 65535).astype(np.uint16)
    if filt is not None:  # as a decoder filters them, around the centres SPEC holds
        codes = filt.apply(np.ascontiguousarray(codes.T).reshape(k, h, w), centres
                           ).reshape(k, h * w).T
    a[:, :k] = (codes - centres) / _CODE_MID
    a[:, k] = 1.0
    emb = _least_squares(a, p.t)
    dist = float(((a @ emb - p.t) ** 2).sum())
    return _Fit(k, blob, finest, a, centres, emb, dist, np.linalg.norm(a, axis=0))


def embedding_step(dist: float, rel: float, rank: int, n_coded: int, pixels: int) -> float:
    """The embeddings' quantization step whose error is ``rel`` times the fit's squared error
    ``dist`` (a uniform quantizer's error is step²/12 per value, (k+1)·N values)."""
    return math.sqrt(12.0 * max(dist, 1e-24 * pixels * n_coded) * rel / ((rank + 1) * n_coded))


def _quantized(p: _Problem, f: _Fit, rel: float) -> Trial:
    """The fit's embeddings quantized at ``rel`` (error relative to the maps'), packed, scored."""
    n, h, w = p.shape
    step = embedding_step(f.dist, rel, f.k, n, f.a.shape[0])
    steps, weights = quantize_embeddings(f.emb, f.norms, step)
    code = LowRankCode(f.k, f.centres, steps, weights, f.blob)
    flat = np.clip(f.a @ code.embeddings(), 0.0, 1.0)
    decoded = np.ascontiguousarray(flat.T.astype(np.float32)).reshape(n, h, w)
    mse = band_mse_normalised(decoded, p.target, p.valid)
    return Trial(f.k, rel, code, pack_embeddings(f.centres, steps, weights),
                 psnr_of_band_mse(mse), decoded, f.finest, mse)


def filtered_trial(target: np.ndarray, valid: Optional[np.ndarray], scales: np.ndarray,
                   coder: MapCoder, code: LowRankCode, rel: float, filt: MapFilter) -> Trial:
    """The code's maps through the map filter ``filt``, as a decoder filters them, the
    embeddings refitted to them by least squares and quantized at ``rel``, scored as the search
    scores (``target``: the bands as :func:`encode` takes them; on a cube of more than
    :data:`LARGE_PIXELS` pixels, fitted and scored from Gram matrices as its search was)."""
    p = _problem(target, valid, scales, coder)  # the fit reads the maps, not the KLT
    trial = p.quantized(p.fit(code.rank, code.maps, False, filt), rel)
    trial.code.filt = filt
    return trial


def _fill(p: _Problem, f: _Fit, trial: Trial, budget: int, window: float = 0.985) -> Trial:
    """Spend bytes the maps could not take (their sizes jump on small images) on finer
    embeddings: the largest that fits, by bisection on the step. If even that leaves the code
    short, it is marked ``finest`` (more bytes would buy nothing)."""
    lo, hi = math.log(1e-8), math.log(trial.rel)
    best = trial
    for _ in range(12):
        mid = (lo + hi) / 2
        t = p.quantized(f, math.exp(mid))
        if t.size <= budget:
            best, hi = t, mid
        else:
            lo = mid
        if window * budget <= best.size:
            break
    if best.size < 0.97 * budget:
        best.finest = True
    return best


def _try_rank(p: _Problem, k: int, search: Search, budget: int,
              tick: Optional[Callable[[], None]] = None,
              hint: Optional[dict] = None) -> Optional[Trial]:
    """Code rank ``k`` into ``budget`` bytes (SPEC + MAPS payloads); the best step of the
    search's ``rels``. ``hint`` carries what one rank teaches the next when the maps are aimed
    (the embeddings' bytes per value; the map coder remembers its own)."""
    n, h, w = p.shape
    maps = p.maps_for(k)  # the coder keeps its encodes of these for the rounds below
    weigh = p.importance(k)
    hint = {} if hint is None else hint
    window = search.window
    best: Optional[Trial] = None
    for rel in search.rels:
        spec_len = int(0.7 * (k + 1) * n) + 1 + 4 * (k + 1) + 16  # a first guess
        if search.aim and "per_value" in hint:
            spec_len = int(hint["per_value"] * (k + 1) * n) + 1 + 4 * (k + 1) + 16
        margin = 0
        trial = fit = None
        for _ in range(4):
            room = budget - spec_len - margin
            if room < 64:
                break
            mc = p.coder.encode(maps, room, window=window if search.aim else None, tick=tick,
                                importance=weigh)
            blob, finest = mc.data, mc.finest
            if not blob:
                break
            fit = p.fit(k, blob, finest)
            trial = p.quantized(fit, rel)
            if search.aim:
                hint["per_value"] = (len(trial.spec) - 4 * (k + 1) - 17) / ((k + 1) * n)
            if window * budget <= trial.size <= budget or (finest and trial.size <= budget):
                break
            if trial.size > budget:
                margin += trial.size - budget + budget // 400
            spec_len = len(trial.spec)
        if trial is None or fit is None or trial.size > budget:
            continue
        if trial.size < window * budget:
            trial = _fill(p, fit, trial, budget, window)
        if best is None or trial.psnr_db > best.psnr_db:
            best = trial
    return best


def _try_allocated(p: _Problem, top: int, search: Search, budget: int,
                   tick: Optional[Callable[[], None]] = None,
                   hint: Optional[dict] = None) -> Optional[Trial]:
    """The rank chosen by the map coder's allocation: the ``top`` leading components are
    offered, each map's embedding row (about ``per_value`` × N bytes) counted with its bytes;
    the maps the coder leaves empty are dropped and the others coded again (the grid is the
    coder's cache: only allocations) with the bytes the dropped rows free, until none is left
    empty; the embeddings are fitted to the maps coded, as for a rank. ``None`` when nothing
    fits, or when the coder leaves no map out (``hint["all_coded"]``: offer more)."""
    n, h, w = p.shape
    hint = {} if hint is None else hint
    # an allocation is cheap: fill the bytes closely (not on a large cube, where each
    # allocation codes maps whole)
    window = search.window if p.pixels > LARGE_PIXELS else ALLOCATED_WINDOW
    offered = p.maps_for(top)
    cols = list(range(top))
    per_value = hint.get("per_value", 0.7)
    margin = 0
    trial = fit = None
    hint["all_coded"] = False
    first = True
    for _ in range(8):
        k = len(cols)
        if k == 0:
            return None
        spec_len = int(per_value * (k + 1) * n) + 1 + 2 * k + 4 * (k + 1) + 16
        room = budget - spec_len - margin
        if room < 64:
            return None
        maps = offered if cols == list(range(top)) else _maps_among(offered, cols)
        mc = p.coder.encode(maps, room, tick=tick, importance=p.importance(top, cols),
                            map_cost=search.row_cost * per_value * n)
        if not mc.data:
            return None
        if first:
            hint["all_coded"] = not mc.empty and not mc.finest
            first = False
        if mc.empty:
            gone = set(mc.empty)
            cols = [c for i, c in enumerate(cols) if i not in gone]
            # on a large cube the rows the dropped maps free are a sliver of the bytes, and
            # each allocation codes maps whole: take them out of the code, code nothing again
            kept = (p.coder.without(mc.data, k, mc.empty) if p.pixels > LARGE_PIXELS
                    and cols else None)
            if kept is None:
                continue
            k, mc = len(cols), MapCode(kept, mc.finest)
        fit = p.fit(k, mc.data, mc.finest)
        trial = p.quantized(fit, search.rels[0])
        per_value = (len(trial.spec) - 4 * (k + 1) - 2 * k - 17) / ((k + 1) * n)
        hint["per_value"] = per_value
        if window * budget <= trial.size <= budget or (mc.finest and trial.size <= budget):
            break
        if trial.size > budget:
            margin += trial.size - budget + budget // 1000
        else:  # the bytes left go to the maps (an allocation: cheap)
            margin -= int(budget - trial.size - (1 - window) * budget / 2)
    if trial is None or fit is None or trial.size > budget:
        return None
    if trial.size < window * budget:
        trial = _fill(p, fit, trial, budget, window)
    for rel in search.rels[1:]:  # other embedding steps: only a quantization each
        other = p.quantized(fit, rel)
        if other.size <= budget and other.psnr_db > trial.psnr_db:
            trial = other
    return trial


def _maps_among(maps: np.ndarray, cols: Sequence[int]) -> np.ndarray:
    """The maps ``cols`` of H×W×k ``maps``, as an H×W×k' view of a map-by-map array (each
    map contiguous: a map coder takes them one by one)."""
    return np.moveaxis(np.moveaxis(maps, 2, 0)[list(cols)], 0, 2)


def first_rank(bpppb: float) -> int:
    """Where the search starts: a little below the best ranks measured on real cubes
    (Jasper Ridge 8, 16, 28, 40, 64 and CAVE 6, 10, 16 at 0.05, 0.1, 0.25, 0.5, 1 bpppb)."""
    return max(1, round(40 * max(bpppb, 0.0) ** 0.6))


def offered_rank(n_coded: int, height: int, width: int, bpppb: float) -> int:
    """The components a map coder's allocation is first offered: twice the usual rank (four
    times on a large cube, where each map's embedding row costs less of the bytes: 41 of 60
    offered coded on a 1000² scene of Jasper Ridge at 0.2 bpppb), at most the rank there is."""
    top = min(n_coded, height * width, MAX_RANK)
    return min(top, max(4, (4 if height * width > LARGE_PIXELS else 2) * first_rank(bpppb)))


def guess_rank(bpppb: float, pixels: int) -> int:
    """A first rank for :func:`predict_rank` to correct: :func:`first_rank`, lower on small
    images, where each map's embeddings cost more of the bytes (HYDICE Urban, 2652 pixels, is
    best at ranks 2 and 4 at 0.05 and 0.1 bpppb; rank 6 does not even fit at 0.05)."""
    return max(1, round(first_rank(bpppb) * min(1.0, math.sqrt(max(bpppb, 0.0) * pixels / 500))))


def predict_rank(p: _Problem, psnr_db: float) -> int:
    """The rank the KLT spectrum predicts from a code's quality: the smallest whose truncation
    error (the energy of the components left out, in the PSNR's normalised units) is at most
    0.6× that code's error. On Jasper Ridge, HYDICE Urban and ABU beach at 0.05–1 bpppb the
    best rank leaves out 0.3–1.3× of its error (the median 0.6×)."""
    error = 10.0 ** (-psnr_db / 10.0)
    within = np.nonzero(p.left <= 0.6 * error)[0]
    n, h, w = p.shape
    return int(max(1, min(within[0] if within.size else n, n, h * w, MAX_RANK)))


def encode(target: np.ndarray, valid: Optional[np.ndarray], scales: np.ndarray, budget: int,
           search: Search, coder: MapCoder, time_limit: Optional[float] = None,
           on_trial: Optional[Callable[[Trial], None]] = None,
           on_progress: Optional[Callable[[SearchProgress], None]] = None,
           klt_weights: Optional[np.ndarray] = None) -> Trial:
    """Search ranks (and steps) for the best code of ``target`` (N×H×W in [0, 1], or a
    :class:`~hinerc.bands.PreparedCube`, read by pixels on a large cube) whose SPEC + MAPS
    payloads fit ``budget`` bytes.

    The search starts at the candidate rank nearest :func:`first_rank` of the rate, climbs
    while quality improves (going on ``patience`` ranks past the best), then, if the start was
    the best, descends the same way. With ``search.predict`` it first codes :func:`guess_rank`
    (halved until it fits), then the rank :func:`predict_rank` finds from that code's quality,
    then climbs from the better of the two and descends from the best found (each walk with
    the same patience). With ``search.allocate`` and a coder that leaves maps out, the
    coder's allocation chooses the rank instead (the rank search only where it finds nothing),
    run again for each of ``search.also_allocate``. It codes at most ``search.max_ranks``
    ranks. ``klt_weights``: the bands' weights in the KLT (:func:`klt_weights`; ``None``:
    the original units). ``time_limit`` seconds
    stop it between two ranks; the best code so far is kept (at least one rank is always
    coded). ``on_trial`` gets every rank coded, ``on_progress`` a :class:`SearchProgress`
    after every JPEG 2000 encode and every rank.

    Raises:
        RateError: no rank fits the budget.
    """
    t0 = time.perf_counter()
    n, h, w = target.shape
    if budget < 64:
        raise RateError("the rate is below what the smallest low-rank code needs "
                        f"(about {min_bytes(n)} bytes for the embeddings and maps)")
    p = _problem(target, valid, scales, coder, klt_weights)
    top = min(n, h * w, MAX_RANK)
    cands = sorted({min(r, top) for r in search.ranks})
    bpppb = budget * 8 / (n * h * w)
    tried: dict[int, Optional[Trial]] = {}
    best: Optional[Trial] = None
    hint: dict = {}
    steps = search.steps_per_rank()
    state = {"planned": min(search.planned_ranks(), len(cands)), "rank": 0, "encodes": 0}

    def report() -> None:
        if on_progress is not None:
            done = len(tried) * steps + min(state["encodes"], steps - 1)
            on_progress(SearchProgress(done, state["planned"] * steps, state["rank"], len(tried),
                                       best.psnr_db if best is not None else None))

    def tick() -> None:
        state["encodes"] += 1
        report()

    def record(k: int, trial: Optional[Trial]) -> None:
        """Keep what coding ``k`` gave, the best so far, and tell the caller."""
        nonlocal best
        tried[k] = trial
        if trial is not None and (best is None or trial.psnr_db > best.psnr_db):
            best = trial
        state["encodes"] = 0
        report()
        if trial is not None and on_trial is not None:
            on_trial(trial)

    def code(k: int) -> Optional[Trial]:
        """Code rank ``k`` once (the search never codes a rank twice)."""
        if k not in tried:
            state.update(rank=k, encodes=0, planned=max(state["planned"], len(tried) + 1))
            record(k, _try_rank(p, k, search, budget, tick, hint))
        return tried[k]

    def out_of_time() -> bool:
        return time_limit is not None and time.perf_counter() - t0 > time_limit

    def walk(indices: Sequence[int]) -> None:
        worse = 0
        for i in indices:
            k = cands[i]
            if k not in tried and tried and (out_of_time() or search.max_ranks is not None
                                             and len(tried) >= search.max_ranks):
                return
            trial = code(k)
            if trial is not None and trial is best:
                worse = 0
            elif best is not None:  # a rank that does not fit, or codes worse
                worse += 1
                if worse >= search.patience:
                    return

    def allocate(s: Search, allocation: dict) -> None:
        """Offer :func:`offered_rank` components; offer twice as many again while the coder
        codes them all."""
        k = offered_rank(n, h, w, bpppb)
        while True:
            state.update(rank=k, encodes=0, planned=max(state["planned"], len(tried) + 1))
            record(k, _try_allocated(p, k, s, budget, tick, allocation))
            if not allocation.get("all_coded") or k >= top or out_of_time():
                break
            k = min(top, 2 * k)

    allocating = search.allocate and p.coder.leaves_maps_out
    if allocating:
        state["planned"] = 1 + len(search.also_allocate)  # one allocation each (+ doublings)
        allocate(search, hint)
        if best is None:
            tried.clear()  # offered counts, not ranks: the rank search below starts afresh
    if best is not None:
        pass
    elif search.predict:
        k = min(guess_rank(bpppb, h * w), top)
        while code(k) is None and k > 1 and not out_of_time():
            k = max(1, k // 2)
        if best is not None:
            guess = predict_rank(p, best.psnr_db)
            cands = sorted(set(cands) | set(tried) | {guess})
            walk([cands.index(guess)])
            # then climb from the better of the two, and descend from the best found
            walk(range(cands.index(best.rank) + 1, len(cands)))
            walk(range(cands.index(best.rank) - 1, -1, -1))
    else:
        guess = first_rank(bpppb)
        start = min(range(len(cands)),
                    key=lambda i: (abs(math.log(cands[i] / guess)), cands[i]))
        walk(range(start, len(cands)))
        if best is None or best.rank == cands[start]:
            walk(range(start - 1, -1, -1))
    for rel, row_cost in search.also_allocate if allocating else ():
        if best is not None and out_of_time():
            break
        allocate(dataclasses.replace(search, rels=(rel,) + tuple(r for r in search.rels
                                                                 if r != rel),
                                     row_cost=row_cost), {})
    state["planned"] = len(tried)
    report()  # the work is all done: the bar ends full
    if best is None:
        raise RateError("the rate is below what the smallest low-rank code needs "
                        f"(about {min_bytes(n)} bytes for the embeddings and maps)")
    return best


def _problem(target: Any, valid: Optional[np.ndarray], scales: np.ndarray,
             coder: MapCoder, klt_weights: Optional[np.ndarray] = None) -> _Problem:
    """The cube as the search sees it: a :class:`_LargeProblem` past :data:`LARGE_PIXELS`
    pixels (``target`` read by pixels), else a :class:`_Problem` (its bands in float64).
    ``klt_weights`` (:func:`klt_weights`): each band's original units scaled by the square root
    of its weight before the KLT (and in the maps' importance, which the same scales give)."""
    scales = np.asarray(scales, np.float64)
    if klt_weights is not None:
        scales = scales * np.sqrt(np.asarray(klt_weights, np.float64))
    n, h, w = target.shape
    if h * w > LARGE_PIXELS:
        return _LargeProblem(target, valid, scales, coder)
    arr = target.target if hasattr(target, "pixels") else target
    return _Problem(arr, valid, scales, coder)


#: :func:`klt_weights`: a band's error is taken as at least this share of the bands' median
#: error (a band decoded almost exactly would otherwise take the whole KLT)
KLT_WEIGHT_FLOOR = 0.01


def klt_weights(band_mse: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Band weights for the KLT (N,), mean 1, from each band's squared error of a code in its
    normalised units (``scales``: the bands' ranges, normalised → original units): each band's
    original units divided by the RMS of its error there.

    The band-mean PSNR is a mean of −10·log10(mse_b): a change of the errors changes it by
    −(10 / ln 10) · Σ_b Δmse_b / mse_b, so to first order the KLT that serves it best is the
    one of the bands each divided by its own error's RMS, a band of small error counting more.
    The KLT in the original units (no weights) is that for bands whose errors in original
    units are equal. Measured (``benchmarks/rd.py``; default effort, Jasper Ridge 0.25 bpppb):
    48.39 dB with the original units' KLT, 49.80 with the weights of its errors, 50.06 with
    those of the weighted code's errors again."""
    mse = np.asarray(band_mse, np.float64)
    floor = KLT_WEIGHT_FLOOR * max(float(np.median(mse)), 1e-30)
    w = 1.0 / (np.maximum(mse, floor) * np.maximum(np.asarray(scales, np.float64), 1e-300) ** 2)
    return w / w.mean()


def min_bytes(n_coded: int) -> int:
    """About the smallest SPEC + MAPS payload: rank 1 at the coarsest map quality."""
    return 2 * n_coded + 400


def constant_code(target: np.ndarray) -> LowRankCode:
    """Rank 0 (no maps): every band its mean; used when there is nothing else to code."""
    n = target.shape[0]
    emb = target.reshape(n, -1).mean(1)[None, :] if n else np.zeros((1, 0))
    steps = np.array([1.0 / 65535], np.float32)
    return LowRankCode(0, np.zeros(0, np.uint16), steps, np.rint(emb / steps[0]).astype(np.int64),
                       b"")
