"""The map filter (MFLT): a small convolutional network on the decoded maps, trained on the cube.

Why: HEVC and AV1 leave each map with blocking and ringing, and the k maps of a cube share its
edges. A 3×3 convolution over all k decoded maps, one hidden layer of C channels, and a
correction per map predicts part of each map's coding error from its neighbours in space and in
the other maps. It is trained at encode time (torch, where ``--device`` says) through the band
embeddings on the per-band normalised error, so the corrections go where the bands need them;
the embeddings are then refitted to the filtered maps. Its weights are a fixed cost (int8, about
10·k·C bytes), so the encoder codes the cube a second time with the filter's bytes taken from the
maps and keeps whichever file measured better (:func:`width_for` sizes it to a share of the
bytes). Measured (``benchmarks/results/mapfilter.md``): Jasper Ridge at 0.25 bpppb, k = 25,
C = 8 (2 KB): +0.33 dB before its bytes are paid; a 1000² scene of it at 0.2 bpppb, C = 31
(13 KB, 0.3% of the file): +0.15 dB. A map of more than :data:`CROP`² pixels trains on
windows and its bands are read a few rows at a time (:func:`error_terms`).

Decoding (``docs/format.md``, §MFLT), in float64 over the whole map, edges replicated::

    u_i = (d_i − c_i) / 32767.5                        (the maps as the mix takes them)
    h_t = gelu(clip(s1_t · Σ_{i,a,b} W1[t,i,a,b] · u_i(y+a−1, x+b−1) + b1_t, ±1e4))
    d'_j = d_j + 32767.5 · clip(s2_j · Σ_t W2[j,t] · h_t + b2_j, ±1e4)

``d`` the decoded maps in code units, ``c`` their centres (SPEC); the mix then takes ``d'``.
Like the pixel network, two decoders may differ in the last bits (a BLAS's order of summation, a
libm's tanh): the near-lossless modes never use a map filter. Training needs torch; decoding is
numpy.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from hinerc.codecs.lowrank.pixelnet import gelu, int8_rows
from hinerc.errors import CorruptFileError

TAG = "MFLT"
VERSION = 1
ACT_GELU_TANH = 1
#: Hidden widths the encoder may choose, widest first.
WIDTHS = (32, 24, 16, 12, 8, 6, 4)
#: The filter may take at most this share of the model's bytes (Jasper Ridge at 0.25 bpppb:
#: 8 channels, 3.3% of the file, gained 0.33 dB where 3.3% more bytes of maps give about 0.13).
MAX_SHARE = 0.04
#: Maps of fewer pixels get none (too few for the weights to pay).
MIN_PIXELS = 4096
#: Only tiles of at most this many pixels (the default tile, 1024²): the training holds the
#: maps in float64 and the error terms in float32 (about 16·k bytes a pixel).
MAX_PIXELS = 1024 * 1024
#: Where the widest filter takes at most this share of the bytes (a scene: 0.4% of a 1000²
#: one at 0.2 bpppb), its bytes are kept from the start and the cube is coded once: a filter
#: not kept leaves the file that much short of the rate, well within its tolerance.
UP_FRONT_SHARE = 0.01
#: A filter is kept only where the file with it measured at least this much better (dB).
MIN_GAIN_DB = 0.02
#: Maps larger than this on a side are trained on a random window of CROP × CROP at each step.
#: The whole map of CAVE 256² gained 0.13 dB where windows of 96² and 128² gained nothing
#: (1000 steps each, effort 7): a window must hold most of the map.
CROP = 256
CLIP = 1e4
_CODE_MID = 32767.5
_HEAD = struct.Struct("<BBBB")  # version, activation, k maps, C hidden channels
#: Rows filtered at once when decoding (bounds the temporaries to about 9·k·ROWS·W floats).
_ROWS = 64
#: Pixels of the bands read at once when training (a few MB of float64 per read).
_CHUNK = 1 << 15


@dataclass
class MapFilter:
    """A parsed MFLT: int8 weights with one float32 scale per output channel."""

    w1: np.ndarray  # (C, k, 3, 3) int8
    s1: np.ndarray  # (C,)
    b1: np.ndarray  # (C,)
    w2: np.ndarray  # (k, C) int8
    s2: np.ndarray  # (k,)
    b2: np.ndarray  # (k,)

    @property
    def width(self) -> int:
        return int(self.w1.shape[0])

    @property
    def maps(self) -> int:
        return int(self.w1.shape[1])

    def correction(self, u: np.ndarray) -> np.ndarray:
        """k×H×W float64: what the filter adds to the maps ``u`` (k×H×W float64, centred and
        scaled as the mix takes them), computed a band of rows at a time."""
        k, h, w = u.shape
        pad = np.pad(u, ((0, 0), (1, 1), (1, 1)), mode="edge")
        out = np.empty_like(u, dtype=np.float64)
        for r0 in range(0, h, _ROWS):
            r1 = min(h, r0 + _ROWS)
            out[:, r0:r1, :] = self._rows(pad, r0, r1).reshape(k, r1 - r0, w)
        return out

    def apply(self, codes: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """The decoded maps ``codes`` (k×H×W, code units) filtered, as float64: in place
        where they are a float64 array (a map coder's lazy planes are converted once), a band
        of rows at a time. The one copy is the maps centred and scaled as the mix takes them,
        edges replicated (where each band's neighbours are read): a scene's maps are not held
        three times."""
        codes = np.asarray(codes, np.float64)
        k, h, w = codes.shape
        pad = np.pad(codes, ((0, 0), (1, 1), (1, 1)), mode="edge")
        pad -= centres.astype(np.float64)[:, None, None]
        pad /= _CODE_MID
        for r0 in range(0, h, _ROWS):
            r1 = min(h, r0 + _ROWS)
            codes[:, r0:r1, :] += _CODE_MID * self._rows(pad, r0, r1).reshape(k, r1 - r0, w)
        return codes

    def _rows(self, pad: np.ndarray, r0: int, r1: int) -> np.ndarray:
        """k × ((r1−r0)·W): the correction of rows r0..r1 from the padded centred maps."""
        k = pad.shape[0]
        w = pad.shape[2] - 2
        acc = np.zeros((self.width, (r1 - r0) * w))
        for a in range(3):
            for b in range(3):
                win = pad[:, r0 + a:r1 + a, b:b + w].reshape(k, -1)
                acc += self.w1[:, :, a, b].astype(np.float64) @ win
        with np.errstate(over="ignore", invalid="ignore"):
            acc *= self.s1[:, None]
            acc += self.b1[:, None]
            np.clip(acc, -CLIP, CLIP, out=acc)  # a hostile file's weights cannot make a NaN
            hid = gelu(acc)
            y = self.w2.astype(np.float64) @ hid
            y *= self.s2[:, None]
            y += self.b2[:, None]
            np.clip(y, -CLIP, CLIP, out=y)  # nor an infinity that the mix would make a NaN
        return y


def payload_bytes(maps: int, width: int) -> int:
    """The size of an MFLT payload (exact)."""
    return _HEAD.size + 4 * (2 * width + 2 * maps) + 10 * maps * width


def width_for(room: float, maps: int) -> int:
    """The widest filter whose payload (and its section's framing) takes at most
    :data:`MAX_SHARE` of ``room`` bytes; 0 when none does."""
    for c in WIDTHS:
        if payload_bytes(maps, c) + 12 <= MAX_SHARE * room:
            return c
    return 0


def up_front(room: float, maps: int, tolerance: float) -> int:
    """The bytes (payload and framing) to keep for the widest filter of ``maps`` maps before
    the maps are coded, where that is at most :data:`UP_FRONT_SHARE` of ``room`` and a third of
    the rate's ``tolerance``; 0 elsewhere (the cube is then coded again for a filter)."""
    need = payload_bytes(maps, max(WIDTHS)) + 12
    return need if need <= min(UP_FRONT_SHARE, tolerance / 3) * room else 0


def widest(nbytes: int, maps: int) -> int:
    """The widest filter (any width up to the widest of :data:`WIDTHS`) whose payload fits in
    ``nbytes``: the bytes kept for a filter of another rank than the maps turned out to have."""
    per = 10 * maps + 8
    return int(max(0, min(max(WIDTHS), (nbytes - payload_bytes(maps, 0)) // per)))


# ----------------------------------------------------------------------------- the section
def pack(f: MapFilter) -> bytes:
    """MFLT payload: version, activation, k, C; then 2C + 2k float32 (s1, b1, s2, b2), then W1
    (C×k×3×3) and W2 (k×C) as int8 in C order."""
    head = _HEAD.pack(VERSION, ACT_GELU_TANH, f.maps, f.width)
    floats = np.concatenate([f.s1, f.b1, f.s2, f.b2]).astype("<f4")
    ints = np.concatenate([f.w1.ravel(), f.w2.ravel()]).astype(np.int8)
    return head + floats.tobytes() + ints.tobytes()


def unpack(buf: bytes, rank: int) -> MapFilter:
    """Inverse of :func:`pack` for a model of ``rank`` maps; any inconsistency is a
    :class:`CorruptFileError`."""
    if len(buf) < _HEAD.size:
        raise CorruptFileError("MFLT section is truncated")
    version, act, k, c = _HEAD.unpack_from(buf)
    if version != VERSION or act != ACT_GELU_TANH:
        raise CorruptFileError("MFLT section: unknown version or activation")
    if k != rank or not 1 <= c <= max(WIDTHS):
        raise CorruptFileError("MFLT section: invalid filter size")
    if len(buf) != payload_bytes(k, c):
        raise CorruptFileError("MFLT section does not match the filter's size")
    nf = 2 * c + 2 * k
    floats = np.frombuffer(buf, "<f4", nf, _HEAD.size).astype(np.float32)
    if not np.isfinite(floats).all():
        raise CorruptFileError("MFLT section holds non-finite values")
    ints = np.frombuffer(buf, np.int8, offset=_HEAD.size + 4 * nf).copy()
    s1, b1, s2, b2 = np.split(floats, np.cumsum([c, c, k]))
    return MapFilter(ints[: 9 * c * k].reshape(c, k, 3, 3), s1, b1,
                     ints[9 * c * k:].reshape(k, c), s2, b2)


# ----------------------------------------------------------------------------- training
def train(u: np.ndarray, target: np.ndarray, valid: Optional[np.ndarray], emb: np.ndarray,
          width: int, iters: int, seed: int, device: str = "cpu",
          tick: Optional[Callable[[int, int], None]] = None) -> MapFilter:
    """Fit a filter of ``width`` channels to the maps ``u`` (k×H×W, centred and scaled as the
    mix takes them) so that the mix by ``emb`` ((k+1)×N) comes closer to ``target`` (N×H×W
    normalised bands, or what reads them by pixels: a :class:`~hinerc.bands.PreparedCube`;
    ``valid``: N×H×W real samples, or None), each band's squared error weighed
    by the inverse of its error before filtering (the mean band PSNR's gradient). Adam with a
    cosine schedule, on the whole map or, on a larger one, a random :data:`CROP`² window at each
    step; returns the filter quantized to int8.

    The bands never enter a step: with ``r = mix(u) − target``, band weights ``w_b`` and the
    correction Δ, the loss ``Σ_b w_b‖r_b + E_bᵀΔ‖²`` is ``const + 2⟨g, Δ⟩ + ⟨Δ, QΔ⟩`` with
    ``g = Σ_b w_b E_b r_b`` (k×H×W) and ``Q = Σ_b w_b E_b E_bᵀ`` (k×k), so a step costs k² per
    pixel instead of k·N."""
    import torch

    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    dev = torch.device(device)
    k, h, w = u.shape
    g, q = error_terms(u, target, valid, emb)
    # a no-data sample is left out of Q's sum only approximately (Q is the same at every
    # pixel); g, which carries the error, leaves it out exactly
    mp = torch.nn.functional.pad(torch.from_numpy(np.ascontiguousarray(u, np.float32))[None],
                                 (1, 1, 1, 1), mode="replicate").to(dev)
    g_t = torch.from_numpy(g).to(dev)
    q_t = torch.from_numpy(q.astype(np.float32)).to(dev)
    net = torch.nn.Sequential(torch.nn.Conv2d(k, width, 3), torch.nn.GELU(approximate="tanh"),
                              torch.nn.Conv2d(width, k, 1)).to(dev)
    torch.nn.init.zeros_(net[2].weight)
    torch.nn.init.zeros_(net[2].bias)
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, iters)
    ch, cw = min(h, CROP), min(w, CROP)
    scale = float(h * w) / (ch * cw)  # a crop's loss on the whole map's scale
    for i in range(iters):
        r0, c0 = int(gen.integers(0, h - ch + 1)), int(gen.integers(0, w - cw + 1))
        d = net(mp[:, :, r0:r0 + ch + 2, c0:c0 + cw + 2])[0]  # k × ch × cw
        gg = g_t[:, r0:r0 + ch, c0:c0 + cw]
        loss = scale * (2 * (gg * d).sum() + (d * torch.einsum("ij,jhw->ihw", q_t, d)).sum())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if tick is not None and (i + 1) % 25 == 0:
            tick(i + 1, iters)
    w1, s1 = _int8(net[0].weight.detach().cpu().numpy())
    w2, s2 = _int8(net[2].weight.detach().cpu().numpy()[:, :, 0, 0])
    return MapFilter(w1, s1, net[0].bias.detach().cpu().numpy().astype(np.float32),
                     w2, s2, net[2].bias.detach().cpu().numpy().astype(np.float32))


def error_terms(u: np.ndarray, target, valid: Optional[np.ndarray], emb: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """``g`` (k×H×W float32) and ``Q`` (k×k) of :func:`train`'s loss for the maps ``u``,
    reading the bands a few rows at a time, twice (each band's error, then ``g``): a scene's
    bands are never held in float64."""
    k, h, w = u.shape
    e = emb[:-1].astype(np.float64)  # k × N
    n = e.shape[1]
    read = target.pixels if hasattr(target, "pixels") else (
        lambda sel: target.reshape(n, -1)[:, sel].astype(np.float64))
    vflat = valid.reshape(n, -1) if valid is not None else None
    rows = max(1, _CHUNK // max(1, w))

    def residuals():
        for r0 in range(0, h, rows):
            sel = slice(r0 * w, min(h, r0 + rows) * w)
            uu = u[:, r0:r0 + rows].reshape(k, -1)
            r = e.T @ uu + emb[-1][:, None] - read(sel)
            if vflat is not None:
                r = np.where(vflat[:, sel], r, 0.0)
            yield r0, r

    sse = np.zeros(n)
    for _, r in residuals():
        sse += np.einsum("ij,ij->i", r, r)
    wb = 1.0 / np.maximum(sse, 1e-12)
    wb /= wb.sum()
    g = np.empty((k, h, w), np.float32)
    for r0, r in residuals():
        g[:, r0:r0 + rows] = ((e * wb) @ r).reshape(k, -1, w)
    return g, (e * wb) @ e.T


def _int8(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output channels (the first axis) quantized to int8 with one float32 scale each."""
    q, scale = int8_rows(w.reshape(w.shape[0], -1))
    return q.reshape(w.shape), scale
