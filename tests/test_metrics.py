"""Quality metrics against hand-computed values."""

import math

import numpy as np
import pytest

from hinerc.metrics import band_psnr, global_psnr, mean_psnr, mean_sam_degrees


def test_band_and_mean_psnr_by_hand():
    a = np.zeros((2, 2, 2))
    a[:, :, 0] = [[0, 10], [0, 10]]  # range 10
    a[:, :, 1] = [[0, 100], [0, 100]]  # range 100
    b = a.copy()
    b[0, 0, 0] = 1.0  # MSE 0.25 on band 0
    b[0, 0, 1] = 2.0  # MSE 1.0 on band 1
    want = [10 * math.log10(100 / 0.25), 10 * math.log10(10000 / 1.0)]
    np.testing.assert_allclose(band_psnr(a, b), want)
    assert mean_psnr(a, b) == pytest.approx(np.mean(want))


def test_global_psnr_by_hand_and_nodata():
    a = np.array([[[0.0, 100.0]], [[50.0, 20.0]]])  # 2×1×2, range 100
    b = a + np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert global_psnr(a, b) == pytest.approx(10 * math.log10(100**2 / 0.5))
    nd = np.zeros(a.shape, bool)
    nd[1, 0, 1] = True  # the second error is on a no-data sample
    assert global_psnr(a, b, nd) == pytest.approx(10 * math.log10(100**2 / (1 / 3)))
    assert global_psnr(a, a) == math.inf


def test_sam_by_hand():
    a = np.array([[[1.0, 0.0], [1.0, 1.0]]])  # 1×2×2
    b = np.array([[[1.0, 1.0], [2.0, 2.0]]])  # 45° off, then parallel
    assert mean_sam_degrees(a, b) == pytest.approx(22.5)
    nd = np.zeros(a.shape, bool)
    nd[0, 1, 0] = True  # leaves out the parallel pixel
    assert mean_sam_degrees(a, b, nd) == pytest.approx(45.0)
