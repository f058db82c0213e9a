"""Metadata across formats: every field ENVI and GeoTIFF both have, mapped both ways.

ENVI header -> GeoTIFF (read an ENVI cube, write a .tif, look at what GDAL sees) and GeoTIFF ->
ENVI (read a .tif, write an ENVI cube, look at the header text), field by field: scale/offset,
nodata, wavelength units, FWHM, bad bands, band names, CRS and map info. Stored values are never
rescaled.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS

from hinerc.io import read_cube, write_cube
from hinerc.io.envi import parse_header_text
from io_helpers import EXAMPLES, ramp, requires_shared, shared, utm33_wkt, write_raw_envi

pytestmark = [pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning"),
              pytest.mark.filterwarnings("ignore::hinerc.errors.HinercWarning")]

WL = "wavelength units = Nanometers\nwavelength = {400, 410, 420}\n"


def _envi(tmp_path, extra: str, data=None, code=2):
    data = ramp((4, 5, 3), "int16") if data is None else data
    hdr, _ = write_raw_envi(tmp_path, "src", data, code, "bsq", 0, WL + extra)
    return read_cube(hdr), data


def _to_tif(cube, path):
    write_cube(cube, path)
    return rasterio.open(path)


def _tif(path, data, scales=None, offsets=None, nodata=None, band_tags=None, descriptions=None,
         crs=None, transform=None):
    """A GeoTIFF written by rasterio alone (what another tool would hand hinerc)."""
    c = data.shape[2]
    prof = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=c,
                dtype=data.dtype.name, nodata=nodata, crs=crs, transform=transform)
    with rasterio.open(path, "w", **{k: v for k, v in prof.items() if v is not None}) as ds:
        ds.write(np.moveaxis(data, 2, 0))
        for i in range(c):
            ds.update_tags(i + 1, **((band_tags or [{}] * c)[i]))
            if descriptions:
                ds.set_band_description(i + 1, descriptions[i])
        if scales:
            ds.scales = scales
        if offsets:
            ds.offsets = offsets
    return path


def _to_envi(tif, out):
    cube = read_cube(tif)
    write_cube(cube, out)
    return parse_header_text(out.read_text(), str(out)), cube


# ----------------------------------------------------------------------------- scale / offset
def test_reflectance_scale_factor_becomes_gdal_scale(tmp_path):
    cube, data = _envi(tmp_path, "reflectance scale factor = 10000.000000\n")
    with _to_tif(cube, tmp_path / "r.tif") as ds:
        assert ds.scales == (0.0001,) * 3 and ds.offsets == (0.0,) * 3
        np.testing.assert_array_equal(np.moveaxis(ds.read(), 0, 2), data)  # never rescaled
    # and back to ENVI: the factor as it was, no gain values added for the same rule
    back = read_cube(tmp_path / "r.tif")
    write_cube(back, tmp_path / "back.hdr")
    h = parse_header_text((tmp_path / "back.hdr").read_text(), "back")
    assert h["reflectance scale factor"] == "10000.000000"
    assert "data gain values" not in h and "data offset values" not in h


def test_gdal_scale_becomes_reflectance_scale_factor_and_gains(tmp_path):
    data = ramp((4, 5, 3), "int16")
    tif = _tif(tmp_path / "s.tif", data, scales=(0.0001,) * 3)
    h, cube = _to_envi(tif, tmp_path / "s.hdr")
    assert h["reflectance scale factor"] == "10000"
    assert h["data gain values"] == "{0.0001, 0.0001, 0.0001}"
    assert "data offset values" not in h
    # ENVI readers compute the same physical values: spectral divides by the factor
    import spectral.io.envi as senvi

    loaded = senvi.open(str(tmp_path / "s.hdr")).load()
    np.testing.assert_allclose(np.asarray(loaded), data / 10000.0, rtol=1e-6)
    assert np.array_equal(read_cube(tmp_path / "s.hdr").data, data)  # stored values kept
    # and back to GeoTIFF: the same scale
    with _to_tif(read_cube(tmp_path / "s.hdr"), tmp_path / "again.tif") as ds:
        assert ds.scales == (0.0001,) * 3


def test_per_band_gain_and_offset_both_ways(tmp_path):
    cube, _ = _envi(tmp_path, "data gain values = {0.5, 0.25, 2}\n"
                              "data offset values = {1, 0, -3.5}\n")
    with _to_tif(cube, tmp_path / "g.tif") as ds:  # as GDAL's ENVI driver reads them
        assert ds.scales == (0.5, 0.25, 2.0) and ds.offsets == (1.0, 0.0, -3.5)
    tif = _tif(tmp_path / "t.tif", ramp((4, 5, 3), "uint16"), scales=(0.5, 0.25, 2.0),
               offsets=(1.0, 0.0, -3.5))
    h, _ = _to_envi(tif, tmp_path / "t.hdr")
    assert h["data gain values"] == "{0.5, 0.25, 2}"
    assert h["data offset values"] == "{1, 0, -3.5}"
    assert "reflectance scale factor" not in h  # one divisor cannot state per-band scales


def test_gain_values_win_over_reflectance_factor_as_in_gdal(tmp_path):
    cube, _ = _envi(tmp_path, "reflectance scale factor = 10000\n"
                              "data gain values = {2, 2, 2}\n")
    with _to_tif(cube, tmp_path / "w.tif") as ds:
        assert ds.scales == (2.0,) * 3


def test_unusable_scale_fields_are_carried_not_mapped(tmp_path):
    cube, _ = _envi(tmp_path, "reflectance scale factor = 0\ndata gain values = {1, 2}\n")
    with _to_tif(cube, tmp_path / "u.tif") as ds:
        assert ds.scales == (1.0,) * 3
        assert ds.tags(ns="ENVI")["reflectance_scale_factor"] == "0"


# ----------------------------------------------------------------------------- the other fields
def test_nodata_and_data_ignore_value(tmp_path):
    cube, _ = _envi(tmp_path, "data ignore value = -9999\n")
    with _to_tif(cube, tmp_path / "n.tif") as ds:
        assert ds.nodata == -9999
    tif = _tif(tmp_path / "n2.tif", ramp((4, 5, 3), "float32"), nodata=-32768)
    h, _ = _to_envi(tif, tmp_path / "n2.hdr")
    assert h["data ignore value"] == "-32768"


def test_wavelength_units_fwhm_and_bbl(tmp_path):
    data = ramp((4, 5, 3), "int16")
    hdr, _ = write_raw_envi(tmp_path, "m", data, 2, "bil", 0,
                            "wavelength units = Micrometers\nwavelength = {0.4, 0.41, 0.42}\n"
                            "fwhm = {0.0095, 0.0096, 0.0097}\nbbl = {1, 0, 1}\n")
    with _to_tif(read_cube(hdr), tmp_path / "m.tif") as ds:
        assert [ds.tags(i)["wavelength_units"] for i in (1, 2, 3)] == ["Micrometers"] * 3
        assert [ds.tags(i)["fwhm"] for i in (1, 2, 3)] == ["0.0095", "0.0096", "0.0097"]
        assert [ds.tags(i)["bbl"] for i in (1, 2, 3)] == ["1", "0", "1"]
        assert ds.tags(1, ns="IMAGERY") == {"CENTRAL_WAVELENGTH_UM": "0.4", "FWHM_UM": "0.0095"}
    tags = [{"wavelength": w, "wavelength_units": "Micrometers", "fwhm": "0.01", "bbl": b}
            for w, b in (("0.5", "1"), ("0.6", "0"), ("0.7", "1"))]
    h, _ = _to_envi(_tif(tmp_path / "b.tif", data, band_tags=tags), tmp_path / "b.hdr")
    assert h["wavelength units"] == "Micrometers"
    assert h["wavelength"].replace("\n", "") == "{ 0.5, 0.6, 0.7}"
    assert h["fwhm"].replace("\n", "") == "{ 0.01, 0.01, 0.01}"
    assert h["bbl"].replace("\n", "") == "{ 1, 0, 1}"


def test_gdal_good_band_is_read_as_bbl(tmp_path):
    tags = [{"good_band": v} for v in ("true", "false", "true")]
    h, cube = _to_envi(_tif(tmp_path / "g.tif", ramp((4, 5, 3), "int16"), band_tags=tags),
                       tmp_path / "g.hdr")
    assert cube.bad_bands.tolist() == [False, True, False]
    assert h["bbl"].replace("\n", "") == "{ 1, 0, 1}"


def test_band_names_and_descriptions(tmp_path):
    cube, _ = _envi(tmp_path, "band names = {red edge, nir, swir 1}\n")
    with _to_tif(cube, tmp_path / "d.tif") as ds:
        assert ds.descriptions == ("red edge", "nir", "swir 1")
    tif = _tif(tmp_path / "e.tif", ramp((4, 5, 3), "int16"), descriptions=["a", "b", "c"])
    h, _ = _to_envi(tif, tmp_path / "e.hdr")
    assert h["band names"].replace("\n", "").replace(" ", "") == "{a,b,c}"


def test_utm_crs_and_map_info(tmp_path):
    cube, _ = _envi(tmp_path, "map info = {UTM, 1, 1, 366975.0, 5808045.0, 30, 30, 33, North, "
                              "WGS-84, units=Meters}\n")
    with _to_tif(cube, tmp_path / "u.tif") as ds:
        assert ds.crs.to_epsg() == 32633
        assert ds.transform.to_gdal() == (366975.0, 30.0, 0.0, 5808045.0, 0.0, -30.0)
    from rasterio.transform import Affine

    tif = _tif(tmp_path / "v.tif", ramp((4, 5, 3), "int16"), crs=CRS.from_wkt(utm33_wkt()),
               transform=Affine.from_gdal(366975.0, 30.0, 0.0, 5808045.0, 0.0, -30.0))
    h, _ = _to_envi(tif, tmp_path / "v.hdr")
    assert h["map info"].startswith("{UTM, 1, 1, 366975.0, 5808045.0, 30.0, 30.0, 33, North, WGS-84")
    assert CRS.from_wkt(h["coordinate system string"].strip("{}")).to_epsg() == 32633


def test_geographic_crs_and_map_info(tmp_path):
    from rasterio.transform import Affine

    tif = _tif(tmp_path / "ll.tif", ramp((4, 5, 3), "int16"), crs=CRS.from_epsg(4326),
               transform=Affine.from_gdal(13.0, 0.001, 0.0, 52.5, 0.0, -0.001))
    h, _ = _to_envi(tif, tmp_path / "ll.hdr")
    assert h["map info"] == "{Geographic Lat/Lon, 1, 1, 13.0, 52.5, 0.001, 0.001, WGS-84, units=Degrees}"
    cube, _ = _envi(tmp_path, "map info = {Geographic Lat/Lon, 1, 1, 13.0, 52.5, 0.001, 0.001, "
                              "WGS-84, units=Degrees}\n")
    with _to_tif(cube, tmp_path / "back.tif") as ds:
        assert ds.crs.to_epsg() == 4326
        assert ds.transform.to_gdal() == (13.0, 0.001, 0.0, 52.5, 0.0, -0.001)


def test_other_crs_travels_in_coordinate_system_string(tmp_path):
    from rasterio.transform import Affine

    tif = _tif(tmp_path / "laea.tif", ramp((4, 5, 3), "int16"), crs=CRS.from_epsg(3035),
               transform=Affine.from_gdal(4e6, 10.0, 0.0, 3e6, 0.0, -10.0))
    h, _ = _to_envi(tif, tmp_path / "laea.hdr")
    assert h["map info"].startswith("{Arbitrary")
    assert CRS.from_wkt(h["coordinate system string"].strip("{}")).to_epsg() == 3035
    with _to_tif(read_cube(tmp_path / "laea.hdr"), tmp_path / "laea2.tif") as ds:
        assert ds.crs.to_epsg() == 3035


# ----------------------------------------------------------------------------- real cubes
def test_bundled_jasper_crop_scale_in_geotiff(tmp_path):
    with _to_tif(read_cube(EXAMPLES / "jasper_ridge_crop.hdr"), tmp_path / "jr.tif") as ds:
        assert set(ds.scales) == {0.0001} and set(ds.offsets) == {0.0}


@requires_shared
def test_enmap_scale_in_envi_header(tmp_path):
    tile = shared("enmap_potsdam/images/enmap_potsdam_tile_160_64.tif")
    h, cube = _to_envi(tile, tmp_path / "enmap.hdr")
    assert h["reflectance scale factor"] == "10000"
    assert h["data gain values"] == "{" + ", ".join(["0.0001"] * 224) + "}"
    assert h["data ignore value"] == "-32768"
    assert np.array_equal(read_cube(tmp_path / "enmap.hdr").data, cube.data)
