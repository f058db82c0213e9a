"""The Python API: :func:`compress`, :func:`decompress`, :func:`resample` and :func:`inspect`.

Each is the same few steps: check the settings (:class:`hinerc.settings.EncodeSettings`) and the
paths (:mod:`hinerc.outputs`) before any work, read, run the engine (:mod:`hinerc.pipeline`:
encode through the codec, or parse and decode), write atomically. torch is imported only where a
network runs, so :func:`inspect` (``hinerc info``) stays fast.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from hinerc import codecs, pipeline
from hinerc.describe import band_nm, describe_cube, describe_hnr
from hinerc.devices import checked_device, resolve_device  # noqa: F401  (part of the API)
from hinerc.errors import InputError, UsageError
from hinerc.format.container import SIGNATURE
from hinerc.format.header import FLAG_NO_RESAMPLE
from hinerc.io import Cube, input_files, output_files, read_cube, write_cube
from hinerc.outputs import (check_compress_input, check_compress_output, check_output,
                            write_atomic)
from hinerc.progress import Progress
from hinerc.region import BandsLike, WindowLike, parse_bands, parse_window, region
from hinerc.settings import EncodeSettings

PathLike = Union[str, os.PathLike]


@dataclass
class CompressResult:
    """What :func:`compress` produced and measured.

    Quality is measured on the cube decoded from the file's own bytes, on the real samples, in
    original units: ``psnr_db`` is the mean over bands of the per-band PSNR; the worst band's
    PSNR, which band (1-based) and its wavelength (nm, when the cube declares them), the mean
    spectral angle in degrees and the largest absolute error show what a mean hides.
    :meth:`to_dict` is the record of ``compress --json`` (``docs/json.md``).
    """

    path: Optional[Path]
    size_bytes: int
    bpppb: float
    target_bpppb: Optional[float]
    psnr_db: float
    seconds: float
    epochs: int
    device: str
    model_values: int
    shape: tuple[int, int, int]
    dtype: str
    arch: str = codecs.DEFAULT
    worst_band_psnr_db: Optional[float] = None
    worst_band: Optional[int] = None
    worst_band_nm: Optional[float] = None
    sam_deg: Optional[float] = None
    max_abs_error: Optional[float] = None
    target_psnr_db: Optional[float] = None
    target_min_band_psnr_db: Optional[float] = None
    max_error_bound: Optional[float] = None  # --max-error (0: --lossless): every sample within

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: measured values unrounded, ``seconds`` to 2 decimals as in the file's
        report; ``epochs`` only for a codec that trains (the low-rank model has none)."""
        d = asdict(self)
        d["path"] = str(self.path) if self.path else None
        d["shape"] = list(self.shape)
        d["seconds"] = round(d["seconds"], 2) if math.isfinite(d["seconds"]) else None
        if not codecs.get(self.arch).trains:
            del d["epochs"]
        return d


def _reader_input(source: Union[Cube, PathLike], format: Optional[str]) -> list[Path]:
    """The files a path source is read from (none for a Cube); a ``.hnr`` is refused."""
    if isinstance(source, Cube):
        return []
    check_compress_input(Path(source), format)
    return input_files(Path(source), format)


def _read(source: Union[Cube, PathLike], format: Optional[str], var: Optional[str],
          declared: dict[str, Any]) -> Cube:
    """The cube to compress, with what the caller declares (no-data, wavelengths...) applied."""
    if isinstance(source, Cube):
        from hinerc.io.declare import apply, declared as declare

        if declared.get("shape") is not None:
            raise UsageError("--shape reads a 2-D matrix from a .mat file, not a Cube")
        return apply(source, declare(nodata=declared.get("nodata"),
                                     wavelengths=declared.get("wavelengths"),
                                     fwhm=declared.get("fwhm")), "the cube")
    return read_cube(Path(source), format=format, var=var, **declared)


