"""Per-band image stacks: one cube from a folder (or a glob pattern) of single-band images, or
from the pages of a multi-page TIFF.

Multispectral databases such as CAVE ship a scene as one 16-bit grayscale PNG per band
(``..._01.png`` … ``..._31.png``); microscopes and lab cameras write one page per band. Both are
read here as an H×W×C cube in natural name order (``band2`` before ``band10``, as a person
sorts them, not as ``sorted`` does), samples in their stored type. Every band must have the size
and sample type of the first; the first one that does not is named in the error. Band names are
the file stems (or page numbers); georeference and no-data come from the first file. Files carry
no wavelengths, so ``--wavelengths`` (:mod:`hinerc.io.declare`) names the band centres.

Files are read through rasterio (GDAL's PNG and GTiff drivers), which hinerc needs anyway.
"""

from __future__ import annotations

import glob
import re
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

from hinerc.errors import InputError
from hinerc.io.spectral_meta import make_cube, one_line

#: extensions of the band files a folder is read from (other files there are ignored)
IMAGE_EXTS = (".png", ".tif", ".tiff")
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> list[Any]:
    """Sort key that orders the numbers inside names by value: ``b2`` < ``b10``."""
    return [int(t) if t.isdigit() else t.lower() for t in _DIGITS.split(name)]


def is_pattern(path: Path | str) -> bool:
    """True for a glob pattern (``*``, ``?`` or ``[``) that names no existing file."""
    s = str(path)
    return any(ch in s for ch in "*?[") and not Path(s).exists()


def band_files(path: Path) -> list[Path]:
    """The band files of a folder (its PNG/TIFF files) or a glob pattern, in natural order."""
    if is_pattern(path):
        files = [Path(p) for p in glob.glob(str(path)) if Path(p).is_file()]
        if not files:
            raise InputError(f"{path}: no file matches the pattern")
        other = [p for p in files if p.suffix.lower() not in IMAGE_EXTS]
        if other:
            raise InputError(f"{other[0]}: a quoted pattern is read as one cube of single-band "
                             "PNG/TIFF images; to compress files one by one, leave it unquoted")
    elif path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                 and p.suffix.lower() in IMAGE_EXTS]
        if not files:
            raise InputError(f"{path}: the folder holds no PNG or TIFF file "
                             f"({', '.join(IMAGE_EXTS)})")
    else:
        files = [path]
    return sorted(files, key=lambda p: natural_key(p.name))


def output_stem(path: Path) -> Path:
    """What to name an output after: a pattern's folder (``scene/*.png`` -> ``scene``)."""
    if not is_pattern(path):
        return path
    parts = Path(path).parts
    first = next(i for i, part in enumerate(parts) if any(ch in part for ch in "*?["))
    return Path(*parts[:first]) if first else Path(".")


def _open(name: str, shown: str) -> Any:
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(name)
    except (RasterioError, OSError) as exc:
        raise InputError(f"{shown}: not a readable image: {one_line(exc)}") from None


def _describe(shape: tuple[int, int], dtype: str) -> str:
    return f"{shape[0]}×{shape[1]} {dtype}"


class _Stacker:
    """Fills an H×W×C array band by band, checking each band against the first."""

    def __init__(self, count: int):
        self.count = count
        self.data: Optional[np.ndarray] = None
        self.first = ""
        self.geo: dict[str, Any] = {}

    def add(self, i: int, ds: Any, shown: str) -> None:
        if ds.count != 1:
            raise InputError(f"{shown}: has {ds.count} bands; a stack takes single-band images")
        dtype = ds.dtypes[0]
        if "complex" in dtype or dtype not in _SUPPORTED:
            raise InputError(f"{shown}: unsupported sample type {dtype}")
        if self.data is None:
            self.data = np.empty((ds.height, ds.width, self.count), dtype=dtype)
            self.first = shown
            self.geo = _geo(ds)
        elif (ds.height, ds.width) != self.data.shape[:2] or dtype != self.data.dtype.name:
            raise InputError(
                f"{shown}: {_describe((ds.height, ds.width), dtype)}, but {self.first} is "
                f"{_describe(self.data.shape[:2], self.data.dtype.name)}: every band must "
                "have the same size and sample type")
        elif self.geo.get("transform") is not None and _geo(ds).get("transform") not in (
                None, self.geo["transform"]):
            raise InputError(f"{shown}: not on the grid of {self.first} (another geotransform)")
        try:
            self.data[:, :, i] = ds.read(1)
        except Exception as exc:  # noqa: BLE001 - any GDAL read failure is an unreadable input
            raise InputError(f"{shown}: cannot read the samples: {one_line(exc)}") from None


_SUPPORTED = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
              "float32", "float64")


def _geo(ds: Any) -> dict[str, Any]:
    crs = ds.crs.to_wkt() if ds.crs else None
    transform: Optional[tuple[float, ...]] = tuple(ds.transform.to_gdal())
    if crs is None and ds.transform.is_identity:
        transform = None
    return {"crs": crs, "transform": transform, "nodata": ds.nodata}


def read_stack(path: Path | str) -> Any:
    """A cube from a folder or glob pattern of single-band images (or one image: one band)."""
    path = Path(path)
    files = band_files(path)
    stack = _Stacker(len(files))
    for i, f in enumerate(files):
        with _open(str(f), str(f)) as ds:
            if ds.count == 1 and len(ds.subdatasets) > 1:
                raise InputError(f"{f}: a multi-page TIFF ({len(ds.subdatasets)} pages); read it "
                                 "alone, each page a band")
            stack.add(i, ds, str(f))
    return make_cube(str(path), data=stack.data, band_names=[f.stem for f in files],
                     source_format="stack", **stack.geo)


def read_pages(path: Path | str, pages: list[str]) -> Any:
    """A cube from the pages of a multi-page TIFF (GDAL subdataset names), one band each."""
    path = Path(path)
    stack = _Stacker(len(pages))
    for i, name in enumerate(pages):
        with _open(name, f"{path} page {i + 1}") as ds:
            stack.add(i, ds, f"{path} page {i + 1}")
    return make_cube(str(path), data=stack.data, source_format="gtiff", **stack.geo)
