"""MATLAB .mat reader (v5, v7.3) and v5 writer."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io

from hinerc.errors import HinercWarning, InputError
from hinerc.io import Cube, read_cube, write_cube
from io_helpers import assert_one_line, ramp, requires_shared, shared

pytestmark = pytest.mark.filterwarnings("ignore::hinerc.errors.HinercWarning")


def _v73(path, variables: dict[str, np.ndarray]) -> None:
    """A MATLAB v7.3-like file: HDF5 with a 512-byte user block, arrays stored transposed."""
    classes = {"float64": "double", "float32": "single", "uint16": "uint16", "int16": "int16",
               "uint8": "uint8", "int32": "int32"}
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, arr in variables.items():
            ds = f.create_dataset(name, data=np.ascontiguousarray(arr.T))  # MATLAB is column-major
            ds.attrs["MATLAB_class"] = np.bytes_(classes[arr.dtype.name])
        g = f.create_group("#refs#")
        g.create_dataset("a", data=np.zeros(2))
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 "
                 b"HDF5 schema 1.00 .".ljust(116, b" "))


def test_v5_with_wavelengths(tmp_path):
    data = ramp((5, 6, 4), "uint16")
    scipy.io.savemat(tmp_path / "a.mat", {"img": data, "wavelengths": np.array([[400.0], [410], [420], [430]]),
                                          "gt": np.zeros((5, 6), np.uint8)})
    cube = read_cube(tmp_path / "a.mat")
    np.testing.assert_array_equal(cube.data, data)
    assert cube.dtype == np.uint16
    assert cube.wavelengths_nm.tolist() == [400.0, 410.0, 420.0, 430.0]
    assert cube.extra["mat"]["var"] == "img" and cube.source_format == "mat"


def test_micrometre_wavelengths_and_fwhm(tmp_path):
    data = ramp((3, 3, 3), "float32")
    scipy.io.savemat(tmp_path / "b.mat", {"cube": data, "WL": np.array([0.4, 0.5, 2.5]),
                                          "fwhm": np.array([0.01, 0.01, 0.02])})
    cube = read_cube(tmp_path / "b.mat")
    assert cube.wavelengths_nm.tolist() == [400.0, 500.0, 2500.0]
    assert cube.fwhm_nm.tolist() == [10.0, 10.0, 20.0]
    assert cube.wavelength_units == "Micrometers"


def test_v73_transposed_layout(tmp_path):
    data = ramp((5, 7, 3), "float64")
    _v73(tmp_path / "c.mat", {"hsi": data, "lambda": np.array([[450.0, 550.0, 650.0]]),
                              "labels": np.zeros((5, 7), np.uint8)})
    cube = read_cube(tmp_path / "c.mat")
    assert cube.shape == (5, 7, 3)
    np.testing.assert_array_equal(cube.data, data)
    assert cube.wavelengths_nm.tolist() == [450.0, 550.0, 650.0]
    assert cube.extra["mat"] == {"var": "hsi", "version": "7.3"}


def test_ambiguous_and_var(tmp_path):
    a, b = ramp((2, 3, 4), "int16"), ramp((4, 3, 2), "float32", seed=1)
    scipy.io.savemat(tmp_path / "two.mat", {"first": a, "second": b})
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "two.mat")
    assert_one_line(ei.value, "two.mat", "first", "second", "--var")
    np.testing.assert_array_equal(read_cube(tmp_path / "two.mat", var="second").data, b)
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "two.mat", var="third")
    assert_one_line(ei.value, "third", "first")
    _v73(tmp_path / "two73.mat", {"first": a, "second": b})
    with pytest.raises(InputError, match="--var"):
        read_cube(tmp_path / "two73.mat")
    np.testing.assert_array_equal(read_cube(tmp_path / "two73.mat", var="first").data, a)


def test_no_cube_variable(tmp_path):
    scipy.io.savemat(tmp_path / "flat.mat", {"Y": np.zeros((198, 100), np.uint16), "n": 3})
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "flat.mat")
    assert_one_line(ei.value, "flat.mat", "no 3-D numeric variable", "Y (198×100 uint16)")
    # an explicit 2-D variable is accepted as a one-band image
    assert read_cube(tmp_path / "flat.mat", var="Y").shape == (198, 100, 1)


def test_writer_round_trip(tmp_path):
    cube = Cube(ramp((4, 4, 3), "float32"), wavelengths_nm=[400.5, 500.25, 600.125],
                fwhm_nm=[9.0, 9.5, 10.0], extra={"mat": {"var": "hsi_sub"}})
    assert write_cube(cube, tmp_path / "o.mat") == [tmp_path / "o.mat"]
    m = scipy.io.loadmat(tmp_path / "o.mat")
    assert m["wavelengths"].shape == (3, 1) and "hsi_sub" in m
    back = read_cube(tmp_path / "o.mat")
    np.testing.assert_array_equal(back.data, cube.data)
    assert back.wavelengths_nm.tolist() == cube.wavelengths_nm.tolist()
    assert back.fwhm_nm.tolist() == cube.fwhm_nm.tolist()
    assert back.extra["mat"]["var"] == "hsi_sub"
    write_cube(Cube(np.zeros((2, 2, 2), np.uint8)), tmp_path / "p.mat")
    assert "cube" in scipy.io.loadmat(tmp_path / "p.mat")


def test_hostile(tmp_path):
    (tmp_path / "empty.mat").write_bytes(b"")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "empty.mat")
    assert_one_line(ei.value, "empty.mat", "empty")
    (tmp_path / "junk.mat").write_bytes(b"\x01\x02junk" * 50)
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "junk.mat")
    assert_one_line(ei.value, "junk.mat")
    with pytest.raises(InputError):
        read_cube(tmp_path / "absent.mat")


@requires_shared
def test_real_abu_float64():
    with pytest.warns(HinercWarning, match="band index"):
        cube = read_cube(shared("abu_anomaly/abu-beach-4.mat"))
    assert cube.shape == (100, 100, 102) and cube.dtype == np.float64
    assert cube.extra["mat"]["var"] == "data"
    assert 0.0 <= cube.data.min() and cube.data.max() <= 1.0


@requires_shared
def test_real_muufl_wavelengths(tmp_path):
    cube = read_cube(shared("muufl_gulfport/an_hsi_img_for_tgt_det_demo.mat"))
    assert cube.shape == (36, 36, 72) and cube.dtype == np.float32
    assert cube.extra["mat"]["var"] == "hsi_sub"
    np.testing.assert_allclose(cube.wavelengths_nm[[0, -1]], [367.7, 1043.4], atol=1e-3)
    write_cube(cube, tmp_path / "m.mat")
    back = read_cube(tmp_path / "m.mat")
    np.testing.assert_array_equal(back.data, cube.data)
    assert back.wavelengths_nm.tolist() == cube.wavelengths_nm.tolist()
