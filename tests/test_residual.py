"""--max-error E / --lossless: the RESD section keeps the bound on every sample (bit-identical at
E = 0 for integer and float cubes), hostile values included; a crafted or truncated RESD is a
CorruptFileError; the CLI's options, errors and ``info``."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

import hinerc
from hinerc import nearlossless, pipeline
from hinerc.bands import prepare
from hinerc.cli import cli
from hinerc.errors import CorruptFileError, UsageError
from hinerc.format import residual as R
from hinerc.format.container import RESIDUAL_TAG, SIGNATURE
from hinerc.io import Cube
from hinerc.settings import EncodeSettings

from conftest import make_cube
from marks import SHARED_DATA, requires_shared_data

BOUNDS = (1, 2, 4, 8)


# ----------------------------------------------------------------------- the field coder
def _round_trip(k, valid=None):
    records, esc, lows, words = R.encode_field(k, valid)
    buf = R.pack(R.MODE_INT, 0, records, esc, lows, words, R.field_crc(k))
    out = R.decode_field(R.parse(buf, k.shape[0], "int16"), k.shape[1], k.shape[2], valid)
    np.testing.assert_array_equal(out, k)
    return buf


@pytest.mark.parametrize("shape", [(6, 9, 11), (1, 1, 1), (3, 1, 7), (4, 7, 1)])
def test_field_round_trip(shape):
    rng = np.random.default_rng(0)
    k = np.cumsum(rng.laplace(0, 20, shape), axis=0).round().astype(np.int64)
    _round_trip(k)


def test_field_round_trip_extremes_and_escapes():
    rng = np.random.default_rng(1)
    info = np.iinfo(np.int64)
    k = rng.integers(-2 ** 40, 2 ** 40, (3, 4, 5))
    k[0, 0, 0], k[1, 2, 3], k[2, 3, 4] = info.min, info.max, 0
    _round_trip(k)
    spikes = np.zeros((2, 5, 5), np.int64)
    spikes[1, 2, 2] = 10 ** 9  # one escape in a field of zeros
    _round_trip(spikes)


def test_field_round_trip_with_nodata_samples():
    rng = np.random.default_rng(2)
    valid = rng.random((5, 8, 9)) > 0.4
    k = np.where(valid, rng.integers(-50, 50, valid.shape), 0)
    _round_trip(k, valid)


# ----------------------------------------------------------------------- whole cubes (no model)
def _hostile_int(dtype, seed=0):
    """Integer samples at the type's extremes, a constant band, a band of noise, a smooth
    band, against a prediction that is off by anything."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    h, w, c = 9, 7, 6
    x = np.empty((h, w, c), np.int64)
    x[:, :, 0] = rng.choice([info.min, info.max], (h, w))
    x[:, :, 1] = 17  # constant
    x[:, :, 2] = rng.integers(info.min, info.max, (h, w), endpoint=True)  # noise
    x[:, :, 3] = np.linspace(info.min, info.max, h * w).reshape(h, w).round()
    x[:, :, 4] = info.max
    x[:, :, 5] = rng.integers(0, 3, (h, w)) + info.min
    x = x.astype(dtype)
    pred = rng.integers(info.min, info.max, (h, w, c), endpoint=True).astype(dtype)
    return Cube(x), pred


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.uint8, np.int32])
@pytest.mark.parametrize("bound", (0,) + BOUNDS)
def test_bound_on_every_sample_hostile_integers(dtype, bound):
    cube, pred = _hostile_int(dtype)
    prep = prepare(cube)
    const = prep.table.kinds != 0
    assert const.sum() == 2
    pred[:, :, const] = cube.data[:, :, const]  # constant bands are exact already (restore)
    buf, out = R.encode_cube(cube.data, pred, prep.table, prep.nodata_mask, None, bound)
    err = np.abs(out.astype(np.int64) - cube.data.astype(np.int64))
    assert err.max() <= bound
    if bound == 0:
        assert out.tobytes() == cube.data.tobytes()
    again = R.decode_cube(pred, prep.table, prep.nodata_mask, None,
                          R.parse(buf, prep.table.coded.size, cube.dtype.name))
    np.testing.assert_array_equal(again, out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floats_lossless_bit_identical_hostile(dtype):
    rng = np.random.default_rng(3)
    h, w, c = 8, 6, 5
    x = (rng.normal(size=(h, w, c)) * 10.0 ** rng.integers(-30, 30, (h, w, c))).astype(dtype)
    fi = np.finfo(dtype)
    x[0, 0, 0], x[0, 1, 0], x[0, 2, 0], x[0, 3, 1] = -0.0, fi.tiny / 4, fi.max, -fi.max
    with np.errstate(all="ignore"):  # the prediction overflows to ±inf at ±max: hostile too
        pred = (x * (1 + rng.normal(0, 1e-3, x.shape))).astype(dtype)
        pred[1, 1, 1] = -x[1, 1, 1]
        cube = Cube(x)
        prep = prepare(cube)
    _, out = R.encode_cube(x, pred, prep.table, prep.nodata_mask, None, 0.0)
    assert out.tobytes() == x.tobytes()


@pytest.mark.parametrize("bound", BOUNDS + (0.01,))
def test_floats_near_lossless_bound(bound):
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(7, 9, 4)) * 100).astype(np.float32)
    pred = (x + rng.normal(0, 30, x.shape)).astype(np.float32)
    prep = prepare(Cube(x))
    _, out = R.encode_cube(x, pred, prep.table, prep.nodata_mask, None, float(bound))
    slack = np.spacing(np.abs(x).max())
    assert np.abs(out.astype(np.float64) - x).max() <= bound + slack


