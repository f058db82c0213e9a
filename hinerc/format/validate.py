"""Checks on what a ``.hnr`` declares, beyond its framing and CRCs (plain Python, no torch).

A file with valid CRCs can still lie: JSON of the wrong types or nested without end, metadata
vectors of the wrong length, report fields that are not numbers (each codec checks its own model
record: :mod:`hinerc.codecs`). Everything here
raises :class:`~hinerc.errors.CorruptFileError`, so that what a reader accepts is safe to hand
to the decoder and to ``info``: every size it implies is in proportion to the declared cube.
"""

from __future__ import annotations

import math
from typing import Any

from hinerc.errors import CorruptFileError

#: Deepest JSON nesting accepted in META, MODL and RPRT (hinerc writes at most 3 levels).
MAX_JSON_DEPTH = 32


def is_int(v: Any) -> bool:
    """A JSON integer (``true``/``false`` are not)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def finite(v: Any) -> bool:
    return is_number(v) and math.isfinite(v)


def check_json_depth(obj: Any, what: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` (iteratively: deep input cannot recurse here)."""
    stack = [(obj, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (list, dict)):
            if depth > limit:
                raise CorruptFileError(f"{what} section is nested too deeply")
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))


def _fail(what: str) -> None:
    raise CorruptFileError(what)


# ------------------------------------------------------------------------------ META
def _vector(meta: dict, key: str, bands: int, ok: Any) -> None:
    v = meta.get(key)
    if v is None:
        return
    if not isinstance(v, list) or len(v) != bands or not all(ok(x) for x in v):
        _fail(f"META: {key} must be a list of {bands} values of the right type")


def check_meta(meta: dict, bands: int) -> None:
    """The fields of :class:`hinerc.io.Cube` have the types and lengths a cube needs."""
    _vector(meta, "wavelengths_nm", bands, finite)
    _vector(meta, "fwhm_nm", bands, finite)
    _vector(meta, "bad_bands", bands, lambda x: isinstance(x, bool) or x in (0, 1))
    _vector(meta, "band_names", bands, lambda x: isinstance(x, str))
    nodata = meta.get("nodata")
    if nodata is not None and not is_number(nodata):
        _fail("META: nodata must be a number")
    for key in ("wavelength_units", "crs", "source_format"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            _fail(f"META: {key} must be a string")
    t = meta.get("transform")
    if t is not None and not (isinstance(t, list) and len(t) == 6 and all(map(finite, t))):
        _fail("META: transform must be 6 finite numbers")
    il = meta.get("interleave")
    if il is not None and not (isinstance(il, str) and il.lower() in ("bsq", "bil", "bip")):
        _fail("META: interleave must be bsq, bil or bip")
    extra = meta.get("extra")
    if extra is not None:
        check_extra(extra)


def _list_of(v: Any, ok: Any) -> bool:
    return isinstance(v, list) and all(ok(x) for x in v)


#: What the writers read from ``extra``, namespace by namespace (other keys are carried as-is).
_EXTRA_FIELDS = {
    "gdal": {"tags": lambda v: isinstance(v, dict),
             "band_tags": lambda v: _list_of(v, lambda x: isinstance(x, dict)),
             "scales": lambda v: _list_of(v, is_number),
             "offsets": lambda v: _list_of(v, is_number),
             "units": lambda v: _list_of(v, lambda x: isinstance(x, str)),
             "domains": lambda v: isinstance(v, dict) and all(isinstance(x, dict)
                                                             for x in v.values())},
    "io": {"wavelength_unit_inferred": lambda v: isinstance(v, str)},
    "envi": {}, "mat": {},
}


def check_extra(extra: Any) -> None:
    """``extra`` is a mapping of namespaces, and what the writers use has the right types."""
    if not isinstance(extra, dict):
        _fail("META: extra must be a mapping")
    for ns, fields in _EXTRA_FIELDS.items():
        sub = extra.get(ns)
        if sub is None:
            continue
        if not isinstance(sub, dict):
            _fail(f"META: extra.{ns} must be a mapping")
        for key, ok in fields.items():
            if sub.get(key) is not None and not ok(sub[key]):
                _fail(f"META: invalid extra.{ns}.{key}")


# ------------------------------------------------------------------------------ RPRT
_REPORT_TYPES = {
    "psnr_db": is_number, "encode_seconds": is_number, "device": lambda v: isinstance(v, str),
    "epochs": is_int, "seed": is_int, "hinerc_version": lambda v: isinstance(v, str),
    "source_bits_per_sample": lambda v: is_int(v) and 1 <= v <= 64,
    "extra": lambda v: isinstance(v, dict),
    "worst_band_psnr_db": lambda v: _real(v),
    "worst_band": lambda v: is_int(v) and v >= 1,
    "sam_deg": lambda v: _real(v) and 0 <= v <= 180,
    "max_abs_error": lambda v: _real(v) and v >= 0,
}


def _real(v: Any) -> bool:
    """A finite JSON number that converts to a float (a 400-digit integer does not)."""
    try:
        return is_number(v) and math.isfinite(float(v))
    except OverflowError:
        return False


def check_report(d: dict) -> None:
    for key, ok in _REPORT_TYPES.items():
        if d.get(key) is not None and not ok(d[key]):
            _fail(f"RPRT: invalid {key}")


__all__ = ["check_json_depth", "check_meta", "check_extra", "check_report", "is_int",
           "is_number", "finite", "MAX_JSON_DEPTH"]
