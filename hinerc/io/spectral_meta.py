"""Helpers shared by the readers and writers: wavelength units, band-name wavelengths,
ENVI list values, ENVI ``map info`` <-> GDAL geotransform. (Every writer writes through
:func:`hinerc.outputs.atomic_outputs`.)

Unit conversions go through :mod:`decimal` (a power-of-ten shift of the shortest decimal
representation), so that a value written in micrometres reads back as exactly the same float
in nanometres: ``nm -> "0.399369995" -> nm`` is lossless.
"""

from __future__ import annotations

import math
import re
import warnings
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from hinerc.errors import HinercWarning, InputError

# ---------------------------------------------------------------------------------- units
#: canonical unit -> power of ten that turns a value in that unit into nanometres
_UNIT_EXP = {"nm": 0, "um": 3, "mm": 6}
#: canonical unit -> the name written when a unit must be spelled out
UNIT_NAMES = {"nm": "Nanometers", "um": "Micrometers", "mm": "Millimeters"}

_UNIT_ALIASES = {
    "nm": "nm", "nanometer": "nm", "nanometers": "nm", "nanometre": "nm", "nanometres": "nm",
    "um": "um", "µm": "um", "μm": "um", "micrometer": "um", "micrometers": "um",
    "micrometre": "um", "micrometres": "um", "micron": "um", "microns": "um",
    "mm": "mm", "millimeter": "mm", "millimeters": "mm", "millimetre": "mm", "millimetres": "mm",
    "": "unknown", "unknown": "unknown", "none": "unknown", "n/a": "unknown",
}


def canonical_unit(label: Optional[str]) -> str:
    """``'nm'``, ``'um'``, ``'mm'``, ``'unknown'`` (to be inferred) or ``'unsupported'``."""
    if label is None:
        return "unknown"
    key = label.strip().strip("{}").strip().lower()
    return _UNIT_ALIASES.get(key, "unsupported")


def infer_unit(values: Sequence[float]) -> str:
    """The heuristic for an unknown unit: all values below 100 means micrometres, else nm."""
    arr = np.asarray(values, dtype=np.float64)
    return "um" if arr.size and np.all(np.abs(arr) < 100) else "nm"


def _to_decimal(v: Any) -> Decimal:
    if isinstance(v, str):
        return Decimal(v.strip())
    return Decimal(repr(float(v)))


def values_to_nm(values: Iterable[Any], unit: str) -> np.ndarray:
    """Values (strings or numbers) in canonical ``unit`` ('nm'/'um'/'mm') to float64 nm.

    Raises ValueError on a value that is not a number.
    """
    exp = _UNIT_EXP[unit]
    out = []
    for v in values:
        try:
            d = _to_decimal(v)
        except (InvalidOperation, ValueError, TypeError):
            raise ValueError(f"{v!r} is not a number") from None
        if not d.is_finite():
            raise ValueError(f"{v!r} is not a finite number")
        out.append(float(d.scaleb(exp)))
    return np.asarray(out, dtype=np.float64)


def nm_to_strings(values_nm: Iterable[float], unit: str) -> list[str]:
    """Float nm values as decimal strings in canonical ``unit``; they read back exactly."""
    exp = _UNIT_EXP[unit]
    out = []
    for v in values_nm:
        v = float(v)
        if exp == 0:
            out.append(repr(v))
            continue
        d = Decimal(repr(v)).scaleb(-exp).normalize()
        s = format(d, "f")
        out.append(s)
    return out


