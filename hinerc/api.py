"""The Python API: :func:`compress`, :func:`decompress` and :func:`inspect`.

Data flows one way::

    read cube ─► prepare bands ─► fit the model into R bytes ─► entropy-code
      ─► decode what was written (PSNR) ─► write .hnr atomically

where the model is the default low-rank one (:mod:`hinerc.lowrank`: search the rank, code the
maps with JPEG 2000, fit and quantize the band embeddings) or, with ``arch="hiner"``, the
published network (size it from R, train, quantize, Huffman-code). And back: parse + check every
CRC ─► decode the model's sections ─► run the decoder ─► restore bands, dtype, no-data and
metadata ─► write cube. torch is imported only where a network runs, so :func:`inspect`
(``hinerc info``) stays fast.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from hinerc import __version__
from hinerc.bands import PreparedCube, nodata_mask, prepare, restore, samples_nodata
from hinerc.errors import HinercWarning, InputError, OutputExistsError, RateError, UsageError
from hinerc.format import container, tiles
from hinerc.format.container import (LOWRANK_ORDER, SECTION_ORDER, HnrFile, json_bytes,
                                     meta_bytes)
from hinerc.format.header import (ALL_ARCHS, FLAG_NO_RESAMPLE, FLAG_NODATA, FLAG_TILED, BandTable,
                                  EncodeReport, HnrHeader, LowRankConfig, ModelConfig)
from hinerc.format.lowrank import LowRankCode, pack_embeddings, unpack_embeddings
from hinerc.format.mask import decode_mask, encode_mask
from hinerc.format.payload import Payload, decode_payload, encode_payload
from hinerc.format.quant import quantize
from hinerc.io import Cube, input_files, output_files, read_cube, write_cube
from hinerc.metrics import QualityAccumulator
from hinerc.outputs import output_folder, write_atomic
from hinerc import ratecontrol

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
    target_bpppb: float
    psnr_db: float
    seconds: float
    epochs: int
    device: str
    model_values: int
    shape: tuple[int, int, int]
    dtype: str
    arch: str = "lowrank"
    worst_band_psnr_db: Optional[float] = None
    worst_band: Optional[int] = None
    worst_band_nm: Optional[float] = None
    sam_deg: Optional[float] = None
    max_abs_error: Optional[float] = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: measured values unrounded, ``seconds`` to 2 decimals as in the file's
        report; ``epochs`` only for ``arch`` hiner (the low-rank model has none)."""
        d = asdict(self)
        d["path"] = str(self.path) if self.path else None
        d["shape"] = list(self.shape)
        d["seconds"] = _round(d["seconds"], 2)
        if self.arch != "hiner":
            del d["epochs"]
        return d


def _round(x: Optional[float], digits: int) -> Optional[float]:
    """``x`` rounded; ``None`` for ``None``, NaN and infinities (JSON has none)."""
    return round(x, digits) if x is not None and math.isfinite(x) else None


def _sig6(x: Optional[float]) -> Optional[float]:
    """``x`` to 6 significant digits (errors in original units have any magnitude)."""
    return float(f"{x:.6g}") if x is not None and math.isfinite(x) else None


