"""Random access: a window and a list of bands decode to exactly what the full decode holds
there, from the tiles the window meets only, with the metadata of that part."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from rasterio.crs import CRS

import hinerc
from hinerc import pipeline
from hinerc.cli import cli
from hinerc.errors import InputError, UsageError
from hinerc.io import Cube, read_cube
from hinerc.region import parse_bands, parse_window, region


# ------------------------------------------------------------------------------ parsing
def test_bands_syntax():
    assert parse_bands("10:13,2") == [10, 11, 12, 2]
    assert parse_bands(":3", 10) == [0, 1, 2]
    assert parse_bands("8:", 10) == [8, 9]
    assert parse_bands([4, 1]) == [4, 1]
    for bad in ("a", "5:5", "3:1", "-1", "1,1", "1:2:3", ""):
        with pytest.raises(UsageError):
            parse_bands(bad)
    with pytest.raises(InputError, match="the cube has 10 bands"):
        parse_bands("5:11", 10)


def test_window_syntax_and_bounds():
    assert parse_window("1,2,3,4") == (1, 2, 3, 4)
    for bad in ("1,2,3", "a,b,c,d", "0,0,0,5", "-1,0,2,2"):
        with pytest.raises(UsageError):
            parse_window(bad)
    with pytest.raises(InputError, match="outside the 10×8 image"):
        region("5,0,6,2", None, 10, 8, 3)
    r = region(None, None, 10, 8, 3)
    assert (r.top, r.left, r.height, r.width, r.bands) == (0, 0, 10, 8, None)


# ------------------------------------------------------------------------------ decoding
@pytest.fixture(scope="module")
def tiled(tmp_path_factory) -> tuple[Path, Cube]:
    """A 30×26×12 int16 cube with georeference and per-band metadata, in 3×3 tiles of ≤ 10."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:30, 0:26]
    spectra = rng.uniform(500, 3000, (3, 12))
    data = sum(np.sin((yy * (i + 1) + xx) / 7.0)[..., None] * spectra[i] for i in range(3))
    data = (data + rng.normal(0, 20, data.shape) + 4000).astype(np.int16)
    cube = Cube(data, wavelengths_nm=np.linspace(400, 950, 12), fwhm_nm=np.full(12, 9.5),
                bad_bands=np.arange(12) == 3, band_names=[f"b{i}" for i in range(12)],
                crs=CRS.from_epsg(32610).to_wkt(), transform=(500000.0, 30.0, 0.0, 4200000.0, 0.0, -30.0),
                extra={"envi": {"data gain values": "{" + ", ".join(["0.0001"] * 12) + "}",
                                "default bands": "{5, 3, 1}"}})
    path = tmp_path_factory.mktemp("region") / "t.hnr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hinerc.compress(cube, path, bpppb=12.0, tile=10, effort=1)
    return path, hinerc.decompress(path)


@pytest.mark.parametrize("window,bands", [("0,0,30,26", None), ("3,4,5,6", None),
                                          ("8,9,13,12", "2:5,10"), (None, "11,0"),
                                          ("29,25,1,1", "7")])
def test_window_and_bands_equal_the_full_decode(tiled, window, bands):
    path, full = tiled
    part = hinerc.decompress(path, window=window, bands=bands)
    r = region(window, bands, 30, 26, 12)
    sel = np.arange(12) if r.bands is None else r.bands
    expect = full.data[r.top:r.top + r.height, r.left:r.left + r.width][:, :, sel]
    np.testing.assert_array_equal(part.data, expect)
    np.testing.assert_array_equal(part.wavelengths_nm, full.wavelengths_nm[sel])
    np.testing.assert_array_equal(part.bad_bands, full.bad_bands[sel])
    assert part.band_names == [full.band_names[i] for i in sel]
    x0, dx, _, y0, _, dy = part.transform
    assert (x0, y0) == (500000.0 + 30.0 * r.left, 4200000.0 - 30.0 * r.top)
    assert part.crs == full.crs


