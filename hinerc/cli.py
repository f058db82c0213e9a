"""The ``hinerc`` command line: a thin click shell over :mod:`hinerc.api`.

Exit codes: 0 success; 1 bad input or failed work (one line on stderr); 2 usage error (click's
own); 3 internal error (a bug: one line asking for a report, the traceback only with
``--debug``); 130 interrupted. torch is imported only by the commands that run a network.
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any, Optional

import click

from hinerc import __version__, codecs
from hinerc.errors import HinercError, HinercWarning

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
FORMATS = ["envi", "gtiff", "mat", "npy"]
ISSUES_URL = "https://github.com/hinerc/hinerc/issues"


# ----------------------------------------------------------------------------- plumbing
_STATE = {"debug": False}


def _one_line(msg: object) -> str:
    return " ".join(str(msg).split())


class HinercGroup(click.Group):
    """Maps exceptions to the exit-code contract, for every subcommand."""

    def invoke(self, ctx: click.Context) -> Any:
        _STATE["debug"] = "--debug" in sys.argv
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except HinercError as exc:
            if _STATE["debug"]:
                traceback.print_exc()
            click.echo(f"hinerc: error: {_one_line(exc)}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("hinerc: interrupted; no output was written", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug
            if _STATE["debug"]:
                traceback.print_exc()
            click.echo(f"hinerc: internal error: {type(exc).__name__}: {_one_line(exc)} "
                       f"(this is a bug: please report it at {ISSUES_URL}; "
                       "rerun with --debug for the traceback)", err=True)
            ctx.exit(3)


def _show_warnings(quiet: bool) -> None:
    """Print hinerc's own warnings as one ``hinerc: warning:`` line (none with --quiet)."""
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        if not issubclass(category, HinercWarning):
            return original(message, category, filename, lineno, file, line)
        if not quiet:
            click.echo(f"hinerc: warning: {_one_line(message)}", err=True)
    warnings.showwarning = show  # type: ignore[assignment]
    warnings.simplefilter("always", HinercWarning)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _STATE["debug"] = True
    return value


def common_options(f):  # noqa: ANN001
    """--quiet and --debug, shared by every command."""
    f = click.option("--debug", is_flag=True, callback=_set_debug, expose_value=False,
                     help="Show the traceback of errors.")(f)
    f = click.option("--quiet", is_flag=True, help="Print nothing but errors (and --json).")(f)
    return f


class CodecName(click.ParamType):
    """``--arch``: a codec of the registry (:mod:`hinerc.codecs`), looked up when parsed."""

    name = "codec"

    def get_metavar(self, *args: Any, **kwargs: Any) -> str:
        return "[" + "|".join(_codec_names()) + "]"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]
                ) -> str:
        if value in _codec_names():
            return value
        self.fail(f"{value!r} is not one of {', '.join(_codec_names())}", param, ctx)


def _codec_names() -> tuple[str, ...]:
    return codecs.names()


def _codec_tile(name: str) -> int:
    return codecs.get(name).default_tile


def _codec_summary(name: str) -> str:
    return codecs.get(name).summary


def codec_options(f):  # noqa: ANN001
    """An option for each option a codec of the registry declares (``--epochs`` of hiner)."""
    for name, (opt, owners) in reversed(list(codecs.options().items())):
        kind = (click.IntRange(min=int(opt.minimum)) if opt.type is int
                else click.Choice(opt.choices) if opt.type is str
                else click.FloatRange(min=opt.minimum, min_open=True))
        f = click.option(opt.flag, name, type=kind, default=None,
                         help=f"--arch {'/'.join(owners)}: {opt.help}.")(f)
    return f


format_option = click.option(
    "-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
    help="Cube format, overriding the file extension.")
var_option = click.option("--var", metavar="NAME", default=None,
                          help="Variable holding the cube in a .mat with several 3-D arrays.")
device_option = click.option(
    "--device", default="auto", show_default=True, metavar="auto|cpu|cuda|cuda:N[,cuda:M...]",
    help="Where a network runs: --arch hiner, or the pixel network the default lowrank "
         "model trains on large cubes (the rest of that model, and its decoding, run on the "
         "CPU); auto takes CUDA when there is one. A comma-separated list spreads the "
         "files of a batch over several GPUs.")
force_option = click.option("--force", is_flag=True, help="Overwrite an existing output.")


def batch_options(jobs_help: str):  # noqa: ANN201
    """--out-dir, --jobs and --scheduler, shared by compress and decompress."""
    def decorate(f):  # noqa: ANN001
        f = click.option("--scheduler", metavar="ADDRESS", default=None,
                         help="Run the files on this Dask distributed scheduler "
                              "(e.g. tcp://head:8786); needs hinerc[dask].")(f)
        f = click.option("-j", "--jobs", type=click.IntRange(min=1), default=1,
                         show_default=True, help=jobs_help)(f)
        f = click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
                         default=None,
                         help="Write one output per input here (created if needed).")(f)
        return f
    return decorate
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON on stdout.")


def _declared(parse):  # noqa: ANN001, ANN202
    """A click callback: ``parse`` the option value; a malformed one is a usage error."""
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        from hinerc.errors import InputError

        if value is None:
            return None
        try:
            out = parse(value)
        except InputError as exc:
            raise click.BadParameter(_one_line(exc)) from None
        return tuple(float(v) for v in out) if hasattr(out, "tolist") else out
    return callback


