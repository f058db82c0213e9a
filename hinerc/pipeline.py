"""The codec engine: a cube into the bytes of a ``.hnr`` of the asked size, and back.

Data flows one way, the same for every codec (:mod:`hinerc.codecs`)::

    cube ─► tiles (when larger than --tile) ─► per tile: prepare bands ─► codec.encode into
      its share of the bytes ─► restore what the codec decodes ─► quality (window by window)
      ─► frame the sections ─► check the rate and that the bytes parse ─► bytes

    bytes ─► container (CRCs, common sections) ─► codec.parse (its sections) ─► codec.decode
      ─► restore bands, dtype, no-data ─► cube

Tiling, the rate landing, the quality figures and the check of what is written live here
once; a codec only fits its model into a :class:`~hinerc.codecs.base.Budget`. Tiles may be
encoded in parallel in the one process pool (:mod:`hinerc.parallel`).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from hinerc import __version__, codecs, parallel, ratecontrol
from hinerc.bands import nodata_mask, prepare, restore
from hinerc.codecs.base import Budget, Codec, EncodedModel, EncodeJob, Parsed
from hinerc.devices import checked_device, resolve_device
from hinerc.errors import CorruptFileError, HinercWarning, InputError, RateError
from hinerc.format import container, tiles
from hinerc.format.container import HnrFile, json_bytes, meta_bytes, plain_order
from hinerc.format.header import (FLAG_NO_RESAMPLE, FLAG_NODATA, FLAG_TILED, EncodeReport,
                                  HnrHeader)
from hinerc.format import residual
from hinerc.format.mask import decode_mask, encode_mask
from hinerc.io import Cube, mapped
from hinerc.metrics import Quality, QualityAccumulator
from hinerc.progress import Progress
from hinerc.region import Region
from hinerc.settings import EncodeSettings

#: Full-length placeholders of the report's measured figures: the report is sized before the
#: encode (its bytes are part of the rate) and filled at the end (a few bytes of difference,
#: well inside the rate tolerance).
_PLACEHOLDERS = dict(psnr_db=99.999, encode_seconds=9999.9, worst_band_psnr_db=99.9999,
                     sam_deg=99.9999, max_abs_error=1.23456e-05)


#: Samples restored and measured at once after an encode (the decoded cube is never whole).
_MEASURE_SAMPLES = 1 << 22


@dataclass
class Encoded:
    """One cube encoded: the file's bytes and what was measured on them."""

    data: bytes
    quality: Quality
    seconds: float
    device: str
    model_values: int
    epochs: int
    codec: str


@dataclass
class _Part:
    """One plain file of an encode (the whole cube, or one tile)."""

    file: HnrFile  # its report is filled in at the end (a tile's stays empty)
    quality: QualityAccumulator  # measured on the samples as decoded from the file
    values: int
    saturated: bool
    n_coded: int
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> bytes:
        return container.to_bytes(self.file)


