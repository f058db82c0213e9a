"""Quality metrics on the real pixels, in original units (numpy only).

PSNR is the mean over bands of the per-band PSNR, with peak = the original band's max − min over
its real samples and the MSE over the real (not no-data) samples. Constant and no-data bands are
left out of the mean: they are restored exactly and have no dynamic range to measure against.

A mean hides bad bands (on an AVIRIS-NG radiance cube a 42 dB mean sits over bands near 16 dB),
so :class:`QualityAccumulator` also keeps the worst band's PSNR and which band it is, the mean
spectral angle (SAM) between original and decoded pixel spectra, and the largest absolute error.

:class:`PsnrAccumulator` and :class:`QualityAccumulator` compute these figures piece by piece
(tile by tile), so that a scene never needs to be held twice in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class Quality:
    """What :class:`QualityAccumulator` measured (``None``: nothing to measure).

    Attributes:
        psnr_db: mean over bands of the per-band PSNR (inf when every band is exact).
        worst_band_psnr_db: the lowest per-band PSNR (``None`` when no band has a range or
            every band is exact).
        worst_band: that band, 1-based (``None`` likewise).
        sam_deg: mean spectral angle in degrees over the pixels with a real, non-zero spectrum.
        max_abs_error: the largest |original − decoded| over the real samples, original units.
    """

    psnr_db: float
    worst_band_psnr_db: Optional[float]
    worst_band: Optional[int]
    sam_deg: Optional[float]
    max_abs_error: Optional[float]


class QualityAccumulator(PsnrAccumulator):
    """:class:`PsnrAccumulator` plus the spectral angle and the largest error, window by window.

    The spectral angle of a pixel is ``arccos(o·d / (|o| |d|))`` over its real samples (no-data
    samples are left out of both spectra, so a band of no-data does not exclude every pixel).
    Pixels whose real original spectrum is all zero, or that have no real sample, are skipped;
    a decoded spectrum of zeros against a non-zero original counts as 90°.
    """

    def __init__(self, bands: int):
        super().__init__(bands)
        self.angle_sum = 0.0
        self.pixels = 0
        self.max_err = 0.0
        self.real_samples = 0

    def add(self, original: np.ndarray, decoded: np.ndarray,
            nodata: Optional[np.ndarray] = None) -> None:
        super().add(original, decoded, nodata)
        h, w, c = original.shape
        dot = np.zeros((h, w))
        oo = np.zeros((h, w))
        dd = np.zeros((h, w))
        for b in range(c):  # band by band: no float64 copy of the whole window
            o = original[:, :, b].astype(np.float64)
            d = decoded[:, :, b].astype(np.float64)
            if nodata is not None:
                keep = ~nodata[:, :, b]
                o = np.where(keep, o, 0.0)
                d = np.where(keep, d, 0.0)
                self.real_samples += int(keep.sum())
            else:
                self.real_samples += o.size
            self.max_err = max(self.max_err, float(np.abs(o - d).max(initial=0.0)))
            dot += o * d
            oo += o * o
            dd += d * d
        ok = oo > 0
        norms = np.sqrt(oo[ok] * dd[ok])
        cos = np.divide(dot[ok], norms, out=np.zeros_like(norms), where=norms > 0)
        self.angle_sum += float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).sum())
        self.pixels += int(ok.sum())

    def result(self) -> Quality:
        p = self.band_psnr()
        valid = ~np.isnan(p)
        worst = int(np.argmin(np.where(valid, p, np.inf))) if valid.any() else None
        if worst is not None and not np.isfinite(p[worst]):
            worst = None  # every band exact: no band is worse than another
        return Quality(
            psnr_db=self.mean_psnr(),
            worst_band_psnr_db=float(p[worst]) if worst is not None else None,
            worst_band=worst + 1 if worst is not None else None,
            sam_deg=self.angle_sum / self.pixels if self.pixels else None,
            max_abs_error=self.max_err if self.real_samples else None)


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


def mean_psnr_normalised(decoded: np.ndarray, target: np.ndarray,
                         valid: Optional[np.ndarray] = None) -> float:
    """:func:`mean_psnr` of N×H×W bands already normalised to their range (peak 1): what an
    encoder compares its candidates by, before the bands are restored to their units.
    ``valid``: True where a sample is real."""
    err = (decoded.astype(np.float64) - target) ** 2
    if valid is not None:
        cnt = np.maximum(valid.sum(axis=(1, 2)), 1)
        mse = (err * valid).sum(axis=(1, 2)) / cnt
    else:
        mse = err.mean(axis=(1, 2))
    return float(np.mean(-10 * np.log10(np.maximum(mse, 1e-20))))


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
