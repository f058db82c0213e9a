"""Format detection, public API surface, and the no-torch rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hinerc.errors import InputError
from hinerc.io import Cube, detect_format, read_cube, write_cube
from io_helpers import REPO, assert_one_line


@pytest.mark.parametrize("name,fmt", [
    ("a.hdr", "envi"), ("a.HDR", "envi"), ("a.img", "envi"), ("a.dat", "envi"), ("a.bsq", "envi"),
    ("a.bil", "envi"), ("a.bip", "envi"), ("a.raw", "envi"), ("a.tif", "gtiff"),
    ("a.TIFF", "gtiff"), ("a.mat", "mat"), ("a.npy", "npy"),
])
def test_by_extension(name, fmt):
    assert detect_format(name) == fmt


def test_binary_with_header_beside(tmp_path):
    (tmp_path / "scene").write_bytes(b"")
    (tmp_path / "scene.hyspex").write_bytes(b"")
    with pytest.raises(InputError):
        detect_format(tmp_path / "scene")
    (tmp_path / "scene.hdr").write_text("ENVI\n")
    assert detect_format(tmp_path / "scene") == "envi"
    assert detect_format(tmp_path / "scene.hyspex") == "envi"


def test_override_and_unknown():
    assert detect_format("x.bin", format="ENVI") == "envi"
    assert detect_format("x.dat", format="tif") == "gtiff"
    assert detect_format("x", format="npy") == "npy"
    with pytest.raises(InputError) as ei:
        detect_format("x.jpg")
    assert_one_line(ei.value, "x.jpg", ".hdr", ".tif", ".mat", ".npy", "folder")
    assert detect_format("x.png") == "stack"  # a single-band image: a stack of one
    with pytest.raises(InputError) as ei:
        detect_format("x.npy", format="jpeg")
    assert_one_line(ei.value, "jpeg", "envi", "gtiff")


def test_missing_and_folder(tmp_path):
    for name in ("none.tif", "none.mat", "none.npy", "none.img"):
        with pytest.raises(InputError) as ei:
            read_cube(tmp_path / name)
        assert_one_line(ei.value, name)
    d = tmp_path / "dir.npy"
    d.mkdir()
    with pytest.raises(InputError, match="folder"):
        read_cube(d)


def test_var_only_for_mat(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(InputError, match="--var"):
        read_cube(tmp_path / "a.npy", var="x")


@pytest.mark.filterwarnings("ignore::hinerc.errors.HinercWarning")
@pytest.mark.parametrize("ext", [".hdr", ".tif", ".mat", ".npy"])
def test_write_cube_every_format(tmp_path, ext):
    data = np.arange(24, dtype=np.uint16).reshape(2, 3, 4)
    files = write_cube(Cube(data), tmp_path / f"out{ext}")
    assert all(isinstance(f, Path) and f.exists() for f in files)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in files)
    np.testing.assert_array_equal(read_cube(tmp_path / f"out{ext}").data, data)


def test_io_never_imports_torch():
    code = ("import sys, warnings; warnings.simplefilter('ignore'); import hinerc.io as io; "
            "import hinerc.io.envi, hinerc.io.geotiff, hinerc.io.matlab, hinerc.io.npy; "
            "io.read_cube(sys.argv[1]); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "tests/data/enmap_crop.tif")],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
