"""What a batch tells the user: warnings from its workers, Ctrl-C, the summary table."""

import json
import subprocess
import sys

import numpy as np
import pytest

from hinerc.cli import cli

from conftest import make_cube

# 16×16×2 cubes at 48 bpppb: the lowrank model reaches its finest precision below the rate and
# warns (a message that does not name the file); .npy has no wavelengths (a message that does).
FINEST = ["--bpppb", "48"]


@pytest.fixture
def warners(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        np.save(src / f"w{i}.npy", make_cube(h=16, w=16, c=2, seed=i).data)
    return [str(src / "w0.npy"), str(src / "w1.npy")]


def _warning_lines(stderr):
    return [ln for ln in stderr.splitlines() if "warning:" in ln or "Warning" in ln]


def _check_warning_lines(lines, files):
    assert all(ln.startswith("hinerc: warning: ") for ln in lines), lines
    assert len(lines) == len(set(lines)) == 2 * len(files), lines  # each (file, message) once
    for f in files:
        mine = [ln for ln in lines if f in ln]
        assert len(mine) == 2, lines
        assert any(ln == f"hinerc: warning: no wavelengths in {f}: the band index is used"
                   for ln in mine), lines
        assert any(ln.startswith(f"hinerc: warning: {f}: the model is at its finest precision")
                   for ln in mine), lines


def test_batch_warnings_name_their_file(runner, warners, tmp_path):
    r = runner.invoke(cli, ["compress", *warners, "--out-dir", str(tmp_path / "o"), *FINEST])
    assert r.exit_code == 0, r.output
    _check_warning_lines(_warning_lines(r.stderr), warners)
    r = runner.invoke(cli, ["compress", *warners, "--out-dir", str(tmp_path / "q"), *FINEST,
                            "--quiet", "--json"])
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    for d in json.loads(r.stdout):
        assert len(d["warnings"]) == 2 and "finest precision" in d["warnings"][1]


@pytest.mark.slow
def test_batch_worker_warnings_are_one_line_and_quiet(warners, tmp_path):
    """Warnings raised in --jobs worker processes go through hinerc's reporting."""
    base = [sys.executable, "-m", "hinerc", "compress", *warners, *FINEST, "--jobs", "2"]
    r = subprocess.run(base + ["--out-dir", str(tmp_path / "q"), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and r.stdout == ""
    r = subprocess.run(base + ["--out-dir", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "HinercWarning" not in r.stderr and "Traceback" not in r.stderr
    _check_warning_lines(_warning_lines(r.stderr), warners)
