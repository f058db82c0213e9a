"""NumPy .npy reader and writer."""

from __future__ import annotations

import numpy as np
import pytest

from hinerc.errors import HinercWarning, InputError
from hinerc.io import Cube, read_cube, write_cube
from io_helpers import assert_one_line, ramp

pytestmark = pytest.mark.filterwarnings("ignore::hinerc.errors.HinercWarning")


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "int32", "uint64",
                                   "float32", "float64"])
def test_round_trip(tmp_path, dtype):
    data = ramp((3, 4, 5), dtype)
    assert write_cube(Cube(data), tmp_path / "a.npy") == [tmp_path / "a.npy"]
    back = read_cube(tmp_path / "a.npy")
    assert back.dtype == np.dtype(dtype) and back.source_format == "npy"
    np.testing.assert_array_equal(back.data, data)


def test_2d_big_endian_and_warning(tmp_path):
    np.save(tmp_path / "img.npy", np.arange(12, dtype=">i4").reshape(3, 4))
    with pytest.warns(HinercWarning, match="band index"):
        cube = read_cube(tmp_path / "img.npy")
    assert cube.shape == (3, 4, 1) and cube.dtype.isnative
    np.testing.assert_array_equal(cube.data[:, :, 0], np.arange(12).reshape(3, 4))


def test_format_override_without_extension(tmp_path):
    write_cube(Cube(np.ones((2, 2, 2), np.float32)), tmp_path / "raw", format="npy")
    assert (tmp_path / "raw").exists() and not (tmp_path / "raw.npy").exists()
    assert read_cube(tmp_path / "raw", format="npy").shape == (2, 2, 2)


def test_hostile(tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "empty.npy")
    assert_one_line(ei.value, "empty.npy", "empty")
    np.save(tmp_path / "one.npy", np.arange(5))
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "one.npy")
    assert_one_line(ei.value, "one.npy", "shape")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError) as ei:
        read_cube(tmp_path / "obj.npy")
    assert_one_line(ei.value, "obj.npy")
    np.save(tmp_path / "b.npy", np.zeros((2, 2, 2), bool))
    with pytest.raises(InputError, match="not numeric"):
        read_cube(tmp_path / "b.npy")
    np.save(tmp_path / "cx.npy", np.zeros((2, 2, 2), np.complex64))
    with pytest.raises(InputError):
        read_cube(tmp_path / "cx.npy")
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(InputError):
        read_cube(tmp_path / "junk.npy")
