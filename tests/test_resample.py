"""hinerc resample: target grids, response files, integration, the spectral spline, the command."""

import json
import math

import numpy as np
import pytest

import hinerc
from hinerc.cli import cli
from hinerc.errors import InputError
from hinerc.io import Cube, read_cube, write_cube
from hinerc.spectral import (SpectralModel, TargetBands, parse_wavelengths, plan_sampling,
                             read_srf)

from conftest import ROOT, make_cube

ENMAP_CROP = ROOT / "tests" / "data" / "enmap_crop.tif"


# ----------------------------------------------------------------------------- grids
def test_grid_includes_stop_on_the_grid():
    np.testing.assert_allclose(parse_wavelengths("400:420:5").centres_nm, [400, 405, 410, 415, 420])
    np.testing.assert_allclose(parse_wavelengths("400:418:5").centres_nm, [400, 405, 410, 415])
    np.testing.assert_allclose(parse_wavelengths("0.5:0.5:1").centres_nm, [0.5])
    # floating-point steps do not lose the last point
    assert parse_wavelengths("400:2500:0.1").count == 21001


def test_comma_list_and_names():
    t = parse_wavelengths(" 450, 550,650.5 ")
    np.testing.assert_allclose(t.centres_nm, [450, 550, 650.5])
    assert t.names == ["450 nm", "550 nm", "650.5 nm"] and t.fwhm_nm is None


@pytest.mark.parametrize("text", ["", "a,b", "400:500", "400:500:0", "500:400:5", "1:2:3:4",
                                  "400:500:-1", "-5,10", "nan", "400:1e9:0.001"])
def test_bad_grids_refused(text):
    with pytest.raises(InputError):
        parse_wavelengths(text)


# ----------------------------------------------------------------------------- response files
def test_srf_csv_with_header(tmp_path):
    grid = np.arange(400, 701, 1.0)
    blue = np.exp(-0.5 * ((grid - 490) / 20) ** 2)
    red = ((grid >= 640) & (grid <= 680)).astype(float)
    p = tmp_path / "srf.csv"
    p.write_text("wavelength;blue;red\n" + "\n".join(
        f"{g};{b:.8f};{r}" for g, b, r in zip(grid, blue, red)))
    t = read_srf(p)
    assert t.names == ["blue", "red"] and t.count == 2 and t.integrates
    np.testing.assert_allclose(t.centres_nm, [490, 660], atol=0.01)
    assert t.fwhm_nm[0] == pytest.approx(2.3548 * 20, abs=1.0)


def test_srf_without_header(tmp_path):
    p = tmp_path / "srf.csv"
    p.write_text("500,0\n510,1\n520,0\n")
    t = read_srf(p)
    assert t.names == ["510 nm"] and t.centres_nm[0] == pytest.approx(510)


@pytest.mark.parametrize("text", ["", "w,a\n", "500,1\n", "500,1\n490,1\n", "500,-1\n510,1\n",
                                  "500,0\n510,0\n", "500,x\n510,1\n", "w,a,b\n500,1\n510,1\n",
                                  "500,nan\n510,1\n"])
def test_bad_srf_refused(tmp_path, text):
    p = tmp_path / "srf.csv"
    p.write_text(text)
    with pytest.raises(InputError):
        read_srf(p)


def test_missing_srf_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_srf(tmp_path / "nope.csv")


# ----------------------------------------------------------------------------- integration
def spectrum(wl):
    return np.sin(np.asarray(wl) / 50.0)


def test_point_plan_is_the_centres():
    plan = plan_sampling(TargetBands([500.0, 600.0]), 400, 1000, 10)
    np.testing.assert_array_equal(plan.wavelengths, [500, 600])
    np.testing.assert_array_equal(plan.weights, np.eye(2))


def test_gaussian_integration_matches_the_analytic_value():
    # ∫ N(λ; c, σ) sin(λ/50) dλ = exp(−σ²/(2·50²)) sin(c/50)
    c = np.array([600.0, 700.0, 812.5])
    fwhm = np.array([10.0, 30.0, 55.0])
    plan = plan_sampling(TargetBands(c, fwhm), 400, 1000, 10)
    got = plan.weights @ spectrum(plan.wavelengths)
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    want = np.exp(-sigma**2 / (2 * 50.0**2)) * np.sin(c / 50)
    np.testing.assert_allclose(got, want, atol=2e-4)
    assert np.abs(got - spectrum(c)).max() > 10 * np.abs(got - want).max()  # not the centre value


