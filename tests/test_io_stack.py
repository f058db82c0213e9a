"""Per-band image stacks: folders and glob patterns of single-band PNG/TIFF files, and
multi-page TIFFs, read as one cube."""

from __future__ import annotations

import imagecodecs
import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from hinerc.errors import HinercWarning, InputError
from hinerc.io import detect_format, input_files, read_cube, write_cube
from hinerc.io.stack import natural_key, output_stem
from io_helpers import assert_one_line, ramp, requires_shared, shared, utm33_wkt

pytestmark = [pytest.mark.filterwarnings("ignore::hinerc.errors.HinercWarning"),
              pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")]


def _png(path, band: np.ndarray) -> None:
    path.write_bytes(imagecodecs.png_encode(band))


def _bands(n=3, h=6, w=7, dtype="uint16"):
    cube = ramp((h, w, n), dtype)
    return cube, [np.ascontiguousarray(cube[:, :, i]) for i in range(n)]


def test_natural_order():
    names = ["band10.png", "band2.png", "Band1.png", "band1b.png"]
    assert sorted(names, key=natural_key) == ["Band1.png", "band1b.png", "band2.png", "band10.png"]


def test_folder_in_natural_order(tmp_path):
    cube, bands = _bands(3)
    for name, band in zip(("scene_1.png", "scene_2.png", "scene_10.png"), bands):
        _png(tmp_path / name, band)
    (tmp_path / "README.txt").write_text("not a band")
    _png(tmp_path / ".hidden.png", bands[0])
    assert detect_format(tmp_path) == "stack"
    got = read_cube(tmp_path)
    assert got.shape == (6, 7, 3) and got.dtype == np.uint16 and got.source_format == "stack"
    np.testing.assert_array_equal(got.data, cube)  # _10 is the last band, not the second
    assert got.band_names == ["scene_1", "scene_2", "scene_10"]
    assert [p.name for p in input_files(tmp_path)] == ["scene_1.png", "scene_2.png",
                                                      "scene_10.png"]


def test_glob_pattern_and_wavelengths(tmp_path):
    cube, bands = _bands(4, dtype="uint8")
    for i, band in enumerate(bands):
        _png(tmp_path / f"b{i + 1}.png", band)
    _png(tmp_path / "preview.png", bands[0])
    pattern = tmp_path / "b*.png"
    assert detect_format(pattern) == "stack" and output_stem(pattern) == tmp_path
    got = read_cube(pattern, wavelengths="450:600:50")
    np.testing.assert_array_equal(got.data, cube)
    assert got.wavelengths_nm.tolist() == [450.0, 500.0, 550.0, 600.0]
    with pytest.raises(InputError) as ei:
        read_cube(pattern, wavelengths="450,500")
    assert_one_line(ei.value, "--wavelengths gives 2 values for 4 bands")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "c*.png")
    assert_one_line(ei.value, "no file matches")
    (tmp_path / "b9.hdr").write_text("ENVI\n")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "b*")
    assert_one_line(ei.value, "b9.hdr", "leave it unquoted")


def test_single_png_is_one_band(tmp_path):
    _, bands = _bands(1)
    _png(tmp_path / "one.png", bands[0])
    assert read_cube(tmp_path / "one.png").shape == (6, 7, 1)


@pytest.mark.parametrize("bad, needle", [
    (np.zeros((6, 8), np.uint16), "6×8 uint16, but"),
    (np.zeros((6, 7), np.uint8), "6×7 uint8, but"),
    (np.zeros((6, 7, 3), np.uint8), "has 3 bands"),
])
def test_mismatched_band_is_named(tmp_path, bad, needle):
    _, bands = _bands(3)
    for i, band in enumerate(bands):
        _png(tmp_path / f"b{i}.png", band)
    _png(tmp_path / "b2.png", bad)
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path)
    assert_one_line(ei.value, str(tmp_path / "b2.png"), needle)


def test_empty_folder_and_not_written(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path)
    assert_one_line(ei.value, "no PNG or TIFF file")
    from hinerc.io import Cube

    with pytest.raises(InputError, match="does not write them"):
        write_cube(Cube(np.zeros((2, 2, 1), np.uint8)), tmp_path / "out.png")


def test_folder_of_single_band_geotiffs(tmp_path):
    cube, bands = _bands(3, dtype="int16")
    gt = (366975.0, 30.0, 0.0, 5808045.0, 0.0, -30.0)
    for i, band in enumerate(bands):
        with rasterio.open(tmp_path / f"B{i + 1}.TIF", "w", driver="GTiff", width=7, height=6,
                           count=1, dtype="int16", crs=utm33_wkt(), nodata=-9999,
                           transform=Affine.from_gdal(*gt)) as ds:
            ds.write(band[None])
    got = read_cube(tmp_path)
    np.testing.assert_array_equal(got.data, cube)
    assert got.transform == gt and got.nodata == -9999
    assert rasterio.crs.CRS.from_wkt(got.crs).to_epsg() == 32633
    with rasterio.open(tmp_path / "B3.TIF", "r+") as ds:  # one band off the grid
        ds.transform = Affine.from_gdal(gt[0] + 30, *gt[1:])
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path)
    assert_one_line(ei.value, "B3.TIF", "not on the grid")


def test_multipage_tiff_is_one_band_per_page(tmp_path):
    cube = ramp((5, 6, 4), "uint16")
    (tmp_path / "pages.tif").write_bytes(imagecodecs.tiff_encode(np.moveaxis(cube, 2, 0)))
    got = read_cube(tmp_path / "pages.tif", wavelengths="500:800:100")
    assert got.shape == (5, 6, 4) and got.dtype == np.uint16
    np.testing.assert_array_equal(got.data, cube)
    # a page of another size or type is named
    odd = imagecodecs.tiff_encode(np.zeros((5, 6), np.uint8),
                                  appendto=imagecodecs.tiff_encode(np.moveaxis(cube, 2, 0)))
    (tmp_path / "odd.tif").write_bytes(odd)
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "odd.tif")
    assert_one_line(ei.value, "odd.tif page 5", "5×6 uint8, but")
    # a multi-band GeoTIFF stays a multi-band GeoTIFF
    write_cube(read_cube(tmp_path / "pages.tif"), tmp_path / "bands.tif")
    with rasterio.open(tmp_path / "bands.tif") as ds:
        assert ds.count == 4 and ds.subdatasets == []
    np.testing.assert_array_equal(read_cube(tmp_path / "bands.tif").data, cube)


@requires_shared
def test_cave_folder():
    folder = shared("cave/chart_and_stuffed_toy_ms")
    with pytest.warns(HinercWarning, match="--wavelengths"):
        read_cube(folder / "chart_and_stuffed_toy_ms_0[12].png")
    cube = read_cube(folder, wavelengths="400:700:10")
    assert cube.shape == (512, 512, 31) and cube.dtype == np.uint16
    assert cube.band_names[0].endswith("_01") and cube.band_names[-1].endswith("_31")
    assert cube.wavelengths_nm[0] == 400.0 and cube.wavelengths_nm[-1] == 700.0
    last = imagecodecs.png_decode((folder / "chart_and_stuffed_toy_ms_31.png").read_bytes())
    np.testing.assert_array_equal(cube.data[:, :, 30], last)
    assert int(cube.data.max()) == 62423