def declare_options(f):  # noqa: ANN001
    """--nodata, --wavelengths, --fwhm, --shape: what the input file lacks."""
    from hinerc.io import declare

    f = click.option("--shape", metavar="ROWS,COLUMNS", default=None,
                     callback=_declared(declare.parse_shape),
                     help="Read a .mat holding a 2-D bands × pixels matrix (or pixels × bands) "
                          "as a ROWS × COLUMNS image; pixels are column-major as MATLAB's "
                          "reshape(Y', ROWS, COLUMNS, bands): pixel k is row k mod ROWS, "
                          "column k div ROWS.")(f)
    f = click.option("--fwhm", metavar="LIST|START:STOP:STEP|FILE", default=None,
                     callback=_declared(lambda v: declare.parse_band_values(v, "--fwhm")),
                     help="Band widths (FWHM) in nm, in the forms of --wavelengths; one value "
                          "applies to every band.")(f)
    f = click.option("--wavelengths", metavar="LIST|START:STOP:STEP|FILE", default=None,
                     callback=_declared(declare.parse_band_values),
                     help="Band centres in nm, replacing the file's: 450,550,..., a grid "
                          "START:STOP:STEP (stop included when on it) or a text file with one "
                          "value per line; one per band.")(f)
    f = click.option("--nodata", type=float, default=None, metavar="VALUE",
                     help="The input's no-data value, replacing the file's; nan declares NaN "
                          "samples no-data.")(f)
    return f


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def _dump(obj: Any) -> str:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(obj), indent=2, default=_json_default)


@click.group(cls=HinercGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="hinerc")
def cli() -> None:
    """hinerc: compress hyperspectral cubes into self-contained .hnr files of a chosen size.

    The default model (lowrank) codes a few shared feature maps as 12-bit HEVC (or AV1) intra
    pictures and mixes them per band by small fitted embeddings; --arch hiner trains the
    published HINER network.

    \b
    Examples:
      hinerc compress scene.hdr -o scene.hnr --bpppb 0.2
      hinerc decompress scene.hnr -o decoded.hdr
      hinerc info scene.hnr --json

    Inputs: ENVI (.hdr + binary), GeoTIFF (.tif), MATLAB (.mat, v5 and v7.3), .npy, and
    folders of single-band PNG/TIFF images.
    """


# ----------------------------------------------------------------------------- compress
@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The .hnr to write, for a single input [default: INPUT (a pattern's "
                   "folder) with .hnr].")
@click.option("--bpppb", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="BITS",
              help="Target rate: file size in bits per pixel per band (±3%) [default: 0.2]; "
                   "with --psnr or --min-band-psnr, the highest rate allowed.")
@click.option("--psnr", type=click.FloatRange(min=0, min_open=True), default=None, metavar="DB",
              help="Instead of a rate: the smallest file whose band-mean PSNR is at least DB "
                   "(the rate is searched: several encodes).")
@click.option("--min-band-psnr", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="DB", help="Instead of a rate: the smallest file whose every band has a "
                                 "PSNR of at least DB (combines with --psnr).")
@click.option("--max-error", type=click.FloatRange(min=0), default=None, metavar="E",
              help="Near-lossless: every decoded sample within E of the original, in stored "
                   "units (integer cubes: whole units; floats: up to the float's rounding); the "
                   "smallest file found, no rate target (--bpppb: the highest rate allowed).")
@click.option("--lossless", is_flag=True,
              help="Lossless: the decoded cube is bit-identical (--max-error 0).")
@click.option("-e", "--effort", type=click.IntRange(1, 9), default=5, show_default=True,
              help="Effort preset: 1 fastest … 9 best (lowrank: ranks and steps searched; "
                   "hiner: epochs, bands per step, learning rate).")
@click.option("--arch", type=CodecName(), default=codecs.DEFAULT, show_default=True,
              help="Model: " + "; ".join(f"{n} ({_codec_summary(n)})" for n in _codec_names())
                   + ".")
@codec_options
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="Encode time budget: lowrank stops its rank search "
                                      "(and trains no map filter past half of it), hiner its "
                                      "training (the schedule decays by then); the best model "
                                      "so far is written.")
@click.option("--tile", type=click.IntRange(min=8), default=None, metavar="PIXELS",
              help="Cut larger scenes into tiles of at most PIXELS × PIXELS, fitted separately "
                   "(memory is bounded by the tile) [default: " + ", ".join(
                       f"{_codec_tile(n)} for {n}" for n in _codec_names()) + "].")
@click.option("--no-resample", is_flag=True,
              help="Mark the file as not to be resampled (`hinerc resample` refuses it). The "
                   "spectral model costs no byte, so the file is no smaller.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed; the same input and seed give the same bytes on one machine.")
@declare_options
@click.option("--verbose", is_flag=True,
              help="Print a line per step the model reports (lowrank: rank, PSNR, bytes of each "
                   "rank tried) above the progress bar (--quiet wins).")
@device_option
@format_option
@var_option
@force_option
@batch_options("Files compressed at once (processes); for a single scene larger than --tile, "
               "tiles fitted at once.")