# ----------------------------------------------------------------------- through the pipeline
def _check(cube, bound, **kw):
    enc = nearlossless.encode(cube, EncodeSettings(max_error=float(bound), effort=1, **kw))
    ld = pipeline.load(enc.data)
    assert ld.max_error == bound
    out = pipeline.decode(ld).data
    real = np.ones(cube.shape, bool) if cube.nodata is None else ~(
        np.isnan(cube.data) if np.isnan(cube.nodata) else cube.data == cube.nodata)
    if bound == 0:
        assert out.tobytes() == cube.data.tobytes() or (
            cube.nodata is not None and np.array_equal(out[real].view(np.uint8),
                                                       cube.data[real].view(np.uint8)))
    else:
        err = np.abs(out.astype(np.float64) - cube.data.astype(np.float64))[real]
        assert err.max() <= bound * (1 + 1e-6)
    assert enc.quality.max_abs_error <= bound * (1 + 1e-6)
    return enc, out


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.float32])
def test_lossless_round_trip_bit_identical(dtype):
    cube = make_cube(dtype=dtype, h=12, w=10, c=8)
    if dtype == np.float32:
        cube = Cube(cube.data / 3000.0, wavelengths_nm=cube.wavelengths_nm)
    enc, _ = _check(cube, 0)
    assert enc.data[9] in (4, 7, 8)  # format 1.4 (1.7: embeddings range-coded; 1.8: compact side info)


def test_lossless_with_nodata():
    cube = make_cube(h=12, w=10, c=8, nodata=-9999)
    cube.data[2:4, 3:6, :] = -9999
    cube.data[5, 5, 2] = -9999
    _check(cube, 0)
    nan = make_cube(h=12, w=10, c=8, dtype=np.float32)
    nan.data[1:3, 1:3, :] = np.nan
    _check(Cube(nan.data, nodata=float("nan")), 0)


@pytest.mark.parametrize("bound", BOUNDS)
def test_near_lossless_bound_through_the_pipeline(bound):
    cube = make_cube(h=10, w=9, c=7)
    info = np.iinfo(np.int16)
    cube.data[0, :, 0] = info.max
    cube.data[1, :, 0] = info.min
    cube.data[:, :, 3] = 5  # constant band
    cube.data[:, :, 4] = np.random.default_rng(bound).integers(info.min, info.max, (10, 9))
    _check(cube, bound)


def test_single_pixel_cube():
    _check(make_cube(h=1, w=1, c=5), 0)
    _check(make_cube(h=1, w=1, c=5), 2)


def test_tiled_file_keeps_the_bound():
    cube = make_cube(h=20, w=18, c=6)
    enc, _ = _check(cube, 0, tile=10)
    ld = pipeline.load(enc.data)
    assert len(ld.rects) == 4 and all(r is not None for r in ld.residuals)
    _check(cube, 4, tile=10)


def test_files_without_the_bound_carry_no_residual(tmp_path):
    out = tmp_path / "lossy.hnr"
    hinerc.compress(make_cube(), out, bpppb=4.0)
    data = out.read_bytes()
    # 1.8 for its compact side information, whatever RESD (1.4) would need
    assert data[:8] == SIGNATURE and data[8:10] == bytes([1, 8])
    assert RESIDUAL_TAG.encode() not in data
    assert pipeline.load(data).max_error is None


def test_partial_decode_of_bands_and_windows(tmp_path):
    cube = make_cube(h=12, w=10, c=8)
    path = tmp_path / "l.hnr"
    hinerc.compress(cube, path, lossless=True, effort=1)
    part = hinerc.decompress(path, bands="2,5", window="1,2,5,4")
    np.testing.assert_array_equal(part.data, cube.data[1:6, 2:6][:, :, [2, 5]])


# ----------------------------------------------------------------------- corrupt residuals
def _lossless_file(tmp_path):
    path = tmp_path / "l.hnr"
    hinerc.compress(make_cube(h=12, w=10, c=8), path, lossless=True, effort=1)
    return path


def _with_resd(data: bytes, change) -> bytes:
    """``data`` with the RESD payload replaced by ``change(payload)``, its CRC made right."""
    pos = data.index(RESIDUAL_TAG.encode())
    (length,) = struct.unpack_from("<I", data, pos + 4)
    payload = change(data[pos + 8: pos + 8 + length])
    head = RESIDUAL_TAG.encode() + struct.pack("<I", len(payload))
    section = head + payload + struct.pack("<I", zlib.crc32(head + payload))
    return data[:pos] + section + data[pos + 12 + length:]


