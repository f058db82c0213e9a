"""Reading and writing hyperspectral cubes: ENVI, GeoTIFF, MATLAB ``.mat`` and ``.npy``; and
reading a folder (or glob pattern) of single-band PNG/TIFF images as one cube (``stack``).

Public API::

    read_cube(path, format=None, var=None, *, shape=None, nodata=None, wavelengths=None,
              fwhm=None) -> Cube
    write_cube(cube, path, format=None, interleave=None) -> list[Path]
    detect_format(path, format=None) -> str

This package never imports torch.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional, Union

from hinerc.errors import HinercWarning, InputError
from hinerc.io.cube import Cube

__all__ = ["Cube", "read_cube", "write_cube", "detect_format", "input_files", "output_files",
           "output_stem", "FORMATS"]

#: format name -> what it is
FORMATS = {
    "envi": "ENVI .hdr + binary (.img, .dat, .bsq, .bil, .bip, .raw or no extension)",
    "gtiff": "GeoTIFF (.tif, .tiff)",
    "mat": "MATLAB (.mat, v5 or v7.3)",
    "npy": "NumPy (.npy)",
    "stack": "a folder or glob pattern of single-band PNG/TIFF files, one band each "
             "(input only)",
}
_ALIASES = {"envi": "envi", "hdr": "envi", "gtiff": "gtiff", "geotiff": "gtiff", "tif": "gtiff",
            "tiff": "gtiff", "mat": "mat", "matlab": "mat", "npy": "npy", "numpy": "npy",
            "stack": "stack", "png": "stack"}
_EXT = {".hdr": "envi", ".tif": "gtiff", ".tiff": "gtiff", ".mat": "mat", ".npy": "npy",
        ".png": "stack"}
_ENVI_DATA_EXTS = (".img", ".dat", ".bsq", ".bil", ".bip", ".raw")

PathLike = Union[str, Path]


def _choices() -> str:
    return ("choices: .hdr/.img/.dat/.bsq/.bil/.bip/.raw (envi), .tif/.tiff (gtiff), .mat (mat), "
            ".npy (npy), a folder of single-band .png/.tif files or a quoted pattern "
            "('bands/*.png'); or name it with -f/--format envi|gtiff|mat|npy")


def detect_format(path: PathLike, format: Optional[str] = None) -> str:
    """The format name ('envi', 'gtiff', 'mat', 'npy', or 'stack' for a folder, a glob pattern
    or a .png) for ``path``; ``format`` overrides."""
    if format is not None:
        key = str(format).strip().lower().lstrip(".")
        if key not in _ALIASES:
            raise InputError(f"unknown -f/--format {format!r}; choices: envi, gtiff, mat, npy")
        return _ALIASES[key]
    p = Path(path)
    from hinerc.io.stack import is_pattern

    if p.is_dir() or is_pattern(p):
        return "stack"
    ext = p.suffix.lower()
    if ext in _EXT:
        return _EXT[ext]
    if ext in _ENVI_DATA_EXTS:
        return "envi"
    from hinerc.io.envi import find_header

    if find_header(p) is not None:  # a binary with a header beside it, any extension
        return "envi"
    what = f"extension {p.suffix!r}" if p.suffix else "no extension (and no .hdr beside it)"
    raise InputError(f"{p}: cannot tell the format from {what}; {_choices()}")


def output_format(p: Path, format: Optional[str]) -> str:
    """:func:`detect_format` for a path to write: ``*?[`` are plain characters in its name."""
    if format is None and not p.is_dir() and p.suffix.lower() in _EXT:
        return _EXT[p.suffix.lower()]
    return detect_format(p, format)


def read_cube(path: PathLike, format: Optional[str] = None, var: Optional[str] = None, *,
              shape: Any = None, nodata: Any = None, wavelengths: Any = None,
              fwhm: Any = None) -> Cube:
    """Read a cube; samples keep their stored type (no scale factor applied).

    ``var`` picks the variable of a ``.mat`` file; ``shape`` (rows, columns) reads a ``.mat``
    holding a 2-D bands × pixels matrix, pixels column-major as MATLAB's ``reshape``.
    ``nodata``, ``wavelengths`` and ``fwhm`` declare what the file lacks, replacing what it
    says (forms and checks: :mod:`hinerc.io.declare`). Raises :class:`InputError` for any
    missing, unreadable or invalid input, or a declaration that does not fit the cube; warns
    (:class:`HinercWarning`) when there are no wavelengths.
    """
    from hinerc.io.declare import apply, declared

    decl = declared(nodata=nodata, wavelengths=wavelengths, fwhm=fwhm, shape=shape)
    p = Path(path)
    fmt = detect_format(p, format)
    if fmt != "stack" and not p.exists():
        raise InputError(f"{p}: no such file")
    if fmt != "stack" and p.is_dir():
        raise InputError(f"{p}: is a folder, not a file")
    if var is not None and fmt != "mat":
        raise InputError(f"{p}: --var only applies to .mat files")
    if decl.shape is not None and fmt != "mat":
        raise InputError(f"{p}: --shape only applies to a 2-D matrix in a .mat file")
    try:
        if fmt == "envi":
            from hinerc.io.envi import read_envi

            cube = read_envi(p)
        elif fmt == "gtiff":
            from hinerc.io.geotiff import read_gtiff

            cube = read_gtiff(p)
        elif fmt == "mat":
            from hinerc.io.matlab import read_mat

            cube = read_mat(p, var=var, shape=decl.shape)
        elif fmt == "stack":
            from hinerc.io.stack import read_stack

            cube = read_stack(p)
        else:
            from hinerc.io.npy import read_npy

            cube = read_npy(p)
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{p}: the cube does not fit in memory") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        from hinerc.io.spectral_meta import one_line

        raise InputError(f"{p}: cannot read it as {fmt}: {one_line(exc)}") from None
    cube = apply(cube, decl, str(p))
    if cube.wavelengths_nm is None:
        warnings.warn(f"no wavelengths in {p}: the band index is used (declare them with "
                      "--wavelengths)", HinercWarning, stacklevel=2)
    return cube


def write_cube(cube: Cube, path: PathLike, format: Optional[str] = None,
               interleave: Optional[str] = None) -> list[Path]:
    """Write ``cube`` atomically and return the files written.

    ``interleave`` ('bsq', 'bil', 'bip') applies to ENVI (default: the cube's, else bsq) and
    GeoTIFF ('bip' -> pixel interleaved, else band; 'bil' warns). The caller decides about
    overwriting. A .mat or .npy output warns (:class:`HinercWarning`, one line) naming the
    metadata it cannot hold, and that ``interleave`` does not apply (:mod:`hinerc.io.kept`).
    """
    from hinerc.io.kept import warn_interleave, warn_lost

    p = Path(path)
    fmt = output_format(p, format)
    if fmt == "stack":
        raise InputError(f"{p}: hinerc reads per-band image stacks but does not write them; "
                         "write .hdr, .tif, .mat or .npy")
    if interleave is not None and str(interleave).lower() not in ("bsq", "bil", "bip"):
        raise InputError(f"unknown interleave {interleave!r}; choices: bsq, bil, bip")
    if fmt == "envi":
        from hinerc.io.envi import write_envi

        files = write_envi(cube, p, interleave=interleave)
    elif fmt == "gtiff":
        from hinerc.io.geotiff import write_gtiff

        files = write_gtiff(cube, p, interleave=interleave)
    elif fmt == "mat":
        from hinerc.io.matlab import write_mat

        files = write_mat(cube, p)
    else:
        from hinerc.io.npy import write_npy

        files = write_npy(cube, p)
    warn_interleave(p, fmt, interleave)  # once written: a failed write reports only its error
    warn_lost(cube, p, fmt)
    return files


def output_stem(path: PathLike) -> Path:
    """What an output is named after: the input, or the folder of a glob pattern."""
    from hinerc.io.stack import output_stem as stem

    return stem(Path(path))


def input_files(path: PathLike, format: Optional[str] = None) -> list[Path]:
    """The files reading ``path`` uses (an ENVI header and its binary, the band files of a
    stack; else the path itself)."""
    p = Path(path)
    fmt = detect_format(p, format)
    if fmt == "stack":
        from hinerc.io.stack import band_files

        try:
            return band_files(p)
        except InputError:
            return [p]
    if fmt != "envi":
        return [p]
    from hinerc.io.envi import find_binary, resolve_pair

    try:
        hdr, binary = resolve_pair(p)
    except InputError:
        return [p]
    binary = binary or find_binary(hdr)
    return [hdr] + ([binary] if binary is not None else [])


def output_files(path: PathLike, format: Optional[str] = None) -> list[Path]:
    """The files :func:`write_cube` creates for ``path`` (ENVI: header and binary)."""
    p = Path(path)
    if output_format(p, format) != "envi":
        return [p]
    from hinerc.io.envi import output_pair

    return list(output_pair(p))