# ----------------------------------------------------------------------------- encoding
def encode(cube: Cube, settings: EncodeSettings,
           progress: Optional[Callable[[Progress], None]] = None,
           stage: Optional[Callable[[str], None]] = None,
           model_bpppb: Optional[float] = None) -> Encoded:
    """The bytes of ``cube`` at ``settings.bpppb`` (±3%), checked to parse, with its quality.

    With ``settings.max_error`` the model is coded at ``model_bpppb`` and every plain file
    gets the residual that keeps the bound (RESD, :mod:`hinerc.format.residual`): the file
    has no rate target (``settings.bpppb`` is a ceiling, checked by the caller).

    Raises:
        RateError: the rate cannot be reached; InputError: the device is not there.
    """
    t_start = time.perf_counter()
    progress = progress or (lambda p: None)
    stage = stage or (lambda s: None)
    codec = settings.codec
    if codec.uses_device:
        device = resolve_device(settings.device)
    else:  # it runs on the CPU, but for a part that trains, which resolves the name then (no
        # torch import otherwise); a CUDA device named anyway must still exist
        device = checked_device(settings.device)
    preset = settings.preset()
    h, w, c = cube.shape
    samples = h * w * c
    residual = settings.max_error is not None
    budget = ratecontrol.target_bytes(model_bpppb if residual else settings.bpppb, samples)
    report = EncodeReport(device=device if codec.uses_device else "cpu",
                          epochs=codec.report_epochs(preset), seed=settings.seed,
                          hinerc_version=__version__,
                          source_bits_per_sample=cube.dtype.itemsize * 8, worst_band=c,
                          **_PLACEHOLDERS)
    meta = cube.metadata_dict()
    acc = QualityAccumulator(c)
    tile = settings.tile_size
    flags = ((FLAG_NODATA if cube.nodata is not None else 0)
             | (0 if settings.resample else FLAG_NO_RESAMPLE))
    if h <= tile and w <= tile:
        part = _encode_plain(cube, codec, budget, meta, report, flags, preset, settings, device,
                             settings.time_limit, progress, stage)
        acc.merge(part.quality)
        parts = [part]

        def assemble() -> bytes:
            return part.data  # with the report, filled in below
    else:
        rects = tiles.grid(h, w, tile)
        header = HnrHeader(h, w, c, cube.dtype.name, 0, 4, FLAG_TILED | flags)
        outer = (container.PREAMBLE_SIZE + 12 * len(container.TILED_ORDER)
                 + len(header.to_bytes()) + len(meta_bytes(meta))
                 + len(json_bytes(report.to_dict())) + 4 + 20 * len(rects))
        blobs: list[tuple[tiles.TileRect, bytes]] = []
        parts = []
        for rect, part in _encode_tiles(cube, rects, codec, budget - outer, preset, settings,
                                        device, progress, stage):
            acc.merge(part.quality)
            blobs.append((rect, part.data))
            mapped.release(cube.data)  # a memory-mapped scene: hold one tile of it at a time
            parts.append(part)

        def assemble() -> bytes:
            version = max(container.file_version(b) for _, b in blobs)
            return container.to_bytes_tiled(header, meta, tiles.encode_tiles(blobs), report,
                                            version)

    quality = acc.result()
    _fill_report(report, quality, t_start, codec, parts)
    blob = assemble()
    if not residual:
        _check_rate(blob, budget, samples, settings.bpppb, parts)
    load(blob)  # the file must pass the reader's own checks, the codec's included
    return Encoded(blob, quality, report.encode_seconds, report.device or "cpu",
                   sum(p.values for p in parts), report.epochs or 0, codec.name)