def parse_spectral_values(
    raw: Sequence[Any], label: Optional[str], source: str, what: str = "wavelength"
) -> tuple[Optional[np.ndarray], Optional[str], Optional[str]]:
    """Turn raw wavelength values + unit label into (nm array, canonical unit used, label).

    Returns ``(None, None, label)`` with a :class:`HinercWarning` when the unit is not a length
    (wavenumber, GHz, index...). Raises :class:`InputError` on a value that is not a number.
    """
    canon = canonical_unit(label)
    if canon == "unsupported":
        warnings.warn(
            f"{source}: {what} unit {label!r} is not a length (nm, µm, mm); "
            f"the {what} values are kept as they are but not used",
            HinercWarning, stacklevel=3,
        )
        return None, None, label
    try:
        if canon == "unknown":
            nums = [float(_to_decimal(v)) for v in raw]
            canon = infer_unit(nums)
        return values_to_nm(raw, canon), canon, label
    except (ValueError, InvalidOperation) as exc:
        raise InputError(f"{source}: cannot read the {what} list: {exc}") from None


_BAND_NAME_RE = re.compile(
    r"^\s*(?:.*\(\s*)?([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
    r"(nanometers?|nanometres?|nm|micrometers?|micrometres?|microns?|um|µm|μm)\s*\)?\s*$",
    re.IGNORECASE,
)


def wavelengths_from_band_names(
    names: Optional[Sequence[str]],
) -> Optional[tuple[np.ndarray, str]]:
    """Wavelengths (nm) from names like ``"376.44 Nanometers"`` or ``"band 1 (418.2 nm)"``.

    Every name must match; returns ``(nm, unit label of the first name)`` or None.
    """
    if not names:
        return None
    vals = []
    label = None
    for n in names:
        m = _BAND_NAME_RE.match(str(n))
        if not m:
            return None
        unit = canonical_unit(m.group(2))
        if unit not in _UNIT_EXP:
            return None
        vals.append(values_to_nm([m.group(1)], unit)[0])
        if label is None:
            label = UNIT_NAMES[unit]
    return np.asarray(vals, dtype=np.float64), label or "Nanometers"


def unit_for_writing(cube: Any) -> tuple[str, str]:
    """(unit label to write, canonical unit of the written values) for ``cube``'s wavelengths."""
    label = cube.wavelength_units
    canon = canonical_unit(label)
    if canon in _UNIT_EXP:
        return label, canon
    hint = (cube.extra.get("io") or {}).get("wavelength_unit_inferred") if cube.extra else None
    hint_canon = canonical_unit(hint) if hint else "nm"
    if hint_canon not in _UNIT_EXP:
        hint_canon = "nm"
    if canon == "unknown" and label is not None and label.strip():
        return label, hint_canon  # e.g. "Unknown": keep the label, write the inferred unit
    return UNIT_NAMES["nm"], "nm"


# ---------------------------------------------------------------------------------- ENVI lists
def split_envi_list(raw: str) -> list[str]:
    """``"{a, b ,c}"`` -> ``["a", "b", "c"]``; a value without braces is a 1-item list."""
    s = raw.strip()
    if s.startswith("{"):
        s = s[1:]
        if s.endswith("}"):
            s = s[:-1]
    items = [t.strip() for t in s.split(",")]
    if items and items[-1] == "":
        items.pop()
    return items


def format_envi_list(values: Sequence[str], per_line: int = 6) -> str:
    """``{ v1, v2, ...}`` over several lines (ENVI style)."""
    vals = [str(v) for v in values]
    lines = []
    for i in range(0, len(vals), per_line):
        lines.append(" " + ", ".join(vals[i:i + per_line]))
    return "{\n" + ",\n".join(lines) + "}"


# ---------------------------------------------------------------------------------- map info
_DATUM_FROM_PROJ = {
    "WGS84": "WGS-84", "NAD83": "North America 1983", "NAD27": "North America 1927",
}
_UTM_EPSG_BASE = {"WGS-84": (32600, 32700), "North America 1983": (26900, None),
                  "North America 1927": (26700, None)}


def _num(s: str) -> float:
    return float(s.strip())


