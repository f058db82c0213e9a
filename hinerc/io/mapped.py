"""Reading a large cube by windows: its samples memory-mapped, and the pages a window read
given back.

A scene larger than :data:`MAP_ABOVE` bytes is not read into memory: the reader returns a
read-only memory map of the file, shaped H×W×C (a view, whatever the interleave), and the
encoder reads it tile by tile (``--tile``). The pages a tile read stay in the page cache, but
:func:`release` takes them out of the process (``madvise(MADV_DONTNEED)``): the process holds
about one tile of the input at a time, not the scene (issue 16: a 5 GB flight line in 3 GB).
"""

from __future__ import annotations

import mmap
from typing import Optional

import numpy as np

#: Data files (ENVI, .npy) of more bytes than this are memory-mapped instead of read.
MAP_ABOVE = 256 * 2 ** 20


def mapped(path: str, dtype: np.dtype, offset: int, shape: tuple[int, ...]) -> np.memmap:
    """A read-only memory map of ``shape`` samples of ``dtype`` at ``offset`` in ``path``."""
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def _mapping(arr: np.ndarray) -> Optional[mmap.mmap]:
    """The ``mmap`` under ``arr`` (a view of a :class:`numpy.memmap`), or ``None``."""
    base = arr
    while base is not None:
        if isinstance(base, mmap.mmap):
            return base
        if isinstance(base, np.memmap) and getattr(base, "_mmap", None) is not None:
            return base._mmap
        base = getattr(base, "base", None)
    return None


def is_mapped(arr: np.ndarray) -> bool:
    """Whether ``arr`` is (a view of) a memory-mapped file."""
    return _mapping(arr) is not None


def release(arr: np.ndarray) -> None:
    """Give back the pages of the file under ``arr`` that this process holds (they are read
    again from the page cache or the disk when touched). Nothing for an array in memory."""
    m = _mapping(arr)
    if m is not None and hasattr(m, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        try:
            m.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass
