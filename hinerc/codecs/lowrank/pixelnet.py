"""The pixel network: a small non-linear decoder after the low-rank codec's linear mix (PNET).

Why: the linear mix ``Σ_j E[j, b]·m_j + E[k, b]`` cannot give back what the first k principal
components leave out, and on the airborne cubes that truncation is most of the error (60–84% of
the squared error on Jasper Ridge at 0.1–1 bpppb). Much of it is a non-linear function of the
maps a pixel already has: a one-hidden-layer MLP from a pixel's first maps to a correction of
all its bands, trained on the cube at encode time, gains +0.67 dB on a 1000² scene at 0.2 bpppb
for 32 KB of weights, +0.33 dB at 500² for 9 KB (``benchmarks/results/pixelnet.md``); on cubes
of 100² pixels it costs more than it gains. The weights are a fixed cost, so the network pays
on large files only: :func:`hidden_for` sizes it to a share of the
budget, and the encoder keeps it only where it measured a gain.

Decoding (``docs/format.md``, §PNET), per pixel, in float64 (as the mix)::

    u = m[:K] / sigma                       (K ≤ k maps, centred and scaled as the mix has them)
    h = gelu(clip(s1 * (W1 @ u) + b1, ±1e4))  (W1: H×K int8, one scale per row)
    y = clip(linear_mix + s2 * (W2 @ h) + b2, 0, 1)   (W2: N×H int8)

with ``gelu(x) = 0.5·x·(1 + tanh(0.7978845608·(x + 0.044715·x³)))``. Two decoders may still
differ in the last bits (a BLAS's order of summation, a libm's tanh): the near-lossless modes,
which need a predictor computed to the bit, never use a pixel network. Training needs torch (imported only when a network is trained);
decoding is numpy.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from hinerc.errors import CorruptFileError

TAG = "PNET"
VERSION = 1
ACT_GELU_TANH = 1
#: Inputs: at most this many of the first maps (the weak maps add little and cost weights).
MAX_INPUTS = 32
#: Hidden widths the encoder may choose, widest first.
WIDTHS = (128, 96, 64, 48, 32)
#: The network may take at most this share of the model's bytes (a 1000² scene at 0.2 bpppb
#: has 4.9 MB: a 128-wide network is 0.6% of it; a 100² cube's 49 KB would not pay for one).
MAX_SHARE = 0.01
#: Cubes of fewer coded bands get none: their rank reaches the band count at moderate rates,
#: leaving no truncation to undo (a 12-band cube at 3 bpppb: no gain, and the bytes kept for it
#: cost 0.8 dB).
MIN_BANDS = 64
#: A trained network is kept only if it gains at least this much on held-out pixels (dB).
MIN_GAIN_DB = 0.02
#: Pixels drawn to train on (and an eighth more to check the gain on): 2^17 gained about the same
#: on the 1000² scene in an exploration (0.01 dB), for twice the memory.
TRAIN_PIXELS = 1 << 16
#: No network is trained on fewer pixels whose every band is real (a cube whose pixels all miss
#: some band: no sample).
MIN_PIXELS = 4096
#: Small batches, many steps: 512 × 3000 steps (effort 5) gain +0.67 dB on the 1000² scene where
#: 4096 × 1000 gained +0.50 in more time (``benchmarks/pixelnet.py --ablation``, pixelnet.md).
BATCH = 512
_HEAD = struct.Struct("<BBBH")  # version, activation, K inputs, H hidden
#: The hidden layer's input is clipped to ±CLIP (a trained network's stays within ±20).
CLIP = 1e4
_C = 0.7978845608028654


@dataclass
class PixelNet:
    """A parsed PNET: the integer weights and their float32 scales."""

    sigma: np.ndarray  # (K,) input scales
    w1: np.ndarray  # (H, K) int8
    s1: np.ndarray  # (H,)
    b1: np.ndarray  # (H,)
    w2: np.ndarray  # (N, H) int8
    s2: np.ndarray  # (N,)
    b2: np.ndarray  # (N,)

    @property
    def inputs(self) -> int:
        return int(self.sigma.size)

    def correction(self, maps: np.ndarray, coded: Optional[np.ndarray] = None) -> np.ndarray:
        """(bands × pixels) float64 to add to the linear mix, from the k × pixels maps
        (centred and scaled as the mix takes them); ``coded``: only those of the N bands.

        Float64, as the mix: a window and the whole, whose products a BLAS sums in other
        orders, then round to the same float32 samples (in float32 they did not: the AVIRIS-NG
        strip's windows differed from its full decode in the last bit)."""
        u = maps[: self.inputs].astype(np.float32).astype(np.float64) / self.sigma[:, None]
        h = self.w1.astype(np.float64) @ u
        with np.errstate(over="ignore", invalid="ignore"):
            h *= self.s1[:, None]
            h += self.b1[:, None]
            np.clip(h, -CLIP, CLIP, out=h)  # a hostile file's weights cannot make a NaN
            h = gelu(h)
        w2, s2, b2 = self.w2, self.s2, self.b2
        if coded is not None:
            w2, s2, b2 = w2[coded], s2[coded], b2[coded]
        y = w2.astype(np.float64) @ h
        with np.errstate(over="ignore", invalid="ignore"):
            y *= s2[:, None]
            y += b2[:, None]
        return y


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form, in place where it can (the pixel network's and the map filter's)."""
    t = x * x
    t *= 0.044715
    t += 1.0
    t *= x
    t *= _C
    np.tanh(t, out=t)
    t += 1.0
    t *= x
    t *= 0.5
    return t


def payload_bytes(inputs: int, hidden: int, n_coded: int) -> int:
    """The size of a PNET payload (exact: the weights are stored as they are; LZMA saved about
    a tenth of them, 0.1% of a file that carries a network, and would make the size a guess)."""
    return _HEAD.size + 4 * (inputs + 2 * hidden + 2 * n_coded) + hidden * (inputs + n_coded)


def hidden_for(room: float, inputs: int, n_coded: int) -> int:
    """The widest hidden layer whose network takes at most :data:`MAX_SHARE` of ``room`` bytes
    (its section framing counted); 0 when none does, or the cube has too few bands."""
    if n_coded < MIN_BANDS:
        return 0
    for h in WIDTHS:
        if payload_bytes(inputs, h, n_coded) + 12 <= MAX_SHARE * room:
            return h
    return 0


def widest(nbytes: int, inputs: int, n_coded: int) -> int:
    """The widest hidden layer (at most the widest of :data:`WIDTHS`) whose payload fits in
    ``nbytes``: the bytes kept for a network of more inputs than the rank turned out to give."""
    per = 8 + inputs + n_coded
    room = nbytes - payload_bytes(inputs, 0, n_coded)
    return int(max(0, min(max(WIDTHS), room // per)))


# ----------------------------------------------------------------------------- the section
def pack(net: PixelNet) -> bytes:
    """PNET payload: version, activation, K, H; then K + 2H + 2N float32 (sigma, s1, b1, s2, b2),
    then W1 (H×K) and W2 (N×H) as int8, row by row."""
    hidden, k = net.w1.shape
    head = _HEAD.pack(VERSION, ACT_GELU_TANH, k, hidden)
    floats = np.concatenate([net.sigma, net.s1, net.b1, net.s2, net.b2]).astype("<f4")
    ints = np.concatenate([net.w1.ravel(), net.w2.ravel()]).astype(np.int8)
    return head + floats.tobytes() + ints.tobytes()


def unpack(buf: bytes, rank: int, n_coded: int) -> PixelNet:
    """Inverse of :func:`pack`; any inconsistency is a :class:`CorruptFileError`."""
    if len(buf) < _HEAD.size:
        raise CorruptFileError("PNET section is truncated")
    version, act, k, hidden = _HEAD.unpack_from(buf)
    if version != VERSION or act != ACT_GELU_TANH:
        raise CorruptFileError("PNET section: unknown version or activation")
    if not (1 <= k <= min(rank, MAX_INPUTS) and 1 <= hidden <= max(WIDTHS)):
        raise CorruptFileError("PNET section: invalid network size")
    nf = k + 2 * hidden + 2 * n_coded
    start = _HEAD.size + 4 * nf
    if len(buf) < start:
        raise CorruptFileError("PNET section is truncated")
    floats = np.frombuffer(buf, "<f4", nf, _HEAD.size).astype(np.float32)
    if not np.isfinite(floats).all():
        raise CorruptFileError("PNET section holds non-finite values")
    if len(buf) != start + hidden * (k + n_coded):
        raise CorruptFileError("PNET section does not match the network's size")
    ints = np.frombuffer(buf, np.int8, offset=start).copy()
    sigma, s1, b1, s2, b2 = np.split(floats, np.cumsum([k, hidden, hidden, n_coded]))
    if not (sigma > 0).all():
        raise CorruptFileError("PNET section holds invalid input scales")
    return PixelNet(sigma, ints[: hidden * k].reshape(hidden, k), s1, b1,
                    ints[hidden * k:].reshape(n_coded, hidden), s2, b2)


# ----------------------------------------------------------------------------- training
def enough_pixels(valid: Optional[np.ndarray], pixels: int) -> bool:
    """Whether :data:`MIN_PIXELS` pixels have every band real (``valid``: N×H×W, or None)."""
    count = pixels if valid is None else int(valid.all(axis=0).sum())
    return count >= MIN_PIXELS


def sample(height: int, width: int, valid: Optional[np.ndarray], seed: int) -> np.ndarray:
    """Sorted flat indices of up to 9/8 · :data:`TRAIN_PIXELS` pixels, every band real: every
    pixel of rows drawn at random (a memory-mapped scene is read only in those rows: pixels
    drawn anywhere would bring most of its pages in), then pixels drawn among them."""
    rng = np.random.default_rng(seed)
    want = TRAIN_PIXELS + TRAIN_PIXELS // 8
    rows = np.arange(height)
    if height * width > 4 * want:  # four times the pixels needed, in whole rows
        rows = np.sort(rng.choice(height, min(height, -(-4 * want // width)), replace=False))
    idx = (rows[:, None] * width + np.arange(width)).ravel()
    if valid is not None:
        idx = idx[valid.all(axis=0).ravel()[idx]]
    return np.sort(rng.choice(idx, want, replace=False)) if want < idx.size else idx


def held_out(pixels: int) -> np.ndarray:
    """The pixels (of a :func:`sample`) the gain is measured on: every ninth."""
    return np.arange(pixels) % 9 == 8


def train(maps: np.ndarray, miss: np.ndarray, linear_held: np.ndarray, hidden: int, iters: int,
          seed: int, device: str = "cpu",
          tick: Optional[Callable[[int, int], None]] = None) -> tuple[PixelNet, float]:
    """Fit a network to what the mix misses, ``miss`` (P × N float32, pixel-major: the
    normalised bands minus the unclipped linear mix), from ``maps`` (k × P float32), on the
    pixels not :func:`held_out`; return it quantized, with its gain in mean band PSNR (dB)
    measured after quantization on the held-out pixels (``linear_held``: their mix, N × Ph)."""
    import torch

    k = min(maps.shape[0], MAX_INPUTS)
    n = miss.shape[1]
    torch.manual_seed(seed)
    dev = torch.device(device)
    sigma = np.maximum(maps[:k].std(axis=1), 1e-6).astype(np.float32)
    # pixel-major and contiguous: a batch is a gather of rows (``miss`` is not copied on a CPU)
    u = torch.from_numpy(np.ascontiguousarray((maps[:k] / sigma[:, None]).T, np.float32))
    miss_t = torch.from_numpy(np.ascontiguousarray(miss, np.float32))
    u, miss_t = u.to(dev), miss_t.to(dev)
    held = held_out(u.shape[0])
    train_idx = torch.from_numpy(np.flatnonzero(~held)).to(dev)
    net = torch.nn.Sequential(torch.nn.Linear(k, hidden), torch.nn.GELU(approximate="tanh"),
                              torch.nn.Linear(hidden, n)).to(dev)
    torch.nn.init.zeros_(net[2].weight)
    torch.nn.init.zeros_(net[2].bias)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, iters)
    gen = torch.Generator(device=dev).manual_seed(seed)
    for i in range(iters):
        idx = train_idx[torch.randint(0, train_idx.numel(), (BATCH,), device=dev,
                                      generator=gen)]
        loss = ((net(u[idx]) - miss_t[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if tick is not None and (i + 1) % 50 == 0:
            tick(i + 1, iters)
    w1, s1 = int8_rows(net[0].weight.detach().cpu().numpy())
    w2, s2 = int8_rows(net[2].weight.detach().cpu().numpy())
    pn = PixelNet(sigma, w1, s1, net[0].bias.detach().cpu().numpy().astype(np.float32),
                  w2, s2, net[2].bias.detach().cpu().numpy().astype(np.float32))
    target = linear_held + miss[held].T
    before = _mean_psnr(np.clip(linear_held, 0, 1), target)
    after = _mean_psnr(np.clip(linear_held + pn.correction(maps[:, held]), 0, 1), target)
    return pn, after - before


def int8_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows quantized to int8 with one float32 scale each (the scale as the file stores it);
    the map filter's output channels too."""
    scale = (np.abs(w).max(axis=1) / 127).astype(np.float32)
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def _mean_psnr(decoded: np.ndarray, target: np.ndarray) -> float:
    mse = ((decoded.astype(np.float64) - target) ** 2).mean(axis=1)
    return float(np.mean(-10 * np.log10(np.maximum(mse, 1e-20))))