# ----------------------------------------------------------------------------- helpers
def check_device_name(device: str) -> str:
    """``device`` lower-cased if it is ``auto``, ``cpu``, ``cuda`` or ``cuda:N``; otherwise a
    :class:`UsageError` (exit 2). Whether CUDA is there is checked later, where it is used."""
    name = (device or "auto").strip().lower()
    if name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit()):
        return name
    raise UsageError(f"unknown --device {device!r} (use auto, cpu, cuda or cuda:N)")


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; check explicit CUDA requests."""
    device = check_device_name(device)
    if device == "auto":
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit()):
        import torch
        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: CUDA is not available on this machine")
        if ":" in device and int(device[5:]) >= torch.cuda.device_count():
            raise InputError(f"--device {device} does not exist "
                             f"({torch.cuda.device_count()} CUDA device(s))")
        return device
    raise UsageError(f"unknown --device {device!r} (use auto, cpu, cuda or cuda:N)")


def _checked_device(device: str) -> str:
    """``device`` checked now when it names CUDA, else kept as is: ``auto`` is resolved only
    if a network runs (a lowrank file decodes without importing torch)."""
    device = check_device_name(device)
    return device if device in ("auto", "cpu") else resolve_device(device)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_output(output: Path, inputs: list[Path], force: bool) -> None:
    """Refuse to overwrite an input, or an existing output without ``force``, or to write into
    a folder that does not exist (checked before any work, so no encode is wasted)."""
    output_folder(output)
    for src in inputs:
        if _same_file(output, src):
            raise OutputExistsError(f"{output}: refusing to overwrite the input")
    if output.exists() and not force:
        raise OutputExistsError(f"{output} exists (use --force to overwrite)")


#: Extensions that name a cube format: ``compress`` never writes one (that is ``decompress``).
CUBE_EXTENSIONS = (".tif", ".tiff", ".hdr", ".img", ".dat", ".bsq", ".bil", ".bip", ".raw",
                   ".mat", ".npy", ".png", ".jpg", ".jpeg", ".jp2", ".j2k", ".h5", ".nc")


def check_compress_output(output: Path) -> None:
    """``compress`` writes ``.hnr`` files: an output named like a cube is a usage error."""
    ext = output.suffix.lower()
    if ext in CUBE_EXTENSIONS:
        raise UsageError(f"{output}: compress writes a .hnr file, not {ext}; name the output "
                         f"with .hnr (to write a {ext} cube from a .hnr, use hinerc decompress)")


def check_compress_input(src: Path, format: Optional[str]) -> None:
    """A ``.hnr`` given to ``compress`` is pointed to ``decompress``."""
    if format is not None:
        return
    if src.suffix.lower() == ".hnr" or _is_hnr(src):
        raise UsageError(f"{src} is already a .hnr file; to decode it, use hinerc decompress")


def _is_hnr(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(container.SIGNATURE)) == container.SIGNATURE
    except OSError:
        return False


def _fixed_bytes(header: HnrHeader, meta: dict, prep: PreparedCube, mask: bytes,
                 report: Optional[EncodeReport], order: tuple[str, ...] = SECTION_ORDER) -> int:
    """Exact bytes of every section but MODL and the model's own ones (QPRM, HUFF, DATA or
    SPEC, MAPS), framing of all sections of ``order`` included."""
    n = container.PREAMBLE_SIZE + 12 * len(order)
    n += len(header.to_bytes()) + len(meta_bytes(meta))
    n += len(prep.table.to_bytes(prep.param_bytes)) + len(mask)
    n += len(json_bytes(report.to_dict() if report is not None else {}))
    return n


# ----------------------------------------------------------------------------- compress
#: Scenes larger than this (rows or columns) are cut into tiles fitted separately: per model,
#: since the low-rank model gains from larger tiles (one basis for more pixels) and stays cheap.
DEFAULT_TILE = {"lowrank": 512, "hiner": 256}


def compress(source: Union[Cube, PathLike], output: Optional[PathLike] = None, *,
             bpppb: float = 0.2, effort: int = 5, arch: str = "lowrank",
             epochs: Optional[int] = None, seed: int = 0,
             device: str = "auto", bands_per_step: Optional[int] = None,
             lr: Optional[float] = None, time_limit: Optional[float] = None,
             tile: Optional[int] = None, jobs: int = 1, format: Optional[str] = None,
             var: Optional[str] = None, resample: bool = True,
             force: bool = False, progress: Optional[Callable[[Any], None]] = None,
             on_stage: Optional[Callable[[str], None]] = None, nodata: Any = None,
             wavelengths: Any = None, fwhm: Any = None, shape: Any = None) -> CompressResult:
    """Compress a cube to a ``.hnr`` file of ``bpppb`` bits per sample (±3%).

    Args:
        source: a :class:`~hinerc.io.Cube` or a path to any cube hinerc reads.
        output: the ``.hnr`` to write; ``None`` only measures.
        bpppb: target rate: file bytes × 8 / (H·W·C).
        effort: 1..9 (:mod:`hinerc.nn.presets`): for ``lowrank``, how many ranks and embedding
            steps are tried; for ``hiner``, the epochs, bands per step and learning rate (the
            three options below override it).
        arch: ``lowrank`` (default, :mod:`hinerc.lowrank`) or ``hiner`` (the published network).
        epochs: training epochs (passes over all coded bands); ``hiner`` only.
        seed: seeds every random choice; the same input and seed give the same bytes.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        bands_per_step: bands per optimizer step (4 with lr 3e-3 matches one band per step at
            lr 1e-3 in a sixth of the time on Jasper Ridge).
        lr: peak learning rate.
        time_limit: encode time budget in seconds. ``lowrank`` stops its rank search there
            and keeps the best rank so far; for ``hiner`` the learning-rate schedule runs on
            whichever comes first, the epochs or the time, so it decays fully by the limit;
            training stops there and the model so far is written (for a tiled scene the limit
            is shared out between the tiles by their size).
        tile: a scene with more rows or columns than this is cut into tiles of at most
            ``tile`` × ``tile`` pixels: memory is bounded by the tile (times ``jobs``);
            ``None``: 512 for ``lowrank``, 256 for ``hiner``.
        jobs: tiles fitted at once, in separate processes (a scene of one tile ignores it).
        format, var: reader overrides (see :func:`hinerc.io.read_cube`).
        resample: ``False`` marks the file as not to be resampled (:func:`resample` refuses it).
            The spectral model costs no byte, so this changes nothing else.
        force: overwrite an existing output.
        progress: called with :class:`hinerc.nn.train.EpochStats` after every epoch, or for
            ``lowrank`` with :class:`hinerc.lowrank.SearchProgress` after every JPEG 2000
            encode of the rank search (work done and planned, for the whole scene).
        on_stage: called with a short description when a stage starts.
        nodata, wavelengths, fwhm: declare what the input lacks, replacing what it says: the
            no-data value (``float("nan")`` for NaN holes), band centres and widths in nm
            (``"450,550"``, ``"400:700:10"``, a text file with one value per line, or numbers;
            one FWHM applies to every band). See :mod:`hinerc.io.declare`.
        shape: (rows, columns) of a ``.mat`` holding a 2-D bands × pixels matrix, pixels
            column-major as MATLAB's ``reshape`` (pixel k is row k mod rows, column k div rows).

    Raises:
        InputError, RateError, OutputExistsError, TrainingError.
    """
    t_start = time.perf_counter()
    stage = on_stage or (lambda s: None)
    # Options first (a usage error, exit 2, before any reading), then the paths, then the cube.
    if not (isinstance(bpppb, (int, float)) and math.isfinite(bpppb) and bpppb > 0):
        raise UsageError(f"--bpppb must be a positive finite number, got {bpppb}")
    from hinerc.nn.presets import EFFORTS
    if effort not in EFFORTS:
        raise UsageError(f"--effort must be 1..9, got {effort}")
    if arch not in ALL_ARCHS:
        raise UsageError(f"--arch must be one of {', '.join(ALL_ARCHS)}, got {arch!r}")
    if arch == "lowrank" and (epochs, bands_per_step, lr) != (None, None, None):
        raise UsageError("--epochs, --bands-per-step and --lr train the network of --arch hiner;"
                         " the lowrank model has none (use --effort)")
    preset = EFFORTS[effort]
    epochs = preset.epochs if epochs is None else epochs
    bands_per_step = preset.bands_per_step if bands_per_step is None else bands_per_step
    lr = preset.lr if lr is None else lr
    if epochs < 1:
        raise UsageError("--epochs must be at least 1")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr must be a positive finite number, got {lr}")
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        raise UsageError("--time-limit must be a positive number of seconds")
    tile = DEFAULT_TILE.get(arch, 256) if tile is None else tile
    if tile < 8:
        raise UsageError("--tile must be at least 8 pixels")
    check_device_name(device)
    inputs: list[Path] = []
    if not isinstance(source, Cube):
        check_compress_input(Path(source), format)
        inputs = input_files(Path(source), format)
    out_path = Path(output) if output is not None else None
    if out_path is not None:  # before the (maybe long) read
        check_output(out_path, inputs, force)
        check_compress_output(out_path)
    if isinstance(source, Cube):
        from hinerc.io.declare import apply, declared

        if shape is not None:
            raise UsageError("--shape reads a 2-D matrix from a .mat file, not a Cube")
        cube = apply(source, declared(nodata=nodata, wavelengths=wavelengths, fwhm=fwhm),
                     "the cube")
    else:
        cube = read_cube(Path(source), format=format, var=var, shape=shape, nodata=nodata,
                         wavelengths=wavelengths, fwhm=fwhm)
    if arch == "hiner":
        dev = resolve_device(device)
    else:  # lowrank runs on the CPU; a device named anyway is still checked (a typo is an error)
        _checked_device(device)
        dev = "cpu"
    tc_args = dict(epochs=epochs, lr=lr, bands_per_step=bands_per_step, seed=seed, device=dev,
                   arch=arch, search=preset.search())

    h, w, c = cube.shape
    samples = h * w * c
    budget = ratecontrol.target_bytes(bpppb, samples)
    # The report is sized now with placeholder figures of full length; the real ones replace
    # them at the end (a few bytes of difference, well inside the rate tolerance).
    report = EncodeReport(psnr_db=99.999, encode_seconds=9999.9, device=dev,
                          epochs=epochs if arch == "hiner" else 0,
                          seed=seed, hinerc_version=__version__,
                          source_bits_per_sample=cube.dtype.itemsize * 8,
                          worst_band_psnr_db=99.9999, worst_band=c, sam_deg=99.9999,
                          max_abs_error=1.23456e-05)
    meta = cube.metadata_dict()
    acc = QualityAccumulator(c)
    if h <= tile and w <= tile:
        enc = _encode_plain(cube, budget, meta, report, tc_args, time_limit, progress, stage)
        if not resample:
            enc.header.flags |= FLAG_NO_RESAMPLE
        acc.add(cube.data, enc.restored, nodata_mask(cube))
        epochs_done, values, n_coded = enc.epochs, enc.values, enc.n_coded
        saturated = enc.saturated

        def assemble() -> bytes:
            return enc.assemble(report)
    else:
        rects = tiles.grid(h, w, tile)
        header = HnrHeader(h, w, c, cube.dtype.name, 0, 4, FLAG_TILED | (
            FLAG_NODATA if cube.nodata is not None else 0) | (0 if resample else FLAG_NO_RESAMPLE))
        if arch == "hiner":
            epochs_done = epochs
        outer = (container.PREAMBLE_SIZE + 12 * len(container.TILED_ORDER)
                 + len(header.to_bytes()) + len(meta_bytes(meta))
                 + len(json_bytes(report.to_dict())) + 4 + 20 * len(rects))
        blobs: list[tuple[tiles.TileRect, bytes]] = []
        epochs_done, values, n_coded = (epochs if arch == "hiner" else 0), 0, 0

        def job(rect: tiles.TileRect) -> tuple:
            share = rect.height * rect.width * c / samples
            sub = Cube(np.ascontiguousarray(cube.data[rect.window()]),
                       wavelengths_nm=cube.wavelengths_nm, nodata=cube.nodata)
            return (sub, (budget - outer) * share, tc_args,
                    time_limit * share if time_limit else None)

        saturated = False  # any tile at its finest precision leaves the file short
        for rect, (blob_t, restored, ep, vals, nc, sat) in _map_tiles(job, rects, jobs, progress,
                                                                      stage):
            window = cube.data[rect.window()]
            acc.add(window, restored, samples_nodata(window, cube.nodata))
            blobs.append((rect, blob_t))
            epochs_done, values, n_coded = min(epochs_done, ep), values + vals, n_coded + nc
            saturated = saturated or sat

        def assemble() -> bytes:
            return container.to_bytes_tiled(header, meta, tiles.encode_tiles(blobs), report)

    quality = acc.result()
    psnr = quality.psnr_db
    report.psnr_db = round(psnr, 4) if math.isfinite(psnr) else None
    report.worst_band_psnr_db = _round(quality.worst_band_psnr_db, 4)
    report.worst_band = quality.worst_band if report.worst_band_psnr_db is not None else None
    report.sam_deg = _round(quality.sam_deg, 4)
    report.max_abs_error = _sig6(quality.max_abs_error)
    report.encode_seconds = round(time.perf_counter() - t_start, 2)
    report.epochs = epochs_done
    blob = assemble()
    # Never write a file that misses the rate. A cube whose every band is constant or no-data
    # has nothing to spend bytes on, nor a low-rank model whose every map is already at its
    # finest quality: its file may be smaller, never larger.
    low = (1 - ratecontrol.TOLERANCE) * budget if n_coded and not saturated else 0
    if saturated and n_coded and len(blob) < (1 - ratecontrol.TOLERANCE) * budget:
        warnings.warn(f"the model is at its finest precision at {len(blob) * 8 / samples:.4f} "
                      f"bpppb: the file is smaller than the {bpppb:g} bpppb asked",
                      HinercWarning, stacklevel=2)
    if not n_coded and len(blob) > (1 + ratecontrol.TOLERANCE) * budget:
        raise RateError(f"{bpppb:g} bpppb is below what this cube can reach: its smallest file "
                        f"is {len(blob) * 8 / samples:.4f} bpppb")
    if not low <= len(blob) <= (1 + ratecontrol.TOLERANCE) * budget:
        raise RateError(f"could not land {bpppb:g} bpppb: the file would be "
                        f"{len(blob) * 8 / samples:.4f} bpppb")
    container.from_bytes(blob)  # the file must pass the reader's own checks before it is written
    if out_path is not None:
        write_atomic(out_path, blob)
    return CompressResult(out_path, len(blob), len(blob) * 8 / samples, bpppb, psnr,
                          report.encode_seconds, epochs_done, dev, values, (h, w, c),
                          cube.dtype.name, arch, quality.worst_band_psnr_db, quality.worst_band,
                          _band_nm(cube.wavelengths_nm, quality.worst_band), quality.sam_deg,
                          quality.max_abs_error)


def _band_nm(wavelengths: Any, band: Optional[int]) -> Optional[float]:
    """The wavelength (nm) of 1-based ``band``, or ``None`` when unknown."""
    if band is None or wavelengths is None or not 1 <= band <= len(wavelengths):
        return None
    return float(wavelengths[band - 1])


def _encode_tile(sub: Cube, budget: float, tc_args: dict, time_limit: Optional[float],
                 progress: Any = None, stage: Callable[[str], None] = lambda s: None,
                 threads: Optional[int] = None) -> tuple:
    """Encode one tile as a plain file; returns (bytes, restored samples, epochs, values, coded,
    saturated)."""
    if threads:
        import torch
        torch.set_num_threads(threads)
    enc = _encode_plain(sub, budget, {"nodata": sub.nodata}, None, tc_args, time_limit,
                        progress, stage)
    return (enc.assemble(None), enc.restored, enc.epochs, enc.values, enc.n_coded,
            enc.saturated)


def _map_tiles(job: Callable[[tiles.TileRect], tuple], rects: list, jobs: int, progress: Any,
               stage: Callable[[str], None]):
    """Yield ``(rect, result)`` in tile order, fitting up to ``jobs`` tiles at once.

    In parallel each tile runs in its own (spawned) process with a share of the CPU threads,
    and at most ``jobs`` tiles are in flight, so memory stays bounded by ``jobs`` tiles.
    """
    def where(i: int, r: tiles.TileRect) -> str:
        return (f"tile {i + 1}/{len(rects)}: rows {r.top}–{r.top + r.height - 1}, "
                f"columns {r.left}–{r.left + r.width - 1}")

    if jobs <= 1 or len(rects) == 1:
        for i, rect in enumerate(rects):
            stage(where(i, rect))
            args = job(rect)
            yield rect, _encode_tile(*args, progress=_in_tile(progress, args[2], i, len(rects)),
                                     stage=stage)
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    threads = max(1, (os.cpu_count() or 1) // jobs)
    stage(f"fitting {len(rects)} tiles, {jobs} at a time")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        pending: list = []
        done = 0
        for i, rect in enumerate(rects):
            args = job(rect)
            pending.append((rect, pool.submit(_encode_tile, *args, threads=threads)))
            if len(pending) >= jobs:
                r, fut = pending.pop(0)
                yield r, fut.result()
                _tile_done(progress, args[2], done, len(rects))
                done += 1
        for r, fut in pending:
            yield r, fut.result()
            _tile_done(progress, args[2], done, len(rects))
            done += 1


def _search_unit(progress: Any, tc_args: dict) -> Optional[int]:
    """A tile's planned lowrank work (ranks × encodes per rank), or ``None`` when there is no
    lowrank progress to scale to the scene."""
    search = tc_args.get("search")
    if progress is None or tc_args.get("arch") != "lowrank" or search is None:
        return None
    return search.planned_ranks() * search.steps_per_rank()


def _in_tile(progress: Any, tc_args: dict, index: int, tiles: int) -> Any:
    """``progress`` for tile ``index`` of ``tiles``: a lowrank search's progress scaled to the
    scene (tiles × planned ranks × encodes per rank)."""
    unit = _search_unit(progress, tc_args)
    if unit is None:
        return progress
    from hinerc.lowrank import SearchProgress

    last = [0.0]  # a search that outgrows its plan must not move the scene's bar back

    def report(event: Any) -> None:
        if isinstance(event, SearchProgress):
            event = event.in_tile(index, tiles, unit)
            event.done = last[0] = max(event.done, last[0])
        progress(event)
    return report


def _tile_done(progress: Any, tc_args: dict, index: int, tiles: int) -> None:
    """A tile fitted in another process: its whole share of the scene's lowrank progress."""
    unit = _search_unit(progress, tc_args)
    if unit is not None:
        from hinerc.lowrank import SearchProgress

        progress(SearchProgress(unit, unit, 0, 0).in_tile(index, tiles, unit))


