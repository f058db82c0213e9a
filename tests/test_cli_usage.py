"""A new user's first hour: output permissions, missing folders, the wrong command for the job,
usage errors (exit 2), messages in the CLI's words and help that says what the code does."""

import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import hinerc
from hinerc.cli import cli
from hinerc.errors import UsageError
from hinerc.io import write_cube

from conftest import make_cube


def _one_error_line(result):
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hinerc: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def small_npy(tmp_path_factory):
    path = tmp_path_factory.mktemp("first") / "small.npy"
    np.save(path, make_cube().data)
    return path


@pytest.fixture(scope="module")
def small_hnr(tmp_path_factory, small_npy):
    path = tmp_path_factory.mktemp("firsthnr") / "small.hnr"
    with pytest.warns(hinerc.HinercWarning):
        hinerc.compress(small_npy, path, bpppb=4.0)
    return path


# ----------------------------------------------------------------------------- 1. permissions
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_outputs_get_the_permissions_of_a_plain_open(tmp_path, small_npy, small_hnr, umask):
    cube = make_cube(h=8, w=8, c=4)
    old = os.umask(umask)
    try:
        with pytest.warns(hinerc.HinercWarning):
            hinerc.compress(small_npy, tmp_path / "a.hnr", bpppb=4.0)
        written = [tmp_path / "a.hnr"]
        for name in ("b.hdr", "b.tif", "b.npy", "b.mat"):
            written += write_cube(cube, tmp_path / name)
        hinerc.decompress(small_hnr, tmp_path / "c.tif")
        written.append(tmp_path / "c.tif")
    finally:
        os.umask(old)
    for p in written:
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p


def test_cli_compress_output_mode_under_umask_022(tmp_path, small_npy):
    out = tmp_path / "x.hnr"
    code = ("import os, sys; os.umask(0o022); from hinerc.cli import main; "
            f"main(['compress', {str(small_npy)!r}, '-o', {str(out)!r}, '--bpppb', '4', "
            "'--quiet'])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


# ----------------------------------------------------------------------------- 2. missing folder
def test_compress_into_a_missing_folder_is_exit_1_before_any_work(runner, tmp_path, small_npy):
    r = runner.invoke(cli, ["compress", str(small_npy), "-o", str(tmp_path / "nodir" / "o.hnr"),
                            "--bpppb", "4"])
    assert r.exit_code == 1
    assert "does not exist" in _one_error_line(r)
    assert not (tmp_path / "nodir").exists()


def test_decompress_into_a_missing_folder_is_exit_1(runner, tmp_path, small_hnr):
    r = runner.invoke(cli, ["decompress", str(small_hnr), "-o", str(tmp_path / "no" / "o.tif")])
    assert r.exit_code == 1
    assert "does not exist" in _one_error_line(r)


# ----------------------------------------------------------------------------- 8. wrong command
@pytest.mark.parametrize("name", ["x.tif", "x.hdr", "x.jpg", "x.npy", "x.mat", "x.TIFF"])
def test_compress_refuses_an_output_named_like_a_cube(runner, tmp_path, small_npy, name):
    r = runner.invoke(cli, ["compress", str(small_npy), "-o", str(tmp_path / name)])
    assert r.exit_code == 2
    assert "decompress" in _one_error_line(r)
    assert not (tmp_path / name).exists()


def test_compress_points_a_hnr_input_to_decompress(runner, tmp_path, small_hnr):
    r = runner.invoke(cli, ["compress", str(small_hnr), "-o", str(tmp_path / "again.hnr")])
    assert r.exit_code == 2
    line = _one_error_line(r)
    assert "already a .hnr" in line and "decompress" in line
    renamed = tmp_path / "renamed.bin"  # recognised by its signature, whatever its name
    renamed.write_bytes(small_hnr.read_bytes())
    with pytest.raises(UsageError, match="decompress"):
        hinerc.compress(renamed, tmp_path / "y.hnr")


# ----------------------------------------------------------------------------- 9. usage errors
@pytest.mark.parametrize("args", [["--bpppb", "nan"], ["--bpppb", "inf"], ["--bpppb", "0"],
                                  ["--bpppb", "-1"], ["--device", "gpu"],
                                  ["--device", "cuda:x"], ["--device", ","],
                                  ["--time-limit", "inf"]])
def test_malformed_options_are_usage_errors(runner, tmp_path, small_npy, args):
    r = runner.invoke(cli, ["compress", str(small_npy), "-o", str(tmp_path / "o.hnr")] + args)
    assert r.exit_code == 2, (r.exit_code, r.stderr)
    assert not (tmp_path / "o.hnr").exists()


def test_api_usage_errors_are_input_errors_too(small_npy, tmp_path):
    # UsageError (exit 2) is an InputError, so API callers catching InputError keep working
    with pytest.raises(hinerc.InputError):
        hinerc.compress(small_npy, tmp_path / "o.hnr", bpppb=float("nan"))
    with pytest.raises(UsageError):
        hinerc.compress(small_npy, tmp_path / "o.hnr", device="gpu")


def test_decompress_device_typo_is_a_usage_error(runner, tmp_path, small_hnr):
    r = runner.invoke(cli, ["decompress", str(small_hnr), "-o", str(tmp_path / "o.npy"),
                            "--device", "gpu"])
    assert r.exit_code == 2


# ----------------------------------------------------------------------------- 10. messages
def test_messages_use_the_cli_words(runner, tmp_path):
    odd = tmp_path / "cube.xyz"
    odd.write_bytes(b"\0" * 64)
    r = runner.invoke(cli, ["compress", str(odd), "-o", str(tmp_path / "o.hnr")])
    line = _one_error_line(r)
    assert "-f/--format" in line and "format=" not in line

    fake = tmp_path / "fake.npy"
    fake.write_text("not numpy at all\n")
    r = runner.invoke(cli, ["info", str(fake)])
    line = _one_error_line(r)
    assert "allow_pickle" not in line and "not a NumPy .npy file" in line

    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    r = runner.invoke(cli, ["info", str(pickled)])
    line = _one_error_line(r)
    assert "allow_pickle" not in line and "Python objects" in line


def test_section_tags_are_named_not_shown_as_bytes(runner, tmp_path, small_hnr):
    from hinerc.format import container

    buf = bytearray(small_hnr.read_bytes())
    buf[container.PREAMBLE_SIZE + 20] ^= 0xFF  # inside the first section: its CRC fails
    bad = tmp_path / "bad.hnr"
    bad.write_bytes(bytes(buf))
    r = runner.invoke(cli, ["info", str(bad)])
    line = _one_error_line(r)
    assert "b'" not in line and "CRC mismatch in section" in line


# ----------------------------------------------------------------------------- 11. help text
def test_help_describes_the_default_model(runner):
    top = runner.invoke(cli, ["--help"]).output
    assert "lowrank" in top and "fitted neural network (HINER)" not in top
    assert "HEVC" in top  # the default's map coder, not JPEG 2000 any more
    dec = runner.invoke(cli, ["decompress", "--help"]).output
    assert "fitted at once" not in dec
    comp = " ".join(runner.invoke(cli, ["compress", "--help"]).output.split())
    assert "tiles fitted at once" in comp