@json_option
@common_options
def compress(inputs: tuple[Path, ...], output: Optional[Path], bpppb: Optional[float],
             psnr: Optional[float], min_band_psnr: Optional[float],
             max_error: Optional[float], lossless: bool, effort: int, arch: str,
             time_limit: Optional[float], tile: int, no_resample: bool, seed: int,
             nodata: Optional[float], wavelengths: Optional[tuple], fwhm: Optional[tuple],
             shape: Optional[tuple], device: str,
             fmt: Optional[str], var: Optional[str], force: bool, out_dir: Optional[Path],
             jobs: int, scheduler: Optional[str], as_json: bool, quiet: bool,
             verbose: bool, **codec_opts: Any) -> None:
    """Compress cubes into .hnr files of a given size.

    Fits a model to each INPUT and writes one self-contained .hnr whose size is --bpppb bits
    per sample (±3%), or the smallest whose PSNR reaches --psnr / --min-band-psnr, or the
    smallest that keeps every sample within --max-error E (--lossless: bit-identical). The default
    model (--arch lowrank) mixes a few feature maps by a small per-band embedding; the maps
    are coded as 12-bit HEVC intra pictures (also AV1 on few-band cubes at low rates, keeping
    the better file; JPEG 2000 at efforts 1-4 or with --map-coder jpeg2000), the bytes
    shared out between them by their measured rate-distortion, which also sets their number;
    --arch hiner trains the published HINER network instead. Files are written
    atomically: on any error or Ctrl-C nothing partial is left behind.

    An INPUT may also be a folder of single-band PNG/TIFF images, or a quoted glob pattern of
    them, read as one cube (bands in natural name order: band2 before band10); a multi-page
    TIFF of single-band pages is one cube, each page a band.

    With several inputs (or --out-dir, --jobs, --scheduler), existing outputs are skipped
    unless --force, a failing file does not stop the others, a summary table ends the run,
    and the exit code is 1 if any file failed.

    \b
    Examples:
      hinerc compress scene.hdr -o scene.hnr --bpppb 0.2
      hinerc compress tile.tif -o tile.hnr --bpppb 0.5 --effort 9
      hinerc compress tile.tif -o tile.hnr --psnr 45 --bpppb 1
      hinerc compress tile.tif -o tile.hnr --lossless
      hinerc compress tile.tif -o tile.hnr --max-error 2
      hinerc compress tile.tif -o tile.hnr --bpppb 0.5 --arch hiner --device cuda
      hinerc compress big.hdr -o big.hnr --bpppb 0.1 --effort 1 --time-limit 60
      hinerc compress cube.mat --var hsi -o cube.hnr --quiet
      hinerc compress jasperRidge2_R198.mat --shape 100,100 --wavelengths wl.txt -o jr.hnr
      hinerc compress holes.npy -o holes.hnr --nodata nan --wavelengths 400:1000:10
      hinerc compress cave/toy_ms/ -o toy.hnr --wavelengths 400:700:10
      hinerc compress 'bands/band*.tif' -o scene.hnr --wavelengths wavelengths.txt
      hinerc compress scenes/*.hdr --out-dir out/ --jobs 2
      hinerc compress scenes/*.tif --out-dir out/ --device cuda:0,cuda:1 --jobs 2
      hinerc compress /shared/scenes/*.hdr --out-dir /shared/out --scheduler tcp://head:8786
    """
    from hinerc import api, batch
    from hinerc.io import output_stem
    from hinerc.settings import EncodeSettings

    _show_warnings(quiet)
    if lossless and max_error not in (None, 0):
        from hinerc.errors import UsageError

        raise UsageError(f"--lossless is --max-error 0; got --max-error {max_error:g} too")
    devices = batch.parse_devices(device)
    settings = EncodeSettings(bpppb=bpppb, effort=effort, arch=arch, seed=seed,
                              time_limit=time_limit, tile=tile, resample=not no_resample,
                              codec_options=codec_opts, psnr=psnr,
                              min_band_psnr=min_band_psnr,
                              max_error=0.0 if lossless else max_error)  # every check first
    options = dict(settings=settings, format=fmt, var=var, nodata=nodata,
                   wavelengths=wavelengths, fwhm=fwhm, shape=shape)
    if len(inputs) > 1 and output is not None and all(
            p.suffix.lower() in (".png", ".tif", ".tiff") for p in inputs):
        raise click.UsageError("several images and one -o: to read them as the bands of one "
                               "cube, give their folder or a quoted pattern ('bands/*.png')")
    if _is_batch(inputs, output, out_dir, jobs, scheduler):
        _run_batch("compress", inputs, out_dir, ".hnr", force, options, jobs, devices,
                   scheduler, quiet, as_json)
        return
    input = inputs[0]
    device = devices[0]
    output = output or output_stem(input).with_suffix(".hnr")
    with _TrainingProgress(enabled=not quiet, verbose=verbose) as prog:
        result = api.compress(input, output, device=device, force=force, progress=prog.update,
                              on_stage=prog.stage, jobs=jobs, **options)
    if as_json:
        click.echo(_dump(batch.compress_record(input, output, result)))
    elif not quiet:
        worst = _fmt_worst(result.worst_band_psnr_db, result.worst_band, result.worst_band_nm)
        click.echo(f"{output}: {result.size_bytes:,} bytes, {result.bpppb:.4f} bpppb "
                   f"({_fmt_target(settings)}), PSNR {result.psnr_db:.2f} dB (worst band "
                   f"{worst}), "
                   f"SAM {_fmt_num(result.sam_deg, '.2f', '°')}, "
                   f"max error {_fmt_num(result.max_abs_error, '.6g')}, "
                   f"{result.seconds:.1f} s on {result.device}", err=False)


def _fmt_num(x: Optional[float], spec: str, unit: str = "") -> str:
    """``x`` formatted, or ``-`` when unknown (a file written before it was measured)."""
    return "-" if x is None or not math.isfinite(x) else f"{x:{spec}}{unit}"


def _fmt_worst(db: Optional[float], band: Optional[int], nm: Optional[float]) -> str:
    """``15.90 dB: band 12, 1370.50 nm`` (no wavelength when unknown; ``-`` when unmeasured)."""
    if db is None or band is None:
        return "-"
    where = f"band {band}" + (f", {nm:.2f} nm" if nm is not None else "")
    return f"{db:.2f} dB: {where}"


class _ProgressBar:
    """A transient rich progress bar on stderr with one task; subclasses say what it shows."""

    fields = ""  # the columns after the bar, e.g. "loss {task.fields[loss]}"

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.progress = None
        self.task = None

    def __enter__(self):  # noqa: ANN204
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn(self.fields), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            if self.progress.console.is_terminal:  # else not even the blank line of its end
                self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None and self.progress.live.is_started:
            self.progress.stop()