# ----------------------------------------------------------------------------- compress
def compress(source: Union[Cube, PathLike], output: Optional[PathLike] = None, *,
             settings: Optional[EncodeSettings] = None, bpppb: Optional[float] = None,
             psnr: Optional[float] = None, min_band_psnr: Optional[float] = None,
             max_error: Optional[float] = None, lossless: bool = False, effort: int = 5,
             arch: str = codecs.DEFAULT, seed: int = 0,
             device: str = "auto", time_limit: Optional[float] = None,
             tile: Optional[int] = None, jobs: int = 1, format: Optional[str] = None,
             var: Optional[str] = None, resample: bool = True, force: bool = False,
             progress: Optional[Callable[[Progress], None]] = None,
             on_stage: Optional[Callable[[str], None]] = None, nodata: Any = None,
             wavelengths: Any = None, fwhm: Any = None, shape: Any = None,
             **codec_options: Any) -> CompressResult:
    """Compress a cube to a ``.hnr`` file of ``bpppb`` bits per sample (±3%).

    Args:
        source: a :class:`~hinerc.io.Cube` or a path to any cube hinerc reads.
        output: the ``.hnr`` to write; ``None`` only measures.
        settings: every choice of the encode at once (as the CLI and a batch build it); it
            replaces the keywords from ``bpppb`` to ``resample`` and the codec options, but
            ``device`` and ``jobs`` still apply.
        bpppb: target rate: file bytes × 8 / (H·W·C) (0.2 when nothing else is asked); with
            ``psnr``, ``min_band_psnr`` or ``max_error``, the highest rate allowed.
        psnr, min_band_psnr: instead of a rate, the smallest file whose band-mean PSNR (or
            every band's PSNR) is at least this many dB, found by searching the rate
            (:mod:`hinerc.targets`; several encodes). Raises
            :class:`~hinerc.targets.QualityTargetError` (a RateError) when ``bpppb`` is too low.
        max_error, lossless: near-lossless: every decoded sample within ``max_error`` of the
            original in stored units (integer cubes: the integer part of it; floats: up to the
            float's own rounding); ``lossless`` (``max_error=0``): bit-identical. The lossy
            model predicts, a residual section keeps the bound (:mod:`hinerc.nearlossless`);
            the smallest file found, no rate target. Raises RateError when ``bpppb`` is too low.
        effort: 1..9, the codec's preset (``lowrank``: how many ranks and embedding steps are
            tried; ``hiner``: epochs, bands per step, learning rate).
        arch: the codec (:func:`hinerc.codecs.names`): ``lowrank`` (default) or ``hiner``.
        seed: seeds every random choice; the same input and seed give the same bytes.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (where a network runs).
        time_limit: encode time budget in seconds: ``lowrank`` stops its rank search there and
            keeps the best rank so far; ``hiner`` runs its learning-rate schedule on time (a
            tiled scene shares the limit out between its tiles by their size).
        tile: a scene with more rows or columns than this is cut into tiles of at most
            ``tile`` × ``tile`` pixels (memory is bounded by the tile); ``None``: the codec's
            default (512 for ``lowrank``, 256 for ``hiner``).
        jobs: tiles fitted at once, in separate processes.
        format, var: reader overrides (see :func:`hinerc.io.read_cube`).
        resample: ``False`` marks the file as not to be resampled (:func:`resample` refuses it).
        force: overwrite an existing output.
        progress: called with a :class:`hinerc.progress.Progress` as the work goes on.
        on_stage: called with a short description when a stage starts.
        nodata, wavelengths, fwhm: declare what the input lacks, replacing what it says: the
            no-data value (``float("nan")`` for NaN holes), band centres and widths in nm
            (``"450,550"``, ``"400:700:10"``, a text file with one value per line, or numbers;
            one FWHM applies to every band). See :mod:`hinerc.io.declare`.
        shape: (rows, columns) of a ``.mat`` holding a 2-D bands × pixels matrix, pixels
            column-major as MATLAB's ``reshape``.
        codec_options: the codec's own options (``hiner``: ``epochs``, ``bands_per_step``,
            ``lr``; ``lowrank``: ``map_coder``, ``"hevc"``, ``"av1"``, ``"av1-444"`` or
            ``"jpeg2000"``); a usage error for a codec without them.

    Raises:
        UsageError (an InputError), InputError, RateError, OutputExistsError, TrainingError.
    """
    if settings is None:
        settings = EncodeSettings(bpppb=bpppb, effort=effort, arch=arch, seed=seed,
                                  device=device, time_limit=time_limit, tile=tile, jobs=jobs,
                                  resample=resample, codec_options=codec_options, psnr=psnr,
                                  min_band_psnr=min_band_psnr,
                                  max_error=_max_error(max_error, lossless))
    else:
        settings = replace(settings, device=device, jobs=jobs)
    inputs = _reader_input(source, format)
    out_path = Path(output) if output is not None else None
    if out_path is not None:  # before the (maybe long) read
        check_output(out_path, inputs, force)
        check_compress_output(out_path)
    cube = _read(source, format, var,
                 dict(nodata=nodata, wavelengths=wavelengths, fwhm=fwhm, shape=shape))
    enc = _encode(cube, settings, progress, on_stage)
    if out_path is not None:
        write_atomic(out_path, enc.data)
    q = enc.quality
    h, w, c = cube.shape
    return CompressResult(out_path, len(enc.data), len(enc.data) * 8 / (h * w * c),
                          settings.bpppb,
                          q.psnr_db, enc.seconds, enc.epochs, enc.device, enc.model_values,
                          (h, w, c), cube.dtype.name, enc.codec, q.worst_band_psnr_db,
                          q.worst_band, band_nm(cube.wavelengths_nm, q.worst_band), q.sam_deg,
                          q.max_abs_error, settings.psnr, settings.min_band_psnr,
                          settings.max_error)


