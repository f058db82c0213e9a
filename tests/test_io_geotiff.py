"""GeoTIFF reader/writer: band metadata conventions, ENVI <-> GeoTIFF, real EnMAP tiles."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine

from hinerc.errors import HinercWarning, InputError
from hinerc.io import Cube, read_cube, write_cube
from io_helpers import (
    TEST_DATA,
    assert_one_line,
    cube_kwargs,
    ramp,
    requires_shared,
    shared,
    utm33_wkt,
    write_raw_envi,
)

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

GT = (366975.0, 30.0, 0.0, 5808045.0, 0.0, -30.0)


def _same_meta(a: Cube, b: Cube) -> None:
    for f in ("wavelengths_nm", "fwhm_nm", "bad_bands"):
        va, vb = getattr(a, f), getattr(b, f)
        assert (va is None) == (vb is None), f
        if va is not None:
            assert va.tolist() == vb.tolist(), f
    assert a.nodata == b.nodata
    assert a.transform == b.transform
    assert CRS.from_wkt(a.crs) == CRS.from_wkt(b.crs)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32",
                                   "int64", "uint64", "float32", "float64"])
def test_dtype_round_trip(tmp_path, dtype):
    data = ramp((5, 6, 3), dtype)
    cube = Cube(data, crs=utm33_wkt(), transform=GT, **cube_kwargs(3))
    assert write_cube(cube, tmp_path / "x.tif") == [tmp_path / "x.tif"]
    back = read_cube(tmp_path / "x.tif")
    assert back.dtype == np.dtype(dtype) and back.source_format == "gtiff"
    np.testing.assert_array_equal(back.data, data)
    _same_meta(cube, back)


def test_tags_written_like_enmap_box(tmp_path):
    cube = Cube(ramp((4, 4, 3), "int16"), nodata=-32768, crs=utm33_wkt(), transform=GT,
                band_names=["a", "b", "c"], **cube_kwargs(3, bad=[1]))
    cube.extra["gdal"] = {"scales": [0.0001] * 3, "offsets": [0.5] * 3,
                          "tags": {"start_time": "2022-07-24T10:45:26"}}
    write_cube(cube, tmp_path / "t.tif")
    with rasterio.open(tmp_path / "t.tif") as ds:
        assert ds.profile["interleave"] == "band" and not ds.profile["tiled"]
        assert ds.compression is None
        assert ds.tags(2) == {"wavelength": "410.0", "wavelength_units": "Nanometers",
                              "fwhm": "9.5", "bbl": "0"}
        assert ds.tags(1, ns="IMAGERY") == {"CENTRAL_WAVELENGTH_UM": "0.4", "FWHM_UM": "0.0095"}
        assert ds.descriptions == ("a", "b", "c") and ds.nodata == -32768
        assert ds.scales == (0.0001,) * 3 and ds.offsets == (0.5,) * 3
        assert ds.tags()["start_time"] == "2022-07-24T10:45:26"
    back = read_cube(tmp_path / "t.tif")
    assert back.extra["gdal"]["scales"] == [0.0001] * 3
    assert back.extra["gdal"]["tags"]["start_time"] == "2022-07-24T10:45:26"
    assert back.band_names == ["a", "b", "c"]
    _same_meta(cube, back)


def test_large_image_is_tiled(tmp_path):
    write_cube(Cube(np.zeros((256, 300, 1), np.uint8)), tmp_path / "big.tif")
    with rasterio.open(tmp_path / "big.tif") as ds:
        assert ds.profile["tiled"] and ds.block_shapes[0] == (256, 256)
    write_cube(Cube(np.zeros((255, 300, 1), np.uint8)), tmp_path / "small.tif")
    with rasterio.open(tmp_path / "small.tif") as ds:
        assert not ds.profile["tiled"]


def _raw_tif(path, c=3, band_tags=None, imagery=None, envi=None, descriptions=None):
    prof = dict(driver="GTiff", width=2, height=2, count=c, dtype="float32")
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(np.ones((c, 2, 2), np.float32))
        for i in range(c):
            if band_tags:
                ds.update_tags(i + 1, **band_tags[i])
            if imagery:
                ds.update_tags(i + 1, ns="IMAGERY", **imagery[i])
            if descriptions:
                ds.set_band_description(i + 1, descriptions[i])
        if envi:
            ds.update_tags(ns="ENVI", **envi)


def test_wavelength_sources_in_order(tmp_path):
    p = tmp_path / "imagery.tif"
    _raw_tif(p, imagery=[{"CENTRAL_WAVELENGTH_UM": v, "FWHM_UM": "0.01"} for v in ("0.5", "0.6", "0.7")],
             band_tags=[{"wavelength": "1", "wavelength_units": "Nanometers"}] * 3)
    c = read_cube(p)
    assert c.wavelengths_nm.tolist() == [500.0, 600.0, 700.0] and c.fwhm_nm.tolist() == [10.0] * 3
    assert c.wavelength_units == "Nanometers"

    p = tmp_path / "band.tif"
    _raw_tif(p, band_tags=[{"wavelength": v, "wavelength_units": "Micrometers", "fwhm": "0.01"}
                           for v in ("0.5", "0.6", "0.7")])
    c = read_cube(p)
    assert c.wavelengths_nm.tolist() == [500.0, 600.0, 700.0] and c.wavelength_units == "Micrometers"
    assert c.fwhm_nm.tolist() == [10.0] * 3

    p = tmp_path / "envi.tif"
    _raw_tif(p, envi={"wavelength": "{0.5, 0.6, 0.7}", "wavelength_units": "Micrometers",
                      "bbl": "{1, 1, 0}", "sensor_type": "HyMap"})
    c = read_cube(p)
    assert c.wavelengths_nm.tolist() == [500.0, 600.0, 700.0]
    assert c.bad_bands.tolist() == [False, False, True]
    assert c.extra["envi"] == {"sensor type": "HyMap"}

    p = tmp_path / "none.tif"
    _raw_tif(p)
    with pytest.warns(HinercWarning, match="band index"):
        c = read_cube(p)
    assert c.wavelengths_nm is None and c.transform is None and c.crs is None

    p = tmp_path / "names.tif"
    _raw_tif(p, descriptions=["band 1 (418.24 Nanometers)", "band 2 (0.5 um)", "x (600 nm)"])
    assert read_cube(p).wavelengths_nm.tolist() == [418.24, 500.0, 600.0]


def test_micrometre_label_round_trip(tmp_path):
    cube = Cube(np.ones((2, 2, 3), np.float32), wavelengths_nm=[399.369995, 500, 2457.24],
                wavelength_units="Micrometers")
    write_cube(cube, tmp_path / "u.tif")
    with rasterio.open(tmp_path / "u.tif") as ds:
        assert ds.tags(1)["wavelength"] == "0.399369995"
    back = read_cube(tmp_path / "u.tif")
    assert back.wavelengths_nm.tolist() == cube.wavelengths_nm.tolist()
    assert back.wavelength_units == "Micrometers"


def test_envi_gtiff_envi(tmp_path):
    data = ramp((4, 5, 3), "int16")
    hdr, _ = write_raw_envi(
        tmp_path, "src", data, 2, "bil", 0,
        "wavelength units = Micrometers\nwavelength = {0.4, 0.41, 0.42}\n"
        "fwhm = {0.0095, 0.0096, 0.0097}\nbbl = {1, 0, 1}\ndata ignore value = -9999\n"
        "map info = {UTM, 1, 1, 366975.0, 5808045.0, 30, 30, 33, North, WGS-84, units=Meters}\n"
        "reflectance scale factor = 10000\ndescription = {\n  a test cube}\n"
        "band names = {x, y, z}\n")
    envi = read_cube(hdr)
    write_cube(envi, tmp_path / "mid.tif")
    tif = read_cube(tmp_path / "mid.tif")
    np.testing.assert_array_equal(tif.data, data)
    _same_meta(envi, tif)
    assert tif.wavelength_units == "Micrometers" and tif.band_names == ["x", "y", "z"]
    assert tif.extra["envi"]["reflectance scale factor"] == "10000"
    write_cube(tif, tmp_path / "end.hdr", interleave="bil")
    end = read_cube(tmp_path / "end.hdr")
    np.testing.assert_array_equal(end.data, data)
    _same_meta(envi, end)
    assert end.wavelength_units == "Micrometers"
    assert end.extra["envi"]["reflectance scale factor"] == "10000"
    assert end.extra["envi"]["description"] == envi.extra["envi"]["description"]
    assert end.extra["envi"]["map info"].startswith("{UTM")


def test_hostile(tmp_path):
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "empty.tif")
    assert_one_line(ei.value, "empty.tif", "empty")
    (tmp_path / "junk.tif").write_bytes(b"this is not a tiff at all" * 10)
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "junk.tif")
    assert_one_line(ei.value, "junk.tif")
    p = tmp_path / "wrong.tif"
    _raw_tif(p, envi={"wavelength": "{0.5, 0.6}"})
    with pytest.raises(InputError) as ei:
        read_cube(p)
    assert_one_line(ei.value, "2 wavelengths for 3 bands")
    with pytest.raises(InputError):
        write_cube(Cube(np.zeros((2, 2, 1), np.uint8), nodata=-32768), tmp_path / "nd.tif")
    assert not (tmp_path / "nd.tif").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _check_enmap(cube: Cube, h: int, w: int) -> None:
    assert cube.shape == (h, w, 224) and cube.dtype == np.float32
    assert cube.wavelengths_nm[0] == 418.24 and cube.wavelengths_nm[-1] == 2445.53
    assert cube.nodata == -32768.0
    assert CRS.from_wkt(cube.crs).to_epsg() == 32633
    assert cube.transform[1] == 30.0 and cube.transform[5] == -30.0
    assert np.flatnonzero(cube.bad_bands).tolist() == list(range(129, 135))
    assert np.all(cube.data[:, :, 129:135] == -32768)


def test_bundled_enmap_crop(tmp_path):
    cube = read_cube(TEST_DATA / "enmap_crop.tif")
    _check_enmap(cube, 16, 16)
    assert cube.transform == GT
    assert cube.extra["gdal"]["scales"] == [0.0001] * 224
    assert cube.band_names[0] == "band 1 (418.24 Nanometers)"
    json.dumps(cube.metadata_dict())
    write_cube(cube, tmp_path / "c.hdr")
    back = read_cube(tmp_path / "c.hdr")
    _check_enmap(back, 16, 16)
    np.testing.assert_array_equal(back.data, cube.data)
    assert back.fwhm_nm.tolist() == cube.fwhm_nm.tolist()


@requires_shared
def test_real_enmap_tile(tmp_path):
    src = shared("enmap_potsdam/images/enmap_potsdam_tile_160_64.tif")
    cube = read_cube(src)
    _check_enmap(cube, 32, 32)
    assert cube.transform == GT
    np.testing.assert_array_equal(cube.wavelengths_nm, np.loadtxt(shared("enmap_potsdam/wavelengths_224.txt")))
    np.testing.assert_array_equal(cube.fwhm_nm, np.loadtxt(shared("enmap_potsdam/fwhm_224.txt")))
    write_cube(cube, tmp_path / "t.tif")
    tif = read_cube(tmp_path / "t.tif")
    np.testing.assert_array_equal(tif.data, cube.data)
    _same_meta(cube, tif)
    assert tif.extra["gdal"] == cube.extra["gdal"]
    write_cube(tif, tmp_path / "e.hdr")
    envi = read_cube(tmp_path / "e.hdr")
    np.testing.assert_array_equal(envi.data, cube.data)
    _same_meta(cube, envi)
    assert envi.band_names == cube.band_names
    write_cube(envi, tmp_path / "again.tif")
    _same_meta(cube, read_cube(tmp_path / "again.tif"))


@requires_shared
def test_bundled_crop_matches_source():
    src = read_cube(shared("enmap_potsdam/images/enmap_potsdam_tile_160_64.tif"))
    crop = read_cube(TEST_DATA / "enmap_crop.tif")
    np.testing.assert_array_equal(crop.data, src.data[:16, :16])
    _same_meta(src, crop)
    with rasterio.open(TEST_DATA / "enmap_crop.tif") as ds:
        assert ds.transform == Affine.from_gdal(*GT)
