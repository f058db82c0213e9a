"""What each output format keeps of a cube's metadata, and one warning line for what it drops.

ENVI and GeoTIFF keep everything a :class:`~hinerc.io.Cube` holds (mapped between them by the
writers). A ``.mat`` keeps the samples, wavelengths and FWHM (the ``wavelengths`` / ``fwhm``
variables its reader looks for; MATLAB has no convention for the rest), a ``.npy`` only the
samples. Writing to those is allowed, but never silently: as ``gdal_translate`` warns when the
output driver cannot hold some metadata, :func:`warn_lost` names the fields lost in one
:class:`~hinerc.errors.HinercWarning`. Likewise ``--interleave`` is honoured where the format has
it and otherwise reported, the way GDAL warns about a creation option a driver does not support.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

from hinerc.errors import HinercWarning

#: what each format keeps besides the samples (the names used in the warning)
KEPT = {
    "envi": None,  # everything
    "gtiff": None,
    "mat": ("wavelengths", "FWHM"),
    "npy": (),
}
_WHAT = {"mat": "a .mat keeps the samples, wavelengths and FWHM", "npy": ".npy keeps only the samples"}
#: extra fields that say nothing about the data (written by every ENVI or GDAL file)
_NOISE = {"file type", "AREA_OR_POINT"}
_MAX_NAMES = 4


def _header_fields(cube: Any) -> list[str]:
    """Names of the header fields carried in ``extra`` (ENVI fields, GDAL tags)."""
    extra = cube.extra or {}
    names: list[str] = []
    for k in (extra.get("envi") or {}):
        if k not in _NOISE:
            names.append(k)
    gdal = extra.get("gdal") or {}
    for k in (gdal.get("tags") or {}):
        if k not in _NOISE:
            names.append(k)
    if any(gdal.get("band_tags") or []):
        names.append("band tags")
    for ns in (gdal.get("domains") or {}):
        names.append(f"{ns} metadata")
    return names


def present_fields(cube: Any) -> list[str]:
    """The metadata ``cube`` holds, by the names the warning uses."""
    from hinerc.io.radiometry import scaling_of

    out = []
    if cube.wavelengths_nm is not None:
        out.append("wavelengths")
    if cube.fwhm_nm is not None:
        out.append("FWHM")
    if cube.bad_bands is not None:
        out.append("bad bands")
    if cube.nodata is not None:
        out.append(f"no-data value ({cube.nodata:g})")
    if cube.band_names is not None:
        out.append("band names")
    if cube.crs is not None:
        out.append("CRS")
    if cube.transform is not None:
        out.append("geotransform")
    scaling = scaling_of(cube)
    if scaling is not None and not scaling.trivial:
        out.append("scale/offset")
    fields = _header_fields(cube)
    if fields:
        shown = ", ".join(fields[:_MAX_NAMES])
        more = f" and {len(fields) - _MAX_NAMES} more" if len(fields) > _MAX_NAMES else ""
        out.append(f"header fields ({shown}{more})")
    return out


def lost_fields(cube: Any, fmt: str) -> list[str]:
    """The metadata of ``cube`` that a ``fmt`` output cannot hold (empty for ENVI, GeoTIFF)."""
    kept = KEPT.get(fmt)
    if kept is None:
        return []
    return [f for f in present_fields(cube) if f.split(" (")[0] not in kept]


def warn_lost(cube: Any, path: Path, fmt: str) -> None:
    """One warning naming the fields a ``fmt`` output of ``cube`` drops (none when none)."""
    lost = lost_fields(cube, fmt)
    if lost:
        warnings.warn(f"{path}: {_WHAT[fmt]}; lost: {', '.join(lost)} (write .hdr or .tif to "
                      "keep them)", HinercWarning, stacklevel=3)


def warn_interleave(path: Path, fmt: str, interleave: Optional[str]) -> None:
    """Warn when ``--interleave`` cannot apply to a ``fmt`` output (GeoTIFF has no line
    interleave; .mat and .npy have no choice at all)."""
    if interleave is None:
        return
    inter = str(interleave).lower()
    if fmt in ("mat", "npy"):
        warnings.warn(f"{path}: --interleave {inter} applies to ENVI and GeoTIFF outputs; "
                      f"ignored for .{fmt}", HinercWarning, stacklevel=3)
    elif fmt == "gtiff" and inter == "bil":
        warnings.warn(f"{path}: a GeoTIFF has no line interleave (--interleave bil); it is "
                      "written band-interleaved (bsq)", HinercWarning, stacklevel=3)
