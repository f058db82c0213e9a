"""The ``hinerc`` command line: a thin click shell over :mod:`hinerc.api`.

Exit codes: 0 success; 1 bad input or failed work (one line on stderr); 2 usage error (click's
own); 3 internal error (a bug: one line asking for a report, the traceback only with
``--debug``); 130 interrupted. torch is imported only by the commands that run a network.
"""

from __future__ import annotations

import json
import math
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any, Optional

import click

from hinerc import __version__
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


format_option = click.option(
    "-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
    help="Cube format, overriding the file extension.")
var_option = click.option("--var", metavar="NAME", default=None,
                          help="Variable holding the cube in a .mat with several 3-D arrays.")
device_option = click.option(
    "--device", default="auto", show_default=True, metavar="auto|cpu|cuda|cuda:N[,cuda:M...]",
    help="Where the network runs; auto takes CUDA when there is one. A comma-separated list "
         "spreads the files of a batch over several GPUs.")
force_option = click.option("--force", is_flag=True, help="Overwrite an existing output.")


def batch_options(f):  # noqa: ANN001
    """--out-dir, --jobs and --scheduler, shared by compress and decompress."""
    f = click.option("--scheduler", metavar="ADDRESS", default=None,
                     help="Run the files on this Dask distributed scheduler "
                          "(e.g. tcp://head:8786); needs hinerc[dask].")(f)
    f = click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Files processed at once (processes); for a single scene larger "
                          "than --tile, tiles fitted at once.")(f)
    f = click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Write one output per input here (created if needed).")(f)
    return f
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON on stdout.")


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
    """hinerc: compress hyperspectral cubes with a fitted neural network (HINER).

    \b
    Examples:
      hinerc compress scene.hdr -o scene.hnr --bpppb 0.2
      hinerc decompress scene.hnr -o decoded.hdr
      hinerc info scene.hnr --json

    Inputs: ENVI (.hdr + binary), GeoTIFF (.tif), MATLAB (.mat, v5 and v7.3) and .npy.
    """


# ----------------------------------------------------------------------------- compress
@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The .hnr to write, for a single input [default: INPUT with .hnr].")
@click.option("--bpppb", type=click.FloatRange(min=0, min_open=True), default=0.2,
              show_default=True, metavar="BITS",
              help="Target rate: file size in bits per pixel per band (±3%).")
@click.option("-e", "--effort", type=click.IntRange(1, 9), default=5, show_default=True,
              help="Effort preset: 1 fastest … 9 best (lowrank: ranks and steps searched; "
                   "hiner: epochs, bands per step, learning rate).")
@click.option("--arch", type=click.Choice(["lowrank", "hiner"]), default="lowrank",
              show_default=True,
              help="Model: lowrank (band embeddings mixing JPEG 2000-coded feature maps) or "
                   "hiner (the published network, for reproduction).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="--arch hiner: training epochs (passes over all bands) "
                   "[default: from --effort].")
@click.option("--bands-per-step", type=click.IntRange(min=1), default=None,
              help="--arch hiner: bands per optimizer step [default: from --effort].")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="--arch hiner: peak learning rate, warm-up then cosine decay "
                   "[default: from --effort].")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="Encode time budget: lowrank stops its rank search, hiner "
                                      "its training (the schedule decays by then); the best "
                                      "model so far is written.")
@click.option("--tile", type=click.IntRange(min=8), default=None, metavar="PIXELS",
              help="Cut larger scenes into tiles of at most PIXELS × PIXELS, fitted separately "
                   "(memory is bounded by the tile) [default: 512 for lowrank, 256 for hiner].")
@click.option("--no-resample", is_flag=True,
              help="Mark the file as not to be resampled (`hinerc resample` refuses it). The "
                   "spectral model costs no byte, so the file is no smaller.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed; the same input and seed give the same bytes on one machine.")