@dataclass
class _Encoded:
    """A plain (untiled) encode, ready to be serialised with its final report."""

    header: HnrHeader
    meta: dict
    table: BandTable
    model: ModelConfig | LowRankConfig
    payload: Optional[Payload]  # arch hiner
    mask: bytes
    restored: np.ndarray
    epochs: int
    values: int
    n_coded: int
    lowrank: Optional[LowRankCode] = None  # arch lowrank
    saturated: bool = False  # lowrank at its finest precision below the budget

    def assemble(self, report: Optional[EncodeReport]) -> bytes:
        if self.lowrank is not None:
            return container.to_bytes(HnrFile(self.header, self.meta, self.table, self.model,
                                              None, None, None, self.mask, report,
                                              lowrank=self.lowrank))
        return container.to_bytes(HnrFile(self.header, self.meta, self.table, self.model,
                                          self.payload.quant, self.payload.tables,
                                          self.payload.streams, self.mask, report))


def _encode_plain(cube: Cube, budget_bytes: float, meta: dict, report: Optional[EncodeReport],
                  tc_args: dict, time_limit: Optional[float], progress: Any,
                  stage: Callable[[str], None]) -> _Encoded:
    """Fit, quantize and entropy-code one (untiled) cube into ``budget_bytes`` (±3%)."""
    tc_args = dict(tc_args)
    arch, search = tc_args.pop("arch", "hiner"), tc_args.pop("search", None)
    if arch == "lowrank":
        return _encode_lowrank(cube, budget_bytes, meta, report, search, time_limit, stage,
                               progress)
    from hinerc.nn.geometry import choose_geometry
    from hinerc.nn.model import decode_bands
    from hinerc.nn.sizing import config_for_budget, smallest_config
    from hinerc.nn.train import TrainConfig, fit

    h, w, c = cube.shape
    samples = h * w * c
    bpppb = budget_bytes * 8 / samples
    dev = tc_args["device"]
    prep = prepare(cube)
    n_coded = int(prep.coords.size)
    mask = encode_mask(prep.nodata_mask)
    header = HnrHeader(h, w, c, cube.dtype.name, n_coded, prep.param_bytes,
                       FLAG_NODATA if cube.nodata is not None else 0)
    fixed = _fixed_bytes(header, meta, prep, mask, report)
    geom = choose_geometry(h, w)
    n_tensors = len(smallest_config(geom).tensor_specs(n_coded))  # the same for every size
    model_bytes = len(json_bytes(smallest_config(geom).to_dict())) + 8  # MODL, about
    room = ratecontrol.payload_room(budget_bytes, fixed + model_bytes, n_tensors)
    if n_coded == 0:  # every band constant or no-data: nothing to learn, a token model
        cfg = smallest_config(geom)
        qts = [quantize(np.zeros(shape, np.float32), 8) for _, shape in cfg.tensor_specs(0)]
        payload = encode_payload(qts)
        restored = restore(prep.table, np.empty((0, h, w), np.float32), prep.nodata_mask,
                           cube.dtype.name, cube.nodata, h, w)
        return _Encoded(header, meta, prep.table, cfg, payload, mask, restored, 0,
                        cfg.stored_values(0), 0)
    cfg = config_for_budget(geom, n_coded, ratecontrol.value_budget(room))
    if cfg is None:
        smallest = smallest_config(geom)
        n_min = n_coded * geom.embed_h * geom.embed_w + smallest.decoder_params()
        need = budget_bytes - room + n_min * ratecontrol.BITS_PER_VALUE / 8
        raise RateError(f"{bpppb:.4g} bpppb is below what this cube can reach: the side "
                        f"information and the smallest model need about "
                        f"{need * 8 / samples:.4f} bpppb")

    tc = TrainConfig(time_limit=time_limit, **tc_args)
    lo = budget_bytes * (1 - ratecontrol.TOLERANCE)
    hi = budget_bytes * (1 + ratecontrol.TOLERANCE)
    for attempt in range(3):
        stage(f"training {cfg.stored_values(n_coded):,} values ({_describe(cfg)}) on {dev}")
        result = fit(prep.target, prep.valid, prep.coords, cfg, tc, progress)
        if result.restarts:
            if report is not None:
                report.extra["divergence_restarts"] = result.restarts
            warnings.warn(f"training diverged {result.restarts} time(s); it went on from the last "
                          "good epoch at a lower learning rate", HinercWarning, stacklevel=2)
        stage("quantizing and entropy coding")
        tensors_f = [result.embeddings] + [result.decoder[name] for name, _ in
                                           cfg.tensor_specs(n_coded)[1:]]
        model_bytes = len(json_bytes(cfg.to_dict()))
        qts, coded = ratecontrol.fit_bits(tensors_f, budget_bytes - fixed - model_bytes)
        total = fixed + model_bytes + coded
        if lo <= total <= hi:
            break
        # Correct the value budget by the measured cost per value and train again.
        per_value = coded * 8.0 / sum(t.size for t in tensors_f)
        new_cfg = config_for_budget(geom, n_coded, ratecontrol.value_budget(room, per_value))
        if new_cfg is None or attempt == 2:
            raise RateError(f"could not land {bpppb:.4g} bpppb: the closest file is "
                            f"{total * 8 / samples:.4f} bpppb")
        cfg = new_cfg

    payload = encode_payload(qts)
    # Decode exactly what will be written, as decompress will, and measure it.
    stage("decoding to measure quality")
    tensors = decode_payload(cfg.tensor_specs(n_coded), payload)
    decoded = decode_bands(cfg, tensors, h, w, device=dev) if n_coded else np.empty((0, h, w))
    restored = restore(prep.table, decoded, prep.nodata_mask, cube.dtype.name, cube.nodata, h, w)
    return _Encoded(header, meta, prep.table, cfg, payload, mask, restored, result.epochs_done,
                    cfg.stored_values(n_coded), n_coded)


def _encode_lowrank(cube: Cube, budget_bytes: float, meta: dict, report: Optional[EncodeReport],
                    search: Any, time_limit: Optional[float],
                    stage: Callable[[str], None], progress: Any = None) -> _Encoded:
    """The low-rank model of one (untiled) cube into ``budget_bytes`` (±3%)."""
    from hinerc import lowrank

    h, w, c = cube.shape
    prep = prepare(cube)
    n_coded = int(prep.coords.size)
    mask = encode_mask(prep.nodata_mask)
    header = HnrHeader(h, w, c, cube.dtype.name, n_coded, prep.param_bytes,
                       FLAG_NODATA if cube.nodata is not None else 0)
    fixed = _fixed_bytes(header, meta, prep, mask, report, LOWRANK_ORDER)
    saturated = False
    if n_coded == 0:
        code = lowrank.constant_code(prep.target)
    else:
        room = budget_bytes - fixed - len(json_bytes(LowRankConfig(rank=255).to_dict()))
        def on_trial(t: Any) -> None:
            stage(f"rank {t.rank}: {t.psnr_db:.2f} dB ({t.size:,} bytes of maps and embeddings)")

        try:
            best = lowrank.encode(prep.target, prep.valid, prep.table.scales[prep.table.coded],
                                  int(room), search, time_limit, on_trial, progress)
        except RateError:
            need = fixed + lowrank.min_bytes(n_coded)
            raise RateError(f"{budget_bytes * 8 / (h * w * c):.4g} bpppb is below what this "
                            f"cube can reach: the side information and the smallest model need "
                            f"about {need * 8 / (h * w * c):.4f} bpppb") from None
        code = best.code
        saturated = best.finest and best.size < (1 - ratecontrol.TOLERANCE) * room
        if report is not None:
            report.extra["rank"] = code.rank
    cfg = LowRankConfig(rank=code.rank)
    # Decode exactly what will be written, as decompress will, and measure it.
    stage("decoding to measure quality")
    centres, steps, weights = unpack_embeddings(pack_embeddings(code.centres, code.steps,
                                                                code.weights), code.rank, n_coded)
    code = LowRankCode(code.rank, centres, steps, weights, code.maps)
    decoded = lowrank.reconstruct(code, h, w, n_coded)
    restored = restore(prep.table, decoded, prep.nodata_mask, cube.dtype.name, cube.nodata, h, w)
    return _Encoded(header, meta, prep.table, cfg, None, mask, restored, 0,
                    cfg.stored_values(n_coded), n_coded, lowrank=code, saturated=saturated)


