"""The learned map coder's real bitstream: range-coded latents, integer context model, counted
weights (issue 18, items 1 and 4; used by ``learned_maps.py --bitstream``).

Why: the training's rate is an estimate (ideal code lengths under a float model). This writes
what a file would hold and reads it back:

* **Latents**: range coded with ``constriction`` (a queue coder, ``QuantizedLaplace`` over
  ``[-LIMIT, LIMIT]``, as hinerc's RESD section does). The context model runs in **integer
  arithmetic**: its weights rounded to units of ``2**-SHIFT``, the products summed in int64 and
  shifted back, ReLU on integers; its outputs become a mean in units of ``2**-MU_BITS`` and a
  scale code (``b = 2**((c − 40)/8)``). Integer arithmetic gives the same parameters on any
  machine and thread count, and in any batch shape, which is what lets the decoder go by
  wavefronts: a latent's 12 causal neighbours in a 5×5 window (two rows above, two to the
  left) are all decoded before it when the latents go in order of ``t = x + 3·y``, so each
  wavefront of every channel of a level is decoded at once (about 400 steps for 100×100).
  The scale code comes from a table over the integer output (:data:`SCALE_OF`, made with
  float64 ``log2``/``exp`` at import): the one float step of the parsing; shipping the table
  as data would make it exact on every machine.
* **Weights**: the synthesis' and gains' per tensor as integers of ``bits`` bits and a
  float32 step; the context model's as multiples of ``2**-bits`` (4–8 bits of fraction, the
  one with the fewest bytes in all); LZMA-compressed.
* **Embeddings**: refitted by least squares to the decoded maps and coded by hinerc's own SPEC
  writer (:func:`hinerc.codecs.lowrank.model.quantize_embeddings`, ``pack_embeddings``), the
  step searched as hinerc searches it.

The synthesis runs in float32 (torch): the decoded *pixels* can differ in the last bits across
machines; the *parsing* cannot.
"""

from __future__ import annotations

import lzma
import math
import struct
import time
from dataclasses import dataclass

import numpy as np

SHIFT = 8
MU_BITS = 4
LIMIT = 1 << 14
#: causal positions of the 5×5 window (raster order before the centre), as (dy, dx)
OFFSETS = [(dy, dx) for dy in (-2, -1) for dx in range(-2, 3)] + [(0, -2), (0, -1)]
#: integer output o (units of 2**-SHIFT) → scale code; o clipped to [O_LO, O_HI]
O_LO, O_HI = -16 << SHIFT, 24 << SHIFT
_O = np.arange(O_LO, O_HI + 1) / 2.0 ** SHIFT
_B = np.logaddexp(0.0, _O) + 0.05  # softplus + 0.05: the training's scale
SCALE_OF = np.clip(np.rint(8 * np.log2(_B)) + 40, 0, 255).astype(np.int64)
SCALE_CODES = 2.0 ** ((np.arange(256) - 40) / 8)


# ----------------------------------------------------------------------------- context model
def arm_to_int(arm, bits: int = SHIFT) -> list[tuple[np.ndarray, np.ndarray]]:
    """The torch context model (Linear, ReLU, …, Linear) as integer (weight, bias) pairs in
    units of ``2**-SHIFT``, the weights rounded to multiples of ``2**-bits`` (coarser weights
    cost fewer bytes and a little more rate: :func:`real_file` picks)."""
    import torch.nn as nn

    out = []
    for layer in arm:
        if isinstance(layer, nn.Linear):
            w = np.rint(layer.weight.detach().double().numpy() * 2 ** bits).astype(np.int64)
            b = np.rint(layer.bias.detach().double().numpy() * 2 ** SHIFT).astype(np.int64)
            out.append((w << (SHIFT - bits), b))
    return out


