"""What ``classify`` writes: the class map (GeoTIFF with a colour table), a preview picture (PNG
or JPEG, as its extension names), a report."""

from __future__ import annotations

import json
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any, Optional

import numpy as np

from hinerc.errors import InputError
from hinerc.io import Cube

#: Colours of classes 1.. (class 0, unlabelled, is black); a qualitative palette, then a cycle.
PALETTE = [(0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
           (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60),
           (250, 190, 212), (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200),
           (128, 0, 0), (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128),
           (128, 128, 128)]


def colour(k: int) -> tuple[int, int, int]:
    return PALETTE[k] if k < len(PALETTE) else PALETTE[1 + (k - 1) % (len(PALETTE) - 1)]


def write_class_map(classes: np.ndarray, path: Path, like: Cube) -> None:
    """A one-band GeoTIFF (uint8 with a colour table up to 255 classes, else uint16), with the
    input's CRS and transform; 0 (unlabelled / no data) is its no-data value."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    top = int(classes.max(initial=0))
    dtype = "uint8" if top <= 255 else "uint16"
    profile = {"driver": "GTiff", "height": classes.shape[0], "width": classes.shape[1],
               "count": 1, "dtype": dtype, "nodata": 0, "compress": "deflate"}
    if like.crs is not None:
        profile["crs"] = like.crs
    if like.transform is not None:
        from rasterio.transform import Affine

        profile["transform"] = Affine.from_gdal(*like.transform)  # Cube keeps GDAL order
    with warnings.catch_warnings():
        if like.transform is None:  # the input has no georeference: neither has its map
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(classes.astype(dtype), 1)
            if dtype == "uint8":
                ds.write_colormap(1, {k: colour(k) + (255,) for k in range(top + 1)})


def write_png(classes: np.ndarray, path: Path) -> None:
    """An RGB preview of the class map (PNG, written with zlib: no imaging library needed)."""
    lut = np.array([colour(k) for k in range(int(classes.max(initial=0)) + 1)], np.uint8)
    rgb = lut[classes]
    h, w = classes.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    path.write_bytes(png)


#: Preview formats by file extension (lower case).
PREVIEW_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def preview_format(path: Path) -> Optional[str]:
    """``"PNG"`` or ``"JPEG"`` as the extension of ``path`` names it; None for any other."""
    return PREVIEW_FORMATS.get(Path(path).suffix.lower())


def write_jpeg(classes: np.ndarray, path: Path, quality: int = 95) -> None:
    """An RGB preview of the class map as a JPEG (GDAL's JPEG driver, through rasterio; no
    side files). Lossy: colours blur a little at class borders; the PNG is exact."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    lut = np.array([colour(k) for k in range(int(classes.max(initial=0)) + 1)], np.uint8)
    rgb = lut[classes].transpose(2, 0, 1)
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a picture, not a map
        with rasterio.open(path, "w", driver="JPEG", height=classes.shape[0],
                           width=classes.shape[1], count=3, dtype="uint8",
                           QUALITY=str(quality)) as ds:
            ds.write(rgb)


def write_preview(classes: np.ndarray, path: Path, fmt: str) -> None:
    """The preview in ``fmt`` (:data:`PREVIEW_FORMATS`)."""
    if fmt == "PNG":
        write_png(classes, path)
    elif fmt == "JPEG":
        write_jpeg(classes, path)
    else:
        raise InputError(f"--preview writes PNG or JPEG, not {fmt}")


def write_report(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=1) + "\n")


def table(report: dict[str, Any], names: Optional[list[str]] = None) -> str:
    """OA, AA, κ, per-class accuracy and the confusion matrix as text."""
    if "oa" not in report:
        return "no test labels: no accuracy"
    lines = [f"OA {100 * report['oa']:.2f}%   AA {100 * report['aa']:.2f}%   "
             f"kappa {report['kappa']:.4f}   ({report['test_pixels']} test pixels)", ""]
    m = report["confusion"]
    k = len(m)
    lines.append("class  accuracy   " + " ".join(f"{j + 1:>6}" for j in range(k)))
    for i in range(k):
        acc = report["per_class"][i]
        cell = f"{100 * acc:7.2f}%" if acc is not None else "      - "
        lines.append(f"{i + 1:>5}  {cell}   " + " ".join(f"{v:>6}" for v in m[i]))
    return "\n".join(lines)