def _describe(cfg: ModelConfig) -> str:
    return (f"embedding {cfg.embed_channels}×{cfg.embed_h}×{cfg.embed_w}, "
            f"channels {'-'.join(map(str, cfg.channels))}, strides {'·'.join(map(str, cfg.strides))}")


# ----------------------------------------------------------------------------- decompress
def decode_file(f: HnrFile, device: str = "cpu") -> Cube:
    """Decode a parsed ``.hnr`` into a :class:`Cube` in the original dtype and metadata."""
    hd = f.header
    if f.tiles:
        data = np.empty((hd.height, hd.width, hd.bands), dtype=hd.dtype)
        for rect, sub in f.tiles:
            data[rect.window()] = _decode_samples(sub, f.meta.get("nodata"), device)
    else:
        data = _decode_samples(f, f.meta.get("nodata"), device)
    try:
        return Cube.from_metadata(data, f.meta)
    except InputError as exc:
        raise container.CorruptFileError(f"invalid metadata: {exc}") from exc


def _decode_samples(f: HnrFile, nodata: Optional[float], device: str) -> np.ndarray:
    """The H×W×C samples of a plain (untiled) file."""
    hd = f.header
    if f.lowrank is not None:
        from hinerc.lowrank import reconstruct

        decoded = reconstruct(f.lowrank, hd.height, hd.width, hd.n_coded)
    else:
        specs = f.model.tensor_specs(hd.n_coded)
        tensors = decode_payload(specs, Payload(f.quant, f.tables, f.streams))
        if hd.n_coded:
            from hinerc.nn.model import decode_bands

            decoded = decode_bands(f.model, tensors, hd.height, hd.width,
                                   device=resolve_device(device))
        else:
            decoded = np.empty((0, hd.height, hd.width), np.float32)
    n_mask = int((f.bands.kinds != 2).sum())
    mask = decode_mask(f.mask, (hd.height, hd.width, n_mask))
    return restore(f.bands, decoded, mask, hd.dtype, nodata, hd.height, hd.width)