def test_only_the_tiles_the_window_meets_are_decoded(tiled, monkeypatch):
    path, _ = tiled
    seen: list[int] = []
    real = pipeline.decode_part

    def counting(ld, index, device="cpu", bands=None, window=None, out=None):
        seen.append(index)
        return real(ld, index, device, bands, window, out)

    monkeypatch.setattr(pipeline, "decode_part", counting)
    hinerc.decompress(path, window="12,12,5,5")  # inside the centre tile
    assert seen == [4]
    seen.clear()
    hinerc.decompress(path, window="8,8,4,4")  # across the corner of four tiles
    assert sorted(seen) == [0, 1, 3, 4]


def test_per_band_metadata_follows_the_bands(tiled, tmp_path):
    path, _ = tiled
    out = tmp_path / "p.hdr"
    hinerc.decompress(path, out, bands="5,1,3")
    back = read_cube(out)
    assert back.shape == (30, 26, 3) and back.band_names == ["b5", "b1", "b3"]
    envi = back.extra.get("envi", {})
    assert "default bands" not in envi  # {5, 3, 1} are bands 4, 2, 0: not all kept
    hinerc.decompress(path, out, bands="0:6", force=True)
    back = read_cube(out)
    from hinerc.io.spectral_meta import split_envi_list

    assert split_envi_list(back.extra["envi"]["default bands"]) == ["5", "3", "1"]


def test_cli_window_bands_and_errors(runner, tiled, tmp_path):
    path, full = tiled
    out = tmp_path / "part.tif"
    r = runner.invoke(cli, ["decompress", str(path), "-o", str(out), "--window", "2,3,10,11",
                            "--bands", "4:8", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["shape"] == [10, 11, 4]
    np.testing.assert_array_equal(read_cube(out).data, full.data[2:12, 3:14, 4:8])
    cases = [(["--window", "1,2"], 2, "--window"), (["--bands", "x"], 2, "--bands"),
             (["--window", "25,0,10,5"], 1, "outside the 30×26 image"),
             (["--bands", "12"], 1, "the cube has 12 bands")]
    for args, code, needle in cases:
        bad = tmp_path / "bad.tif"
        r = runner.invoke(cli, ["decompress", str(path), "-o", str(bad), *args])
        assert r.exit_code == code and needle in r.stderr, (args, r.stderr)
        assert not bad.exists()


def test_resample_window_equals_the_full_resample(tiled, runner, tmp_path):
    path, _ = tiled
    full = hinerc.resample(path, wavelengths="420:900:40")
    part = hinerc.resample(path, wavelengths="420:900:40", window="7,5,12,9")
    np.testing.assert_array_equal(part.data, full.data[7:19, 5:14])
    assert part.transform[0] == 500000.0 + 30.0 * 5 and part.transform[3] == 4200000.0 - 30.0 * 7
    r = runner.invoke(cli, ["resample", str(path), "-o", str(tmp_path / "r.tif"),
                            "--wavelengths", "500,600", "--window", "0,0,3,3", "--quiet"])
    assert r.exit_code == 0, r.output
    assert read_cube(tmp_path / "r.tif").shape == (3, 3, 2)


def test_lowrank_mixes_only_the_bands_asked_for(tiled, monkeypatch):
    """With --bands the low-rank codec mixes its maps for those bands alone (decode_some),
    never the whole cube; the values are those of the full decode."""
    from hinerc.codecs.lowrank import LowRankCodec

    path, full = tiled
    asked = []
    real = LowRankCodec.decode_some

    def some(self, content, header, device, coded):
        asked.append(list(coded))
        return real(self, content, header, device, coded)

    def whole(*args, **kwargs):
        raise AssertionError("the whole tile was decoded")

    monkeypatch.setattr(LowRankCodec, "decode_some", some)
    monkeypatch.setattr(LowRankCodec, "decode", whole)
    part = hinerc.decompress(path, window="0,0,5,5", bands="9,2")
    np.testing.assert_array_equal(part.data, full.data[:5, :5][:, :, [9, 2]])
    assert [[int(i) for i in a] for a in asked] == [[2, 9]]  # one tile, its two coded bands in coded order
