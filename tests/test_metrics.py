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


def test_quality_by_hand():
    """Worst band, SAM over real pixels (zero spectra skipped) and the largest error."""
    from hinerc.metrics import QualityAccumulator

    a = np.zeros((1, 3, 2))
    a[0, 0] = [1.0, 0.0]
    a[0, 1] = [0.0, 0.0]   # an all-zero original spectrum: no angle, skipped
    a[0, 2] = [2.0, 4.0]
    b = a.copy()
    b[0, 0] = [1.0, 1.0]   # 45°, error 1 on band 2
    b[0, 1] = [0.25, 0.0]  # error 0.25 on band 1
    acc = QualityAccumulator(2)
    acc.add(a, b)
    q = acc.result()
    assert q.sam_deg == pytest.approx((45.0 + 0.0) / 2)
    assert q.max_abs_error == pytest.approx(1.0)
    # band 1: range 2, MSE 0.0625/3; band 2: range 4, MSE 1/3 -> band 2 is the worse one
    p1, p2 = 10 * math.log10(4 / (0.0625 / 3)), 10 * math.log10(16 / (1 / 3))
    assert q.worst_band == 2 and q.worst_band_psnr_db == pytest.approx(min(p1, p2))
    assert q.psnr_db == pytest.approx((p1 + p2) / 2)


def test_quality_leaves_out_nodata_samples_not_pixels():
    """A band of no-data (EnMAP's water-vapour bands) must not exclude every pixel from SAM, and
    an error under a no-data sample is not an error."""
    from hinerc.metrics import QualityAccumulator

    rng = np.random.default_rng(3)
    a = rng.uniform(10, 20, (4, 5, 6))
    b = a + rng.normal(0, 0.1, a.shape)
    nd = np.zeros(a.shape, bool)
    nd[:, :, 4] = True
    a[:, :, 4] = b[:, :, 4] = -32768.0
    b[0, 0, 4] = 1e6  # under the mask
    acc = QualityAccumulator(6)
    acc.add(a, b, nd)
    q = acc.result()
    keep = [0, 1, 2, 3, 5]
    assert q.sam_deg == pytest.approx(mean_sam_degrees(a[:, :, keep], b[:, :, keep]))
    assert q.max_abs_error == pytest.approx(np.abs(a - b)[:, :, keep].max())


def test_quality_tile_by_tile_equals_whole():
    from hinerc.metrics import PsnrAccumulator, QualityAccumulator

    rng = np.random.default_rng(1)
    a = rng.integers(0, 4000, (9, 11, 7)).astype(np.int16)
    b = (a + rng.normal(0, 20, a.shape)).round().astype(np.int16)
    b[:, :, 3] = a[:, :, 3] + rng.normal(0, 300, a[:, :, 3].shape).round().astype(np.int16)
    whole, parts, psnr_only = QualityAccumulator(7), QualityAccumulator(7), PsnrAccumulator(7)
    whole.add(a, b)
    psnr_only.add(a, b)
    for rows, cols in ((slice(0, 4), slice(0, 6)), (slice(0, 4), slice(6, 11)),
                       (slice(4, 9), slice(0, 11))):
        parts.add(a[rows, cols], b[rows, cols])
    qw, qp = whole.result(), parts.result()
    assert qw.psnr_db == psnr_only.mean_psnr()  # the mean PSNR is the same figure as before
    assert qp.worst_band == qw.worst_band == 4
    for key in ("psnr_db", "worst_band_psnr_db", "sam_deg", "max_abs_error"):
        assert getattr(qp, key) == pytest.approx(getattr(qw, key), rel=1e-9)
    assert qw.sam_deg == pytest.approx(mean_sam_degrees(a, b), rel=1e-9)


def test_quality_of_exact_and_constant_bands():
    from hinerc.metrics import QualityAccumulator

    a = np.ones((2, 2, 2))
    acc = QualityAccumulator(2)
    acc.add(a, a)
    q = acc.result()
    assert q.worst_band is None and q.worst_band_psnr_db is None  # no band has a range
    assert q.sam_deg == 0.0 and q.max_abs_error == 0.0