def decompress(source: PathLike, output: Optional[PathLike] = None, *, format: Optional[str] = None,
               interleave: Optional[str] = None, device: str = "auto", force: bool = False,
               dtype: Optional[str] = None) -> Cube:
    """Decode a ``.hnr`` file; write it to ``output`` (format by extension) when given.

    Args:
        dtype: ``None`` keeps the original sample type; ``"float32"`` writes floats.
    """
    src = Path(source)
    out_path = Path(output) if output is not None else None
    if out_path is not None:
        check_output(out_path, [src], force)  # first: never the input, whatever the format
        for p in output_files(out_path, format):  # an ENVI output is two files
            if p != out_path:
                check_output(p, [src], force)
    f = container.read_file(src)
    cube = decode_file(f, _checked_device(device))
    if dtype is not None:
        if dtype != "float32":
            raise UsageError("only --dtype float32 is supported besides the original type")
        cube = cube.with_data(cube.data.astype(np.float32))
    if out_path is not None:
        write_cube(cube, out_path, format=format, interleave=interleave)
    return cube


# ----------------------------------------------------------------------------- resample
def resample(source: PathLike, output: Optional[PathLike] = None, *,
             wavelengths: Union[str, Sequence[float], None] = None,
             like: Union[Cube, PathLike, None] = None, srf: Optional[PathLike] = None,
             extrapolate: bool = False, format: Optional[str] = None,
             interleave: Optional[str] = None, dtype: Optional[str] = None,
             device: str = "auto", force: bool = False) -> Cube:
    """Decode a ``.hnr`` at other wavelengths; write it to ``output`` when given.

    Exactly one of ``wavelengths`` (``"400:2500:5"``, ``"450,550"`` or a sequence of nm), ``like``
    (a cube or a path: its wavelengths, and FWHM when it has them) or ``srf`` (a CSV of spectral
    responses) says which bands to produce; see :mod:`hinerc.spectral` for the model.

    Raises:
        InputError: no or several band choices, a wavelength outside the encoded range (unless
            ``extrapolate``), a file written with ``--no-resample`` or without wavelengths.
    """
    from hinerc.spectral import TargetBands, parse_wavelengths, read_srf, target_like

    src = Path(source)
    chosen = [x is not None for x in (wavelengths, like, srf)]
    if sum(chosen) != 1:
        raise UsageError("give exactly one of --wavelengths, --like or --srf")
    out_path = Path(output) if output is not None else None
    if out_path is not None:
        check_output(out_path, [src], force)
        for p in output_files(out_path, format):
            if p != out_path:
                check_output(p, [src], force)
    if dtype is not None and dtype != "float32":
        raise UsageError("only --dtype float32 is supported besides the original type")
    if wavelengths is not None:
        target = (parse_wavelengths(wavelengths) if isinstance(wavelengths, str)
                  else TargetBands(np.asarray(wavelengths, np.float64)))
    elif like is not None:
        target = target_like(like if isinstance(like, Cube) else read_cube(Path(like)))
    else:
        target = read_srf(Path(srf))  # type: ignore[arg-type]
    f = container.read_file(src)
    if f.header.flags & FLAG_NO_RESAMPLE:
        raise InputError(f"{src}: written with --no-resample, it keeps no spectral model; "
                         "decompress it instead")
    if f.meta.get("wavelengths_nm") is None:
        raise InputError(f"{src}: the cube declares no wavelengths, so it cannot be resampled")
    dev = _checked_device(device)
    hd = f.header
    out_dt = np.dtype(dtype or hd.dtype)
    data = np.empty((hd.height, hd.width, target.count), dtype=out_dt)
    nodata = f.meta.get("nodata")
    if f.tiles:
        for rect, sub in f.tiles:
            data[rect.window()] = _resample_samples(sub, f.meta, target, extrapolate, out_dt,
                                                    nodata, dev)
    else:
        data[:] = _resample_samples(f, f.meta, target, extrapolate, out_dt, nodata, dev)
    try:
        base = Cube.from_metadata(np.zeros((1, 1, hd.bands), hd.dtype), f.meta)
    except InputError as exc:
        raise container.CorruptFileError(f"invalid metadata: {exc}") from exc
    cube = base.with_bands(data, target.centres_nm,
                           target.fwhm_nm if target.fwhm_nm is not None else None,
                           list(target.names))
    if out_path is not None:
        write_cube(cube, out_path, format=format, interleave=interleave)
    return cube


