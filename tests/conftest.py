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


#: How each codec writes the shared tiny file (quick settings; the behaviour tested is common).
CODEC_ARGS = {"lowrank": {}, "hiner": {"epochs": 2}}


@pytest.fixture(scope="session")
def hnr_of(tmp_path_factory):
    """``hnr_of(arch)``: a tiny .hnr of ``make_cube()`` at 4 bpppb written by that codec."""
    import hinerc
    made: dict[str, Path] = {}

    def make(arch: str) -> Path:
        if arch not in made:
            path = tmp_path_factory.mktemp("hnr") / f"tiny_{arch}.hnr"
            hinerc.compress(make_cube(), path, bpppb=4.0, arch=arch, seed=0,
                            **CODEC_ARGS.get(arch, {}))
            made[arch] = path
        return made[arch]
    return make


@pytest.fixture(scope="session")
def tiny_hnr(hnr_of) -> Path:
    """The default codec's tiny file."""
    return hnr_of("lowrank")


@pytest.fixture(scope="session")
def tiny_hiner_hnr(hnr_of) -> Path:
    """The published network's tiny file."""
    return hnr_of("hiner")


@pytest.fixture(params=sorted(CODEC_ARGS))
def any_hnr(request, hnr_of) -> Path:
    """The tiny file of each codec in turn (for behaviour every codec shares)."""
    return hnr_of(request.param)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def sample_hdr() -> Path:
    if not SAMPLE_HDR.exists():
        pytest.skip("bundled sample missing")
    return SAMPLE_HDR
