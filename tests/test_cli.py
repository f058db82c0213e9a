"""The command line end to end: compress, decompress, info; exit codes and one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from hinerc.cli import cli
from hinerc.io import read_cube
from hinerc.metrics import mean_psnr

from io_helpers import sigint_as_a_terminal
from marks import SHARED_DATA, requires_shared_data


def _one_error_line(result):
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hinerc: error: ")
    return lines[0]


@pytest.mark.parametrize("cmd", [[], ["compress"], ["decompress"], ["info"]])
def test_help(runner, cmd):
    r = runner.invoke(cli, cmd + ["--help"])
    assert r.exit_code == 0
    assert "Usage:" in r.output
    if cmd:
        assert "Examples:" in r.output


def test_version(runner):
    r = runner.invoke(cli, ["--version"])
    assert r.exit_code == 0 and "hinerc" in r.output


def test_sample_roundtrip(runner, tmp_path, sample_hdr):
    hnr, dec = tmp_path / "s.hnr", tmp_path / "s_dec.hdr"
    r = runner.invoke(cli, ["compress", str(sample_hdr), "-o", str(hnr), "--bpppb", "0.5",
                            "--arch", "hiner", "--epochs", "2", "--quiet"])
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    r = runner.invoke(cli, ["info", str(hnr), "--json"])
    assert r.exit_code == 0
    info = json.loads(r.stdout)
    for key in ("shape", "dtype", "wavelength_min_nm", "wavelength_max_nm", "wavelength_count",
                "file_bytes", "bpppb", "compression_ratio", "model_values", "psnr_db",
                "encode_seconds", "device"):
        assert key in info
    assert info["shape"] == [40, 40, 198] and info["dtype"] == "int16"
    assert 0.485 <= info["bpppb"] <= 0.515
    r = runner.invoke(cli, ["decompress", str(hnr), "-o", str(dec)])
    assert r.exit_code == 0, r.output
    orig, back = read_cube(sample_hdr), read_cube(dec)
    assert back.dtype == np.int16 and back.interleave == "bil" and back.shape == orig.shape
    np.testing.assert_array_equal(back.wavelengths_nm, orig.wavelengths_nm)
    np.testing.assert_array_equal(back.fwhm_nm, orig.fwhm_nm)
    np.testing.assert_array_equal(back.bad_bands, orig.bad_bands)
    assert back.extra["envi"]["reflectance scale factor"] == orig.extra["envi"]["reflectance scale factor"]
    assert abs(mean_psnr(orig.data, back.data) - info["psnr_db"]) < 0.01


def test_compress_json_and_closing_line(runner, tmp_path, sample_hdr):
    out = tmp_path / "j.hnr"
    r = runner.invoke(cli, ["compress", str(sample_hdr), "-o", str(out), "--bpppb", "1",
                            "--arch", "hiner", "--epochs", "1", "--json", "--quiet"])
    assert r.exit_code == 0
    d = json.loads(r.stdout)
    assert d["size_bytes"] == out.stat().st_size
    r = runner.invoke(cli, ["compress", str(sample_hdr), "-o", str(out), "--bpppb", "1",
                            "--arch", "hiner", "--epochs", "1", "--force"])
    assert r.exit_code == 0
    assert "bpppb" in r.stdout and "PSNR" in r.stdout and "dB" in r.stdout


def test_existing_output_is_exit_1(runner, tmp_path, tiny_hnr):
    out = tmp_path / "x.hdr"
    out.write_text("keep")
    r = runner.invoke(cli, ["decompress", str(tiny_hnr), "-o", str(out)])
    assert r.exit_code == 1
    assert "--force" in _one_error_line(r)
    assert out.read_text() == "keep"


@pytest.mark.parametrize("content", [b"", b"not an hnr file at all", None])
def test_bad_hnr_is_exit_1_one_line(runner, tmp_path, content):
    p = tmp_path / "bad.hnr"
    if content is not None:
        p.write_bytes(content)
    for cmd in (["info", str(p)], ["decompress", str(p), "-o", str(tmp_path / "o.npy")]):
        r = runner.invoke(cli, cmd)
        assert r.exit_code == 1, r.output
        _one_error_line(r)
    assert not (tmp_path / "o.npy").exists()


def test_every_changed_byte_exits_1(runner, tmp_path, tiny_hnr):
    buf = tiny_hnr.read_bytes()
    for i in range(0, len(buf), max(1, len(buf) // 97)):
        bad = bytearray(buf)
        bad[i] = (bad[i] + 1) % 256
        p = tmp_path / "b.hnr"
        p.write_bytes(bytes(bad))
        r = runner.invoke(cli, ["info", str(p)])
        assert r.exit_code == 1, (i, r.output)
        _one_error_line(r)
        r = runner.invoke(cli, ["decompress", str(p), "-o", str(tmp_path / "o.npy")])
        assert r.exit_code == 1, (i, r.output)
        assert not (tmp_path / "o.npy").exists()


def test_usage_error_is_exit_2(runner, sample_hdr):
    assert runner.invoke(cli, ["compress"]).exit_code == 2
    assert runner.invoke(cli, ["compress", str(sample_hdr), "--bpppb", "-1"]).exit_code == 2
    assert runner.invoke(cli, ["compress", str(sample_hdr), "--effortless"]).exit_code == 2


def test_unreachable_rate_is_exit_1(runner, tmp_path, sample_hdr):
    r = runner.invoke(cli, ["compress", str(sample_hdr), "-o", str(tmp_path / "x.hnr"),
                            "--bpppb", "0.001"])
    assert r.exit_code == 1
    assert "bpppb" in _one_error_line(r)
    assert not (tmp_path / "x.hnr").exists()


def test_internal_error_is_exit_3(runner, monkeypatch, tiny_hnr):
    import hinerc.api

    def boom(*a, **k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(hinerc.api, "inspect", boom)
    r = runner.invoke(cli, ["info", str(tiny_hnr)])
    assert r.exit_code == 3
    assert "internal error" in r.stderr and "Traceback" not in r.stderr
    r = runner.invoke(cli, ["info", str(tiny_hnr), "--debug"])
    assert r.exit_code == 3


def test_info_on_input_cube(runner, sample_hdr):
    r = runner.invoke(cli, ["info", str(sample_hdr)])
    assert r.exit_code == 0
    assert "40 × 40 × 198" in r.stdout and "399.37" in r.stdout


def test_info_does_not_import_torch(tiny_hnr):
    code = ("import sys; from hinerc.cli import main; sys.argv=['hinerc','info','%s'];\n"
            "try: main()\nexcept SystemExit: pass\nassert 'torch' not in sys.modules" % tiny_hnr)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_python_dash_m(tiny_hnr):
    r = subprocess.run([sys.executable, "-m", "hinerc", "info", str(tiny_hnr), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["kind"] == "hnr"


@requires_shared_data
def test_enmap_geotiff_roundtrip(runner, tmp_path):
    from hinerc.bands import nodata_mask
    src = SHARED_DATA / "enmap_potsdam" / "images" / "enmap_potsdam_tile_160_64.tif"
    hnr, out = tmp_path / "e.hnr", tmp_path / "e.tif"
    assert runner.invoke(cli, ["compress", str(src), "-o", str(hnr), "--bpppb", "1",
                               "--arch", "hiner", "--epochs", "1", "--quiet"]).exit_code == 0
    assert runner.invoke(cli, ["decompress", str(hnr), "-o", str(out), "--quiet"]).exit_code == 0
    a, b = read_cube(src), read_cube(out)
    assert b.crs == a.crs and b.transform == a.transform and b.nodata == -32768
    np.testing.assert_array_equal(b.wavelengths_nm, a.wavelengths_nm)
    np.testing.assert_array_equal(nodata_mask(a), nodata_mask(b))
    assert (b.data[:, :, 129:135] == -32768).all()


@requires_shared_data
def test_mat_roundtrip(runner, tmp_path):
    src = SHARED_DATA / "muufl_gulfport" / "an_hsi_img_for_tgt_det_demo.mat"
    hnr, out = tmp_path / "m.hnr", tmp_path / "m.mat"
    assert runner.invoke(cli, ["compress", str(src), "-o", str(hnr), "--bpppb", "2",
                               "--arch", "hiner", "--epochs", "1", "--quiet"]).exit_code == 0
    assert runner.invoke(cli, ["decompress", str(hnr), "-o", str(out), "--quiet"]).exit_code == 0
    a, b = read_cube(src), read_cube(out)
    assert b.shape == a.shape == (36, 36, 72) and b.dtype == a.dtype
    np.testing.assert_array_equal(b.wavelengths_nm, a.wavelengths_nm)


@pytest.mark.slow
def test_ctrl_c_leaves_nothing(tmp_path, sample_hdr):
    import signal
    import time
    p = subprocess.Popen([sys.executable, "-m", "hinerc", "compress", str(sample_hdr), "-o",
                          str(tmp_path / "out.hnr"), "--bpppb", "0.5", "--arch", "hiner", "--epochs", "500"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=sigint_as_a_terminal)
    try:
        time.sleep(6)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:  # never leave a 500-epoch training behind, whatever happened above
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130
    assert "interrupted" in err
    assert list(tmp_path.iterdir()) == []