def _resample_samples(f: HnrFile, meta: dict, target: Any, extrapolate: bool, out_dt: np.dtype,
                      nodata: Optional[float], device: str) -> np.ndarray:
    """The H×W×K target bands of a plain (untiled) file, in ``out_dt``."""
    from hinerc.spectral import resample_bands

    wl = np.asarray(meta["wavelengths_nm"], np.float64)
    kinds = f.bands.kinds
    stored = _decode_samples(f, nodata, device)
    missing = samples_nodata(stored, nodata)
    missing[:, :, kinds == 2] = True
    values, depends = resample_bands(wl, kinds, stored.astype(np.float64),
                                     ~missing if missing.any() else None, target, extrapolate)
    if out_dt.kind in "iu":
        info = np.iinfo(out_dt)
        values = np.clip(np.rint(values), info.min, info.max)
    out = values.astype(out_dt)
    if nodata is not None:
        for kk in range(out.shape[2]):
            m = missing[:, :, depends[kk]].any(axis=2)
            out[:, :, kk][m] = np.asarray(nodata).astype(out_dt)
    return out


# ----------------------------------------------------------------------------- inspect
def inspect_hnr(path: PathLike) -> dict[str, Any]:
    """Describe a ``.hnr`` from its header alone (every CRC is checked, nothing is decoded)."""
    p = Path(path)
    f = container.read_file(p)
    hd = f.header
    size = p.stat().st_size
    wl = f.meta.get("wavelengths_nm")
    report = f.report or EncodeReport()
    bits = report.source_bits_per_sample or np.dtype(hd.dtype).itemsize * 8
    bpppb = size * 8 / hd.samples
    plain = [sub for _, sub in f.tiles] if f.tiles else [f]
    kinds = plain[0].bands.kinds
    first = plain[0].model
    fwhm, bad, transform = f.meta.get("fwhm_nm"), f.meta.get("bad_bands"), f.meta.get("transform")
    model_tags = ("MODL", "SPEC", "MAPS") if first.arch == "lowrank" else (
        "MODL", "QPRM", "HUFF", "DATA")
    d = {
        "kind": "hnr",
        "path": str(p),
        "format_version": "%d.%d" % f.version,
        "shape": [hd.height, hd.width, hd.bands],
        "dtype": hd.dtype,
        "tiles": len(f.tiles) or 1,
        "bands_coded": int((kinds == 0).sum()),
        "bands_constant": int((kinds == 1).sum()),
        "bands_nodata": int((kinds == 2).sum()),
        "wavelength_count": len(wl) if wl else 0,
        "wavelength_min_nm": min(wl) if wl else None,
        "wavelength_max_nm": max(wl) if wl else None,
        "fwhm": fwhm is not None,
        "bad_bands": sum(map(bool, bad)) if bad is not None else 0,
        "crs": f.meta.get("crs") is not None,
        "transform": list(transform) if transform else None,
        "file_bytes": size,
        "bpppb": bpppb,
        "compression_ratio": bits / bpppb,
        "source_bits_per_sample": bits,
        "arch": first.arch,
        "resample": _resample_status(f) is None,
        "resample_note": _resample_status(f) or "interpolates the decoded bands (costs no byte)",
        "model_values": sum(t.model.stored_values(t.header.n_coded) for t in plain),
        "model_config": first.to_dict(),
        "quant_bits": sorted({q.bits for t in plain for q in (t.quant or [])}),
        "payload_bytes": sum(t.section_sizes.get(tag, 0) for t in plain
                             for tag in ("DATA", "SPEC", "MAPS")),
        "sections": f.section_sizes,
        "model_sections": {tag: sum(t.section_sizes.get(tag, 0) for t in plain)
                           for tag in model_tags},
        "psnr_db": report.psnr_db,
        "worst_band_psnr_db": report.worst_band_psnr_db,
        "worst_band": report.worst_band,
        "worst_band_nm": _band_nm(wl, report.worst_band),
        "sam_deg": report.sam_deg,
        "max_abs_error": report.max_abs_error,
        "encode_seconds": report.encode_seconds,
        "device": report.device,
        "epochs": report.epochs,
        "seed": report.seed,
        "hinerc_version": report.hinerc_version,
        "nodata": f.meta.get("nodata"),
        "interleave": f.meta.get("interleave"),
        "source_format": f.meta.get("source_format"),
    }
    if first.arch != "hiner":  # the low-rank model has no epochs and no quantizer widths
        del d["epochs"], d["quant_bits"]
    return d