def test_srf_integration_matches_the_analytic_value(tmp_path):
    # a box response on [640, 680] over λ²: the mean of λ² over the box
    grid = np.concatenate([[600.0, 639.999], np.arange(640, 681, 5.0), [680.001, 720]])
    box = ((grid >= 640) & (grid <= 680)).astype(float)
    p = tmp_path / "box.csv"
    p.write_text("\n".join(f"{g},{b}" for g, b in zip(grid, box)))
    plan = plan_sampling(read_srf(p), 400, 1000, 10)
    got = plan.weights @ plan.wavelengths**2
    want = (680**3 - 640**3) / (3 * 40)
    assert got[0] == pytest.approx(want, rel=1e-5)


def test_integration_has_converged():
    from hinerc import spectral as rs
    target = TargetBands([500.0, 730.0], [8.0, 40.0])
    a = plan_sampling(target, 400, 1000, 10)
    old = rs.PER_FWHM, rs.PER_SPACING
    try:
        rs.PER_FWHM, rs.PER_SPACING = 2 * old[0], 2 * old[1]
        b = plan_sampling(target, 400, 1000, 10)
    finally:
        rs.PER_FWHM, rs.PER_SPACING = old
    assert b.wavelengths.size > a.wavelengths.size
    fa, fb = a.weights @ spectrum(a.wavelengths), b.weights @ spectrum(b.wavelengths)
    np.testing.assert_allclose(fa, fb, atol=1e-6)


def test_range_check_and_edges():
    with pytest.raises(InputError, match="outside the encoded range"):
        plan_sampling(TargetBands([390.0]), 400, 1000, 10)
    plan = plan_sampling(TargetBands([390.0]), 400, 1000, 10, extrapolate=True)
    np.testing.assert_array_equal(plan.wavelengths, [390])
    # a Gaussian at the edge is cut at the range and renormalised
    plan = plan_sampling(TargetBands([400.0], [20.0]), 400, 1000, 10)
    assert plan.wavelengths.min() >= 400 and plan.weights.sum() == pytest.approx(1)


# ----------------------------------------------------------------------------- the model
def bands_of(profile, wl, h=3, w=4):
    """N×H×W bands whose every pixel follows ``profile(λ)`` times a pixel gain."""
    gain = np.linspace(1, 2, h * w).reshape(h, w)
    return profile(wl)[:, None, None] * gain[None]


