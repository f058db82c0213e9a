"""What .mat and .npy outputs drop is named in one warning; --interleave where it cannot apply."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio

from hinerc.errors import HinercWarning
from hinerc.io import Cube, read_cube, write_cube
from hinerc.io.kept import lost_fields
from io_helpers import cube_kwargs, ramp, utm33_wkt

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

GT = (366975.0, 30.0, 0.0, 5808045.0, 0.0, -30.0)


def _rich_cube() -> Cube:
    cube = Cube(ramp((4, 5, 3), "int16"), nodata=-9999, crs=utm33_wkt(), transform=GT,
                band_names=["a", "b", "c"], **cube_kwargs(3, bad=[1]))
    cube.extra["envi"] = {"reflectance scale factor": "10000", "description": "{a scene}",
                          "file type": "ENVI Standard"}
    return cube


def _hinerc_warnings(fn) -> list[str]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in rec if issubclass(w.category, HinercWarning)]


def test_npy_names_every_field_it_drops(tmp_path):
    msgs = _hinerc_warnings(lambda: write_cube(_rich_cube(), tmp_path / "x.npy"))
    assert len(msgs) == 1 and "\n" not in msgs[0]
    assert msgs[0].startswith(f"{tmp_path / 'x.npy'}: .npy keeps only the samples; lost: ")
    for field in ("wavelengths", "FWHM", "bad bands", "no-data value (-9999)", "band names",
                  "CRS", "geotransform", "scale/offset",
                  "header fields (reflectance scale factor, description)"):
        assert field in msgs[0], field
    assert "file type" not in msgs[0]
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), _rich_cube().data)


def test_mat_keeps_wavelengths_and_fwhm(tmp_path):
    msgs = _hinerc_warnings(lambda: write_cube(_rich_cube(), tmp_path / "x.mat"))
    assert len(msgs) == 1
    assert "a .mat keeps the samples, wavelengths and FWHM; lost: bad bands, no-data value" in msgs[0]
    assert "wavelengths," not in msgs[0].split("lost:")[1]
    assert lost_fields(_rich_cube(), "mat")[:2] == ["bad bands", "no-data value (-9999)"]


@pytest.mark.parametrize("name", ["x.hdr", "x.tif"])
def test_envi_and_geotiff_lose_nothing(tmp_path, name):
    assert lost_fields(_rich_cube(), "envi") == lost_fields(_rich_cube(), "gtiff") == []
    assert _hinerc_warnings(lambda: write_cube(_rich_cube(), tmp_path / name)) == []


def test_bare_cube_to_npy_is_silent(tmp_path):
    assert _hinerc_warnings(lambda: write_cube(Cube(ramp((2, 2, 2), "uint8")),
                                               tmp_path / "b.npy")) == []


def test_interleave_where_it_cannot_apply(tmp_path):
    bare = Cube(ramp((3, 4, 2), "uint16"))
    msgs = _hinerc_warnings(lambda: write_cube(bare, tmp_path / "i.npy", interleave="bip"))
    assert msgs == [f"{tmp_path / 'i.npy'}: --interleave bip applies to ENVI and GeoTIFF outputs;"
                    " ignored for .npy"]
    msgs = _hinerc_warnings(lambda: write_cube(bare, tmp_path / "i.mat", interleave="bsq"))
    assert len(msgs) == 1 and "ignored for .mat" in msgs[0]
    msgs = _hinerc_warnings(lambda: write_cube(bare, tmp_path / "l.tif", interleave="bil"))
    assert len(msgs) == 1 and "no line interleave" in msgs[0]
    with rasterio.open(tmp_path / "l.tif") as ds:
        assert ds.profile["interleave"] == "band"
    assert _hinerc_warnings(lambda: write_cube(bare, tmp_path / "p.tif", interleave="bip")) == []
    with rasterio.open(tmp_path / "p.tif") as ds:
        assert ds.profile["interleave"] == "pixel"
    assert _hinerc_warnings(lambda: write_cube(bare, tmp_path / "e.hdr", interleave="bip")) == []
    with pytest.warns(HinercWarning, match="band index"):
        assert read_cube(tmp_path / "e.hdr").interleave == "bip"
