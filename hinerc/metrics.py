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

#: Samples taken at once by the accumulators (float64: 16 MB a copy).
_CHUNK_SAMPLES = 1 << 21

class PsnrAccumulator:
    """Per-band squared error, sample count and range, added up over windows of a cube."""

    def __init__(self, bands: int):
        self.sse = np.zeros(bands)
        self.count = np.zeros(bands)
        self.lo = np.full(bands, np.inf)
        self.hi = np.full(bands, -np.inf)

    def add(self, original: np.ndarray, decoded: np.ndarray,
            nodata: Optional[np.ndarray] = None) -> None:
        """Add an H×W×C window (``nodata``: True where a sample is not real), a few rows at a
        time (rows are contiguous in an H×W×C cube: no band-by-band strided passes, and no
        float64 copy of the whole window)."""
        h, w, c = original.shape
        rows = max(1, _CHUNK_SAMPLES // max(1, w * c))
        for r0 in range(0, h, rows):
            o = original[r0:r0 + rows].astype(np.float64)
            d = decoded[r0:r0 + rows].astype(np.float64)
            keep = None if nodata is None else ~nodata[r0:r0 + rows]
            self._chunk(o, d, keep)

    def _chunk(self, o: np.ndarray, d: np.ndarray, keep: Optional[np.ndarray]) -> None:
        """Add rows × W × C float64 samples (``keep``: True where real, None: all)."""
        if keep is None:
            err = o - d
            self.count += o.shape[0] * o.shape[1]
            self.lo = np.minimum(self.lo, o.min(axis=(0, 1), initial=np.inf))
            self.hi = np.maximum(self.hi, o.max(axis=(0, 1), initial=-np.inf))
        else:
            err = np.where(keep, o - d, 0.0)
            self.count += keep.sum(axis=(0, 1))
            self.lo = np.minimum(self.lo, np.where(keep, o, np.inf).min(axis=(0, 1),
                                                                       initial=np.inf))
            self.hi = np.maximum(self.hi, np.where(keep, o, -np.inf).max(axis=(0, 1),
                                                                        initial=-np.inf))
        self.sse += np.einsum("ijk,ijk->k", err, err)

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

    def _chunk(self, o: np.ndarray, d: np.ndarray, keep: Optional[np.ndarray]) -> None:
        super()._chunk(o, d, keep)
        if keep is not None:
            o = np.where(keep, o, 0.0)
            d = np.where(keep, d, 0.0)
            self.real_samples += int(keep.sum())
        else:
            self.real_samples += o.size
        self.max_err = max(self.max_err, float(np.abs(o - d).max(initial=0.0)))
        dot = np.einsum("ijk,ijk->ij", o, d)
        oo = np.einsum("ijk,ijk->ij", o, o)
        dd = np.einsum("ijk,ijk->ij", d, d)
        ok = oo > 0
        norms = np.sqrt(oo[ok] * dd[ok])
        cos = np.divide(dot[ok], norms, out=np.zeros_like(norms), where=norms > 0)
        self.angle_sum += float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).sum())
        self.pixels += int(ok.sum())

    def merge(self, other: "QualityAccumulator") -> None:
        """Add what ``other`` measured (on other samples of the same bands)."""
        self.sse += other.sse
        self.count += other.count
        self.lo = np.minimum(self.lo, other.lo)
        self.hi = np.maximum(self.hi, other.hi)
        self.angle_sum += other.angle_sum
        self.pixels += other.pixels
        self.max_err = max(self.max_err, other.max_err)
        self.real_samples += other.real_samples

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


def band_mse_normalised(decoded: np.ndarray, target: np.ndarray,
                        valid: Optional[np.ndarray] = None) -> np.ndarray:
    """Each band's mean squared error (N,) of N×H×W bands normalised to their range (peak 1),
    over its real samples (``valid``: True where a sample is real)."""
    err = (decoded.astype(np.float64) - target) ** 2
    if valid is not None:
        cnt = np.maximum(valid.sum(axis=(1, 2)), 1)
        return (err * valid).sum(axis=(1, 2)) / cnt
    return err.mean(axis=(1, 2))


def psnr_of_band_mse(mse: np.ndarray) -> float:
    """The band-mean PSNR (dB) of per-band squared errors in normalised units (peak 1)."""
    return float(np.mean(-10 * np.log10(np.maximum(mse, 1e-20))))


def mean_psnr_normalised(decoded: np.ndarray, target: np.ndarray,
                         valid: Optional[np.ndarray] = None) -> float:
    """:func:`mean_psnr` of N×H×W bands already normalised to their range (peak 1): what an
    encoder compares its candidates by, before the bands are restored to their units.
    ``valid``: True where a sample is real."""
    return psnr_of_band_mse(band_mse_normalised(decoded, target, valid))


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
