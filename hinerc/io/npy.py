"""NumPy ``.npy`` reader and writer (samples only, no metadata)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hinerc.errors import InputError
from hinerc.io import mapped
from hinerc.io.cube import Cube
from hinerc.io.spectral_meta import make_cube, one_line
from hinerc.outputs import atomic_outputs


#: The first bytes of every .npy file.
NPY_MAGIC = b"\x93NUMPY"


def read_npy(path: Path | str) -> Cube:
    path = Path(path)
    src = str(path)
    if path.stat().st_size == 0:
        raise InputError(f"{src}: the file is empty")
    with open(path, "rb") as fh:
        magic = fh.read(len(NPY_MAGIC))
    if magic != NPY_MAGIC:
        raise InputError(f"{src}: not a NumPy .npy file (it lacks the .npy signature); "
                         "name its format with -f/--format if it is another kind of cube")
    try:
        big = path.stat().st_size > mapped.MAP_ABOVE  # a scene: read by windows
        arr = np.load(path, allow_pickle=False, mmap_mode="r" if big else None)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InputError(f"{src}: the .npy array holds Python objects, not numbers "
                             "(hinerc never unpickles)") from None
        raise InputError(f"{src}: not a readable .npy array: {one_line(exc)}") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"{src}: not a readable .npy array: {one_line(exc)}") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{src}: not a single .npy array")
    if arr.ndim not in (2, 3):
        raise InputError(f"{src}: the array has shape {arr.shape}; an H×W×C cube (or H×W image) "
                         "is needed")
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{src}: the array is {arr.dtype}, not numeric")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return make_cube(src, data=np.ascontiguousarray(arr), source_format="npy", extra={})


def write_npy(cube: Cube, path: Path | str) -> list[Path]:
    path = Path(path)
    with atomic_outputs([path]) as (tmp,):
        with open(tmp, "wb") as f:
            np.save(f, cube.data, allow_pickle=False)
    return [path]