def _max_error(max_error: Optional[float], lossless: bool) -> Optional[float]:
    """``--max-error``, or 0 for ``--lossless`` (both at once must agree)."""
    if lossless and max_error not in (None, 0):
        raise UsageError(f"--lossless is --max-error 0; got --max-error {max_error:g} too")
    return 0.0 if lossless else max_error


def _encode(cube: Cube, settings: EncodeSettings, progress: Optional[Callable[[Progress], None]],
            on_stage: Optional[Callable[[str], None]]) -> "pipeline.Encoded":
    """One encode at the rate asked, or the rate search of a quality target."""
    if settings.max_error is not None:  # near-lossless / lossless: the smallest file
        from hinerc import nearlossless

        return nearlossless.encode(cube, settings, progress, on_stage)
    if not settings.quality_target:
        return pipeline.encode(cube, settings, progress, on_stage)
    from hinerc import targets

    target = targets.Target(settings.psnr, settings.min_band_psnr)
    ceiling = targets.ceiling_of(settings.bpppb, cube.dtype.itemsize * 8)

    said: dict[int, list] = {}  # the warnings of each probe: only the chosen one's are shown

    def at(rate: float) -> "pipeline.Encoded":
        if on_stage is not None:
            on_stage(f"trying {rate:.4g} bpppb for {target.describe()}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            enc = pipeline.encode(cube, replace(settings, bpppb=rate, psnr=None,
                                                min_band_psnr=None), progress, None)
        said[id(enc)] = caught
        return enc

    t0 = time.perf_counter()
    best = targets.search(at, target, ceiling)
    for w in said.get(id(best), []):
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    # the time of the whole search (the file's own report holds its last encode's)
    return replace(best, seconds=time.perf_counter() - t0)


# ----------------------------------------------------------------------------- decompress
def _check_cube_output(out_path: Optional[Path], src: Path, format: Optional[str],
                       force: bool) -> None:
    if out_path is not None:
        check_output(out_path, [src], force)  # first: never the input, whatever the format
        for p in output_files(out_path, format):  # an ENVI output is two files
            if p != out_path:
                check_output(p, [src], force)