@device_option
@format_option
@var_option
@force_option
@batch_options
@json_option
@common_options
def compress(inputs: tuple[Path, ...], output: Optional[Path], bpppb: float, effort: int,
             arch: str, epochs: Optional[int], bands_per_step: Optional[int], lr: Optional[float],
             time_limit: Optional[float], tile: int, no_resample: bool, seed: int, device: str,
             fmt: Optional[str], var: Optional[str], force: bool, out_dir: Optional[Path],
             jobs: int, scheduler: Optional[str], as_json: bool, quiet: bool) -> None:
    """Compress cubes into .hnr files of a given size.

    Fits a model to each INPUT and writes one self-contained .hnr whose size is --bpppb bits
    per sample (±3%). The default model (--arch lowrank) mixes a few feature maps, coded with
    JPEG 2000, by a small per-band embedding, searching the number of maps for the best
    quality; --arch hiner trains the published HINER network instead. Files are written
    atomically: on any error or Ctrl-C nothing partial is left behind.

    With several inputs (or --out-dir, --jobs, --scheduler), existing outputs are skipped
    unless --force, a failing file does not stop the others, a summary table ends the run,
    and the exit code is 1 if any file failed.

    \b
    Examples:
      hinerc compress scene.hdr -o scene.hnr --bpppb 0.2
      hinerc compress tile.tif -o tile.hnr --bpppb 0.5 --effort 9
      hinerc compress tile.tif -o tile.hnr --bpppb 0.5 --arch hiner --device cuda
      hinerc compress big.hdr -o big.hnr --bpppb 0.1 --effort 1 --time-limit 60
      hinerc compress cube.mat --var hsi -o cube.hnr --quiet
      hinerc compress scenes/*.hdr --out-dir out/ --jobs 2
      hinerc compress scenes/*.tif --out-dir out/ --device cuda:0,cuda:1 --jobs 2
      hinerc compress /shared/scenes/*.hdr --out-dir /shared/out --scheduler tcp://head:8786
    """
    from hinerc import api, batch

    if arch == "lowrank" and (epochs, bands_per_step, lr) != (None, None, None):
        raise click.UsageError("--epochs, --bands-per-step and --lr train the network of "
                               "--arch hiner; the lowrank model has none (use --effort)")
    _show_warnings(quiet)
    devices = batch.parse_devices(device)
    options = dict(bpppb=bpppb, effort=effort, arch=arch, epochs=epochs, seed=seed,
                   bands_per_step=bands_per_step, lr=lr,
                   time_limit=time_limit, tile=tile, format=fmt, var=var,
                   resample=not no_resample)
    if _is_batch(inputs, output, out_dir, jobs, scheduler):
        _run_batch("compress", inputs, out_dir, ".hnr", force, options, jobs, devices,
                   scheduler, quiet, as_json)
        return
    input = inputs[0]
    device = devices[0]
    output = output or input.with_suffix(".hnr")
    with _TrainingProgress(enabled=not quiet) as prog:
        result = api.compress(input, output, device=device, force=force, progress=prog.update,
                              on_stage=prog.stage, jobs=jobs, **options)
    if as_json:
        click.echo(_dump(result.to_dict()))
    elif not quiet:
        click.echo(f"{output}: {result.size_bytes:,} bytes, {result.bpppb:.4f} bpppb "
                   f"(target {bpppb:g}), PSNR {result.psnr_db:.2f} dB, "
                   f"{result.seconds:.1f} s on {result.device}", err=False)


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
            self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()


class _TrainingProgress(_ProgressBar):
    """compress: stage lines, and for --arch hiner epoch, loss, PSNR, ETA."""

    fields = "loss {task.fields[loss]}  PSNR {task.fields[psnr]}"

    def stage(self, text: str) -> None:
        if not self.enabled or self.progress is None:
            return
        self.progress.console.print(f"[dim]{text}[/dim]")
        if text.startswith("training"):
            if self.task is not None:
                self.progress.remove_task(self.task)
            self.task = self.progress.add_task("epoch", total=None, loss="-", psnr="-")

    def update(self, stats: Any) -> None:
        if self.progress is None or self.task is None:
            return
        self.progress.update(self.task, completed=stats.epoch, total=stats.epochs,
                             loss=f"{stats.loss:.4f}", psnr=f"{stats.psnr_db:.2f} dB")


def cube_output_options(f):  # noqa: ANN001
    """-f/--format, --interleave and --dtype: how a decoded cube is written."""
    f = click.option("--dtype", type=click.Choice(["float32"]), default=None,
                     help="Write float32 samples instead of the original type.")(f)
    f = click.option("--interleave", type=click.Choice(["bsq", "bil", "bip"]), default=None,
                     help="ENVI interleave [default: the original one].")(f)
    return format_option(f)


# ----------------------------------------------------------------------------- decompress
@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The cube to write, for a single input; its extension picks the format "
                   "(.hdr/.img ENVI, .tif GeoTIFF, .mat, .npy).")
