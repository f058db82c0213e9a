"""Shared fixtures: a tiny synthetic cube, a small real crop, a ready .hnr, a CLI runner."""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hinerc.io import Cube

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_HDR = ROOT / "examples" / "data" / "jasper_ridge_crop.hdr"


def make_cube(h=20, w=24, c=12, dtype=np.int16, seed=0, nodata=None) -> Cube:
    """A smooth, low-rank synthetic cube with wavelengths, like a real scene."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    maps = np.stack([np.sin(3 * x + 1), np.cos(4 * y), x * y], -1)
    spectra = rng.uniform(0.2, 1.0, (3, c))
    data = 1000 + 2000 * maps @ spectra + rng.normal(0, 5, (h, w, c))
    return Cube(data.astype(dtype), wavelengths_nm=np.linspace(400, 1000, c),
                fwhm_nm=np.full(c, 10.0), nodata=nodata)


@pytest.fixture
def tiny_cube() -> Cube:
    return make_cube()


@pytest.fixture(scope="session")
def tiny_hnr(tmp_path_factory) -> Path:
    import hinerc
    path = tmp_path_factory.mktemp("hnr") / "tiny.hnr"
    hinerc.compress(make_cube(), path, bpppb=4.0, arch="hiner", epochs=2, seed=0)
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def sample_hdr() -> Path:
    if not SAMPLE_HDR.exists():
        pytest.skip("bundled sample missing")
    return SAMPLE_HDR
