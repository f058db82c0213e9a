"""From a cube to what the network fits, and back: band kinds, normalisation, no-data masks.

Each band is classified as *coded* (the network represents it), *constant* (every real sample
has one value: restored exactly, no training spent) or *no-data* (no real sample at all). Coded
bands are min/max normalised to [0, 1] over their real samples; the offset and scale are stored
(float32, or float64 for a 32/64-bit cube with a constant band float32 cannot hold exactly) and
the target is computed from the stored values, so
the encoder measures exactly what the decoder will produce. Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from hinerc.errors import InputError
from hinerc.format.header import BAND_CODED, BAND_CONSTANT, BAND_NODATA, BandTable
from hinerc.io.cube import Cube

WIDE_TYPES = ("float64", "int32", "uint32", "int64", "uint64")
#: Samples read at once when preparing a cube (float64: 16 MB).
_CHUNK_SAMPLES = 1 << 21


@dataclass
class PreparedCube:
    table: BandTable
    param_bytes: int
    target: np.ndarray  # N×H×W float32 in [0, 1], coded bands in band order
    valid: Optional[np.ndarray]  # N×H×W bool (True = real sample), None when all real
    nodata_mask: np.ndarray  # H×W×M bool over bands that are not no-data bands
    coords: np.ndarray  # spectral coordinate of the coded bands


def nodata_mask(cube: Cube) -> np.ndarray:
    """H×W×C boolean, True where a sample equals the no-data value."""
    return samples_nodata(cube.data, cube.nodata)


def samples_nodata(data: np.ndarray, nodata: Optional[float]) -> np.ndarray:
    """:func:`nodata_mask` for a bare array (a window of a cube, say)."""
    if nodata is None:
        return np.zeros(data.shape, dtype=bool)
    if np.isnan(nodata):
        return np.isnan(data) if data.dtype.kind == "f" else np.zeros(data.shape, bool)
    return data == np.asarray(nodata).astype(data.dtype)


def _constants_fit_float32(data: np.ndarray, nd: np.ndarray) -> bool:
    """Whether every constant band's value survives float32: then a 32/64-bit cube's band table
    can be float32 too (half the bytes; a coded band's min and range need no more precision
    than the lossy code itself, but a constant band is restored exactly)."""
    for b in range(data.shape[2]):
        real = data[:, :, b][~nd[:, :, b]]
        if real.size and real.min() == real.max():
            v = real.flat[0]
            if np.float64(np.float32(v)) != np.float64(v):
                return False
    return True


def prepare(cube: Cube) -> PreparedCube:
    data = cube.data
    nd = nodata_mask(cube)
    if data.dtype.kind == "f":
        bad = ~np.isfinite(data) & ~nd
        if bad.any():
            raise InputError(f"the cube holds {int(bad.sum())} NaN or infinite samples "
                             "(declare them as no-data: --nodata nan)")
    c = cube.bands
    width = 8 if data.dtype.name in WIDE_TYPES and not _constants_fit_float32(data, nd) else 4
    fdt = np.float64 if width == 8 else np.float32
    kinds = np.zeros(c, np.uint8)
    offsets = np.zeros(c, np.float64)
    scales = np.zeros(c, np.float64)
    h, w = data.shape[:2]
    rows = max(1, _CHUNK_SAMPLES // max(1, w * c))  # rows at once: no strided band passes
    lo_all: Optional[np.ndarray] = None
    hi_all: Optional[np.ndarray] = None
    real = np.zeros(c, np.int64)
    for r0 in range(0, h, rows):
        part, bad_part = data[r0:r0 + rows], nd[r0:r0 + rows]
        if data.dtype.kind == "f":
            top, bottom = np.array(np.inf, data.dtype), np.array(-np.inf, data.dtype)
        else:
            info = np.iinfo(data.dtype)
            top, bottom = np.array(info.max, data.dtype), np.array(info.min, data.dtype)
        lo = np.where(bad_part, top, part).min(axis=(0, 1))
        hi = np.where(bad_part, bottom, part).max(axis=(0, 1))
        lo_all = lo if lo_all is None else np.minimum(lo_all, lo)
        hi_all = hi if hi_all is None else np.maximum(hi_all, hi)
        real += (~bad_part).sum(axis=(0, 1))
    for b in range(c):
        if real[b] == 0:
            kinds[b] = BAND_NODATA
            continue
        lo, hi = lo_all[b], hi_all[b]  # type: ignore[index]
        offsets[b] = fdt(lo)
        if lo == hi:
            kinds[b] = BAND_CONSTANT
        else:
            kinds[b] = BAND_CODED
            scales[b] = fdt(fdt(hi) - fdt(lo))
    table = BandTable(kinds, offsets, scales)
    coded = table.coded
    target = np.empty((coded.size,) + data.shape[:2], np.float32)
    if coded.size:
        for r0 in range(0, h, rows):
            t = (data[r0:r0 + rows][:, :, coded].astype(np.float64) - offsets[coded]) \
                / scales[coded]
            np.clip(t, 0.0, 1.0, out=t)
            target[:, r0:r0 + rows, :] = np.moveaxis(t, 2, 0)
    valid = None
    if nd[:, :, coded].any():
        valid = np.moveaxis(~nd[:, :, coded], 2, 0).copy()
        target[~valid] = 0.0
    coords = cube.spectral_coordinate()[coded]
    return PreparedCube(table, width, target, valid, nd[:, :, kinds != BAND_NODATA], coords)


def restore(table: BandTable, decoded: np.ndarray, mask: np.ndarray, dtype: str,
            nodata: Optional[float], height: int, width: int,
            bands: Optional[np.ndarray] = None) -> np.ndarray:
    """Build the H×W×C cube in ``dtype`` from decoded coded bands (N×H×W in [0, 1]); with
    ``bands`` (indices into the C bands) only those, in that order."""
    c = table.kinds.size
    sel = np.arange(c) if bands is None else np.asarray(bands, dtype=np.int64)
    dt = np.dtype(dtype)
    out = np.empty((height, width, sel.size), dtype=dt)
    coded_pos = {int(b): i for i, b in enumerate(table.coded)}
    if dt.kind in "iu":
        info = np.iinfo(dt)
    fill = nodata if nodata is not None else 0
    mask_pos = {int(b): j for j, b in enumerate(np.nonzero(table.kinds != BAND_NODATA)[0])}
    masked = nodata is not None and mask.any()
    for i, b in enumerate(sel.tolist()):
        kind = table.kinds[b]
        if kind == BAND_NODATA:
            out[:, :, i] = np.asarray(fill).astype(dt)
            continue
        if kind == BAND_CONSTANT:
            vals = np.full((height, width), table.offsets[b])
        else:
            vals = table.offsets[b] + table.scales[b] * decoded[coded_pos[b]].astype(np.float64)
        if dt.kind in "iu":
            vals = np.clip(np.rint(vals), info.min, info.max)
        out[:, :, i] = vals.astype(dt)
        if masked:
            out[:, :, i][mask[:, :, mask_pos[b]]] = np.asarray(nodata).astype(dt)
    return out