class _TrainingProgress(_ProgressBar):
    """compress: stage lines, and one bar over the model's planned work (for a tiled scene,
    over its tiles) with the codec's own figures beside it (best PSNR of the rank search, or
    the loss and PSNR of a training) and its ETA; with --verbose the codec's notes (a line per
    rank tried)."""

    fields = "{task.fields[info]}"

    def __init__(self, enabled: bool, verbose: bool = False):
        super().__init__(enabled)
        self.verbose = verbose

    def stage(self, text: str) -> None:
        if self.enabled and self.progress is not None:
            self.progress.console.print(f"[dim]{text}[/dim]", highlight=False)

    def update(self, event: Any) -> None:
        if self.progress is None:
            return
        if event.note is not None:
            if self.verbose:
                self.progress.console.print(f"[dim]{event.note}[/dim]", highlight=False)
            if not event.total:
                return
        if self.task is None:
            self.task = self.progress.add_task(event.label, total=event.total, info=event.info)
        self.progress.update(self.task, description=event.label, completed=event.done,
                             total=event.total, info=event.info)


def cube_output_options(f):  # noqa: ANN001
    """-f/--format, --interleave and --dtype: how a decoded cube is written."""
    f = click.option("--dtype", type=click.Choice(["float32"]), default=None,
                     help="Write float32 samples instead of the original type.")(f)
    f = click.option("--interleave", type=click.Choice(["bsq", "bil", "bip"]), default=None,
                     help="ENVI interleave [default: the original one]; a GeoTIFF takes bip "
                          "(pixel-interleaved) or bsq (band; bil warns and writes band). "
                          "Ignored with a warning for .mat and .npy, as gdal_translate warns "
                          "about a creation option the output driver lacks.")(f)
    return format_option(f)


def _fmt_target(settings: Any) -> str:
    """What the closing line says was asked: the rate, or the quality (and its ceiling)."""
    if settings.max_error is not None:
        asked = ("lossless" if settings.max_error == 0
                 else f"every sample within ±{settings.max_error:g}")
        return "asked " + asked + (f", at most {settings.bpppb:g} bpppb"
                                   if settings.bpppb is not None else "")
    if not settings.quality_target:
        return f"target {settings.bpppb:g}"
    asked = []
    if settings.psnr is not None:
        asked.append(f"PSNR ≥ {settings.psnr:g} dB")
    if settings.min_band_psnr is not None:
        asked.append(f"every band ≥ {settings.min_band_psnr:g} dB")
    ceiling = f", at most {settings.bpppb:g} bpppb" if settings.bpppb is not None else ""
    return "asked " + " and ".join(asked) + ceiling


# ----------------------------------------------------------------------------- decompress
window_option = click.option(
    "--window", metavar="ROW,COL,HEIGHT,WIDTH", default=None,
    help="Decode only this window (rows and columns from 0 at the top left); only the tiles "
         "it meets are decoded, and the output's georeference is the window's.")
bands_option = click.option(
    "--bands", metavar="LIST", default=None,
    help="Decode only these bands: 0-based numbers and START:STOP ranges, stop excluded "
         "(10:60 is bands 10 to 59), comma-separated; their wavelengths and other per-band "
         "metadata follow.")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The cube to write, for a single input; its extension picks the format "
                   "(.hdr/.img ENVI, .tif GeoTIFF, .mat, .npy).")
@window_option
@bands_option
@cube_output_options
@device_option
@force_option
@batch_options("Files decoded at once (processes).")
@json_option
@common_options
def decompress(inputs: tuple[Path, ...], output: Optional[Path], window: Optional[str],
               bands: Optional[str], fmt: Optional[str], interleave: Optional[str],
               dtype: Optional[str], device: str, force: bool, out_dir: Optional[Path],
               jobs: int, scheduler: Optional[str], as_json: bool, quiet: bool) -> None:
    """Decode .hnr files back to cubes.

    Each cube has the original shape, sample type (integers rounded and clipped), no-data
    pixels, wavelengths and other metadata. With several inputs, outputs go to --out-dir (or
    beside each input) in the format given by -f/--format (default ENVI), with the same
    skip/--force rules, summary and exit code as compress.

    \b
    Examples:
      hinerc decompress scene.hnr -o decoded.hdr
      hinerc decompress scene.hnr -o decoded.tif --dtype float32
      hinerc decompress out/*.hnr --out-dir decoded/ -f gtiff --jobs 2
      hinerc decompress scene.hnr -o part.tif --window 500,1000,100,100 --bands 10:60
    """
    import time

    from hinerc import api, batch
    from hinerc.region import parse_bands, parse_window

    _show_warnings(quiet)
    parse_window(window), parse_bands(bands)
    devices = batch.parse_devices(device)
    if _is_batch(inputs, output, out_dir, jobs, scheduler):
        options = dict(format=fmt, interleave=interleave, dtype=dtype, window=window,
                       bands=bands)
        _run_batch("decompress", inputs, out_dir, batch.OUTPUT_EXT[fmt or "envi"], force,
                   options, jobs, devices, scheduler, quiet, as_json)
        return
    if output is None:
        raise click.UsageError("give -o/--output (or --out-dir)")
    input, device = inputs[0], devices[0]
    t0 = time.perf_counter()
    cube = api.decompress(input, output, format=fmt, interleave=interleave, device=device,
                          force=force, dtype=dtype, window=window, bands=bands)
    secs = time.perf_counter() - t0
    if as_json:
        click.echo(_dump(batch.decompress_record(input, output, cube, secs)))
    elif not quiet:
        h, w, c = cube.shape
        click.echo(f"{output}: {h}×{w}×{c} {cube.dtype.name}, {secs:.1f} s")


# ----------------------------------------------------------------------------- resample
@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("input", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The cube to write; its extension picks the format "
                   "(.hdr/.img ENVI, .tif GeoTIFF, .mat, .npy).")
