"""Band scale and offset across formats: ENVI's header fields and GDAL's band SCALE/OFFSET.

Stored samples are never rescaled; what travels is the rule that turns them into physical values,
so that a reader of the output computes the same values as a reader of the input. The two
ecosystems write that rule differently:

* GDAL (GeoTIFF band ``SCALE``/``OFFSET``, ``extra["gdal"]["scales"/"offsets"]``) multiplies:
  ``value = stored × scale + offset``, per band.
* ENVI ``data gain values`` / ``data offset values`` are per-band and multiply too; GDAL's own
  ENVI driver maps them to and from the band scale and offset, one for one.
* ENVI ``reflectance scale factor`` F is one divisor for every band: ``value = stored / F``
  (``spectral``'s ``load()`` divides by it), so it is a GDAL scale of ``1 / F``. GDAL's ENVI
  driver ignores it, which is why a decoded Jasper Ridge GeoTIFF used to say scale 1.0.

:func:`scaling_of` reads the rule a cube carries (GDAL's band scales first, since a GeoTIFF's
are authoritative for it; else ENVI gain/offset values, as GDAL reads them; else the reflectance
scale factor). The writers ask :func:`gdal_scales_for` (GeoTIFF) and :func:`envi_fields_for`
(ENVI) for the fields their format lacks; fields the cube already carries verbatim in its own
format's namespace are left to the writer as they are, so same-format round trips stay exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from hinerc.io.spectral_meta import split_envi_list

#: relative difference under which two scales are the same (``1 / (1 / s)`` may move an ulp)
_REL = 1e-12


@dataclass(frozen=True)
class BandScaling:
    """``value = stored × scales[b] + offsets[b]`` for every band b (GDAL's convention).

    Attributes:
        scales: one multiplier per band.
        offsets: one offset per band.
        source: where it was read: ``"gdal"`` (band SCALE/OFFSET), ``"envi gain"`` (``data gain
            values`` / ``data offset values``) or ``"envi reflectance"`` (``reflectance scale
            factor``).
    """

    scales: tuple[float, ...]
    offsets: tuple[float, ...]
    source: str

    @property
    def trivial(self) -> bool:
        """True when every band is ``stored × 1 + 0``: nothing to write."""
        return all(s == 1.0 for s in self.scales) and all(o == 0.0 for o in self.offsets)

    def uniform_scale(self) -> Optional[float]:
        """The one scale shared by every band when no band has an offset, else None."""
        s = self.scales[0]
        if s == 0.0 or any(o != 0.0 for o in self.offsets):
            return None
        if all(_close(v, s) for v in self.scales):
            return s
        return None

    def same_as(self, other: "BandScaling") -> bool:
        return (len(self.scales) == len(other.scales)
                and all(_close(a, b) for a, b in zip(self.scales, other.scales))
                and all(_close(a, b) for a, b in zip(self.offsets, other.offsets)))


def _close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= _REL * max(abs(a), abs(b))


def _floats(raw: Any, c: int) -> Optional[list[float]]:
    """``c`` finite numbers from an ENVI list (text or list), or None when it is not that."""
    items = split_envi_list(raw) if isinstance(raw, str) else list(raw or [])
    if len(items) != c:
        return None
    try:
        vals = [float(v) for v in items]
    except (TypeError, ValueError):
        return None
    return vals if all(math.isfinite(v) for v in vals) else None


def envi_scaling(envi: dict[str, Any], c: int) -> Optional[BandScaling]:
    """The rule an ENVI header states: gain/offset values (as GDAL reads them), else the
    reflectance scale factor; None when it states none (or one that is unusable)."""
    gains = _floats(envi["data gain values"], c) if "data gain values" in envi else None
    offs = _floats(envi["data offset values"], c) if "data offset values" in envi else None
    if gains is not None or offs is not None:
        return BandScaling(tuple(gains or [1.0] * c), tuple(offs or [0.0] * c), "envi gain")
    raw = envi.get("reflectance scale factor")
    if raw is None:
        return None
    try:
        factor = float(str(raw).strip().strip("{}").strip())
    except ValueError:
        return None
    if not math.isfinite(factor) or factor == 0.0:
        return None
    return BandScaling((1.0 / factor,) * c, (0.0,) * c, "envi reflectance")


def gdal_scaling(gdal: dict[str, Any], c: int) -> Optional[BandScaling]:
    """The band SCALE/OFFSET a GeoTIFF stated (``extra["gdal"]``), or None."""
    scales = _floats(gdal.get("scales"), c) if gdal.get("scales") else None
    offsets = _floats(gdal.get("offsets"), c) if gdal.get("offsets") else None
    if scales is None and offsets is None:
        return None
    return BandScaling(tuple(scales or [1.0] * c), tuple(offsets or [0.0] * c), "gdal")


def scaling_of(cube: Any) -> Optional[BandScaling]:
    """The rule ``cube`` carries: GDAL band scales first, else what its ENVI fields state."""
    extra = cube.extra or {}
    c = cube.bands
    return gdal_scaling(extra.get("gdal") or {}, c) or envi_scaling(extra.get("envi") or {}, c)


def gdal_scales_for(cube: Any) -> Optional[BandScaling]:
    """The band SCALE/OFFSET a GeoTIFF of ``cube`` gets (None: leave GDAL's defaults)."""
    found = scaling_of(cube)
    return None if found is None or found.trivial else found


def _number_text(v: float) -> str:
    """A header number: integral values without a fraction (``10000``), else the shortest repr."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 2 ** 53 else repr(float(v))


def envi_fields_for(cube: Any) -> dict[str, str]:
    """ENVI header fields that state the GDAL band scales of ``cube`` (empty when it has none).

    As GDAL's ENVI driver writes them: ``data gain values`` / ``data offset values`` (only the
    ones that differ from 1 and 0). When every band shares one scale and no offset, also
    ``reflectance scale factor`` = 1 / scale, the divisor ENVI and ``spectral`` read (EnMAP's
    0.0001 becomes 10000). A field the cube already carries in ``extra["envi"]`` is not
    replaced, and nothing is added when those fields already state the same rule.
    """
    extra = cube.extra or {}
    envi = extra.get("envi") or {}
    c = cube.bands
    gdal = gdal_scaling(extra.get("gdal") or {}, c)
    if gdal is None or gdal.trivial:
        return {}
    stated = envi_scaling(envi, c)
    if stated is not None and stated.same_as(gdal):
        return {}
    fields: dict[str, str] = {}
    if "data gain values" not in envi and "data offset values" not in envi:
        if any(s != 1.0 for s in gdal.scales):
            fields["data gain values"] = "{" + ", ".join(_number_text(s) for s in gdal.scales) + "}"
        if any(o != 0.0 for o in gdal.offsets):
            fields["data offset values"] = "{" + ", ".join(_number_text(o)
                                                          for o in gdal.offsets) + "}"
    uniform = gdal.uniform_scale()
    if uniform is not None and "reflectance scale factor" not in envi:
        fields["reflectance scale factor"] = _number_text(1.0 / uniform)
    return fields
