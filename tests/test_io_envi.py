"""ENVI reader/writer: every data type × interleave × byte order, metadata, real files, errors."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

from hinerc.errors import HinercWarning, InputError
from hinerc.io import Cube, read_cube, write_cube
from hinerc.io.envi import parse_header_text
from io_helpers import (
    ENVI_CODES,
    EXAMPLES,
    assert_one_line,
    cube_kwargs,
    ramp,
    requires_shared,
    shared,
    utm33_wkt,
    write_raw_envi,
)

WL_LINES = "wavelength units = Nanometers\nwavelength = {400.5, 410.5, 420.5}\n"


def header_of(path) -> dict:
    return parse_header_text(path.read_text(), str(path))


# ----------------------------------------------------------------------------- data types
@pytest.mark.parametrize("byte_order", [0, 1])
@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("code", sorted(ENVI_CODES))
def test_every_type_interleave_byte_order(tmp_path, code, interleave, byte_order):
    data = ramp((4, 5, 3), ENVI_CODES[code], seed=code)
    hdr, _ = write_raw_envi(tmp_path, "in", data, code, interleave, byte_order, WL_LINES)
    cube = read_cube(hdr)
    assert cube.data.dtype == np.dtype(ENVI_CODES[code])
    assert cube.data.dtype.isnative
    np.testing.assert_array_equal(cube.data, data)
    assert cube.interleave == interleave and cube.source_format == "envi"

    files = write_cube(cube, tmp_path / "out.hdr")
    assert [f.name for f in files] == ["out.hdr", "out.img"]
    h = header_of(tmp_path / "out.hdr")
    assert h["byte order"] == "0" and h["interleave"] == interleave
    assert h["data type"] == str(code)
    back = read_cube(tmp_path / "out.hdr")
    np.testing.assert_array_equal(back.data, data)
    assert back.data.dtype == data.dtype
    np.testing.assert_array_equal(back.wavelengths_nm, [400.5, 410.5, 420.5])


def test_interleave_override_and_default(tmp_path):
    data = ramp((3, 4, 5), "int16")
    cube = Cube(data)
    write_cube(cube, tmp_path / "a.hdr")
    assert header_of(tmp_path / "a.hdr")["interleave"] == "bsq"
    write_cube(cube, tmp_path / "b.hdr", interleave="bip")
    assert header_of(tmp_path / "b.hdr")["interleave"] == "bip"
    with pytest.warns(HinercWarning):
        back = read_cube(tmp_path / "b.hdr")
    np.testing.assert_array_equal(back.data, data)
    assert (tmp_path / "b.img").stat().st_size == data.nbytes


def test_header_offset_is_honoured(tmp_path):
    data = ramp((2, 3, 4), "uint16")
    hdr, _ = write_raw_envi(tmp_path, "o", data, 12, "bil", 0, WL_LINES.replace(
        "{400.5, 410.5, 420.5}", "{1,2,3,4}"), header_offset=128)
    np.testing.assert_array_equal(read_cube(hdr).data, data)


@pytest.mark.parametrize("code,what", [(6, "unsupported"), (9, "unsupported"), (7, "unknown"),
                                       (99, "unknown")])
def test_complex_and_unknown_types(tmp_path, code, what):
    data = np.zeros((2, 2, 3), dtype=np.uint8)
    hdr, binary = write_raw_envi(tmp_path, "c", data, code, "bsq", 0)
    binary.write_bytes(b"\0" * 2 * 2 * 3 * 16)
    with pytest.raises(InputError) as ei:
        read_cube(hdr)
    assert_one_line(ei.value, what, "c.hdr")


def test_int8_cannot_be_written(tmp_path):
    with pytest.raises(InputError, match="int8"):
        write_cube(Cube(np.zeros((2, 2, 2), np.int8)), tmp_path / "x.hdr")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- wavelengths
def test_micrometres_to_nm_and_back(tmp_path):
    data = ramp((2, 2, 3), "float32")
    hdr, _ = write_raw_envi(tmp_path, "um", data, 4, "bsq", 0,
                            "wavelength units = Micrometers\n"
                            "wavelength = {0.399369995, 0.4, 2.45724}\n"
                            "fwhm = {0.00953, 0.0095, 0.01012}\n")
    cube = read_cube(hdr)
    assert cube.wavelength_units == "Micrometers"
    assert cube.wavelengths_nm.tolist() == [399.369995, 400.0, 2457.24]
    assert cube.fwhm_nm.tolist() == [9.53, 9.5, 10.12]
    write_cube(cube, tmp_path / "out.hdr")
    h = header_of(tmp_path / "out.hdr")
    assert h["wavelength units"] == "Micrometers"
    assert "0.399369995" in h["wavelength"] and "2.45724" in h["wavelength"]
    back = read_cube(tmp_path / "out.hdr")
    assert back.wavelengths_nm.tolist() == cube.wavelengths_nm.tolist()
    assert back.fwhm_nm.tolist() == cube.fwhm_nm.tolist()


def test_values_read_back_exactly(tmp_path):
    rng = np.random.default_rng(3)
    wl = np.sort(rng.uniform(350, 2500, 50))
    wl[0] = 399.369995
    for unit in ("Nanometers", "Micrometers", "Millimeters"):
        cube = Cube(np.zeros((1, 1, 50), np.float32), wavelengths_nm=wl, fwhm_nm=wl / 100,
                    wavelength_units=unit)
        write_cube(cube, tmp_path / f"{unit}.hdr")
        back = read_cube(tmp_path / f"{unit}.hdr")
        assert back.wavelengths_nm.tolist() == wl.tolist()
        assert back.fwhm_nm.tolist() == (wl / 100).tolist()
        assert back.wavelength_units == unit


@pytest.mark.parametrize("values,expect", [("{0.4, 0.5, 2.5}", [400.0, 500.0, 2500.0]),
                                           ("{400, 500, 2500}", [400.0, 500.0, 2500.0])])
def test_unknown_unit_is_inferred(tmp_path, values, expect):
    data = np.ones((2, 2, 3), np.uint16)
    hdr, _ = write_raw_envi(tmp_path, "u", data, 12, "bsq", 0,
                            f"wavelength units = Unknown\nwavelength = {values}\n")
    cube = read_cube(hdr)
    assert cube.wavelengths_nm.tolist() == expect
    assert cube.wavelength_units == "Unknown"
    write_cube(cube, tmp_path / "o.hdr")
    h = header_of(tmp_path / "o.hdr")
    assert h["wavelength units"] == "Unknown"
    assert ("0.4" in h["wavelength"]) == values.startswith("{0.4")  # written in the same unit
    assert read_cube(tmp_path / "o.hdr").wavelengths_nm.tolist() == expect


def test_wavelengths_from_band_names(tmp_path):
    data = np.ones((2, 2, 3), np.float32)
    hdr, _ = write_raw_envi(tmp_path, "bn", data, 4, "bsq", 0,
                            "band names = {\n376.44 Nanometers,\n381.45 Nanometers,\n"
                            "386.46 Nanometers}\n")
    cube = read_cube(hdr)
    assert cube.wavelengths_nm.tolist() == [376.44, 381.45, 386.46]
    assert cube.band_names == ["376.44 Nanometers", "381.45 Nanometers", "386.46 Nanometers"]
    write_cube(cube, tmp_path / "o.hdr")
    back = read_cube(tmp_path / "o.hdr")
    assert back.band_names == cube.band_names
    assert back.wavelengths_nm.tolist() == cube.wavelengths_nm.tolist()


def test_no_wavelengths_warns(tmp_path):
    hdr, _ = write_raw_envi(tmp_path, "nw", np.ones((2, 2, 3), np.uint8), 1, "bsq", 0,
                            "band names = {a, b, c}\n")
    with pytest.warns(HinercWarning, match="no wavelengths in .*band index"):
        cube = read_cube(hdr)
    assert cube.wavelengths_nm is None and cube.band_names == ["a", "b", "c"]


@pytest.mark.filterwarnings("ignore:no wavelengths")
def test_wavenumber_is_carried_not_used(tmp_path):
    hdr, _ = write_raw_envi(tmp_path, "wn", np.ones((2, 2, 3), np.uint8), 1, "bsq", 0,
                            "wavelength units = Wavenumber\nwavelength = {4000, 3000, 2000}\n")
    with pytest.warns(HinercWarning, match="Wavenumber"):
        cube = read_cube(hdr)
    assert cube.wavelengths_nm is None and cube.wavelength_units is None
    write_cube(cube, tmp_path / "o.hdr")
    h = header_of(tmp_path / "o.hdr")
    assert h["wavelength units"] == "Wavenumber" and "3000" in h["wavelength"]


def test_bbl_nodata_names_and_extra_fields_round_trip(tmp_path):
    data = ramp((3, 4, 3), "int16")
    hdr, _ = write_raw_envi(
        tmp_path, "m", data, 2, "bil", 0,
        WL_LINES + "fwhm = {9.5, 9.6, 9.7}\nbbl = {1, 0, 1}\ndata ignore value = -9999\n"
        "band names = {b1, b2, b3}\nreflectance scale factor = 10000.000000\n"
        "default bands = {3,2,1}\ndescription = {\n  line one, with comma.\n  line two}\n"
        "sensor type = AVIRIS\n")
    cube = read_cube(hdr)
    assert cube.bad_bands.tolist() == [False, True, False]
    assert cube.nodata == -9999.0 and cube.band_names == ["b1", "b2", "b3"]
    assert cube.extra["envi"]["reflectance scale factor"] == "10000.000000"
    write_cube(cube, tmp_path / "o.img")  # .img output -> o.hdr beside it
    back = read_cube(tmp_path / "o.hdr")
    for f in ("wavelengths_nm", "fwhm_nm", "bad_bands"):
        np.testing.assert_array_equal(getattr(back, f), getattr(cube, f))
    assert back.nodata == -9999.0 and back.band_names == cube.band_names
    for k in ("reflectance scale factor", "default bands", "description", "sensor type"):
        assert back.extra["envi"][k] == cube.extra["envi"][k], k
    assert back.extra["envi"]["description"].startswith("{")
    np.testing.assert_array_equal(back.data, data)


# ----------------------------------------------------------------------------- geo
def test_utm_map_info_round_trip(tmp_path):
    data = np.ones((4, 5, 2), np.float32)
    hdr, _ = write_raw_envi(
        tmp_path, "g", data, 4, "bsq", 0,
        "map info = {UTM, 1, 1, 366975.0, 5808045.0, 30, 30, 33, North, WGS-84, units=Meters}\n")
    with pytest.warns(HinercWarning):
        cube = read_cube(hdr)
    assert cube.transform == (366975.0, 30.0, 0.0, 5808045.0, 0.0, -30.0)
    from rasterio.crs import CRS

    assert CRS.from_wkt(cube.crs).to_epsg() == 32633
    assert cube.extra["envi"]["map info"].startswith("{UTM")
    # a changed transform: the map info is regenerated from the transform
    moved = cube.with_data(cube.data[1:, 2:])
    moved.transform = (366975.0 + 60, 30.0, 0.0, 5808045.0 - 30, 0.0, -30.0)
    write_cube(moved, tmp_path / "m.hdr")
    h = header_of(tmp_path / "m.hdr")
    assert h["map info"].startswith("{UTM, 1, 1, 367035.0, 5808015.0, 30.0, 30.0, 33, North")
    with pytest.warns(HinercWarning):
        back = read_cube(tmp_path / "m.hdr")
    assert back.transform == moved.transform
    assert CRS.from_wkt(back.crs).to_epsg() == 32633


def test_reference_pixel_and_rotation(tmp_path):
    data = np.ones((2, 2, 1), np.uint8)
    hdr, _ = write_raw_envi(tmp_path, "r", data, 1, "bsq", 0,
                            "map info = {Arbitrary, 2.5, 3.5, 100.0, 200.0, 2, 4, 0, North}\n")
    with pytest.warns(HinercWarning):
        assert read_cube(hdr).transform == (97.0, 2.0, 0.0, 210.0, 0.0, -4.0)
    rot = Cube(data, transform=(10.0, 0.866, -0.5, 20.0, -0.5, -0.866))
    write_cube(rot, tmp_path / "rot.hdr")
    assert "rotation=" in header_of(tmp_path / "rot.hdr")["map info"]
    with pytest.warns(HinercWarning):
        back = read_cube(tmp_path / "rot.hdr")
    np.testing.assert_allclose(back.transform, rot.transform, atol=1e-6)


def test_arbitrary_map_info_with_wkt(tmp_path):
    from rasterio.crs import CRS

    wkt = CRS.from_epsg(3035).to_wkt()
    cube = Cube(np.ones((2, 3, 2), np.int32), crs=wkt, transform=(4e6, 10.0, 0, 3e6, 0, -10.0),
                **cube_kwargs(2))
    write_cube(cube, tmp_path / "a.hdr")
    h = header_of(tmp_path / "a.hdr")
    assert h["map info"].startswith("{Arbitrary")
    back = read_cube(tmp_path / "a.hdr")
    assert back.transform == cube.transform and CRS.from_wkt(back.crs).to_epsg() == 3035
    utm = Cube(np.ones((2, 3, 2), np.int32), crs=utm33_wkt(), transform=(1.0, 30, 0, 2.0, 0, -30),
               **cube_kwargs(2))
    write_cube(utm, tmp_path / "u.hdr")
    assert header_of(tmp_path / "u.hdr")["map info"].startswith("{UTM, 1, 1, 1.0, 2.0, 30.0, 30.0, 33")


# ----------------------------------------------------------------------------- output naming, atomicity
def test_output_names(tmp_path):
    cube = Cube(np.ones((2, 2, 2), np.uint8), **cube_kwargs(2))
    assert [p.name for p in write_cube(cube, tmp_path / "x.img")] == ["x.hdr", "x.img"]
    assert [p.name for p in write_cube(cube, tmp_path / "y.dat")] == ["y.hdr", "y.dat"]
    assert [p.name for p in write_cube(cube, tmp_path / "z", format="envi")] == ["z.hdr", "z"]
    assert read_cube(tmp_path / "z").shape == (2, 2, 2)
    assert read_cube(tmp_path / "y.dat").shape == (2, 2, 2)


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    import hinerc.outputs as outputs

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(outputs.os, "replace", boom)
    cube = Cube(np.ones((2, 2, 2), np.uint8), **cube_kwargs(2))
    with pytest.raises(OSError):
        write_cube(cube, tmp_path / "x.hdr")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- hostile input
def test_hostile_inputs(tmp_path):
    (tmp_path / "empty.hdr").write_text("")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "empty.hdr")
    assert_one_line(ei.value, "empty.hdr", "empty")

    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "missing.hdr")
    assert_one_line(ei.value, "missing.hdr", "no such file")

    data = np.ones((3, 4, 5), np.int16)
    hdr, binary = write_raw_envi(tmp_path, "nobin", data, 2, "bsq", 0)
    binary.unlink()
    with pytest.raises(InputError) as ei:
        read_cube(hdr)
    assert_one_line(ei.value, "nobin.hdr", "data file is missing")

    hdr, binary = write_raw_envi(tmp_path, "short", data, 2, "bsq", 0)
    binary.write_bytes(binary.read_bytes()[:-2])
    with pytest.raises(InputError) as ei:
        read_cube(hdr)
    assert_one_line(ei.value, "short.img", str(data.nbytes))

    hdr, binary = write_raw_envi(tmp_path, "long", data, 2, "bsq", 0)
    binary.write_bytes(binary.read_bytes() + b"\0\0")
    with pytest.raises(InputError):
        read_cube(hdr)

    hdr, binary = write_raw_envi(tmp_path, "emptybin", data, 2, "bsq", 0)
    binary.write_bytes(b"")
    with pytest.raises(InputError) as ei:
        read_cube(hdr)
    assert_one_line(ei.value, "empty")

    hdr, _ = write_raw_envi(tmp_path, "wl", data, 2, "bsq", 0,
                            "wavelength = {400, 410, 420, 430}\n")
    with pytest.raises(InputError) as ei:
        read_cube(hdr)
    assert_one_line(ei.value, "wl.hdr", "4 wavelengths for 5 bands")

    hdr, _ = write_raw_envi(tmp_path, "badwl", data, 2, "bsq", 0,
                            "wavelength = {400, 410, x, 430, 440}\n")
    with pytest.raises(InputError) as ei:
        read_cube(hdr)
    assert_one_line(ei.value, "badwl.hdr", "wavelength")

    (tmp_path / "notenvi.hdr").write_text("hello = world\n")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "notenvi.hdr")
    assert_one_line(ei.value, "not an ENVI header")

    (tmp_path / "nosize.hdr").write_text("ENVI\nsamples = 3\nlines = 2\n")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "nosize.hdr")
    assert_one_line(ei.value, "bands")

    (tmp_path / "lonely.img").write_bytes(b"\0" * 10)
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "lonely.img")
    assert_one_line(ei.value, "no ENVI header")


# ----------------------------------------------------------------------------- real data
@requires_shared
def test_jasper_ridge_real():
    cube = read_cube(shared("jasper_ridge/jasperRidge2_R198.hdr"))
    assert cube.shape == (100, 100, 198) and cube.dtype == np.int16
    assert cube.interleave == "bil"
    assert int(cube.data.min()) == 0 and int(cube.data.max()) == 5437
    wl = cube.wavelengths_nm
    assert wl[0] == 399.369995 and wl[-1] == 2457.23999
    i = int(np.argmax(np.diff(wl) < 0))
    assert (wl[i], wl[i + 1]) == (675.619995, 664.140015)
    assert cube.extra["envi"]["reflectance scale factor"] == "10000.000000"
    assert cube.bad_bands is not None and not cube.bad_bands.any()
    assert cube.fwhm_nm[0] == 9.53


@requires_shared
def test_jasper_ridge_written_back(tmp_path):
    cube = read_cube(shared("jasper_ridge/jasperRidge2_R198.hdr"))
    write_cube(cube, tmp_path / "j.hdr")
    back = read_cube(tmp_path / "j.hdr")
    np.testing.assert_array_equal(back.data, cube.data)
    assert back.wavelengths_nm.tolist() == cube.wavelengths_nm.tolist()
    assert back.fwhm_nm.tolist() == cube.fwhm_nm.tolist()
    assert back.extra["envi"] == cube.extra["envi"]
    assert (tmp_path / "j.img").read_bytes() == shared("jasper_ridge/jasperRidge2_R198.img").read_bytes()


@requires_shared
def test_aviris_ng_band_name_wavelengths():
    with warnings.catch_warnings():
        warnings.simplefilter("error", HinercWarning)
        cube = read_cube(shared("aviris_ng_isofit/ang20160910t185702_2rdn_img"))
    assert cube.shape == (25, 30, 425) and cube.interleave == "bsq"
    expect = np.loadtxt(shared("aviris_ng_isofit/wavelengths_ang20160910t185702_from_band_names.txt"))
    np.testing.assert_array_equal(cube.wavelengths_nm, expect)
    assert cube.nodata == -9999.0
    assert cube.transform == (353128.751647949, 15.0, 0.0, 3813729.76806641, 0.0, -15.0)
    assert "Transverse_Mercator" in cube.crs


@requires_shared
def test_aviris_ng_bil_and_gamsberg():
    cube = read_cube(shared("aviris_ng_isofit/ang20170323t202244_rdn_7000-7010.hdr"))
    np.testing.assert_array_equal(
        cube.wavelengths_nm, np.loadtxt(shared("aviris_ng_isofit/wavelengths_ang20170323t202244.txt")))
    g = read_cube(shared("enmapbox_gamsberg/cubus_gamsberg_subset.hdr"))
    assert g.shape == (25, 10, 189) and g.wavelength_units == "Unknown"
    np.testing.assert_allclose(g.wavelengths_nm, np.loadtxt(shared("enmapbox_gamsberg/wavelengths_189.txt")))


def test_bundled_jasper_crop():
    cube = read_cube(EXAMPLES / "jasper_ridge_crop.hdr")
    assert cube.shape == (40, 40, 198) and cube.dtype == np.int16 and cube.interleave == "bil"
    assert cube.wavelengths_nm[0] == 399.369995 and len(cube.fwhm_nm) == 198
    assert cube.extra["envi"]["reflectance scale factor"] == "10000.000000"
    assert "default bands" in cube.extra["envi"] and "description" in cube.extra["envi"]
    json.dumps(cube.metadata_dict())
    size = sum(os.path.getsize(EXAMPLES / f) for f in ("jasper_ridge_crop.hdr", "jasper_ridge_crop.img"))
    assert size < 700_000


@requires_shared
def test_bundled_jasper_crop_matches_source():
    src = read_cube(shared("jasper_ridge/jasperRidge2_R198.hdr"))
    crop = read_cube(EXAMPLES / "jasper_ridge_crop.hdr")
    np.testing.assert_array_equal(crop.data, src.data[:40, :40])
    assert crop.wavelengths_nm.tolist() == src.wavelengths_nm.tolist()
    assert crop.extra["envi"] == src.extra["envi"]
