"""Prototype: ideal bits per sample of residual designs for lossless / near-lossless coding.

Why: the issue asks to measure a lowrank predictor + residual against a CCSDS-123-style spectral
predictor (and their combination) before building one. This script computes, on one cube, the
ideal code length (−log2 of a quantized Laplace whose scale comes from a context the decoder
has: per band and context bin, the mean |q| is the table a file would carry) plus the lossy
model's bytes, for:

* ``lr``: residual of the lowrank model at rate R, coded as is;
* ``lr+lsq``: the lowrank residual predicted again by per-band least squares from neighbours
  (previous band same pixel ±1, same band the row above);
* ``lsq``: the samples themselves predicted by per-band least squares (CCSDS-123 manner).

Lossless only for the lsq designs here (E > 0 is the same with step 2E+1 on recon; its cost
is close to lossless − log2(2E+1) and is measured by the real coder in benchmarks/lossless.py).

    python benchmarks/lossless_designs.py --cube jasper

Measured 2026-11-30 on Jasper Ridge (100×100×198 int16), lossless, lowrank with HEVC maps,
bits per sample including the lossy model:

    lsq alone (CCSDS-like, no lossy model): 6.21
    R = 0.05: lr 7.18, lr+lsq 6.00, lsq with lr feature 6.18
    R = 0.1:  lr 6.61, lr+lsq 5.94, lsq with lr feature 6.12
    R = 0.2:  lr 6.28, lr+lsq 5.94, lsq with lr feature 6.06
    R = 0.4:  lr 6.07, lr+lsq 5.95, lsq with lr feature 6.02

so hinerc codes the lowrank residual with a spectral-spatial least-squares predictor of it
(``lr+lsq``), the lossy rate searched around 0.1–0.2 bpppb.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def laplace_bits(q: np.ndarray, scale: np.ndarray) -> float:
    """Sum of −log2 P(q) for a Laplace of ``scale`` quantized to integers."""
    s = np.maximum(scale, 0.05)
    a = np.abs(q).astype(np.float64)
    # P(q) = F(q+.5) − F(q−.5); for q=0: 1 − exp(−.5/s); else .5 (exp(−(a−.5)/s) − exp(−(a+.5)/s))
    p0 = 1 - np.exp(-0.5 / s)
    pn = 0.5 * (np.exp(-(a - 0.5) / s) - np.exp(-(a + 0.5) / s))
    p = np.where(a == 0, p0, pn)
    return float(-np.log2(np.maximum(p, 1e-30)).sum())


def context_bits(q: np.ndarray, nbins: int = 12) -> float:
    """q: C×H×W integers. The context of (b, i, j): mean |q| over band b−1's 3×3 at (i, j)
    and band b's three above (i−1, j−1..j+1); bins of log2(1 + ctx); per band and bin the
    Laplace scale is the ML one (mean |q|), charged 1 byte per (band, bin) used."""
    c, h, w = q.shape
    a = np.abs(q).astype(np.float64)
    pad = np.pad(a, ((1, 0), (1, 1), (1, 1)))
    prev = sum(pad[:-1, 1 + di: 1 + di + h, 1 + dj: 1 + dj + w]
               for di in (-1, 0, 1) for dj in (-1, 0, 1)) / 9
    up = sum(pad[1:, di: di + h, 1 + dj: 1 + dj + w] for di in (0,) for dj in (-1, 0, 1)) / 3
    ctx = 0.5 * prev + 0.5 * up
    bins = np.minimum((np.log2(1 + ctx) * 2).astype(int), nbins - 1)
    bits = 0.0
    for b in range(c):
        for k in range(nbins):
            sel = bins[b] == k
            if not sel.any():
                continue
            qq = q[b][sel]
            s = np.abs(qq).mean() / 1.0 + 0.05
            bits += laplace_bits(qq, np.full(qq.shape, s)) + 8
    return bits


def lsq_residual(x: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
    """Residual of a per-band least-squares prediction of x (C×H×W float) from causal
    neighbours: band b−1 at (i, j±1, i±1), band b−2 (i, j), band b row above (j−1, j, j+1).
    ``ref`` adds features (the lowrank prediction of band b, say). Weights cost 2 bytes each."""
    c, h, w = x.shape
    pad = np.pad(x, ((2, 0), (1, 1), (1, 1)))
    rp = None if ref is None else ref
    out = np.empty_like(x)
    for b in range(c):
        B = b + 2
        f = [pad[B - 1, 1:h + 1, 1:w + 1], pad[B - 1, 1:h + 1, 0:w], pad[B - 1, 1:h + 1, 2:w + 2],
             pad[B - 1, 0:h, 1:w + 1], pad[B - 1, 2:h + 2, 1:w + 1] if h > 1 else pad[B - 1, 1:h + 1, 1:w + 1],
             pad[B - 2, 1:h + 1, 1:w + 1],
             pad[B, 0:h, 0:w], pad[B, 0:h, 1:w + 1], pad[B, 0:h, 2:w + 2],
             pad[B - 1, 0:h, 1:w + 1] * 0 + 1.0]
        # row above of band b−1 pairs with the row above of band b (local difference)
        if rp is not None:
            f.append(rp[b])
        A = np.stack([g.reshape(-1) for g in f], 1)
        y = x[b].reshape(-1)
        wts, *_ = np.linalg.lstsq(A, y, rcond=None)
        out[b] = (y - np.rint(A @ wts)).reshape(h, w)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cube", default="jasper")
    ap.add_argument("--rates", default="0.05,0.1,0.2,0.4")
    args = ap.parse_args()
    from hinerc import pipeline
    from hinerc.io import Cube
    from hinerc.settings import EncodeSettings

    cube, wl, _ = load(args.cube)
    h, w, c = cube.shape
    n = h * w * c
    x = np.moveaxis(cube.astype(np.float64), 2, 0)
    t = time.time()
    r = lsq_residual(x)
    print(f"lsq (CCSDS-like, samples): {context_bits(r) / n + 10 * 2 * 8 * c / n:.3f} bps "
          f"({time.time() - t:.1f} s)")
    for rate in [float(v) for v in args.rates.split(",")]:
        enc = pipeline.encode(Cube(np.ascontiguousarray(cube), wavelengths_nm=wl),
                              EncodeSettings(bpppb=rate, codec_options={"map_coder": "hevc"}))
        pred = np.moveaxis(pipeline.decode(pipeline.load(enc.data)).data.astype(np.float64), 2, 0)
        lossy = len(enc.data) * 8 / n
        res = x - pred
        b1 = context_bits(res) / n + lossy
        b2 = context_bits(lsq_residual(res)) / n + lossy + 10 * 2 * 8 * c / n
        b3 = context_bits(lsq_residual(x, pred)) / n + lossy + 11 * 2 * 8 * c / n
        print(f"R={rate}: lossy {lossy:.3f}  lr {b1:.3f}  lr+lsq(res) {b2:.3f}  "
              f"lsq(x; with lr feature) {b3:.3f} bps")


def load(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location("anchor_cubes", ROOT.parent.parent / "shared" / "anchors" / "cubes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load(name)


if __name__ == "__main__":
    main()