def _encode_plain(cube: Cube, codec: Codec, budget_bytes: float, meta: dict,
                  report: Optional[EncodeReport], flags: int, preset: Any,
                  settings: EncodeSettings, device: str, time_limit: Optional[float],
                  progress: Callable[[Progress], None], stage: Callable[[str], None]) -> _Part:
    """One plain file of ``cube`` in ``budget_bytes`` (the codec lands it within ±3%)."""
    h, w, c = cube.shape
    prep = prepare(cube)
    n_coded = int(prep.coords.size)
    mask = encode_mask(prep.nodata_mask)
    header = HnrHeader(h, w, c, cube.dtype.name, n_coded, prep.param_bytes, flags)
    band_bytes = prep.table.to_bytes(prep.param_bytes)
    fixed = (container.PREAMBLE_SIZE + 12 * len(plain_order(codec.sections))
             + len(header.to_bytes()) + len(meta_bytes(meta)) + len(band_bytes) + len(mask)
             + len(json_bytes(report.to_dict() if report is not None else {})))
    job = EncodeJob(prep, h, w, Budget(budget_bytes, fixed, h * w * c, ratecontrol.TOLERANCE),
                    preset, settings.seed, device, time_limit, progress, stage, report)
    model: EncodedModel = codec.encode(job)
    missing = [t for t in codec.sections if t not in model.sections]
    order = codec.sections + codec.optional_sections
    if missing or set(model.sections) - set(order):
        raise RuntimeError(f"codec {codec.name} wrote sections {list(model.sections)}, "
                           f"declared {list(order)}")
    f = HnrFile(header, meta, prep.table, model.model,
                {t: model.sections[t] for t in order if t in model.sections}, mask, report)
    acc = QualityAccumulator(c)
    nd = nodata_mask(cube) if cube.nodata is not None else None
    if settings.max_error is not None:
        restored = restore(prep.table, model.decoded, prep.nodata_mask, cube.dtype.name,
                           cube.nodata, h, w)
        stage("coding the residual")
        f.residual, restored = residual.encode_cube(cube.data, restored, prep.table,
                                                    prep.nodata_mask, cube.nodata,
                                                    settings.max_error)
        acc.add(cube.data, restored, nd)
    else:  # measured a few rows at a time: the decoded cube is never held whole
        step = max(1, _MEASURE_SAMPLES // max(1, w * c))
        is_mapped = mapped.is_mapped(cube.data)
        for r0 in range(0, h, step):
            rows = min(step, h - r0)
            if is_mapped:  # a memory-mapped scene: hold only the rows measured now
                mapped.release(cube.data)
            acc.add(cube.data[r0:r0 + rows],
                    restore(prep.table, model.decoded, prep.nodata_mask, cube.dtype.name,
                            cube.nodata, h, w, window=(r0, 0, rows, w)),
                    None if nd is None else nd[r0:r0 + rows])
    return _Part(f, acc, model.values, model.saturated, n_coded, dict(model.facts))


def _tile_cube(cube: Cube, rect: tiles.TileRect) -> Cube:
    """The tile as a cube of its own: a copy, or a view of a memory-mapped scene (read by rows
    as it is coded; a copy would hold the tile twice while it is made)."""
    window = cube.data[rect.window()]
    data = window if mapped.is_mapped(cube.data) else np.ascontiguousarray(window)
    return Cube(data, wavelengths_nm=cube.wavelengths_nm, nodata=cube.nodata)


def _encode_tile(args: tuple, progress: Callable[[Progress], None],
                 stage: Callable[[str], None]) -> _Part:
    """One tile as a plain file: its own metadata is only the no-data value, its report empty."""
    sub, codec_name, budget, preset, settings, device, time_limit = args
    return _encode_plain(sub, codecs.get(codec_name), budget, {"nodata": sub.nodata}, None,
                         FLAG_NODATA if sub.nodata is not None else 0, preset, settings, device,
                         time_limit, progress, stage)


def _tile_job(args: tuple) -> _Part:
    """:func:`_encode_tile` in a worker process (module level: it is pickled); it reports
    nothing on the way."""
    quiet = lambda *a: None  # noqa: E731
    return _encode_tile(args, quiet, quiet)


def _encode_tiles(cube: Cube, rects: list[tiles.TileRect], codec: Codec, room: float,
                  preset: Any, settings: EncodeSettings, device: str,
                  progress: Callable[[Progress], None], stage: Callable[[str], None]):
    """Yield ``(rect, part)`` in tile order; each tile gets its share of ``room`` bytes (and of
    the time limit) by its samples. ``settings.jobs`` tiles at once, each in its own process,
    at most that many in flight (memory stays bounded by ``jobs`` tiles)."""
    h, w, c = cube.shape
    n = len(rects)

    def args(rect: tiles.TileRect) -> tuple:
        share = rect.height * rect.width / (h * w)
        limit = settings.time_limit * share if settings.time_limit else None
        return (_tile_cube(cube, rect), codec.name, room * share, preset, settings, device,
                limit)

    def where(i: int, r: tiles.TileRect) -> str:
        return (f"tile {i + 1}/{n}: rows {r.top}–{r.top + r.height - 1}, "
                f"columns {r.left}–{r.left + r.width - 1}")

    if settings.jobs <= 1 or n == 1:
        for i, rect in enumerate(rects):
            stage(where(i, rect))
            yield rect, _encode_tile(args(rect), lambda p, i=i: progress(p.in_tile(i, n)), stage)
        return
    stage(f"fitting {n} tiles, {settings.jobs} at a time")
    ready: dict[int, Any] = {}
    order: list[tuple[tiles.TileRect, _Part]] = []
    state = {"next": 0, "done": 0}

    def on_result(i: int, result: Any) -> None:
        if isinstance(result, BaseException):
            raise result
        ready[i] = result
        mapped.release(cube.data)  # the tiles sent so far are read
        state["done"] += 1
        progress(Progress(float(state["done"]), float(n), f"tile {state['done']}/{n}"))
        while state["next"] in ready:  # in tile order: the quality sums stay the same
            k = state["next"]
            order.append((rects[k], ready.pop(k)))
            state["next"] += 1

    parallel.run(_tile_job, (args(r) for r in rects), settings.jobs, on_result,
                 in_flight=settings.jobs)
    yield from order


def _fill_report(report: EncodeReport, q: Quality, t_start: float, codec: Codec,
                 parts: list[_Part]) -> None:
    report.psnr_db = round(q.psnr_db, 4) if math.isfinite(q.psnr_db) else None
    report.worst_band_psnr_db = _round(q.worst_band_psnr_db, 4)
    report.worst_band = q.worst_band if report.worst_band_psnr_db is not None else None
    report.sam_deg = _round(q.sam_deg, 4)
    report.max_abs_error = _sig6(q.max_abs_error)
    report.encode_seconds = round(time.perf_counter() - t_start, 2)
    # where a part trained (a low-rank pixel network), if it did: the device of the report
    report.device = next((p.facts["device"] for p in parts if "device" in p.facts),
                         report.device)
    if codec.trains:
        report.epochs = min((p.facts.get("epochs", report.epochs) for p in parts),
                            default=report.epochs)
    else:
        report.epochs = 0


def _check_rate(blob: bytes, budget: float, samples: int, bpppb: float,
                parts: list[_Part]) -> None:
    """Never a file that misses the rate. A cube whose every band is constant or no-data has
    nothing to spend bytes on, nor a model at its finest precision: its file may be smaller,
    never larger."""
    n_coded = sum(p.n_coded for p in parts)
    saturated = any(p.saturated for p in parts)
    tol = ratecontrol.TOLERANCE
    low = (1 - tol) * budget if n_coded and not saturated else 0
    if saturated and n_coded and len(blob) < (1 - tol) * budget:
        warnings.warn(f"the model is at its finest precision at {len(blob) * 8 / samples:.4f} "
                      f"bpppb: the file is smaller than the {bpppb:g} bpppb asked",
                      HinercWarning, stacklevel=3)
    if not n_coded and len(blob) > (1 + tol) * budget:
        raise RateError(f"{bpppb:g} bpppb is below what this cube can reach: its smallest file "
                        f"is {len(blob) * 8 / samples:.4f} bpppb")
    if not low <= len(blob) <= (1 + tol) * budget:
        raise RateError(f"could not land {bpppb:g} bpppb: the file would be "
                        f"{len(blob) * 8 / samples:.4f} bpppb")


def _round(x: Optional[float], digits: int) -> Optional[float]:
    """``x`` rounded; ``None`` for ``None``, NaN and infinities (JSON has none)."""
    return round(x, digits) if x is not None and math.isfinite(x) else None


def _sig6(x: Optional[float]) -> Optional[float]:
    """``x`` to 6 significant digits (errors in original units have any magnitude)."""
    return float(f"{x:.6g}") if x is not None and math.isfinite(x) else None


# ----------------------------------------------------------------------------- reading
@dataclass
class Loaded:
    """A parsed ``.hnr``: the container, and each plain file's codec and parsed model."""

    file: HnrFile
    parts: list[Parsed]  # one per plain file: the file itself, or each tile in order
    codec: Codec
    residuals: list[Optional[residual.Residual]] = field(default_factory=list)  # RESD, per part

    @property
    def max_error(self) -> Optional[float]:
        """The bound every sample keeps (0: lossless), or ``None`` for a lossy file."""
        bounds = {r.max_error if r is not None else None for r in self.residuals}
        return bounds.pop() if len(bounds) == 1 else None

    @property
    def rects(self) -> list[tiles.TileRect]:
        f = self.file
        if f.tiles:
            return [r for r, _ in f.tiles]
        return [tiles.TileRect(0, 0, f.header.height, f.header.width)]


def load(data: bytes) -> Loaded:
    """Parse a whole ``.hnr``: the container's checks, then each plain file's codec's."""
    f = container.from_bytes(data)
    return loaded(f)


def loaded(f: HnrFile) -> Loaded:
    """:func:`load` of a file the container already parsed."""
    parts: list[Parsed] = []
    codec: Optional[Codec] = None
    residuals: list[Optional[residual.Residual]] = []
    for sub in f.plain():
        residuals.append(residual.parse(sub.residual, sub.header.n_coded, sub.header.dtype)
                         if sub.residual is not None else None)
        c = codecs.for_file(sub.codec)
        if codec is not None and c is not codec:
            raise CorruptFileError("the tiles of the file use different models")
        codec = c
        parts.append(Parsed(sub.header, sub.model, sub.sections,
                            c.parse(sub.model, sub.sections, sub.header)))
    assert codec is not None
    if len({r is None for r in residuals}) > 1 \
            or len({r.max_error for r in residuals if r is not None}) > 1:
        raise CorruptFileError("the tiles of the file keep different error bounds")
    return Loaded(f, parts, codec, residuals)


def read(path: Any) -> Loaded:
    """:func:`load` of a file; every problem is a one-line :class:`CorruptFileError`."""
    f = container.read_file(path)
    try:
        return loaded(f)
    except CorruptFileError as exc:
        raise CorruptFileError(f"{path}: {exc}") from None


# ----------------------------------------------------------------------------- decoding
def decode_part(ld: Loaded, index: int, device: str = "cpu",
                bands: Optional[np.ndarray] = None,
                window: Optional[tuple[int, int, int, int]] = None,
                out: Optional[np.ndarray] = None) -> np.ndarray:
    """The H×W×C samples of plain file ``index`` (the whole cube, or tile ``index``); with
    ``bands``, only those bands (indices, in that order); with ``window`` (top, left, rows,
    columns, in the plain file), only that part; written into ``out`` when given."""
    sub = ld.file.plain()[index]
    part = ld.parts[index]
    hd = sub.header
    dev = resolve_device(device) if ld.codec.uses_device else "cpu"
    res = ld.residuals[index] if ld.residuals else None
    if res is not None:  # the residual of a band depends on the bands before it: all of them
        n_mask = int((sub.bands.kinds != 2).sum())
        mask = decode_mask(sub.mask, (hd.height, hd.width, n_mask))
        nodata = ld.file.meta.get("nodata")
        pred = restore(sub.bands, ld.codec.decode(part.content, hd, dev), mask, hd.dtype,
                       nodata, hd.height, hd.width)
        full = residual.decode_cube(pred, sub.bands, mask, nodata, res)
        if window is not None:
            top, left, rows, cols = window
            full = full[top:top + rows, left:left + cols]
        full = full if bands is None else full[:, :, np.asarray(bands, np.int64)]
        if out is not None:
            out[...] = full
            return out
        return full
    if bands is None:
        decoded: Any = ld.codec.decode(part.content, hd, dev)
    else:  # only the coded bands asked for, by their position among the coded bands
        position = {int(b): i for i, b in enumerate(sub.bands.coded)}
        need = sorted({position[int(b)] for b in bands if int(b) in position})
        some = (ld.codec.decode_some(part.content, hd, dev, np.asarray(need, np.int64))
                if need else [])
        # what restore() indexes by position
        decoded = _ByPosition(need, some) if hasattr(some, "block") else dict(zip(need, some))
    n_mask = int((sub.bands.kinds != 2).sum())
    mask = decode_mask(sub.mask, (hd.height, hd.width, n_mask))
    return restore(sub.bands, decoded, mask, hd.dtype, ld.file.meta.get("nodata"), hd.height,
                   hd.width, bands, window, out)


class _ByPosition:
    """Some coded bands decoded where asked (``block``), indexed by their coded positions."""

    def __init__(self, positions: list[int], some: Any):
        self.positions, self.some = positions, some

    def block(self, r0: int, r1: int, c0: int, c1: int) -> dict[int, np.ndarray]:
        return dict(zip(self.positions, self.some.block(r0, r1, c0, c1)))


def decode(ld: Loaded, device: str = "cpu", region: Optional[Region] = None,
           out: Optional[np.ndarray] = None) -> Cube:
    """The cube of a parsed file, in its original dtype and metadata; with ``region``, only
    that window and those bands, decoding only the tiles the window meets (the metadata
    follows: geotransform at the window's corner, per-band fields of the chosen bands).
    ``out``: the array to decode into (the region's shape and the file's dtype; a memory map
    of the output file, whose pages are given back tile by tile: a scene larger than memory)."""
    hd = ld.file.header
    if region is None:
        region = Region.whole(hd.height, hd.width)
    bands = region.bands
    if out is None and len(ld.rects) == 1 and region.is_whole(hd.height, hd.width):
        data = decode_part(ld, 0, device)  # the common case, without a copy
    else:
        count = hd.bands if bands is None else bands.size
        shape = (region.height, region.width, count)
        if out is not None and (out.shape != shape or out.dtype != np.dtype(hd.dtype)):
            raise ValueError(f"out must be {shape} {hd.dtype}, got {out.shape} {out.dtype}")
        data = np.empty(shape, dtype=hd.dtype) if out is None else out
        for i, rect in enumerate(ld.rects):
            where = region.overlap(rect.top, rect.left, rect.height, rect.width)
            if where is not None:
                rows, cols, t_rows, t_cols = where
                win = (t_rows.start, t_cols.start, t_rows.stop - t_rows.start,
                       t_cols.stop - t_cols.start)
                # restored straight into its place (a memory-mapped output's pages are given
                # back as written)
                decode_part(ld, i, device, bands, win, data[rows, cols])
                mapped.release(data)
    try:
        whole = Cube.from_metadata(np.zeros((1, 1, hd.bands), hd.dtype), ld.file.meta)
        return whole.part(data, region.top, region.left, bands)
    except InputError as exc:
        raise CorruptFileError(f"invalid metadata: {exc}") from exc
