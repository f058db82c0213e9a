"""From a cube to what the network fits, and back: band kinds, normalisation, no-data masks.

Each band is classified as *coded* (the network represents it), *constant* (every real sample
has one value: restored exactly, no training spent) or *no-data* (no real sample at all). Coded
bands are min/max normalised to [0, 1] over their real samples; the offset and scale are stored
(float32, or float64 for a 32/64-bit cube with a constant band float32 cannot hold exactly) and
the target is computed from the stored values, so
the encoder measures exactly what the decoder will produce. Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from hinerc.errors import InputError
from hinerc.format.header import BAND_CODED, BAND_CONSTANT, BAND_NODATA, BandTable
from hinerc.io import mapped
from hinerc.io.cube import Cube

WIDE_TYPES = ("float64", "int32", "uint32", "int64", "uint64")
#: Samples read at once when preparing a cube (float64: 16 MB).
_CHUNK_SAMPLES = 1 << 21


@dataclass
class PreparedCube:
    """A cube as the codecs see it: the band table, and its coded bands normalised to [0, 1]
    (:attr:`target`, built on first use; :meth:`pixels` reads pixels from the cube without it).
    """

    table: BandTable
    param_bytes: int
    source: np.ndarray = field(repr=False)  # the cube's H×W×C samples
    valid: Optional[np.ndarray]  # N×H×W bool (True = real sample), None when all real
    nodata_mask: np.ndarray  # H×W×M bool over bands that are not no-data bands
    coords: np.ndarray  # spectral coordinate of the coded bands
    _target: Optional[np.ndarray] = field(default=None, repr=False)
    _mapped: Optional[bool] = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int, int]:
        """N coded bands × H × W."""
        return (int(self.table.coded.size),) + tuple(self.source.shape[:2])  # type: ignore

    @property
    def target(self) -> np.ndarray:
        """N×H×W float32 in [0, 1], coded bands in band order, no-data samples 0 (built from
        the cube by rows on first use, then kept)."""
        if self._target is None:
            n, h, w = self.shape
            target = np.empty((n, h, w), np.float32)
            if n:
                rows = max(1, _CHUNK_SAMPLES // max(1, w * self.source.shape[2]))
                for r0 in range(0, h, rows):
                    part = self._normalised(self.source[r0:r0 + rows].reshape(
                        -1, self.source.shape[2]))
                    target[:, r0:r0 + rows, :] = part.reshape(n, -1, w)
            if self.valid is not None:
                target[~self.valid] = 0.0
            self._target = target
        return self._target

    def pixels(self, sel: "slice | np.ndarray") -> np.ndarray:
        """N × (selected pixels) float64: the coded bands of the pixels ``sel`` (of the H·W in
        raster order) as :attr:`target` holds them, read from the cube (no-data samples as they
        are: the caller knows them from :attr:`valid`)."""
        if self._target is not None:
            n = self._target.shape[0]
            return self._target.reshape(n, -1)[:, sel].astype(np.float64)
        src = self.source
        h, w, c = src.shape
        if self._mapped is None:
            self._mapped = mapped.is_mapped(src)
        if self._mapped:  # a memory-mapped scene: hold only the pixels read now
            mapped.release(src)
        if src.flags.c_contiguous:
            return self._normalised(src.reshape(-1, c)[sel])
        # a view (a memory-mapped scene of another interleave, a tile of it): never reshaped
        # whole (that would copy it), read by the rows the pixels lie in
        if isinstance(sel, slice) and sel.step in (None, 1):
            start, stop, _ = sel.indices(h * w)
            if stop <= start:
                return np.zeros((self.shape[0], 0))
            r0, r1 = start // w, (stop - 1) // w + 1
            rows = src[r0:r1].reshape(-1, c)
            return self._normalised(rows[start - r0 * w:stop - r0 * w])
        idx = np.arange(h * w)[sel] if isinstance(sel, slice) else np.asarray(sel)
        rr, cc = np.divmod(idx, w)
        return self._normalised(src[rr, cc])

    def _normalised(self, px: np.ndarray) -> np.ndarray:
        """pixels × C samples -> N × pixels float64 normalised to [0, 1] (a transposed view)."""
        coded = self.table.coded
        if coded.size < px.shape[1]:
            px = px[:, coded]
        t = px.astype(np.float64)
        t -= self.table.offsets[coded]
        t *= 1.0 / self.table.scales[coded]
        np.clip(t, 0.0, 1.0, out=t)
        return t.T


def nodata_mask(cube: Cube) -> np.ndarray:
    """H×W×C boolean, True where a sample equals the no-data value (a read-only view of one
    False when the cube has no no-data value: no memory)."""
    if cube.nodata is None:
        return np.broadcast_to(np.zeros((), bool), cube.data.shape)
    return samples_nodata(cube.data, cube.nodata)


def samples_nodata(data: np.ndarray, nodata: Optional[float]) -> np.ndarray:
    """:func:`nodata_mask` for a bare array (a window of a cube, say)."""
    if nodata is None:
        return np.zeros(data.shape, dtype=bool)
    if np.isnan(nodata):
        return np.isnan(data) if data.dtype.kind == "f" else np.zeros(data.shape, bool)
    return data == np.asarray(nodata).astype(data.dtype)


def prepare(cube: Cube) -> PreparedCube:
    data = cube.data
    nd = nodata_mask(cube)
    c = cube.bands
    kinds = np.zeros(c, np.uint8)
    offsets = np.zeros(c, np.float64)
    scales = np.zeros(c, np.float64)
    h, w = data.shape[:2]
    rows = max(1, _CHUNK_SAMPLES // max(1, w * c))  # rows at once: no strided band passes
    lo_all: Optional[np.ndarray] = None
    hi_all: Optional[np.ndarray] = None
    real = np.zeros(c, np.int64)
    not_finite = 0
    is_mapped = mapped.is_mapped(data)
    if data.dtype.kind == "f":
        top, bottom = np.array(np.inf, data.dtype), np.array(-np.inf, data.dtype)
    else:
        info = np.iinfo(data.dtype)
        top, bottom = np.array(info.max, data.dtype), np.array(info.min, data.dtype)
    for r0 in range(0, h, rows):
        if is_mapped:  # a memory-mapped scene: hold only the rows read now
            mapped.release(data)
        part = data[r0:r0 + rows]
        if cube.nodata is None:  # every sample real: no mask to apply
            if data.dtype.kind == "f":
                not_finite += int((~np.isfinite(part)).sum())
            lo, hi = part.min(axis=(0, 1)), part.max(axis=(0, 1))
            real += part.shape[0] * part.shape[1]
        else:
            bad_part = nd[r0:r0 + rows]
            if data.dtype.kind == "f":
                not_finite += int((~np.isfinite(part) & ~bad_part).sum())
            lo = np.where(bad_part, top, part).min(axis=(0, 1))
            hi = np.where(bad_part, bottom, part).max(axis=(0, 1))
            real += (~bad_part).sum(axis=(0, 1))
        lo_all = lo if lo_all is None else np.minimum(lo_all, lo)
        hi_all = hi if hi_all is None else np.maximum(hi_all, hi)
    if not_finite:
        raise InputError(f"the cube holds {not_finite} NaN or infinite samples "
                         "(declare them as no-data: --nodata nan)")
    # a 32/64-bit cube's table is float32 (half the bytes; a coded band's min and range need no
    # more precision than the lossy code itself) unless a constant band's value, restored
    # exactly, does not survive float32
    const = [lo_all[b] for b in range(c)  # type: ignore[index]
             if real[b] and lo_all[b] == hi_all[b]]  # type: ignore[index]
    width = 8 if data.dtype.name in WIDE_TYPES and any(
        np.float64(np.float32(v)) != np.float64(v) for v in const) else 4
    fdt = np.float64 if width == 8 else np.float32
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
    valid = None
    if cube.nodata is not None and nd[:, :, coded].any():
        valid = np.moveaxis(~nd[:, :, coded], 2, 0).copy()
    coords = cube.spectral_coordinate()[coded]
    kept = kinds != BAND_NODATA
    mask = (nd[:, :, kept] if cube.nodata is not None
            else np.broadcast_to(np.zeros((), bool), (h, w, int(kept.sum()))))
    return PreparedCube(table, width, data, valid, mask, coords)


def restore(table: BandTable, decoded: Any, mask: np.ndarray, dtype: str,
            nodata: Optional[float], height: int, width: int,
            bands: Optional[np.ndarray] = None,
            window: Optional[tuple[int, int, int, int]] = None,
            out: Optional[np.ndarray] = None) -> np.ndarray:
    """Build the H×W×C cube in ``dtype`` from decoded coded bands, a few rows at a time;
    with ``bands`` (indices into the C bands) only those, in that order; with ``window``
    (top, left, rows, columns) only that part of the image.

    ``decoded``: the coded bands in [0, 1], indexable by their position among the coded bands:
    an N×H×W array, a dict of H×W arrays by position, or an object whose ``block(r0, r1, c0,
    c1)`` gives one of those for a window (a codec that decodes lazily). ``out``: where to
    write it (a view of a memory-mapped output, whose pages are given back block by block)."""
    c = table.kinds.size
    sel = np.arange(c) if bands is None else np.asarray(bands, dtype=np.int64)
    top, left, rows, cols = window if window is not None else (0, 0, height, width)
    dt = np.dtype(dtype)
    if out is None:
        out = np.empty((rows, cols, sel.size), dtype=dt)
    is_mapped = mapped.is_mapped(out)
    step = max(1, _CHUNK_SAMPLES // max(1, cols * max(1, sel.size)))
    for r in range(0, rows, step):
        r0, r1 = top + r, top + min(rows, r + step)
        out[r:r + r1 - r0] = _restore_block(table, _block(decoded, r0, r1, left, left + cols),
                                            mask[r0:r1, left:left + cols], dt, nodata, sel)
        if is_mapped:
            mapped.release(out)
    return out


def _block(decoded: Any, r0: int, r1: int, c0: int, c1: int) -> Any:
    """Rows r0:r1 and columns c0:c1 of ``decoded`` (see :func:`restore`)."""
    if hasattr(decoded, "block"):
        return decoded.block(r0, r1, c0, c1)
    if isinstance(decoded, dict):
        return {p: a[r0:r1, c0:c1] for p, a in decoded.items()}
    return decoded[:, r0:r1, c0:c1]


def _restore_block(table: BandTable, decoded: Any, mask: np.ndarray, dt: np.dtype,
                   nodata: Optional[float], sel: np.ndarray) -> np.ndarray:
    """:func:`restore` of one block: decoded bands (by coded position) of rows × columns."""
    height, width = mask.shape[:2]
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
