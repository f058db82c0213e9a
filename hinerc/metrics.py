"""Quality metrics on the real pixels, in original units (numpy only).

PSNR is the mean over bands of the per-band PSNR, with peak = the original band's max − min over
its real samples and the MSE over the real (not no-data) samples. Constant and no-data bands are
left out of the mean: they are restored exactly and have no dynamic range to measure against.
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def band_psnr(original: np.ndarray, decoded: np.ndarray,
              nodata: Optional[np.ndarray] = None) -> np.ndarray:
    """Per-band PSNR (dB) of H×W×C cubes; NaN for bands without range; inf when exact."""
    c = original.shape[2]
    out = np.full(c, np.nan)
    for b in range(c):
        o = original[:, :, b].astype(np.float64)
        d = decoded[:, :, b].astype(np.float64)
        if nodata is not None:
            keep = ~nodata[:, :, b]
            o, d = o[keep], d[keep]
        if o.size == 0:
            continue
        peak = o.max() - o.min()
        if peak <= 0:
            continue
        mse = np.mean((o - d) ** 2)
        out[b] = np.inf if mse == 0 else 10.0 * np.log10(peak**2 / mse)
    return out


def mean_psnr(original: np.ndarray, decoded: np.ndarray,
              nodata: Optional[np.ndarray] = None) -> float:
    """Mean of :func:`band_psnr` over the bands that have a range."""
    p = band_psnr(original, decoded, nodata)
    p = p[~np.isnan(p)]
    return float(p.mean()) if p.size else float("inf")