@click.option("--wavelengths", "wavelengths", metavar="START:STOP:STEP|W1,W2,...", default=None,
              help="Band centres in nm: a grid (stop included when on it) or a comma list. "
                   "Each band is the spectrum's value at its centre.")
@click.option("--like", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Take the wavelengths, and FWHM when present, from another cube's header "
                   "(any format hinerc reads); with FWHM each band integrates a Gaussian.")
@click.option("--srf", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A CSV of spectral responses: wavelengths (nm) in the first column, one "
                   "column per output band (an optional header row names the bands).")
@click.option("--extrapolate", is_flag=True,
              help="Allow centres outside the encoded range (the model continues linearly).")
@window_option
@cube_output_options
@device_option
@force_option
@json_option
@common_options
def resample(input: Path, output: Path, wavelengths: Optional[str], like: Optional[Path],
             srf: Optional[Path], extrapolate: bool, window: Optional[str], fmt: Optional[str],
             interleave: Optional[str], dtype: Optional[str], device: str, force: bool,
             as_json: bool, quiet: bool) -> None:
    """Decode a .hnr at other wavelengths, or onto another sensor's bands.

    Between two stored bands the spectrum follows the line through them or the cubic through
    them and their outer neighbours, whichever predicts the decoded bands there better, so any
    wavelength in the encoded range can be produced; at a stored band's own wavelength the
    result is exactly what decompress gives. Give exactly one of --wavelengths, --like, --srf.
    A response that reaches past the encoded range is cut there and renormalised. The output
    keeps the georeference, units and sample type (or --dtype float32).

    \b
    Examples:
      hinerc resample scene.hnr -o every5nm.hdr --wavelengths 400:2500:5
      hinerc resample scene.hnr -o three.tif --wavelengths 450,550,650.5
      hinerc resample aviris.hnr -o as_enmap.tif --like enmap_scene.tif
      hinerc resample aviris.hnr -o sentinel2.tif --srf s2a_responses.csv --dtype float32
    """
    import time

    from hinerc import api, batch

    _show_warnings(quiet)
    if sum(x is not None for x in (wavelengths, like, srf)) != 1:
        raise click.UsageError("give exactly one of --wavelengths, --like or --srf")
    devices = batch.parse_devices(device)
    t0 = time.perf_counter()
    cube = api.resample(input, output, wavelengths=wavelengths, like=like, srf=srf,
                        extrapolate=extrapolate, format=fmt, interleave=interleave, dtype=dtype,
                        device=devices[0], force=force, window=window)
    secs = time.perf_counter() - t0
    wl = cube.wavelengths_nm
    if as_json:
        click.echo(_dump({"input": str(input), "output": str(output), "shape": list(cube.shape),
                          "dtype": cube.dtype.name, "wavelengths_nm": wl.tolist(),
                          "fwhm_nm": cube.fwhm_nm.tolist() if cube.fwhm_nm is not None else None,
                          "seconds": round(secs, 3)}))
    elif not quiet:
        h, w, c = cube.shape
        click.echo(f"{output}: {h}×{w}×{c} {cube.dtype.name}, {wl.min():.2f}–{wl.max():.2f} nm, "
                   f"{secs:.1f} s")


def _is_batch(inputs: tuple[Path, ...], output: Optional[Path], out_dir: Optional[Path],
              jobs: int, scheduler: Optional[str]) -> bool:
    many = len(inputs) > 1 or out_dir is not None or scheduler is not None
    if many and output is not None:
        raise click.UsageError("-o/--output takes a single input; use --out-dir for several")
    return many


def _run_batch(kind: str, inputs: tuple[Path, ...], out_dir: Optional[Path], ext: str,
               force: bool, options: dict, jobs: int, devices: list[str],
               scheduler: Optional[str], quiet: bool, as_json: bool) -> None:
    """Plan, run and report a batch; exit code 1 when any file failed, 130 on Ctrl-C (after
    the summary of what finished and a line naming what was written and what was not done)."""
    from rich.console import Console

    from hinerc import batch

    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    tasks, known = batch.plan(kind, list(inputs), out_dir, ext, force, options)
    err = Console(stderr=True)
    total = len(tasks) + len(known)
    count = {"n": len(known)}

    def done(r: "batch.TaskResult") -> None:
        count["n"] += 1
        if not quiet:
            for w in r.warnings:  # raised where the task ran (a worker): reported here, once
                name = "" if r.input in w else f"{r.input}: "  # say which file, once
                click.echo(f"hinerc: warning: {name}{w}", err=True)
            err.print(f"[{count['n']}/{total}] {r.input}: {r.status}"
                      + (f" ({r.message})" if r.message else ""), highlight=False, markup=False,
                      soft_wrap=True)  # one line per file, however long: the terminal wraps

    if not quiet:
        for r in known:
            err.print(f"{r.input}: {r.status} ({r.message})", highlight=False, markup=False,
                      soft_wrap=True)
    try:
        results = batch.run(tasks, jobs=jobs, devices=devices, scheduler=scheduler, on_done=done)
        interrupted = False
    except batch.Interrupted as stop:
        results, interrupted = stop.results, True
    order = {str(p): i for i, p in enumerate(inputs)}
    allres = sorted(known + results, key=lambda r: order.get(r.input, 0))
    failed = sum(r.status == "failed" for r in allres)
    try:
        if as_json:
            click.echo(_dump([r.to_dict() for r in allres]))
        elif not quiet:
            _print_summary(allres)
    except KeyboardInterrupt:  # the files are already written: say so, not the generic line
        interrupted = True
    if interrupted:
        click.echo(_interrupted_line(allres), err=True)
        click.get_current_context().exit(130)
    if failed:
        click.echo(f"hinerc: error: {failed} of {len(allres)} file(s) failed", err=True)
        click.get_current_context().exit(1)


