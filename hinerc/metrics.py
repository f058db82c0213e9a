"""Quality metrics on the real pixels, in original units (numpy only).

PSNR is the mean over bands of the per-band PSNR, with peak = the original band's max − min over
its real samples and the MSE over the real (not no-data) samples. Constant and no-data bands are
left out of the mean: they are restored exactly and have no dynamic range to measure against.

:class:`PsnrAccumulator` computes the same figure piece by piece (tile by tile), so that a scene
never needs to be held twice in memory.
"""

from __future__ import annotations

from typing import Optional

import numpy as np


class PsnrAccumulator:
    """Per-band squared error, sample count and range, added up over windows of a cube."""

    def __init__(self, bands: int):
        self.sse = np.zeros(bands)
        self.count = np.zeros(bands)
        self.lo = np.full(bands, np.inf)
        self.hi = np.full(bands, -np.inf)

    def add(self, original: np.ndarray, decoded: np.ndarray,
            nodata: Optional[np.ndarray] = None) -> None:
        """Add an H×W×C window (``nodata``: True where a sample is not real)."""
        for b in range(original.shape[2]):
            o = original[:, :, b].astype(np.float64)
            d = decoded[:, :, b].astype(np.float64)
            if nodata is not None:
                keep = ~nodata[:, :, b]
                o, d = o[keep], d[keep]
            if o.size == 0:
                continue
            self.sse[b] += np.sum((o - d) ** 2)
            self.count[b] += o.size
            self.lo[b] = min(self.lo[b], o.min())
            self.hi[b] = max(self.hi[b], o.max())

    def band_psnr(self) -> np.ndarray:
        """Per-band PSNR (dB); NaN for bands without range; inf when exact."""
        out = np.full(self.sse.size, np.nan)
        peak = self.hi - self.lo
        ok = (self.count > 0) & (peak > 0)
        mse = np.where(ok, self.sse / np.maximum(self.count, 1), 0.0)
        with np.errstate(divide="ignore"):
            out[ok] = np.where(mse[ok] == 0, np.inf, 10.0 * np.log10(peak[ok] ** 2 / mse[ok]))
        return out

    def mean_psnr(self) -> float:
        p = self.band_psnr()
        p = p[~np.isnan(p)]
        return float(p.mean()) if p.size else float("inf")


def band_psnr(original: np.ndarray, decoded: np.ndarray,
              nodata: Optional[np.ndarray] = None) -> np.ndarray:
    """Per-band PSNR (dB) of H×W×C cubes; NaN for bands without range; inf when exact."""
    acc = PsnrAccumulator(original.shape[2])
    acc.add(original, decoded, nodata)
    return acc.band_psnr()


def mean_psnr(original: np.ndarray, decoded: np.ndarray,
              nodata: Optional[np.ndarray] = None) -> float:
    """Mean of :func:`band_psnr` over the bands that have a range."""
    acc = PsnrAccumulator(original.shape[2])
    acc.add(original, decoded, nodata)
    return acc.mean_psnr()


def global_psnr(original: np.ndarray, decoded: np.ndarray,
                nodata: Optional[np.ndarray] = None) -> float:
    """PSNR (dB) over all real samples at once, peak = the cube's max − min."""
    real = ~nodata if nodata is not None else np.ones(original.shape, bool)
    o = original[real].astype(np.float64)
    d = decoded[real].astype(np.float64)
    mse = float(np.mean((o - d) ** 2))
    peak = float(o.max() - o.min())
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def mean_sam_degrees(original: np.ndarray, decoded: np.ndarray,
                     nodata: Optional[np.ndarray] = None) -> float:
    """Mean spectral angle (degrees) between original and decoded pixel spectra.

    Pixels with any no-data sample, and zero spectra, are left out.
    """
    o = original.reshape(-1, original.shape[2]).astype(np.float64)
    d = decoded.reshape(-1, decoded.shape[2]).astype(np.float64)
    keep = np.ones(o.shape[0], bool)
    if nodata is not None:
        keep &= ~nodata.reshape(-1, nodata.shape[2]).any(axis=1)
    o, d = o[keep], d[keep]
    norms = np.linalg.norm(o, axis=1) * np.linalg.norm(d, axis=1)
    ok = norms > 0
    cos = np.clip((o[ok] * d[ok]).sum(axis=1) / norms[ok], -1.0, 1.0)
    return float(np.degrees(np.arccos(cos)).mean()) if cos.size else float("nan")
