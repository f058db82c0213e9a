"""benchmarks/scene.py builds its scenes by exact mirror tiling (issue 16 item 5)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("scene_bench", ROOT / "benchmarks" / "scene.py")
scene = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scene)

pytestmark = pytest.mark.shared_data
needs_jasper = pytest.mark.skipif(
    not (scene.DATA / "jasper_ridge" / "jasperRidge2_R198.img").exists(),
    reason="needs ../shared/data/jasper_ridge")


def test_mirror_index():
    assert scene.mirror_index(7, 3).tolist() == [0, 1, 2, 2, 1, 0, 0]


@needs_jasper
def test_jasper_60_is_the_crop(tmp_path):
    """A 60×60 target from the 100×100 source is its top-left crop, header fields kept."""
    hdr = scene.build_jasper(60, tmp_path)
    got = scene.read_scene(hdr)
    src, _ = scene.jasper_source()
    assert got.shape == (60, 60, 198) and got.dtype == np.int16
    np.testing.assert_array_equal(got, src[:60, :60])
    from spectral.io import envi

    md = envi.read_envi_header(str(hdr))
    assert md["interleave"] == "bil" and len(md["wavelength"]) == 198
    assert float(md["reflectance scale factor"]) == 10000


@needs_jasper
def test_mirror_tiling_is_exact(tmp_path):
    """A 25×25 crop tiled to 60×60 (2.4 tiles a side): flips at each seam, partial last tiles."""
    hdr = scene.build_jasper(60, tmp_path, crop=25)
    got = np.asarray(scene.read_scene(hdr))
    src = scene.jasper_source(25)[0]
    np.testing.assert_array_equal(got, np.pad(src, ((0, 35), (0, 35), (0, 0)), mode="symmetric"))
    np.testing.assert_array_equal(got[:25, :25], src)
    np.testing.assert_array_equal(got[25:50, :25], src[::-1])
    np.testing.assert_array_equal(got[:25, 25:50], src[:, ::-1])
    np.testing.assert_array_equal(got[25:50, 25:50], src[::-1, ::-1])
    np.testing.assert_array_equal(got[50:60, 50:60], src[:10, :10])