def _resample_status(f: HnrFile) -> Optional[str]:
    """Why the file cannot be resampled, or ``None`` when it can."""
    if f.header.flags & FLAG_NO_RESAMPLE:
        return "no: written with --no-resample"
    if not f.meta.get("wavelengths_nm"):
        return "no: the cube declares no wavelengths"
    plain = [sub for _, sub in f.tiles] if f.tiles else [f]
    if not any(t.header.n_coded for t in plain):
        return "no: no band is coded by the network (all constant or no-data)"
    return None


def inspect_cube(path: PathLike, format: Optional[str] = None, var: Optional[str] = None) -> dict[str, Any]:
    """Describe an input cube (ENVI, GeoTIFF, .mat, .npy)."""
    p = Path(path)
    cube = read_cube(p, format=format, var=var)
    wl = cube.wavelengths_nm
    return {
        "kind": "cube",
        "path": str(p),
        "format": cube.source_format,
        "shape": list(cube.shape),
        "dtype": cube.dtype.name,
        "interleave": cube.interleave,
        "wavelength_count": int(wl.size) if wl is not None else 0,
        "wavelength_min_nm": float(wl.min()) if wl is not None else None,
        "wavelength_max_nm": float(wl.max()) if wl is not None else None,
        "fwhm": cube.fwhm_nm is not None,
        "bad_bands": int(cube.bad_bands.sum()) if cube.bad_bands is not None else 0,
        "nodata": cube.nodata,
        "crs": cube.crs is not None,
        "transform": list(cube.transform) if cube.transform else None,
        "bits_per_sample": cube.dtype.itemsize * 8,
        "size_bytes": int(cube.data.nbytes),
    }


def inspect(path: PathLike, format: Optional[str] = None, var: Optional[str] = None) -> dict[str, Any]:
    """Describe a ``.hnr`` (by its signature) or any input cube."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(container.SIGNATURE))
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from None
    if head == container.SIGNATURE or p.suffix.lower() == ".hnr":
        return inspect_hnr(p)
    return inspect_cube(p, format=format, var=var)