def map_info_to_transform(raw: str) -> tuple[tuple[float, ...], Optional[str]]:
    """Parse an ENVI ``map info`` value into (GDAL geotransform, CRS WKT or None).

    ``{proj, ref x, ref y, easting, northing, x size, y size, [zone, North|South,] datum,
    units=..., rotation=deg}``; the reference pixel is 1-based, (1, 1) being the outer corner
    of the top-left pixel. Rotation follows GDAL's ENVI driver (degrees, counter-clockwise).
    Raises ValueError when the value cannot be parsed.
    """
    fields = split_envi_list(raw)
    if len(fields) < 7:
        raise ValueError("map info needs at least 7 fields")
    named = {}
    plain = []
    for f in fields:
        if "=" in f:
            k, _, v = f.partition("=")
            named[k.strip().lower()] = v.strip()
        else:
            plain.append(f)
    refx, refy, east, north, xs, ys = (_num(v) for v in plain[1:7])
    rot_deg = float(named.get("rotation", "0") or 0)
    if abs(rot_deg) == 180.0:  # GDAL's convention for a south-up (positive dy) grid
        gt1, gt2, gt4, gt5 = xs, 0.0, 0.0, ys
    elif rot_deg != 0.0:
        r = -math.radians(rot_deg)
        gt1, gt2 = math.cos(r) * xs, -math.sin(r) * ys
        gt4, gt5 = -math.sin(r) * xs, -math.cos(r) * ys
    else:
        gt1, gt2, gt4, gt5 = xs, 0.0, 0.0, -ys
    gt0 = east - (refx - 1) * gt1 - (refy - 1) * gt2
    gt3 = north - (refx - 1) * gt4 - (refy - 1) * gt5
    transform = (gt0, gt1, gt2, gt3, gt4, gt5)

    crs = None
    proj = plain[0].strip().lower()
    try:
        from rasterio.crs import CRS

        with quiet_gdal():
            crs = _map_info_crs(CRS, proj, plain)
    except Exception:  # noqa: BLE001 - an unknown projection only loses the CRS
        crs = None
    return transform, crs


def quiet_gdal():  # noqa: ANN201
    """A rasterio environment: GDAL/PROJ errors become exceptions instead of lines printed on
    stderr (the CLI prints exactly one line per error)."""
    import rasterio

    return rasterio.Env()


def _map_info_crs(CRS: Any, proj: str, plain: list[str]) -> Optional[str]:  # noqa: N803
    """The CRS WKT of a parsed ``map info`` (UTM or geographic), or None."""
    if proj.startswith("utm") and len(plain) >= 9:
        zone = int(float(plain[7]))
        south = plain[8].strip().lower().startswith("s")
        datum = plain[9].strip() if len(plain) >= 10 else "WGS-84"
        base = _UTM_EPSG_BASE.get(datum)
        if base is not None and (base[1] if south else base[0]) is not None:
            return CRS.from_epsg((base[1] if south else base[0]) + zone).to_wkt()
        d = {"proj": "utm", "zone": zone, "ellps": "WGS84", "units": "m"}
        if south:
            d["south"] = True
        return CRS.from_dict(d).to_wkt()
    if proj.startswith("geographic lat"):
        datum = plain[7].strip() if len(plain) >= 8 else "WGS-84"
        if datum in ("WGS-84", ""):
            return CRS.from_epsg(4326).to_wkt()
        if datum == "North America 1983":
            return CRS.from_epsg(4269).to_wkt()
    return None


