"""Declaring what a file lacks: --nodata, --wavelengths, --fwhm, and --shape for a .mat holding
a bands × pixels matrix; through the reader and the Python API."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.io

import hinerc
from hinerc.errors import HinercWarning, InputError
from hinerc.io import Cube, read_cube
from hinerc.io.declare import parse_band_values, parse_shape
from io_helpers import assert_one_line, ramp, requires_shared, shared


# ----------------------------------------------------------------------------- option values
def test_band_value_forms(tmp_path):
    assert parse_band_values("450,550, 650.5").tolist() == [450.0, 550.0, 650.5]
    assert parse_band_values("400:430:10").tolist() == [400.0, 410.0, 420.0, 430.0]
    assert parse_band_values([500, 600]).tolist() == [500.0, 600.0]
    f = tmp_path / "wl.txt"
    f.write_text("# centres\n400.5\n\n410.25  # second\n420\n")
    assert parse_band_values(str(f)).tolist() == [400.5, 410.25, 420.0]
    assert parse_band_values(f).tolist() == [400.5, 410.25, 420.0]


@pytest.mark.parametrize("value, needle", [
    ("4OO,500", "--fwhm '4OO,500': expected START:STOP:STEP or a comma list"),
    ("500:400:10", "--fwhm '500:400:10': expected START:STOP:STEP"),
    ("-5,3", "positive"),
    ("", "--fwhm is empty"),
])
def test_malformed_band_values(value, needle):
    with pytest.raises(InputError) as ei:
        parse_band_values(value, "--fwhm")
    assert_one_line(ei.value, needle)


def test_malformed_values_file(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("400\n410 420\n")
    with pytest.raises(InputError) as ei:
        parse_band_values(str(f))
    assert_one_line(ei.value, "--wavelengths", "bad.txt", "line 2")


def test_shape_forms():
    assert parse_shape("100,90") == (100, 90) == parse_shape("100x90") == parse_shape((100, 90))
    for bad in ("100", "a,b", "0,5", "1,2,3"):
        with pytest.raises(InputError) as ei:
            parse_shape(bad)
        assert_one_line(ei.value, "--shape")


# ----------------------------------------------------------------------------- the reader
def test_declared_wavelengths_and_fwhm_replace_none(tmp_path):
    np.save(tmp_path / "c.npy", ramp((3, 4, 8), "int16"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", HinercWarning)  # no "band index" warning
        cube = read_cube(tmp_path / "c.npy", wavelengths="400:470:10", fwhm="9.5")
    assert cube.wavelengths_nm.tolist() == [400.0 + 10 * i for i in range(8)]
    assert cube.fwhm_nm.tolist() == [9.5] * 8 and cube.wavelength_units == "Nanometers"


def test_declared_counts_must_match(tmp_path):
    np.save(tmp_path / "c.npy", ramp((3, 4, 8), "int16"))
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "c.npy", wavelengths="400:460:10")
    assert_one_line(ei.value, "c.npy", "--wavelengths gives 7 values for 8 bands")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "c.npy", wavelengths="400:470:10", fwhm="10,11")
    assert_one_line(ei.value, "--fwhm gives 2 values for 8 bands")


def test_declared_nodata_is_checked_against_the_type(tmp_path):
    np.save(tmp_path / "u.npy", ramp((3, 4, 2), "uint16"))
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "u.npy", nodata=70000)
    assert_one_line(ei.value, "--nodata 70000 cannot be stored as uint16")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "u.npy", nodata=float("nan"))
    assert_one_line(ei.value, "--nodata nan")
    with pytest.warns(HinercWarning):
        assert read_cube(tmp_path / "u.npy", nodata=0).nodata == 0.0


def test_nan_holes_compress_once_declared(tmp_path):
    data = ramp((12, 10, 6), "float32", seed=1) / 1000
    data[2:5, 3:6, :] = np.nan
    np.save(tmp_path / "holes.npy", data)
    with pytest.raises(InputError, match="--nodata nan"):
        hinerc.compress(tmp_path / "holes.npy", None, bpppb=8, effort=1,
                        wavelengths="400:450:10")
    hinerc.compress(tmp_path / "holes.npy", tmp_path / "h.hnr", bpppb=8, effort=1,
                    nodata=float("nan"), wavelengths="400:450:10")
    back = hinerc.decompress(tmp_path / "h.hnr")
    assert np.array_equal(np.isnan(back.data), np.isnan(data))
    assert back.wavelengths_nm.tolist() == [400.0, 410.0, 420.0, 430.0, 440.0, 450.0]
    # a Cube takes the same declarations
    r = hinerc.compress(Cube(data), None, bpppb=8, effort=1, nodata="nan", fwhm=[10.0])
    assert r.shape == (12, 10, 6)
    with pytest.raises(InputError, match="--shape"):
        hinerc.compress(Cube(data), None, bpppb=8, shape=(12, 10))


# ----------------------------------------------------------------------------- --shape
def _columns(cube: np.ndarray) -> np.ndarray:
    """bands × pixels, pixels column-major (MATLAB: reshape(cube, H*W, B)')."""
    h, w, b = cube.shape
    return np.reshape(cube, (h * w, b), order="F").T


def test_bands_by_pixels_matrix(tmp_path):
    cube = ramp((5, 7, 4), "uint16")  # 5 rows, 7 columns: a transposed read would show
    y = _columns(cube)
    assert y[0, 1] == cube[1, 0, 0]  # pixel 1 is row 1, column 0
    scipy.io.savemat(tmp_path / "y.mat", {"Y": y, "maxValue": np.array([[7]]),
                                          "wavelengths": np.array([[400.0], [500], [600], [700]])})
    got = read_cube(tmp_path / "y.mat", shape=(5, 7))
    np.testing.assert_array_equal(got.data, cube)
    assert got.wavelengths_nm.tolist() == [400.0, 500.0, 600.0, 700.0]
    scipy.io.savemat(tmp_path / "t.mat", {"Y": np.ascontiguousarray(y.T)})  # pixels × bands
    with pytest.warns(HinercWarning):
        np.testing.assert_array_equal(read_cube(tmp_path / "t.mat", shape="5,7").data, cube)


def test_shape_errors(tmp_path):
    y = _columns(ramp((5, 7, 4), "uint16"))
    scipy.io.savemat(tmp_path / "y.mat", {"Y": y})
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "y.mat")
    assert_one_line(ei.value, "no 3-D numeric variable", "--shape ROWS,COLUMNS")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "y.mat", shape=(6, 7))
    assert_one_line(ei.value, "no 2-D variable has 42 pixels")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "y.mat", var="Y", shape=(6, 7))
    assert_one_line(ei.value, "--shape 6,7 makes 42 pixels, but 'Y' is 4×35")
    scipy.io.savemat(tmp_path / "c.mat", {"C": ramp((5, 7, 4), "uint16")})
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "c.mat", var="C", shape=(5, 7))
    assert_one_line(ei.value, "--shape reads a 2-D bands × pixels matrix")
    np.save(tmp_path / "a.npy", y)
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "a.npy", shape=(5, 7))
    assert_one_line(ei.value, "--shape only applies to a 2-D matrix in a .mat file")


@requires_shared
def test_jasper_ridge_matrix_is_the_envi_cube():
    mat = shared("jasper_ridge/jasperRidge2_R198.mat")
    envi = read_cube(shared("jasper_ridge/jasperRidge2_R198.hdr"))
    with pytest.warns(HinercWarning):
        got = read_cube(mat, shape=(100, 100))
    assert got.shape == (100, 100, 198)
    np.testing.assert_array_equal(got.data, envi.data.astype(got.dtype))
    with_wl = read_cube(mat, shape=(100, 100), wavelengths=envi.wavelengths_nm,
                        fwhm=envi.fwhm_nm)
    assert with_wl.wavelengths_nm.tolist() == envi.wavelengths_nm.tolist()
