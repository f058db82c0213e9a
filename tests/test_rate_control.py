"""--bpppb R means the written file's size: bytes × 8 / (H·W·C) within ±3% of R, for every codec
(the default first; the published network trains one epoch to stay quick)."""

import warnings

import numpy as np
import pytest

import hinerc
from hinerc.codecs.hiner.ratecontrol import fit_bits
from hinerc.errors import RateError
from hinerc.io import read_cube

from conftest import CODEC_ARGS, SAMPLE_HDR, make_cube
from marks import SHARED_DATA, requires_shared_data

CODECS = list(CODEC_ARGS)  # the default first
QUICK = {"lowrank": {"effort": 1}, "hiner": {"epochs": 1}}


def _rate(path, shape):
    return path.stat().st_size * 8 / np.prod(shape)


@pytest.mark.parametrize("arch", CODECS)
@pytest.mark.parametrize("rate", [0.25, 0.5, 2.0])
def test_bundled_crop_rates(tmp_path, rate, arch):
    cube = read_cube(SAMPLE_HDR)
    out = tmp_path / "c.hnr"
    res = hinerc.compress(cube, out, bpppb=rate, arch=arch, **QUICK[arch])
    real = _rate(out, cube.shape)
    assert real == pytest.approx(res.bpppb)
    assert 0.97 * rate <= real <= 1.03 * rate


@pytest.mark.parametrize("arch", CODECS)
def test_unreachable_rate_is_an_error(tmp_path, arch):
    out = tmp_path / "x.hnr"
    with pytest.raises(RateError, match="below what this cube can reach"):
        hinerc.compress(make_cube(), out, bpppb=0.01, arch=arch, **QUICK[arch])
    assert not out.exists()


def test_fit_bits_lands_budget():
    rng = np.random.default_rng(0)
    tensors = [rng.normal(size=(64, 32, 3, 3)).astype(np.float32), rng.normal(size=(64,)).astype(np.float32),
               rng.normal(size=(200, 16)).astype(np.float32)]
    n = sum(t.size for t in tensors)
    for budget in (n * 0.8, n * 1.0, n * 1.1):  # bytes: roughly 6.4, 8 and 8.8 bits per value
        qts, size = fit_bits(tensors, budget)
        assert abs(size - budget) <= 0.02 * budget


@requires_shared_data
@pytest.mark.parametrize("arch", CODECS)
@pytest.mark.parametrize("rate", [0.05, 0.25, 1.0, pytest.param(2.0, marks=pytest.mark.slow)])
def test_jasper_ridge_rates(tmp_path, rate, arch):
    cube = read_cube(SHARED_DATA / "jasper_ridge" / "jasperRidge2_R198.hdr")
    out = tmp_path / "j.hnr"
    hinerc.compress(cube, out, bpppb=rate, arch=arch, **QUICK[arch])
    assert 0.97 * rate <= _rate(out, cube.shape) <= 1.03 * rate


@requires_shared_data
@pytest.mark.parametrize("arch", CODECS)
@pytest.mark.parametrize("rate", [0.05, 2.0])
def test_abu_beach_rates(tmp_path, rate, arch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = read_cube(SHARED_DATA / "abu_anomaly" / "abu-beach-4.mat")
    out = tmp_path / "a.hnr"
    hinerc.compress(cube, out, bpppb=rate, arch=arch, **QUICK[arch])
    assert 0.97 * rate <= _rate(out, cube.shape) <= 1.03 * rate