def _out_dtype(dtype: Optional[str]) -> Optional[np.dtype]:
    if dtype is None:
        return None
    if dtype != "float32":
        raise UsageError("only --dtype float32 is supported besides the original type")
    return np.dtype(np.float32)


def decompress(source: PathLike, output: Optional[PathLike] = None, *, format: Optional[str] = None,
               interleave: Optional[str] = None, device: str = "auto", force: bool = False,
               dtype: Optional[str] = None, window: WindowLike = None,
               bands: BandsLike = None) -> Cube:
    """Decode a ``.hnr`` file; write it to ``output`` (format by extension) when given.

    Args:
        dtype: ``None`` keeps the original sample type; ``"float32"`` writes floats.
        window: ``(row, col, height, width)`` or ``"ROW,COL,HEIGHT,WIDTH"``: decode only that
            window (only the tiles it meets); the cube's geotransform is the window's.
        bands: ``"10:60,70"`` or a list of 0-based band indices: decode only those bands,
            with their wavelengths and other per-band metadata (see :mod:`hinerc.region`).
    """
    src = Path(source)
    out_path = Path(output) if output is not None else None
    out_dt = _out_dtype(dtype)
    dev = checked_device(device)
    parse_window(window), parse_bands(bands)  # usage errors before any work
    _check_cube_output(out_path, src, format, force)
    ld = pipeline.read(src)
    hd = ld.file.header
    reg = region(window, bands, hd.height, hd.width, hd.bands)
    if out_path is not None and out_dt is None and _streams(ld, reg, out_path, format):
        return _decompress_into_npy(ld, dev, reg, out_path)
    cube = pipeline.decode(ld, dev, reg)
    if out_dt is not None:
        cube = cube.with_data(cube.data.astype(out_dt))
    if out_path is not None:
        write_cube(cube, out_path, format=format, interleave=interleave)
    return cube


def _streams(ld: Any, reg: Any, out_path: Path, format: Optional[str]) -> bool:
    """Whether a decode is written into its output tile by tile: a tiled file decoded to
    ``.npy`` whose samples exceed :data:`hinerc.io.mapped.MAP_ABOVE` bytes."""
    from hinerc.io import output_format, mapped

    hd = ld.file.header
    count = hd.bands if reg.bands is None else reg.bands.size
    size = reg.height * reg.width * count * np.dtype(hd.dtype).itemsize
    return (len(ld.rects) > 1 and size > mapped.MAP_ABOVE
            and output_format(Path(out_path), format) == "npy")


def _decompress_into_npy(ld: Any, dev: str, reg: Any, out_path: Path) -> Cube:
    """Decode a tiled file into a ``.npy`` memory map of the output, tile by tile (the
    process never holds the decoded scene), written atomically as every output is."""
    from hinerc.io.kept import warn_lost
    from hinerc.outputs import atomic_outputs

    hd = ld.file.header
    count = hd.bands if reg.bands is None else reg.bands.size
    with atomic_outputs([out_path]) as (tmp,):
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.dtype(hd.dtype),
                                        shape=(reg.height, reg.width, count))
        cube = pipeline.decode(ld, dev, reg, out=arr)
        arr.flush()
    warn_lost(cube, out_path, "npy")
    return cube


