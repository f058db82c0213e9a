"""The command line reading and writing cubes: metadata across output formats, warnings for
what an output drops, --interleave where it cannot apply."""

from __future__ import annotations

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