def test_model_is_exact_at_knots_and_averages_repeats():
    wl = np.array([700.0, 400.0, 500.0, 600.0, 500.0])  # unsorted, one wavelength twice
    m = SpectralModel(wl, bands_of(lambda x: x / 100, wl))
    got = m.weights(np.array([400.0, 500.0, 700.0]))
    np.testing.assert_array_equal(got[0], [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(got[1], [0, 0, 0.5, 0, 0.5])
    np.testing.assert_array_equal(got[2], [1, 0, 0, 0, 0])
    # beyond the ends the end interval's line continues
    np.testing.assert_allclose(m.weights(np.array([750.0])) @ (wl / 100), [7.5])


def test_model_picks_the_cubic_on_smooth_spectra():
    wl = np.arange(400, 1001, 20.0)
    m = SpectralModel(wl, bands_of(lambda x: np.sin(x / 60), wl))
    assert m.cubic[1:-1].all()
    mid = (wl[5:-5] + wl[6:-4]) / 2
    err = np.abs(m.weights(mid) @ np.sin(wl / 60) - np.sin(mid / 60)).max()
    lin = np.abs(np.interp(mid, wl, np.sin(wl / 60)) - np.sin(mid / 60)).max()
    assert err < lin / 10


def test_model_picks_the_line_where_the_cubic_overshoots():
    wl = np.arange(400, 1001, 20.0)
    zigzag = lambda x: ((x - 400) / 20 % 2 == 0).astype(float)  # noqa: E731
    m = SpectralModel(wl, bands_of(zigzag, wl))
    assert not m.cubic.any()
    # a linear spectrum is exact either way; the tie goes to the line
    assert not SpectralModel(wl, bands_of(lambda x: x, wl)).cubic.any()


# ----------------------------------------------------------------------------- through a file
@pytest.fixture(scope="module")
def special_hnr(tmp_path_factory):
    """A file with a constant band, an all-no-data band and scattered no-data pixels."""
    cube = make_cube(c=10, nodata=-9999)
    cube.data[:, :, 3] = 1234
    cube.data[:, :, 6] = -9999
    cube.data[2:4, 5:9, :] = -9999
    path = tmp_path_factory.mktemp("rs") / "special.hnr"
    hinerc.compress(cube, path, bpppb=6.0, arch="hiner", epochs=3, seed=1)
    return path


@pytest.mark.parametrize("name", ["tiny_hnr", "special_hnr"])
def test_original_wavelengths_give_the_decompressed_cube(name, request):
    path = request.getfixturevalue(name)
    ref = hinerc.decompress(path)
    out = hinerc.resample(path, wavelengths=ref.wavelengths_nm.tolist())
    assert out.dtype == ref.dtype
    np.testing.assert_array_equal(out.data, ref.data)


def test_between_bands_is_smooth_and_masked(special_hnr):
    ref = hinerc.decompress(special_hnr)
    wl = ref.wavelengths_nm
    mid = (wl[:-1] + wl[1:]) / 2
    out = hinerc.resample(special_hnr, wavelengths=mid.tolist(), dtype="float32")
    assert out.dtype == np.float32 and out.shape == (20, 24, 9)
    hole = out.data[2:4, 5:9, :]
    assert np.all(hole == -9999)  # no-data in the neighbours stays no-data
    good = np.ones((20, 24), bool)
    good[2:4, 5:9] = False
    lo, hi = ref.data[good][:, [0, 1]].astype(float).T
    between = out.data[good][:, 0]
    # the first mid-band lies near the span of its two neighbours (a spline may overshoot a bit)
    span = np.abs(hi - lo) + 50
    assert np.mean(np.abs(between - (lo + hi) / 2) <= span) > 0.95


def test_tiled_file_resamples(tmp_path):
    cube = make_cube(h=40, w=40, c=16)
    path = tmp_path / "t.hnr"
    hinerc.compress(cube, path, bpppb=3.0, arch="hiner", epochs=2, tile=20)
    assert hinerc.inspect(path)["tiles"] == 4
    ref = hinerc.decompress(path)
    np.testing.assert_array_equal(hinerc.resample(path, wavelengths=ref.wavelengths_nm).data,
                                  ref.data)
    out = hinerc.resample(path, wavelengths="450:950:25")
    assert out.shape == (40, 40, 21)


def test_like_with_fwhm_integrates_and_writes_metadata(tmp_path, tiny_hnr):
    other = make_cube(h=4, w=4, c=5)
    other.wavelengths_nm = np.array([420.0, 500.0, 610.0, 700.5, 990.0])
    other.fwhm_nm = np.array([12.0, 12.0, 15.0, 20.0, 9.0])
    write_cube(other, tmp_path / "other.hdr")
    out = hinerc.resample(tiny_hnr, tmp_path / "o.hdr", like=tmp_path / "other.hdr")
    back = read_cube(tmp_path / "o.hdr")
    assert back.shape == (20, 24, 5) and back.dtype == np.int16
    np.testing.assert_allclose(back.wavelengths_nm, other.wavelengths_nm)
    np.testing.assert_allclose(back.fwhm_nm, other.fwhm_nm)
    np.testing.assert_array_equal(back.data, out.data)
    # integrated values differ from point values at the same centres
    points = hinerc.resample(tiny_hnr, wavelengths=other.wavelengths_nm)
    assert not np.array_equal(points.data, out.data)


def test_geotiff_output_keeps_georeference(tmp_path):
    src = read_cube(ENMAP_CROP)
    path = tmp_path / "e.hnr"
    hinerc.compress(src, path, bpppb=2.0, arch="hiner", epochs=1)
    hinerc.resample(path, tmp_path / "e.tif", wavelengths="500:900:50")
    back = read_cube(tmp_path / "e.tif")
    assert back.crs == src.crs and back.transform == src.transform and back.nodata == src.nodata
    np.testing.assert_allclose(back.wavelengths_nm, np.arange(500, 901, 50.0))
    assert back.band_names[0] == "500 nm" and back.bad_bands is None


def test_no_resample_marks_the_file_at_the_same_rate(tmp_path):
    cube = make_cube()
    a, b = tmp_path / "a.hnr", tmp_path / "b.hnr"
    hinerc.compress(cube, a, bpppb=4.0, arch="hiner", epochs=2, seed=3)
    hinerc.compress(cube, b, bpppb=4.0, arch="hiner", epochs=2, seed=3, resample=False)
    for p in (a, b):  # the spectral model costs nothing: both hold the rate
        assert 0.97 * 4.0 <= p.stat().st_size * 8 / cube.data.size <= 1.03 * 4.0
    assert abs(a.stat().st_size - b.stat().st_size) <= 8  # only the report's timing differs
    assert hinerc.inspect(a)["resample"] and not hinerc.inspect(b)["resample"]
    with pytest.raises(InputError, match="--no-resample"):
        hinerc.resample(b, wavelengths="500")
    np.testing.assert_array_equal(hinerc.decompress(b).data, hinerc.decompress(a).data)


def test_choices_and_refusals(tmp_path, tiny_hnr):
    with pytest.raises(InputError, match="exactly one"):
        hinerc.resample(tiny_hnr)
    with pytest.raises(InputError, match="exactly one"):
        hinerc.resample(tiny_hnr, wavelengths="500", srf=tmp_path / "x.csv")
    with pytest.raises(InputError, match="outside the encoded range"):
        hinerc.resample(tiny_hnr, wavelengths="350,500")
    nowl = Cube(make_cube().data)
    p = tmp_path / "nowl.hnr"
    hinerc.compress(nowl, p, bpppb=4.0, arch="hiner", epochs=1)
    with pytest.raises(InputError, match="no wavelengths"):
        hinerc.resample(p, wavelengths="1,2")
    with pytest.raises(InputError):
        hinerc.resample(tiny_hnr, tmp_path / "x.tif", wavelengths="500", dtype="int8")


# ----------------------------------------------------------------------------- the command
def test_cli_resample(runner, tmp_path, tiny_hnr):
    out = tmp_path / "r.tif"
    r = runner.invoke(cli, ["resample", str(tiny_hnr), "-o", str(out), "--wavelengths",
                            "450:950:50", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["shape"] == [20, 24, 11] and d["wavelengths_nm"][-1] == 950
    srf = tmp_path / "s.csv"
    srf.write_text("nm,green,nir\n500,0\n540,1\n580,0\n800,0\n840,0\n860,1\n880,0\n"
                   .replace("500,0", "500,0,0").replace("540,1", "540,1,0")
                   .replace("580,0", "580,0,0").replace("800,0", "800,0,0")
                   .replace("840,0", "840,0,0").replace("860,1", "860,0,1")
                   .replace("880,0", "880,0,0"))
    r = runner.invoke(cli, ["resample", str(tiny_hnr), "-o", str(tmp_path / "s.hdr"), "--srf",
                            str(srf), "--quiet"])
    assert r.exit_code == 0, r.output
    assert read_cube(tmp_path / "s.hdr").band_names == ["green", "nir"]


@pytest.mark.parametrize("args, code", [
    ([], 2), (["--wavelengths", "500", "--like", "x.hdr"], 2),
    (["--wavelengths", "300"], 1), (["--wavelengths", "oops"], 1),
    (["--wavelengths", "300", "--extrapolate"], 0), (["--srf", "missing.csv"], 1),
])
def test_cli_exit_codes(runner, tmp_path, tiny_hnr, args, code):
    out = tmp_path / "r.npy"
    r = runner.invoke(cli, ["resample", str(tiny_hnr), "-o", str(out), *args])
    assert r.exit_code == code, r.output
    if code:
        assert not out.exists()
        if code == 1:
            assert len(r.output.strip().splitlines()) == 1


def test_info_says_whether_a_file_resamples(runner, tiny_hnr):
    r = runner.invoke(cli, ["info", str(tiny_hnr)])
    assert "resample" in r.output and "yes" in r.output


def test_a_tie_between_line_and_cubic_is_not_decided_by_rounding():
    # a linear spectrum with noise at the last bits of a double: both fits are exact up to
    # rounding, which differs between BLAS kernels; the line must win every interval
    wl = np.arange(400, 1001, 20.0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        bands = bands_of(lambda x: 3.0 * x + 7.0, wl)
        bands = bands * (1 + rng.uniform(-4e-16, 4e-16, bands.shape))
        assert not SpectralModel(wl, bands).cubic.any()