def arm_params(layers, ctx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means (float64, exact multiples of 2**-MU_BITS) and scales of latents with int64
    contexts ``ctx`` (m × 12): integer arithmetic only, up to the table look-up."""
    z = ctx
    for i, (w, b) in enumerate(layers):
        if i == 0:
            z = z @ w.T + b  # inputs are integers: the sum is in units of 2**-SHIFT
        else:
            z = (z @ w.T + (b << SHIFT)) >> SHIFT
        if i < len(layers) - 1:
            z = np.maximum(z, 0)
    half = 1 << (SHIFT - MU_BITS - 1)
    mu = ((z[:, 0] + half) >> (SHIFT - MU_BITS)).astype(np.float64) / 2 ** MU_BITS
    codes = SCALE_OF[np.clip(z[:, 1], O_LO, O_HI) - O_LO]
    return mu, SCALE_CODES[codes]


def _pad(y: np.ndarray) -> np.ndarray:
    return np.pad(y, ((0, 0), (2, 0), (2, 2)))


def contexts(y: np.ndarray) -> np.ndarray:
    """c × h × w int64 latents → (c·h·w) × 12 causal contexts (zero outside), raster order."""
    c, h, w = y.shape
    p = _pad(y)
    return np.stack([p[:, 2 + dy:2 + dy + h, 2 + dx:2 + dx + w] for dy, dx in OFFSETS],
                    -1).reshape(-1, len(OFFSETS))


def _fronts(h: int, w: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows and columns of each wavefront t = x + 3y, in order."""
    out = []
    for t in range(w + 3 * (h - 1)):
        rows = np.arange(h)
        cols = t - 3 * rows
        ok = (cols >= 0) & (cols < w)
        out.append((rows[ok], cols[ok]))
    return out


def _order(c: int, h: int, w: int) -> np.ndarray:
    """Raster indices of a level's latents in coding order: wavefront, then channel, then row."""
    idx = []
    for rows, cols in _fronts(h, w):
        pos = rows * w + cols
        idx.append((np.arange(c)[:, None] * (h * w) + pos[None, :]).reshape(-1))
    return np.concatenate(idx)


def encode_latents(levels: list[np.ndarray], layers) -> bytes:
    """Range-code the integer latent grids (each c × h × w)."""
    import constriction

    enc = constriction.stream.queue.RangeEncoder()
    model = constriction.stream.model.QuantizedLaplace(-LIMIT, LIMIT)
    for y in levels:
        if np.abs(y).max(initial=0) >= LIMIT:
            raise ValueError(f"a latent is beyond ±{LIMIT}: the step is too fine")
        mu, b = arm_params(layers, contexts(y))
        order = _order(*y.shape)
        enc.encode(y.reshape(-1)[order].astype(np.int32), model, mu[order], b[order])
    return np.asarray(enc.get_compressed(), np.uint32).astype("<u4").tobytes()


def encode_without_context(levels: list[np.ndarray]) -> bytes:
    """The same latents range coded without the context model: one zero-mean Laplace per
    channel, its scale the channel's mean magnitude (what the context model gains, alone)."""
    import constriction

    enc = constriction.stream.queue.RangeEncoder()
    model = constriction.stream.model.QuantizedLaplace(-LIMIT, LIMIT)
    for y in levels:
        for ch in y:
            b = max(float(np.abs(ch).mean()), 2.0 ** -5)
            v = ch.reshape(-1).astype(np.int32)
            enc.encode(v, model, np.zeros(v.size), np.full(v.size, b))
    return np.asarray(enc.get_compressed(), np.uint32).astype("<u4").tobytes()


def decode_latents(buf: bytes, shapes: list[tuple[int, int, int]], layers) -> list[np.ndarray]:
    """Inverse of :func:`encode_latents`, a wavefront of every channel at a time."""
    import constriction

    dec = constriction.stream.queue.RangeDecoder(np.frombuffer(buf, "<u4").astype(np.uint32))
    model = constriction.stream.model.QuantizedLaplace(-LIMIT, LIMIT)
    out = []
    for c, h, w in shapes:
        p = np.zeros((c, h + 2, w + 4), np.int64)
        for rows, cols in _fronts(h, w):
            ctx = np.stack([p[:, 2 + rows + dy, 2 + cols + dx] for dy, dx in OFFSETS], -1)
            mu, b = arm_params(layers, ctx.reshape(-1, len(OFFSETS)))
            sym = dec.decode(model, mu, b).astype(np.int64).reshape(c, rows.size)
            p[:, 2 + rows, 2 + cols] = sym
        out.append(p[:, 2:, 2:2 + w])
    return out


# ----------------------------------------------------------------------------- weights
def quantize_tensor(v: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    top = float(np.abs(v).max(initial=0.0))
    step = top / (2 ** (bits - 1) - 1) if top > 0 else 1.0
    return np.rint(v / step).astype(np.int64), np.float32(step)


def pack_weights(named: list[tuple[str, np.ndarray]], bits: int) -> tuple[bytes, dict]:
    """Every tensor as integers of ``bits`` bits and a float32 step, LZMA'd; and the
    dequantized tensors the decoder would use."""
    raw, back = bytearray(), {}
    for name, v in named:
        q, step = quantize_tensor(v, bits)
        raw += struct.pack("<f", step) + q.astype("<i2").tobytes()
        back[name] = (q * np.float64(step)).astype(np.float32).reshape(v.shape)
    return lzma.compress(bytes(raw), preset=9), back


def pack_arm(layers, bits: int = SHIFT) -> bytes:
    """The context model's integers: the precision ``bits``, weights in units of ``2**-bits``
    as int16 (int32 if one is that large), biases as int32."""
    raw = bytearray(struct.pack("<B", bits))
    for w, b in layers:
        w = w >> (SHIFT - bits)
        wide = np.abs(w).max(initial=0) >= 1 << 15
        raw += struct.pack("<B", 4 if wide else 2) + w.astype("<i4" if wide else "<i2").tobytes()
        raw += b.astype("<i4").tobytes()
    return lzma.compress(bytes(raw), preset=9)


@dataclass
class RealFile:
    """What the bitstream holds, in bytes, and what decoding it gave."""

    latents: int
    arm: int
    weights: int
    spec: int
    header: int
    weight_bits: int
    rel: float
    arm_bits: int
    latents_without_context: int
    decoded: np.ndarray  # H·W × N float64, normalised units, clipped
    decode_s: float  # latents parsed, maps synthesized, bands mixed

    @property
    def total(self) -> int:
        return self.latents + self.arm + self.weights + self.spec + self.header


def real_file(net, target: np.ndarray, lam: float, header: int,
              weight_bits=(6, 8, 10), rels=(1e-4, 3e-4, 1e-3, 3e-3),
              arm_precisions=(4, 5, 6, 8)) -> RealFile:
    """Write the trained coder ``net`` (``learned_maps.build``) as bytes, read them back, and
    keep the weight precision and embedding step with the lowest MSE + λ·bits per sample
    (the context model's precision: the fewest bytes of latents and model together).
    ``target``: H·W × N float64 in normalised units; ``header``: the container's bytes."""
    import torch

    from hinerc.codecs.lowrank.model import embedding_step, quantize_embeddings
    from hinerc.codecs.lowrank.sections import pack_embeddings

    hw, n = target.shape
    samples = hw * n
    with torch.no_grad():
        levels = [torch.round(p).squeeze(0).numpy().astype(np.int64) for p in net.lat]
    coded = []
    for arm_bits in arm_precisions:
        layers = arm_to_int(net.arm, arm_bits)
        coded.append((encode_latents(levels, layers), pack_arm(layers, arm_bits), layers,
                      arm_bits))
    lat_bytes, arm_bytes, layers, arm_bits = min(coded, key=lambda c: len(c[0]) + len(c[1]))
    plain = len(encode_without_context(levels))
    t0 = time.time()
    back = decode_latents(lat_bytes, [y.shape for y in levels], layers)
    parse_s = time.time() - t0
    if any(not np.array_equal(a, b) for a, b in zip(levels, back)):
        raise AssertionError("the latents decoded differ from those coded")
    named = [(name, p.detach().numpy().astype(np.float64)) for name, p in net.named_parameters()
             if not name.startswith(("lat", "arm", "emb", "bias"))]
    best, best_j = None, math.inf
    state = {name: p.detach().clone() for name, p in net.named_parameters()}
    with torch.no_grad():  # the synthesis takes the latents parsed from the bytes
        for p, y in zip(net.lat, back):
            p.copy_(torch.from_numpy(y.astype(np.float32))[None])
    for bits in weight_bits:
        wbytes, deq = pack_weights(named, bits)
        t1 = time.time()
        with torch.no_grad():
            for name, p in net.named_parameters():
                if name in deq:
                    p.copy_(torch.from_numpy(deq[name]))
            maps = net.maps("round")[0][0].reshape(net.k, -1).T.double().numpy()
        synth_s = time.time() - t1
        a = np.concatenate([maps, np.ones((hw, 1))], 1)
        emb = np.linalg.lstsq(a, target, rcond=None)[0]
        dist = float(((a @ emb - target) ** 2).sum())
        norms = np.linalg.norm(a, axis=0)
        for rel in rels:
            step = embedding_step(dist, rel, net.k, n, hw)
            steps, weights = quantize_embeddings(emb, norms, step)
            spec = pack_embeddings(np.zeros(net.k, np.uint16), steps, weights)
            t2 = time.time()
            dec = np.clip(a @ (weights * steps.astype(np.float64)[:, None]), 0.0, 1.0)
            mix_s = time.time() - t2
            f = RealFile(len(lat_bytes), len(arm_bytes), len(wbytes), len(spec), header, bits,
                         rel, arm_bits, plain, dec, parse_s + synth_s + mix_s)
            j = float(((dec - target) ** 2).mean()) + lam * f.total * 8 / samples
            if j < best_j:
                best, best_j = f, j
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(state[name])
    return best
