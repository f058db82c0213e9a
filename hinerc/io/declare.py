"""What a user declares about an input cube that its file lacks: the no-data value, wavelengths,
FWHM, and the image shape of a 2-D bands × pixels matrix.

Many cubes come without that metadata: a ``.npy`` or ``.mat`` has no wavelengths, a folder of
PNG bands no no-data value, and a float cube with NaN holes cannot be coded until NaN is declared
no-data. ``compress --nodata/--wavelengths/--fwhm/--shape`` (and the same keywords of
:func:`hinerc.compress` and :func:`hinerc.io.read_cube`) state them; a declared value replaces
what the file says.

Two kinds of mistake are kept apart, since the command line answers them differently: an option
value that is malformed on its own (``--wavelengths 4OO``, ``--shape 100``) is caught by the
``parse_*`` functions, before anything is read (the CLI turns it into a usage error, exit 2); a
well-formed value that does not fit the cube (31 wavelengths for 30 bands, 9000 pixels for a
10000-pixel matrix, ``--nodata nan`` for integer samples) is found by :func:`apply` once the cube
is read (an :class:`~hinerc.errors.InputError`, exit 1).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from hinerc.errors import InputError

BandValues = Union[str, os.PathLike, Sequence[float], np.ndarray]


@dataclass(frozen=True)
class Declared:
    """Metadata declared by the user for an input cube (``None``: not declared).

    Attributes:
        nodata: the no-data value (NaN allowed, for float cubes).
        wavelengths_nm: band centres in nm, one per band.
        fwhm_nm: band widths in nm, one per band, or one for every band.
        shape: (rows, columns) of a 2-D bands × pixels matrix (read column-major).
    """

    nodata: Optional[float] = None
    wavelengths_nm: Optional[np.ndarray] = None
    fwhm_nm: Optional[np.ndarray] = None
    shape: Optional[tuple[int, int]] = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in dataclasses.fields(self))


# ----------------------------------------------------------------------------- parsing
def _read_values_file(path: Path, option: str) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{option} {path}: cannot read it ({exc})") from None
    values = []
    for i, line in enumerate(text.splitlines(), 1):
        s = line.split("#", 1)[0].strip()
        if not s:
            continue
        try:
            values.append(float(s))
        except ValueError:
            raise InputError(f"{option} {path}: line {i} ({s!r}) is not one number") from None
    if not values:
        raise InputError(f"{option} {path}: the file holds no values")
    return np.asarray(values, np.float64)


def parse_band_values(value: BandValues, option: str = "--wavelengths") -> np.ndarray:
    """Per-band values in nm: ``"450,550"``, ``"START:STOP:STEP"`` (stop included when on the
    grid, as :func:`hinerc.spectral.parse_wavelengths`), a text file with one value per line
    (``#`` starts a comment), or numbers. Each must be positive and finite.

    Raises :class:`InputError` (naming ``option``) when the value is malformed.
    """
    if isinstance(value, os.PathLike) or (isinstance(value, str) and Path(value).is_file()):
        arr = _read_values_file(Path(value), option)
    elif isinstance(value, str):
        from hinerc.spectral import parse_wavelengths

        try:
            arr = parse_wavelengths(value).centres_nm
        except InputError as exc:  # its messages name --wavelengths
            msg = str(exc).replace("--wavelengths", option)
            if "expected START" in msg:
                msg += " or a text file with one value per line"
            elif option not in msg:
                msg = f"{option} {value!r}: values must be positive numbers (nm)"
            raise InputError(msg) from None
    else:
        try:
            arr = np.asarray(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise InputError(f"{option} must be numbers") from None
        if arr.size == 0:
            raise InputError(f"{option} is empty")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InputError(f"{option}: values must be positive numbers (nm)")
    return arr


def parse_shape(value: Union[str, Sequence[int]]) -> tuple[int, int]:
    """``"H,W"`` (or ``"HxW"``, or two integers) -> (H, W), both positive."""
    if isinstance(value, str):
        parts = value.lower().replace("×", ",").replace("x", ",").split(",")
    else:
        parts = list(value)
    try:
        if len(parts) != 2:
            raise ValueError
        h, w = (int(str(p).strip()) for p in parts)
    except (TypeError, ValueError):
        raise InputError(f"--shape {value!r}: expected ROWS,COLUMNS (two integers)") from None
    if h <= 0 or w <= 0:
        raise InputError(f"--shape {value!r}: rows and columns must be positive")
    return h, w


def parse_nodata(value: Any) -> float:
    """A number (``nan`` allowed) as float."""
    if isinstance(value, bool):
        raise InputError(f"--nodata must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"--nodata must be a number (or nan), got {value!r}") from None


def declared(nodata: Any = None, wavelengths: Optional[BandValues] = None,
             fwhm: Optional[BandValues] = None,
             shape: Union[str, Sequence[int], None] = None) -> Declared:
    """Parse API or option values into a :class:`Declared` (InputError when malformed)."""
    return Declared(
        nodata=None if nodata is None else parse_nodata(nodata),
        wavelengths_nm=None if wavelengths is None else parse_band_values(wavelengths,
                                                                          "--wavelengths"),
        fwhm_nm=None if fwhm is None else parse_band_values(fwhm, "--fwhm"),
        shape=None if shape is None else parse_shape(shape),
    )


# ----------------------------------------------------------------------------- applying
def _check_nodata(nodata: float, dtype: np.dtype, source: str) -> None:
    if dtype.kind not in "iu":
        return
    info = np.iinfo(dtype)
    if math.isnan(nodata):
        raise InputError(f"{source}: --nodata nan does not apply to {dtype.name} samples "
                         "(integers are never NaN)")
    if not (float(nodata).is_integer() and info.min <= nodata <= info.max):
        raise InputError(f"{source}: --nodata {nodata:g} cannot be stored as {dtype.name} "
                         f"({info.min}..{info.max})")


def apply(cube: Any, decl: Declared, source: str) -> Any:
    """``cube`` with the declared metadata in place of its own (checked against it)."""
    if decl.empty:
        return cube
    c = cube.bands
    changes: dict[str, Any] = {}
    if decl.wavelengths_nm is not None:
        if decl.wavelengths_nm.size != c:
            raise InputError(f"{source}: --wavelengths gives {decl.wavelengths_nm.size} values "
                             f"for {c} bands")
        changes["wavelengths_nm"] = decl.wavelengths_nm.copy()
        changes["wavelength_units"] = "Nanometers"
    if decl.fwhm_nm is not None:
        fw = decl.fwhm_nm
        if fw.size == 1:
            fw = np.full(c, fw[0])
        elif fw.size != c:
            raise InputError(f"{source}: --fwhm gives {fw.size} values for {c} bands "
                             "(give one per band, or one for all)")
        changes["fwhm_nm"] = fw.copy()
        if cube.wavelengths_nm is None and "wavelengths_nm" not in changes:
            changes["wavelength_units"] = "Nanometers"
    if decl.nodata is not None:
        _check_nodata(decl.nodata, cube.dtype, source)
        changes["nodata"] = decl.nodata
    return dataclasses.replace(cube, **changes) if changes else cube


def reshape_columns(matrix: np.ndarray, shape: tuple[int, int], name: str,
                    source: str) -> np.ndarray:
    """An H×W×B cube from a 2-D matrix of B bands × H·W pixels (or H·W × B).

    Pixels are in MATLAB's column-major order, as ``reshape(Y', H, W, B)``: pixel k (0-based)
    is row ``k mod H``, column ``k div H``. When both sides equal H·W the first is the bands.
    """
    h, w = shape
    n = h * w
    rows, cols = matrix.shape
    if cols == n:
        pixels_by_band = matrix.T
    elif rows == n:
        pixels_by_band = matrix
    else:
        raise InputError(f"{source}: --shape {h},{w} makes {n} pixels, but {name!r} is "
                         f"{rows}×{cols} (neither side has {n} values)")
    b = pixels_by_band.shape[1]
    return np.ascontiguousarray(np.reshape(pixels_by_band, (h, w, b), order="F"))