@cube_output_options
@device_option
@force_option
@batch_options
@json_option
@common_options
def decompress(inputs: tuple[Path, ...], output: Optional[Path], fmt: Optional[str],
               interleave: Optional[str], dtype: Optional[str], device: str, force: bool,
               out_dir: Optional[Path], jobs: int, scheduler: Optional[str], as_json: bool,
               quiet: bool) -> None:
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
    """
    import time

    from hinerc import api, batch

    _show_warnings(quiet)
    devices = batch.parse_devices(device)
    if _is_batch(inputs, output, out_dir, jobs, scheduler):
        options = dict(format=fmt, interleave=interleave, dtype=dtype)
        _run_batch("decompress", inputs, out_dir, batch.OUTPUT_EXT[fmt or "envi"], force,
                   options, jobs, devices, scheduler, quiet, as_json)
        return
    if output is None:
        raise click.UsageError("give -o/--output (or --out-dir)")
    input, device = inputs[0], devices[0]
    t0 = time.perf_counter()
    cube = api.decompress(input, output, format=fmt, interleave=interleave, device=device,
                          force=force, dtype=dtype)
    secs = time.perf_counter() - t0
    if as_json:
        click.echo(_dump({"input": str(input), "output": str(output), "shape": list(cube.shape),
                          "dtype": cube.dtype.name, "seconds": round(secs, 3)}))
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
@cube_output_options
@device_option
@force_option
@json_option
@common_options
def resample(input: Path, output: Path, wavelengths: Optional[str], like: Optional[Path],
             srf: Optional[Path], extrapolate: bool, fmt: Optional[str],
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
                        device=devices[0], force=force)
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
    """Plan, run and report a batch; exit code 1 when any file failed."""
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
            err.print(f"[{count['n']}/{total}] {r.input}: {r.status}"
                      + (f" ({r.message})" if r.message else ""), highlight=False)

    if not quiet:
        for r in known:
            err.print(f"{r.input}: {r.status} ({r.message})", highlight=False)
    results = batch.run(tasks, jobs=jobs, devices=devices, scheduler=scheduler, on_done=done)
    order = {str(p): i for i, p in enumerate(inputs)}
    allres = sorted(known + results, key=lambda r: order.get(r.input, 0))
    failed = sum(r.status == "failed" for r in allres)
    if as_json:
        click.echo(_dump([r.to_dict() for r in allres]))
    elif not quiet:
        _print_summary(allres)
    if failed:
        click.echo(f"hinerc: error: {failed} of {len(allres)} file(s) failed", err=True)
        click.get_current_context().exit(1)


def _print_summary(results: list) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="hinerc batch summary")
    for col in ("input", "status", "output", "bpppb", "PSNR dB", "seconds", "message"):
        table.add_column(col)
    for r in results:
        table.add_row(r.input, r.status, r.output,
                      f"{r.bpppb:.4f}" if r.bpppb is not None else "",
                      f"{r.psnr_db:.2f}" if r.psnr_db is not None else "",
                      f"{r.seconds:.1f}" if r.seconds else "", r.message)
    Console(width=160).print(table)


# ----------------------------------------------------------------------------- info
@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("input", type=click.Path(dir_okay=False, path_type=Path))
@format_option
@var_option
@json_option
@common_options
def info(input: Path, fmt: Optional[str], var: Optional[str], as_json: bool, quiet: bool) -> None:
    """Describe a .hnr file (or an input cube) without decoding it.

    For a .hnr every CRC is checked; the shape, type, wavelengths, real size and rate,
    compression ratio, model, and the PSNR, time and device of the encode are shown.

    \b
    Examples:
      hinerc info scene.hnr
      hinerc info scene.hnr --json | python -c "import json,sys; print(json.load(sys.stdin)['bpppb'])"
      hinerc info scene.hdr
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


def _format_info(d: dict) -> str:
    h, w, c = d["shape"]
    if d["kind"] == "cube":
        rows = [
            ("file", d["path"]), ("format", d["format"]),
            ("shape", f"{h} × {w} × {c} (rows × columns × bands)"), ("dtype", d["dtype"]),
            ("interleave", d["interleave"] or "-"), ("wavelengths", _fmt_wl(d)),
            ("bad bands", d["bad_bands"]), ("nodata", d["nodata"]),
            ("georeferenced", "yes" if d["crs"] or d["transform"] else "no"),
            ("size", f"{d['size_bytes']:,} bytes of samples"),
        ]
    else:
        psnr = f"{d['psnr_db']:.2f} dB" if d["psnr_db"] is not None else "-"
        cfg = d["model_config"]
        rows = [
            ("file", d["path"]), ("format", f".hnr version {d['format_version']}"),
            ("shape", f"{h} × {w} × {c} (rows × columns × bands)"), ("dtype", d["dtype"]),
            ("bands", f"{d['bands_coded']} coded, {d['bands_constant']} constant, "
                      f"{d['bands_nodata']} no-data"),
            ("wavelengths", _fmt_wl(d)),
            ("tiles", d["tiles"]),
            ("file size", f"{d['file_bytes']:,} bytes"),
            ("rate", f"{d['bpppb']:.4f} bpppb"),
            ("compression", f"{d['compression_ratio']:.1f}:1 against "
                            f"{d['source_bits_per_sample']} bits per sample"),
            ("model", _fmt_model(d, cfg)),
            ("resample", "yes: " + d["resample_note"] if d["resample"] else d["resample_note"]),
            ("PSNR at encode", psnr),
            ("encode", f"{d['encode_seconds']} s on {d['device']}, "
                       f"{str(d['epochs']) + ' epochs, ' if d['arch'] == 'hiner' else ''}"
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


def _fmt_model(d: dict, cfg: dict) -> str:
    first = "first tile: " if d["tiles"] > 1 else ""
    if d["arch"] == "lowrank":
        return (f"lowrank, {first}{cfg['rank']} feature maps (JPEG 2000, "
                f"{d['sections'].get('MAPS', 0):,} bytes) mixed by per-band embeddings "
                f"({d['model_values']:,} values, {d['sections'].get('SPEC', 0):,} bytes)")
    return (f"{d['arch']}, {d['model_values']:,} stored values, {first}embedding "
            f"{cfg['embed_channels']}×{cfg['embed_h']}×{cfg['embed_w']}, channels "
            f"{'-'.join(map(str, cfg['channels']))}, strides "
            f"{'·'.join(map(str, cfg['strides']))}, {'/'.join(map(str, d['quant_bits']))}-bit")


def main(argv: Optional[list[str]] = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="hinerc")


if __name__ == "__main__":
    main()