# ----------------------------------------------------------------------------- resample
def resample(source: PathLike, output: Optional[PathLike] = None, *,
             wavelengths: Union[str, Sequence[float], None] = None,
             like: Union[Cube, PathLike, None] = None, srf: Optional[PathLike] = None,
             extrapolate: bool = False, format: Optional[str] = None,
             interleave: Optional[str] = None, dtype: Optional[str] = None,
             device: str = "auto", force: bool = False, window: WindowLike = None) -> Cube:
    """Decode a ``.hnr`` at other wavelengths; write it to ``output`` when given.

    Exactly one of ``wavelengths`` (``"400:2500:5"``, ``"450,550"`` or a sequence of nm), ``like``
    (a cube or a path: its wavelengths, and FWHM when it has them) or ``srf`` (a CSV of spectral
    responses) says which bands to produce; see :mod:`hinerc.spectral` for the model.

    ``window`` (``(row, col, height, width)`` or ``"ROW,COL,HEIGHT,WIDTH"``) resamples only
    that window, decoding only the tiles it meets.

    Raises:
        InputError: no or several band choices, a wavelength outside the encoded range (unless
            ``extrapolate``), a file written with ``--no-resample`` or without wavelengths.
    """
    from hinerc.spectral import TargetBands, parse_wavelengths, read_srf, resample_samples, \
        target_like

    src = Path(source)
    if sum(x is not None for x in (wavelengths, like, srf)) != 1:
        raise UsageError("give exactly one of --wavelengths, --like or --srf")
    out_path = Path(output) if output is not None else None
    out_dt = _out_dtype(dtype)
    dev = checked_device(device)
    parse_window(window)
    _check_cube_output(out_path, src, format, force)
    if wavelengths is not None:
        target = (parse_wavelengths(wavelengths) if isinstance(wavelengths, str)
                  else TargetBands(np.asarray(wavelengths, np.float64)))
    elif like is not None:
        target = target_like(like if isinstance(like, Cube) else read_cube(Path(like)))
    else:
        target = read_srf(Path(srf))  # type: ignore[arg-type]
    ld = pipeline.read(src)
    f = ld.file
    if f.header.flags & FLAG_NO_RESAMPLE:
        raise InputError(f"{src}: written with --no-resample, it keeps no spectral model; "
                         "decompress it instead")
    if f.meta.get("wavelengths_nm") is None:
        raise InputError(f"{src}: the cube declares no wavelengths, so it cannot be resampled")
    hd = f.header
    reg = region(window, None, hd.height, hd.width, hd.bands)
    out_dt = out_dt if out_dt is not None else np.dtype(hd.dtype)
    data = np.empty((reg.height, reg.width, target.count), dtype=out_dt)
    nodata = f.meta.get("nodata")
    for i, (rect, sub) in enumerate(zip(ld.rects, f.plain())):
        where = reg.overlap(rect.top, rect.left, rect.height, rect.width)
        if where is None:
            continue
        rows, cols, t_rows, t_cols = where
        # the spectral model is chosen on the whole tile: resample it, then cut the window
        data[rows, cols] = resample_samples(pipeline.decode_part(ld, i, dev), sub.bands.kinds,
                                            f.meta["wavelengths_nm"], nodata, target,
                                            extrapolate, out_dt)[t_rows, t_cols]
    try:
        base = Cube.from_metadata(np.zeros((1, 1, hd.bands), hd.dtype), f.meta)
    except InputError as exc:
        from hinerc.errors import CorruptFileError

        raise CorruptFileError(f"invalid metadata: {exc}") from exc
    base = base.part(base.data, reg.top, reg.left, None)  # the window's georeference
    cube = base.with_bands(data, target.centres_nm,
                           target.fwhm_nm if target.fwhm_nm is not None else None,
                           list(target.names))
    if out_path is not None:
        write_cube(cube, out_path, format=format, interleave=interleave)
    return cube


# ----------------------------------------------------------------------------- inspect
def inspect(path: PathLike, format: Optional[str] = None, var: Optional[str] = None
            ) -> dict[str, Any]:
    """Describe a ``.hnr`` (by its signature) or any input cube, as ``hinerc info --json``."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(SIGNATURE))
    except FileNotFoundError:
        from hinerc.io.stack import is_pattern

        if is_pattern(p):  # a quoted glob pattern of band images
            return describe_cube(p, format=format, var=var)
        raise InputError(f"{p}: no such file") from None
    except IsADirectoryError:
        return describe_cube(p, format=format, var=var)  # a folder of band images
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from None
    if head == SIGNATURE or p.suffix.lower() == ".hnr":
        return describe_hnr(p)
    return describe_cube(p, format=format, var=var)


#: Old names kept for callers of the API.
inspect_hnr = describe_hnr
inspect_cube = describe_cube