@pytest.mark.parametrize("change", [
    lambda p: p[:-4],  # the last coder word cut
    lambda p: p[:30],  # truncated inside the band records
    lambda p: p[:-8] + bytes(8),  # coder words zeroed
    lambda p: p[:18] + struct.pack("<I", zlib.crc32(b"x")) + p[22:],  # wrong field CRC
    lambda p: bytes([9]) + p[1:],  # unknown version
    lambda p: p[:1] + bytes([1]) + p[2:],  # float mode on an int16 cube
    lambda p: p[:10] + struct.pack("<I", 3) + p[14:],  # band count
], ids=["words-cut", "truncated", "words-zeroed", "crc", "version", "mode", "bands"])
def test_corrupt_residual_is_refused(tmp_path, change):
    path = _lossless_file(tmp_path)
    bad = _with_resd(path.read_bytes(), change)
    with pytest.raises(CorruptFileError):
        pipeline.decode(pipeline.load(bad))
    (tmp_path / "bad.hnr").write_bytes(bad)
    r = _runner().invoke(cli, ["decompress", str(tmp_path / "bad.hnr"), "-o",
                               str(tmp_path / "out.npy")])
    assert r.exit_code == 1, r.output
    assert "hinerc: error:" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out.npy").exists()


# ----------------------------------------------------------------------- CLI and API
def _runner():
    from click.testing import CliRunner
    return CliRunner()


def test_cli_lossless_and_info(tmp_path):
    np.save(tmp_path / "c.npy", make_cube(h=12, w=10, c=8).data)
    out = tmp_path / "c.hnr"
    r = _runner().invoke(cli, ["compress", str(tmp_path / "c.npy"), "-o", str(out),
                               "--lossless", "--effort", "1"])
    assert r.exit_code == 0, r.output
    assert "asked lossless" in r.output and "max error 0" in r.output
    info = _runner().invoke(cli, ["info", str(out)])
    assert "lossless: every sample bit-identical" in info.output
    assert any(f".hnr version 1.{m}" in info.output for m in (4, 7, 8))
    d = json.loads(_runner().invoke(cli, ["info", str(out), "--json"]).output)
    assert d["max_error_bound"] == 0
    r = _runner().invoke(cli, ["compress", str(tmp_path / "c.npy"), "-o", str(out), "--force",
                               "--max-error", "3", "--effort", "1", "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["max_error_bound"] == 3 and rec["max_abs_error"] <= 3
    info = _runner().invoke(cli, ["info", str(out)])
    assert "every sample within ±3 of the original (near-lossless)" in info.output


def test_cli_info_of_a_lossy_file(tiny_hnr):
    info = _runner().invoke(cli, ["info", str(tiny_hnr)])
    assert "error bound" in info.output and "none (lossy)" in info.output
    d = json.loads(_runner().invoke(cli, ["info", str(tiny_hnr), "--json"]).output)
    assert d["max_error_bound"] is None


@pytest.mark.parametrize("args, code, words", [
    (["--lossless", "--max-error", "2"], 2, "--lossless is --max-error 0"),
    (["--max-error", "2", "--psnr", "40"], 2, "cannot be combined"),
    (["--max-error", "-1"], 2, "--max-error"),
    (["--lossless", "--bpppb", "0.5"], 1, "--lossless cannot be met within --bpppb 0.5"),
    (["--max-error", "2", "--bpppb", "0.5"], 1, "--max-error 2 cannot be met within --bpppb"),
])
def test_cli_errors(tmp_path, args, code, words):
    np.save(tmp_path / "c.npy", make_cube(h=12, w=10, c=8).data)
    out = tmp_path / "c.hnr"
    r = _runner().invoke(cli, ["compress", str(tmp_path / "c.npy"), "-o", str(out), "--effort",
                               "1"] + args)
    assert r.exit_code == code, r.output
    assert words in r.output
    assert "Traceback" not in r.output
    assert not out.exists()


def test_settings_check_the_bound():
    with pytest.raises(UsageError):
        EncodeSettings(max_error=float("nan"))
    with pytest.raises(UsageError):
        EncodeSettings(max_error=1, min_band_psnr=40)
    s = EncodeSettings(max_error=2)
    assert s.bpppb is None and s.max_error == 2.0


def test_bound_words():
    assert R.describe_bound(0) == "lossless: every sample bit-identical to the original"
    assert "±2 " in R.describe_bound(2)


@pytest.mark.slow
@requires_shared_data
def test_jasper_lossless_beats_the_anchors_bit_identical(tmp_path):
    """Jasper Ridge lossless: bit-identical, and at most 0.9× the smallest anchor's 8.00 bits
    per sample (band-difference + LZMA, issue 17); 5.95 measured."""
    from hinerc.io import read_cube

    cube = read_cube(SHARED_DATA / "jasper_ridge" / "jasperRidge2_R198.hdr")
    path = tmp_path / "jr.hnr"
    r = hinerc.compress(cube, path, lossless=True)
    assert r.bpppb <= 0.9 * 8.00
    assert hinerc.decompress(path).data.tobytes() == cube.data.tobytes()