def _utm_of(crs_wkt: str) -> Optional[tuple[int, bool, str]]:
    """(zone, south, ENVI datum name) when the WKT is a UTM projection, else None."""
    try:
        from rasterio.crs import CRS

        with quiet_gdal():
            crs = CRS.from_wkt(crs_wkt)
    except Exception:  # noqa: BLE001
        return None
    epsg = None
    try:
        with quiet_gdal():
            epsg = crs.to_epsg()
    except Exception:  # noqa: BLE001
        epsg = None
    if epsg is not None:
        if 32601 <= epsg <= 32660:
            return epsg - 32600, False, "WGS-84"
        if 32701 <= epsg <= 32760:
            return epsg - 32700, True, "WGS-84"
        if 26901 <= epsg <= 26923:
            return epsg - 26900, False, "North America 1983"
        if 26701 <= epsg <= 26722:
            return epsg - 26700, False, "North America 1927"
    try:
        with quiet_gdal():
            d = crs.to_dict()
    except Exception:  # noqa: BLE001
        return None
    datum = _DATUM_FROM_PROJ.get(str(d.get("datum", d.get("ellps", ""))).upper(), None)
    if d.get("proj") == "utm" and "zone" in d:
        return int(d["zone"]), bool(d.get("south", False)), datum or "WGS-84"
    if d.get("proj") == "tmerc":
        k = float(d.get("k", d.get("k_0", 1.0)))
        lon0 = float(d.get("lon_0", 0.0))
        x0, y0 = float(d.get("x_0", 0.0)), float(d.get("y_0", 0.0))
        zone = (lon0 + 183.0) / 6.0
        if (abs(k - 0.9996) < 1e-9 and abs(float(d.get("lat_0", 0.0))) < 1e-9
                and abs(x0 - 500000.0) < 1e-6 and abs(zone - round(zone)) < 1e-9
                and y0 in (0.0, 10000000.0) and d.get("units", "m") == "m"):
            return int(round(zone)), y0 == 10000000.0, datum or "WGS-84"
    return None


def transform_to_map_info(transform: Sequence[float], crs_wkt: Optional[str]) -> str:
    """An ENVI ``map info`` value for a GDAL geotransform: UTM when the CRS is UTM, ``Geographic
    Lat/Lon`` for WGS 84 / NAD83 degrees, else ``Arbitrary`` (the CRS then travels in
    ``coordinate system string``, which is written in every case)."""
    gt0, gt1, gt2, gt3, gt4, gt5 = (float(v) for v in transform)
    rotation = ""
    if gt2 == 0.0 and gt4 == 0.0:
        xs, ys = abs(gt1), abs(gt5)
        if gt5 > 0:
            rotation = ", rotation=180"
            xs, ys = gt1, gt5
    else:
        xs, ys = math.hypot(gt1, gt4), math.hypot(gt2, gt5)
        r = math.atan2(-gt2 / ys, gt1 / xs)  # the GDAL convention, see map_info_to_transform
        rotation = f", rotation={-math.degrees(r)!r}"
    loc = f"1, 1, {gt0!r}, {gt3!r}, {xs!r}, {ys!r}"
    utm = _utm_of(crs_wkt) if crs_wkt else None
    if utm is not None:
        zone, south, datum = utm
        return (f"{{UTM, {loc}, {zone}, {'South' if south else 'North'}, {datum}, "
                f"units=Meters{rotation}}}")
    geographic = _geographic_of(crs_wkt) if crs_wkt else None
    if geographic is not None:  # as GDAL's ENVI driver writes EPSG:4326
        return f"{{Geographic Lat/Lon, {loc}, {geographic}, units=Degrees{rotation}}}"
    return f"{{Arbitrary, {loc}, 0, North{rotation}}}"


def _geographic_of(crs_wkt: str) -> Optional[str]:
    """The ENVI datum name when the WKT is WGS 84 or NAD83 longitude/latitude, else None."""
    try:
        from rasterio.crs import CRS

        with quiet_gdal():
            epsg = CRS.from_wkt(crs_wkt).to_epsg()
    except Exception:  # noqa: BLE001
        return None
    return {4326: "WGS-84", 4269: "North America 1983"}.get(epsg)


def transforms_equal(a: Optional[Sequence[float]], b: Optional[Sequence[float]]) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return all(abs(float(x) - float(y)) <= 1e-9 * max(1.0, abs(float(x))) for x, y in zip(a, b))


# ---------------------------------------------------------------------------------- errors
def one_line(msg: Any) -> str:
    """Collapse a (library) message to one line."""
    return " ".join(str(msg).split())


def make_cube(source: str, **kwargs: Any) -> Any:
    """Build a Cube, prefixing any validation error with the source file name."""
    from hinerc.io.cube import Cube

    try:
        return Cube(**kwargs)
    except InputError as exc:
        raise InputError(f"{source}: {one_line(exc)}") from None