def _interrupted_line(results: list) -> str:
    """After Ctrl-C in a batch: the outputs written (complete), and the files not done."""
    from hinerc.batch import STILL_RUNNING

    written = [r.output for r in results if r.status == "done"]
    stopped = [r.input for r in results if r.status == "interrupted" and r.message != STILL_RUNNING]
    running = [r.input for r in results if r.status == "interrupted" and r.message == STILL_RUNNING]
    failed = sum(r.status == "failed" for r in results)
    parts = [f"{len(written)} file(s) written ({', '.join(written)})" if written
             else "no output was written"]
    if failed:
        parts.append(f"{failed} failed")
    if stopped:
        parts.append(f"{len(stopped)} not done, nothing of them left ({', '.join(stopped)})")
    if running:
        parts.append(f"{len(running)} still running on Dask workers, whose outputs may yet be "
                     f"written ({', '.join(running)})")
    return "hinerc: interrupted; " + "; ".join(parts)


def _print_summary(results: list) -> None:
    """The batch summary on stdout, one line per file, as wide as the terminal (rich measures
    it; ``COLUMNS`` when stdout is not a terminal, else 80). Paths are shown relative to their
    common folder (named under the table) and, when still too long, cut from the left
    (``…/name.hdr``) so that the rows stay apart; a long message is cut at its end."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    ell = "…" if (console.encoding or "").lower().startswith("utf") else "..."
    ins, in_dir = _relative_paths([r.input for r in results])
    outs, out_dir = _relative_paths([r.output for r in results])
    heads = ("input", "status", "output", "bpppb", "PSNR dB", "seconds", "message")
    rows = [[name, r.status, out,
             f"{r.bpppb:.4f}" if r.bpppb is not None else "",
             _psnr_cell(r.psnr_db, r.result),
             f"{r.seconds:.1f}" if r.seconds else "", _one_line(_unprefixed(r.message, r.input))]
            for r, name, out in zip(results, ins, outs)]
    want = [max([len(h)] + [len(row[k]) for row in rows]) for k, h in enumerate(heads)]
    # the columns that give way: their share of the room left (the input's is largest), and
    # their least width
    give = {0: (3, 12), 2: (2, 12), len(heads) - 1: (2, 10)}
    room = console.width - 2 * (len(heads) - 1) - sum(w for k, w in enumerate(want)
                                                       if k not in give)
    widths = _share_width(room, {k: want[k] for k in give}, give)
    for k in (0, 2):
        for row, cut in zip(rows, _fit_paths([row[k] for row in rows], widths[k], ell)):
            row[k] = cut
    for row in rows:
        m, w = row[-1], widths[len(heads) - 1]
        row[-1] = m if len(m) <= w else m[:max(0, w - len(ell))] + ell
    folders = ([f"folder: {in_dir}"] if in_dir and in_dir == out_dir else
               [f"{k}: {d}" for k, d in (("inputs", in_dir), ("outputs", out_dir)) if d])
    if any(r.result.get("worst_band_psnr_db") is not None for r in results):
        folders.append("PSNR dB: mean over bands / worst band")
    table = Table(title="hinerc batch summary", title_justify="left", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False, padding=(0, 1, 0, 0),  # 2 spaces between
                  caption="\n".join(folders) or None, caption_justify="left")
    for h in heads:
        table.add_column(h, no_wrap=True, overflow="ellipsis")
    for row in rows:
        table.add_row(*row)
    console.print(table, highlight=False, markup=False)


def _psnr_cell(mean: Optional[float], result: dict) -> str:
    """The band-mean PSNR, then the worst band's: ``41.23 / 15.91`` (the caption says so)."""
    if mean is None:
        return ""
    worst = result.get("worst_band_psnr_db")
    return f"{mean:.2f}" + (f" / {worst:.2f}" if worst is not None else "")


def _relative_paths(paths: list[str]) -> tuple[list[str], str]:
    """``paths`` relative to their deepest common folder, and that folder ("" for none)."""
    try:
        folder = os.path.commonpath([os.path.dirname(p) for p in paths])
    except ValueError:  # none, or absolute and relative paths mixed
        return list(paths), ""
    if folder in ("", "."):
        return list(paths), ""
    return [os.path.relpath(p, folder) for p in paths], folder


