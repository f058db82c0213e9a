"""Implicit Spectral Interpolation: the decoded cube at slightly jittered wavelengths.

Each band b, with probability ``p``, is read at ``λ_b + n·Δ_b`` instead of ``λ_b``, with
``n ~ U(−η, η)`` (symmetric, unlike the published code's clamp that made it one-sided) and
``Δ_b`` the local band spacing. The spectrum between stored bands is the file's own continuous
model (:class:`hinerc.spectral.SpectralModel`, what ``hinerc resample`` uses), so a jittered band
is a weighted sum of neighbouring decoded bands: nothing the file does not hold. Numpy only.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from hinerc.spectral import SpectralModel


class Jitter:
    """Draws jittered cubes of one decoded cube (N×H×W, bands in wavelength order or not)."""

    def __init__(self, wavelengths: np.ndarray, cube: np.ndarray, eta: float = 0.1,
                 p: float = 0.5, valid: Optional[np.ndarray] = None):
        self.wl = np.asarray(wavelengths, np.float64)
        self.eta, self.p = eta, p
        self.model = SpectralModel(self.wl, cube.astype(np.float64), valid)
        knots = self.model.knots
        gaps = np.diff(knots) if knots.size > 1 else np.array([1.0])
        left = np.interp(self.wl, knots[1:], gaps) if knots.size > 1 else np.ones_like(self.wl)
        right = np.interp(self.wl, knots[:-1], gaps) if knots.size > 1 else np.ones_like(self.wl)
        self.spacing = np.minimum(left, right)
        self.lo, self.hi = knots[0], knots[-1]

    def weights(self, rng: np.random.Generator) -> np.ndarray:
        """C×C weights: jittered band b = Σ_c w[b, c]·band_c."""
        move = rng.random(self.wl.size) < self.p
        n = rng.uniform(-self.eta, self.eta, self.wl.size)
        wl = np.clip(self.wl + np.where(move, n, 0.0) * self.spacing, self.lo, self.hi)
        w = self.model.weights(wl)
        w[~move] = np.eye(self.wl.size)[~move]  # unmoved bands exactly as decoded
        return w
