"""The command line reading and writing cubes: metadata across output formats, warnings for
what an output drops, --interleave where it cannot apply."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from conftest import make_cube
from hinerc.cli import cli
from hinerc.io.envi import parse_header_text
from io_helpers import utm33_wkt

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


def _warning_lines(result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.startswith("hinerc: warning:")]


@pytest.fixture(scope="module")
def rich_hnr(tmp_path_factory):
    """A small .hnr of a cube read from ENVI: reflectance scale factor, no-data, UTM."""
    import hinerc

    cube = make_cube(nodata=-9999)
    cube.crs, cube.transform = utm33_wkt(), (366975.0, 30.0, 0.0, 5808045.0, 0.0, -30.0)
    cube.extra["envi"] = {"reflectance scale factor": "10000.000000", "description": "{scene}"}
    path = tmp_path_factory.mktemp("rich") / "rich.hnr"
    hinerc.compress(cube, path, bpppb=4.0, effort=1, seed=0)
    return path


def test_decompress_to_geotiff_gets_the_scale(runner, tmp_path, rich_hnr):
    out = tmp_path / "jr.tif"
    r = runner.invoke(cli, ["decompress", str(rich_hnr), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert _warning_lines(r) == []
    with rasterio.open(out) as ds:
        assert set(ds.scales) == {0.0001} and ds.nodata == -9999 and ds.crs.to_epsg() == 32633


def test_geotiff_scale_reaches_envi_through_hnr(runner, tmp_path):
    tif, hnr, hdr = tmp_path / "a.tif", tmp_path / "a.hnr", tmp_path / "a.hdr"
    data = make_cube().data
    with rasterio.open(tif, "w", driver="GTiff", width=24, height=20, count=12,
                       dtype="int16") as ds:  # EnMAP-like: GDAL's SCALE is the only scale
        ds.write(np.moveaxis(data, 2, 0))
        ds.scales = (0.0001,) * 12
    r = runner.invoke(cli, ["compress", str(tif), "-o", str(hnr), "--bpppb", "4", "-e", "1",
                            "--quiet"])
    assert r.exit_code == 0, r.output
    assert runner.invoke(cli, ["decompress", str(hnr), "-o", str(hdr)]).exit_code == 0
    h = parse_header_text(hdr.read_text(), "a")
    assert h["reflectance scale factor"] == "10000"
    assert h["data gain values"] == "{" + ", ".join(["0.0001"] * 12) + "}"


def test_decompress_to_npy_names_what_is_lost(runner, tmp_path, rich_hnr):
    r = runner.invoke(cli, ["decompress", str(rich_hnr), "-o", str(tmp_path / "y.npy")])
    assert r.exit_code == 0, r.output
    lines = _warning_lines(r)
    assert len(lines) == 1
    for field in ("wavelengths", "FWHM", "no-data value (-9999)", "CRS", "scale/offset"):
        assert field in lines[0]
    assert np.load(tmp_path / "y.npy").shape == (20, 24, 12)
    r = runner.invoke(cli, ["decompress", str(rich_hnr), "-o", str(tmp_path / "q.npy"),
                            "--quiet"])
    assert r.exit_code == 0 and r.stderr == ""


def test_decompress_to_mat_names_what_is_lost(runner, tmp_path, rich_hnr):
    r = runner.invoke(cli, ["decompress", str(rich_hnr), "-o", str(tmp_path / "y.mat")])
    assert r.exit_code == 0, r.output
    lines = _warning_lines(r)
    assert len(lines) == 1 and "lost: no-data value (-9999), CRS" in lines[0]


def test_interleave_for_an_output_without_one_warns(runner, tmp_path, rich_hnr):
    r = runner.invoke(cli, ["decompress", str(rich_hnr), "-o", str(tmp_path / "y.npy"),
                            "--interleave", "bip"])
    assert r.exit_code == 0, r.output
    lines = _warning_lines(r)
    assert len(lines) == 2 and "--interleave bip applies to ENVI and GeoTIFF" in lines[0]
    r = runner.invoke(cli, ["decompress", str(rich_hnr), "-o", str(tmp_path / "y.tif"),
                            "--interleave", "bil"])
    assert r.exit_code == 0 and "no line interleave" in _warning_lines(r)[0]
    r = runner.invoke(cli, ["decompress", str(rich_hnr), "-o", str(tmp_path / "p.tif"),
                            "--interleave", "bip"])
    assert r.exit_code == 0 and _warning_lines(r) == []
    with rasterio.open(tmp_path / "p.tif") as ds:
        assert ds.profile["interleave"] == "pixel"


# ----------------------------------------------------------------------------- declaring
def _one_error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def holes(tmp_path):
    data = make_cube(h=20, w=24, c=12, dtype=np.float32).data  # big enough for 8 bpppb
    data[2:5, 3:6, :] = np.nan
    np.save(tmp_path / "holes.npy", data)
    return tmp_path / "holes.npy", data


def test_compress_nan_cube_with_nodata_nan(runner, tmp_path, holes):
    src, data = holes
    hnr, out = tmp_path / "h.hnr", tmp_path / "h.tif"
    r = runner.invoke(cli, ["compress", str(src), "-o", str(hnr), "--bpppb", "8", "-e", "1",
                            "--quiet"])
    assert r.exit_code == 1 and "--nodata nan" in _one_error_line(r)
    wl = tmp_path / "wl.txt"
    wl.write_text("\n".join(str(400 + 10 * i) for i in range(12)) + "\n")
    r = runner.invoke(cli, ["compress", str(src), "-o", str(hnr), "--bpppb", "8", "-e", "1",
                            "--nodata", "nan", "--wavelengths", str(wl), "--fwhm", "10"])
    assert r.exit_code == 0, r.output
    assert _warning_lines(r) == []  # wavelengths declared: no "band index" warning
    assert runner.invoke(cli, ["decompress", str(hnr), "-o", str(out)]).exit_code == 0
    with rasterio.open(out) as ds:
        back = np.moveaxis(ds.read(), 0, 2)
        assert np.isnan(ds.nodata) and ds.tags(1)["wavelength"] == "400.0"
        assert ds.tags(6)["fwhm"] == "10.0"
    assert np.array_equal(np.isnan(back), np.isnan(data))


@pytest.mark.parametrize("option, value", [
    ("--wavelengths", "4OO,500"), ("--wavelengths", "missing_file.txt"), ("--fwhm", "-3"),
    ("--shape", "100"), ("--shape", "a,b"), ("--nodata", "abc")])
def test_malformed_declarations_are_usage_errors(runner, tmp_path, holes, option, value):
    r = runner.invoke(cli, ["compress", str(holes[0]), "-o", str(tmp_path / "x.hnr"),
                            option, value])
    assert r.exit_code == 2, r.output
    assert option in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.hnr").exists()


@pytest.mark.parametrize("args, needle", [
    (["--wavelengths", "400,500"], "--wavelengths gives 2 values for 12 bands"),
    (["--fwhm", "1,2,3"], "--fwhm gives 3 values for 12 bands"),
    (["--shape", "12,10"], "--shape only applies to a 2-D matrix in a .mat file")])
def test_declarations_that_do_not_fit_are_exit_1(runner, tmp_path, holes, args, needle):
    r = runner.invoke(cli, ["compress", str(holes[0]), "-o", str(tmp_path / "x.hnr"),
                            "--nodata", "nan"] + args)
    assert r.exit_code == 1, r.output
    assert needle in _one_error_line(r)
    assert not (tmp_path / "x.hnr").exists()


def test_compress_mat_matrix_with_shape(runner, tmp_path):
    import scipy.io

    cube = make_cube(h=24, w=20, c=5, dtype=np.uint16).data
    y = np.reshape(cube, (480, 5), order="F").T  # 5 bands × 480 pixels, column-major
    scipy.io.savemat(tmp_path / "y.mat", {"Y": y})
    hnr = tmp_path / "y.hnr"
    r = runner.invoke(cli, ["compress", str(tmp_path / "y.mat"), "-o", str(hnr), "--bpppb",
                            "8", "-e", "1", "--shape", "24,20", "--wavelengths", "450:650:50",
                            "--nodata", "0", "--quiet"])
    assert r.exit_code == 0, r.output
    import hinerc

    back = hinerc.decompress(hnr)
    assert back.shape == (24, 20, 5) and back.nodata == 0.0
    assert back.wavelengths_nm.tolist() == [450.0, 500.0, 550.0, 600.0, 650.0]
    assert np.abs(back.data.astype(float) - cube).max() < 0.05 * cube.max()
    r = runner.invoke(cli, ["compress", str(tmp_path / "y.mat"), "-o", str(hnr), "--force",
                            "--shape", "20,20"])
    assert r.exit_code == 1 and "no 2-D variable has 400 pixels" in _one_error_line(r)


# ----------------------------------------------------------------------------- image stacks
@pytest.fixture
def png_folder(tmp_path):
    import imagecodecs

    cube = make_cube(h=24, w=20, c=10, dtype=np.uint16).data
    folder = tmp_path / "toy_ms"
    folder.mkdir()
    for i in range(10):
        (folder / f"toy_ms_{i + 1}.png").write_bytes(
            imagecodecs.png_encode(np.ascontiguousarray(cube[:, :, i])))
    return folder, cube


def test_compress_a_folder_of_pngs(runner, tmp_path, png_folder):
    folder, cube = png_folder
    r = runner.invoke(cli, ["compress", str(folder), "--wavelengths", "400:490:10",
                            "--bpppb", "4", "-e", "1"])
    assert r.exit_code == 0, r.output
    assert _warning_lines(r) == []
    hnr = tmp_path / "toy_ms.hnr"  # named after the folder
    out = tmp_path / "toy.hdr"
    assert runner.invoke(cli, ["decompress", str(hnr), "-o", str(out)]).exit_code == 0
    from hinerc.io import read_cube

    back = read_cube(out)
    assert back.shape == (24, 20, 10) and back.dtype == np.uint16
    assert back.band_names[1] == "toy_ms_2" and back.band_names[9] == "toy_ms_10"
    assert back.wavelengths_nm.tolist() == [400.0 + 10 * i for i in range(10)]
    assert np.abs(back.data.astype(float) - cube).max() < 0.05 * cube.max()


def test_compress_a_quoted_pattern(runner, tmp_path, png_folder):
    folder, _ = png_folder
    r = runner.invoke(cli, ["compress", str(folder / "toy_ms_?.png"), "--bpppb", "4", "-e", "1",
                            "--quiet"])
    assert r.exit_code == 0, r.output
    import hinerc

    assert hinerc.inspect(tmp_path / "toy_ms.hnr")["shape"] == [24, 20, 9]


def test_info_describes_a_folder_and_a_pattern(runner, png_folder):
    folder, _ = png_folder
    for arg, bands in ((folder, 10), (folder / "toy_ms_?.png", 9)):
        r = runner.invoke(cli, ["info", str(arg), "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["shape"] == [24, 20, bands]


def test_several_images_and_one_output_is_a_usage_error(runner, tmp_path, png_folder):
    folder, _ = png_folder
    files = sorted(str(p) for p in folder.iterdir())
    r = runner.invoke(cli, ["compress", *files, "-o", str(tmp_path / "x.hnr")])
    assert r.exit_code == 2 and "give their folder or a quoted pattern" in r.stderr


def test_mismatched_band_file_is_one_error_line(runner, tmp_path, png_folder):
    import imagecodecs

    folder, _ = png_folder
    (folder / "toy_ms_7.png").write_bytes(imagecodecs.png_encode(np.zeros((24, 20), np.uint8)))
    r = runner.invoke(cli, ["compress", str(folder), "-o", str(tmp_path / "x.hnr"), "--quiet"])
    assert r.exit_code == 1
    assert "toy_ms_7.png: 24×20 uint8, but" in _one_error_line(r)
    assert not (tmp_path / "x.hnr").exists()
