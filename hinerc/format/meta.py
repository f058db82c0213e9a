"""META's compact form: the per-band vectors that make up most of a small file's metadata.

A cube's wavelengths, FWHMs and band names are written once per file; on a 224-band EnMAP tile
they are 3.8 kB of deflated JSON, a sixth of a 0.1 bpppb file of the 128×64 mosaic. They are
regular, and JSON text hides it from deflate, so META (format 1.2) may hold them packed:

* a float vector whose every value is a decimal number with at most 12 decimals (``418.24``,
  ``6.99561``) as ``{"decimals": d, "diffs2": [...]}``: the integers ``round(v·10^d)``,
  second-differenced (``numpy.diff(n=2, prepend=[0, 0])``), so a smooth band spacing becomes
  small integers;
* band names that all follow one pattern in the band number and the wavelength (the GDAL
  descriptions ``"band 1 (418.24 Nanometers)"``) as ``{"template": "band {n} ({w} Nanometers)"}``:
  ``{n}`` is the 1-based band number, ``{w}`` the wavelength as Python's ``repr`` of the float.

Packing is exact: a vector or list is packed only when unpacking gives back the same values
bit for bit, and left as a plain list otherwise. Readers accept both forms (1.1 files hold lists).
"""

from __future__ import annotations

import itertools
from typing import Any, Optional

import numpy as np

from hinerc.errors import CorruptFileError

#: The float vectors of META that may be packed.
PACKED_VECTORS = ("wavelengths_nm", "fwhm_nm")
MAX_DECIMALS = 12
#: Longest band-name template read (bounds what a hostile file makes a reader build).
MAX_TEMPLATE = 200
#: Beyond this magnitude integers stop being exact in a float64.
_EXACT = 2 ** 53


def _decimal_ints(values: list) -> Optional[tuple[int, list[int]]]:
    """The fewest decimals d and the integers n with n / 10**d == v for every v, or None."""
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                             and abs(v) < _EXACT for v in values):
        return None  # also NaN and infinities
    for d in range(MAX_DECIMALS + 1):
        scale = 10 ** d
        ints = [round(v * scale) for v in values]
        if all(abs(n) < _EXACT and n / scale == v for n, v in zip(ints, values)):
            return d, ints
    return None


def _undiff2(diffs: list[int]) -> list[int]:
    return list(itertools.accumulate(itertools.accumulate(diffs)))


def pack_vector(values: list) -> Any:
    """``values`` in the packed form when it is exact, else unchanged."""
    found = _decimal_ints(values)
    if found is None:
        return values
    d, ints = found
    diffs = np.diff(np.asarray(ints, dtype=np.int64), n=2, prepend=[0, 0]).tolist()
    back = unpack_vector({"decimals": d, "diffs2": diffs}, len(values))
    if not np.array_equal(np.asarray(back, np.float64).view(np.int64),
                          np.asarray(values, np.float64).view(np.int64)):
        return values  # e.g. a -0.0
    return {"decimals": d, "diffs2": diffs}


def unpack_vector(obj: Any, bands: int) -> list[float]:
    if not (isinstance(obj, dict) and set(obj) == {"decimals", "diffs2"}):
        raise CorruptFileError("META: a packed vector must hold decimals and diffs2 only")
    d, diffs = obj["decimals"], obj["diffs2"]
    if not (isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_DECIMALS):
        raise CorruptFileError(f"META: packed decimals must be 0..{MAX_DECIMALS}")
    if not (isinstance(diffs, list) and len(diffs) == bands
            and all(isinstance(x, int) and not isinstance(x, bool) and abs(x) < 4 * _EXACT
                    for x in diffs)):
        raise CorruptFileError(f"META: packed diffs2 must be {bands} integers")
    ints = _undiff2(diffs)
    if any(abs(n) >= _EXACT for n in ints):
        raise CorruptFileError("META: a packed value is out of range")
    scale = 10 ** d
    return [n / scale for n in ints]


def _render(template: str, n: int, w: float) -> str:
    return template.replace("{n}", str(n)).replace("{w}", repr(float(w)))


def _templates(first: str, w0: Optional[str]) -> list[str]:
    """Candidate templates from the first name: its wavelength (when it shows) as ``{w}``,
    then the first "1" outside it as ``{n}``."""
    out = []
    for base in ([first.replace(w0, "{w}", 1)] if w0 and w0 in first else []) + [first]:
        head, sep, tail = base.partition("{w}")
        if "1" in head:
            out.append(head.replace("1", "{n}", 1) + sep + tail)
        elif "1" in tail:
            out.append(head + sep + tail.replace("1", "{n}", 1))
        out.append(base)
    return [t for t in out if t != first]


def pack_names(names: list, wavelengths: Optional[list]) -> Any:
    """Band names as a template in the band number and wavelength when one fits them all."""
    if not names or not all(isinstance(s, str) and "{" not in s for s in names):
        return names
    if wavelengths is not None and (len(wavelengths) != len(names) or not all(
            isinstance(w, (int, float)) and not isinstance(w, bool) for w in wavelengths)):
        return names
    w0 = repr(float(wavelengths[0])) if wavelengths is not None else None
    wl = wavelengths if wavelengths is not None else [0.0] * len(names)
    for t in _templates(names[0], w0):
        if all(_render(t, i + 1, w) == s for i, (s, w) in enumerate(zip(names, wl))):
            return {"template": t}
    return names


def unpack_names(obj: Any, bands: int, wavelengths: Optional[list]) -> list[str]:
    if not (isinstance(obj, dict) and set(obj) == {"template"} and isinstance(obj["template"], str)
            and len(obj["template"]) <= MAX_TEMPLATE):
        raise CorruptFileError("META: a band-name template must hold one short string")
    t = obj["template"]
    if "{w}" in t and (wavelengths is None or len(wavelengths) != bands or not all(
            isinstance(w, (int, float)) and not isinstance(w, bool) for w in wavelengths)):
        raise CorruptFileError("META: a band-name template refers to missing wavelengths")
    return [_render(t, i + 1, wavelengths[i] if "{w}" in t else 0.0) for i in range(bands)]


def pack_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The META object to write: ``meta`` with its band vectors packed where that is exact."""
    out = dict(meta)
    for key in PACKED_VECTORS:
        if isinstance(out.get(key), list):
            out[key] = pack_vector(out[key])
    if isinstance(out.get("band_names"), list):
        out["band_names"] = pack_names(out["band_names"], meta.get("wavelengths_nm"))
    return out


def unpack_meta(meta: dict[str, Any], bands: int) -> dict[str, Any]:
    """The META object as read: packed band vectors expanded back to lists (unchecked
    otherwise: :func:`hinerc.format.validate.check_meta` follows)."""
    out = dict(meta)
    for key in PACKED_VECTORS:
        if isinstance(out.get(key), dict):
            out[key] = unpack_vector(out[key], bands)
    if isinstance(out.get("band_names"), dict):
        wl = out.get("wavelengths_nm")
        out["band_names"] = unpack_names(out["band_names"], bands,
                                         wl if isinstance(wl, list) else None)
    return out