def _share_width(room: int, want: dict[int, int], give: dict[int, tuple[int, int]]
                 ) -> dict[int, int]:
    """Share ``room`` characters between columns: each gets what it wants if that is less than
    its share (``give[k] = (weight, least)``) of what is left, the others split the rest by
    weight (never below their least width)."""
    out: dict[int, int] = {}
    left = dict(want)
    while left:
        weights = sum(give[k][0] for k in left)
        fair = {k: max(0, room) * give[k][0] // weights for k in left}
        small = {k: w for k, w in left.items() if w <= fair[k]}
        if not small:
            for k in left:
                out[k] = max(give[k][1], fair[k])
            break
        for k, w in small.items():
            out[k] = w
            room -= w
            del left[k]
    return out


def _unprefixed(message: str, path: str) -> str:
    """A message without its leading ``PATH:`` (the row already names the file)."""
    return message[len(path) + 1:].lstrip() if message.startswith(f"{path}:") else message


def _fit_paths(paths: list[str], width: int, ell: str) -> list[str]:
    """Cut the paths longer than ``width`` from the left: ``…/name.hdr`` (whole folders left
    out), else ``…me.hdr``; if that makes two different paths alike, keep where they differ."""
    def chars(p: str) -> str:
        return p if len(p) <= width else ell + p[len(p) - max(1, width - len(ell)):]

    def folders(p: str) -> str:
        parts = p.split(os.sep)
        for k in range(1, len(parts)):
            tail = ell + os.sep + os.sep.join(parts[k:])
            if len(tail) <= width:
                return tail
        return chars(p)

    def where_they_differ(p: str) -> str:  # what comes before the end it shares with another
        same_end = max((len(os.path.commonprefix([p[::-1], q[::-1]])) for q in paths if q != p),
                       default=0)
        keep = max(1, width - 2 * len(ell))
        end = min(len(p), len(p) - same_end + 3)  # and a little of that end
        start = max(0, end - keep)
        end = min(len(p), start + keep)
        return (ell if start else "") + p[start:end] + (ell if end < len(p) else "")

    for cut in (folders, chars, where_they_differ):
        shown = [p if len(p) <= width else cut(p) for p in paths]
        if len(set(shown)) == len(set(paths)):
            break
    return shown


# ----------------------------------------------------------------------------- info
@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("input", type=click.Path(path_type=Path))
@format_option
@var_option
@json_option
@common_options
def info(input: Path, fmt: Optional[str], var: Optional[str], as_json: bool, quiet: bool) -> None:
    """Describe a .hnr file (or an input cube) without decoding it.

    For a .hnr every CRC is checked; the shape, type, wavelengths, metadata, real size and
    rate, compression ratio, model, and the quality (mean and worst-band PSNR, SAM, largest
    error), time and device of the encode are shown. --json keys: docs/json.md.

    \b
    Examples:
      hinerc info scene.hnr
      hinerc info scene.hnr --json | python -c "import json,sys; print(json.load(sys.stdin)['bpppb'])"
      hinerc info scene.hdr
      hinerc info bands/             # a folder of single-band PNG/TIFF files
    """
    from hinerc import api

    _show_warnings(quiet)
    d = api.inspect(input, format=fmt, var=var)
    if as_json:
        click.echo(_dump(d))
        return
    if quiet:
        return
    click.echo(_format_info(d))


def _fmt_wl(d: dict) -> str:
    if not d.get("wavelength_count"):
        return "none (band index)"
    return (f"{d['wavelength_count']} bands, {d['wavelength_min_nm']:.2f}–"
            f"{d['wavelength_max_nm']:.2f} nm")


def _fmt_nodata(v: Optional[float]) -> str:
    if v is None:
        return "none"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _fmt_bound(bound: Optional[float]) -> str:
    """What a file guarantees of every sample (``info``)."""
    if bound is None:
        return "none (lossy)"
    from hinerc.format.residual import describe_bound

    return describe_bound(bound)


def _format_info(d: dict) -> str:
    h, w, c = d["shape"]
    if d["kind"] == "cube":
        rows = [
            ("file", d["path"]), ("format", d["format"]),
            ("shape", f"{h} × {w} × {c} (rows × columns × bands)"), ("dtype", d["dtype"]),
            ("interleave", d["interleave"] or "-"), ("wavelengths", _fmt_wl(d)),
            ("FWHM", "yes" if d["fwhm"] else "no"),
            ("bad bands", d["bad_bands"]), ("nodata", _fmt_nodata(d["nodata"])),
            ("georeferenced", "yes" if d["crs"] or d["transform"] else "no"),
            ("size", f"{d['size_bytes']:,} bytes of samples"),
        ]
    else:
        psnr = f"{d['psnr_db']:.2f} dB" if d["psnr_db"] is not None else "-"
        rows = [
            ("file", d["path"]), ("format", f".hnr version {d['format_version']}"),
            ("shape", f"{h} × {w} × {c} (rows × columns × bands)"), ("dtype", d["dtype"]),
            ("bands", f"{d['bands_coded']} coded, {d['bands_constant']} constant, "
                      f"{d['bands_nodata']} no-data"),
            ("wavelengths", _fmt_wl(d)),
            ("FWHM", "yes" if d["fwhm"] else "no"),
            ("bad bands", d["bad_bands"]), ("nodata", _fmt_nodata(d["nodata"])),
            ("georeferenced", "yes" if d["crs"] or d["transform"] else "no"),
            ("tiles", d["tiles"]),
            ("file size", f"{d['file_bytes']:,} bytes"),
            ("rate", f"{d['bpppb']:.4f} bpppb"),
            ("compression", f"{d['compression_ratio']:.1f}:1 against "
                            f"{d['source_bits_per_sample']} bits per sample"),
            ("model", d["model_summary"]),
            ("resample", "yes: " + d["resample_note"] if d["resample"] else d["resample_note"]),
            ("PSNR at encode", psnr),
            ("worst band", _fmt_worst(d["worst_band_psnr_db"], d["worst_band"],
                                      d["worst_band_nm"])),
            ("SAM at encode", _fmt_num(d["sam_deg"], ".2f", "°")),
            ("max error", _fmt_num(d["max_abs_error"], ".6g")),
            ("error bound", _fmt_bound(d.get("max_error_bound"))),
            ("encode", f"{d['encode_seconds']} s on {d['device']}, "
                       f"{str(d['epochs']) + ' epochs, ' if d.get('epochs') is not None else ''}"
                       f"seed {d['seed']}, hinerc {d['hinerc_version']}"),
        ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


# ----------------------------------------------------------------------------- classify
@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("input", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--train", "train", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Training labels aligned with the cube (GeoTIFF, ENVI, .npy, PNG, or a .mat "
                   "with TR and TE); 0 = unlabelled.")
@click.option("--test", "test", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Test labels, scored in the report.")
@click.option("--split", "split_spec", metavar="FRACTION|COUNT", default=None,
              help="Split the single --train map per class: a fraction (0.1) or a count (20) "
                   "for training, the rest for testing (stratified, --seed).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The class map to write (GeoTIFF with a colour table).")
@click.option("--preview", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write an RGB picture of the class map: PNG (.png) or JPEG (.jpg, "
                   ".jpeg), as the extension names.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write OA, AA, kappa, per-class accuracy and the confusion "
                                 "matrix as JSON.")
@click.option("--save-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save the trained classifier (.npz: plain arrays and a JSON config).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Apply a saved classifier instead of training.")
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True,
              help="Passes over the training pixels (at least; see --min-steps).")
@click.option("--min-steps", type=click.IntRange(min=0), default=300, show_default=True,
              help="Fewest optimizer steps: a small training set gets more epochs to reach "
                   "them, and is trained the few-labels way (flipped and turned patches, a "
                   "centre-weighted start).")
@click.option("--no-asw", is_flag=True, help="Without Adaptive Spectral Weighting (ablation).")
@click.option("--no-isi", is_flag=True, help="Without Implicit Spectral Interpolation (ablation).")
@click.option("--isi-eta", type=click.FloatRange(min=0), default=0.1, show_default=True,
              help="ISI jitter amplitude, in units of band spacing.")
@click.option("--isi-p", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Probability that a band is jittered in an epoch.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the --split, the network's initial weights, the order of the "
                   "training pixels and the ISI jitter.")
@var_option
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda|cuda:N",
              help="Where the network trains and predicts; auto takes CUDA when there is one.")
@force_option
@json_option
@common_options
def classify(input: Path, train: Optional[Path], test: Optional[Path], split_spec: Optional[str],
             output: Path, preview: Optional[Path], report_path: Optional[Path],
             save_model: Optional[Path], model_path: Optional[Path], epochs: int,
             min_steps: int, no_asw: bool, no_isi: bool, isi_eta: float, isi_p: float,
             seed: int, var: Optional[str], device: str, force: bool, as_json: bool,
             quiet: bool) -> None:
    """Classify a cube's pixels with SpectralFormer, on the cube as decoded from its file.

    INPUT is a .hnr (the classifier trains on exactly what the file decodes to; Implicit
    Spectral Interpolation then reads the cube at slightly jittered wavelengths while training)
    or any cube hinerc reads (then without ISI). Adaptive Spectral Weighting (a learned per-band
    weight and a 1×1-convolution MLP, trained with a reconstruction term) runs in front of the
    classifier. Writes the class map with the input's georeference, and reports OA, AA, kappa
    and the confusion matrix when there are test labels.

    \b
    Examples:
      hinerc classify scene.hnr --train tr.tif --test te.tif -o classes.tif --report r.json
      hinerc classify IndianPines.hnr --train IndianPines_TRTE.mat -o classes.tif
      hinerc classify scene.hnr --train labels.tif --split 0.1 -o classes.tif --preview c.png
      hinerc classify scene.hnr --train tr.tif -o c.tif --save-model sf.npz --no-isi
      hinerc classify other.hnr --model sf.npz --test te.tif -o other_classes.tif
    """
    from hinerc import api, batch
    from hinerc.classify import classify as run
    from hinerc.classify import output as out_mod
    from hinerc.classify.train import TrainSettings

    _show_warnings(quiet)
    if model_path is not None and (train is not None or split_spec is not None):
        raise click.UsageError("--model applies a saved classifier: leave out --train and --split")
    if model_path is None and train is None:
        raise click.UsageError("give --train labels (or --model with a saved classifier)")
    outputs = [p for p in (output, preview, report_path, save_model) if p is not None]
    if len(set(map(str, outputs))) != len(outputs):
        raise click.UsageError("the outputs must be different files")
    if preview is not None and out_mod.preview_format(preview) is None:
        raise click.UsageError(f"--preview writes PNG (.png) or JPEG (.jpg, .jpeg), not "
                               f"{preview.suffix or 'a file without an extension'}")
    if "," in device:
        raise click.UsageError("classify runs on one --device, not a list")
    settings = TrainSettings(epochs=epochs, asw=not no_asw, isi=not no_isi, isi_eta=isi_eta,
                             isi_p=isi_p, seed=seed, min_steps=min_steps,
                             device=api.resolve_device(batch.parse_devices(device)[0]))
    with _ClassifyProgress(enabled=not quiet, epochs=epochs) as prog:
        result = run(input, output, train=train, test=test, split=split_spec,
                     settings=settings, preview=preview, report=report_path,
                     save_model=save_model, model=model_path, var=var, force=force,
                     progress=prog.update)
    report = result.report()
    if as_json:
        click.echo(_dump(report))
    elif not quiet:
        click.echo(out_mod.table(report))
        steps = f" ({_count(result.steps, 'step')})" if result.steps else ""
        click.echo(f"{output}: {result.classes.shape[0]}×{result.classes.shape[1]} class map, "
                   f"{_count(result.epochs, 'epoch')}{steps} in {result.seconds:.1f} s "
                   f"(ASW {'on' if result.asw else 'off'}, ISI {'on' if result.isi else 'off'})")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class _ClassifyProgress(_ProgressBar):
    """classify: epoch, loss, test OA, ETA."""

    fields = "loss {task.fields[loss]}  test OA {task.fields[oa]}"

    def __init__(self, enabled: bool, epochs: int):
        super().__init__(enabled)
        self.epochs = epochs

    def __enter__(self):  # noqa: ANN204
        super().__enter__()
        if self.progress is not None:
            self.task = self.progress.add_task("epoch", total=self.epochs, loss="-", oa="-")
        return self

    def update(self, info: Any) -> None:
        if self.progress is None:
            return
        fields = {"loss": f"{info.loss:.4f}"}
        if info.test_oa is not None:
            fields["oa"] = f"{100 * info.test_oa:.2f}%"
        self.progress.update(self.task, completed=info.epoch, total=info.epochs, **fields)


def main(argv: Optional[list[str]] = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="hinerc")


if __name__ == "__main__":
    main()
