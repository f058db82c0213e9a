"""The typed in-memory hyperspectral cube that every reader returns and every writer takes.

A :class:`Cube` holds the samples exactly as stored (H×W×C, stored dtype: no scale factor is
applied) plus the metadata a round trip must keep. Spectral fields are normalised to nanometres;
the unit the source used is remembered so that writers can emit it again.

Fields that hinerc does not interpret but must carry through a round trip live in ``extra``,
namespaced by format (``extra["envi"]`` holds ENVI header fields, ``extra["gdal"]`` GDAL tags).
Everything except ``data`` is JSON-serialisable through :meth:`Cube.metadata_dict`, which is what
the ``.hnr`` header stores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from hinerc.dtypes import SUPPORTED_DTYPES  # noqa: F401  (sample types hinerc can code)
from hinerc.errors import InputError

#: ENVI header fields that hold one value per band (or band numbers): meaningless on new bands.
PER_BAND_ENVI = ("band names", "bbl", "wavelength", "fwhm", "data gain values",
                 "data offset values", "data reflectance gain values",
                 "data reflectance offset values", "default bands", "spectra names")


@dataclass
class Cube:
    """A hyperspectral cube and its metadata.

    Attributes:
        data: H×W×C array in the stored dtype (never rescaled).
        wavelengths_nm: band centres in nm (length C), in file order; ``None`` when unknown.
            Not necessarily sorted: AVIRIS lists step back at spectrometer seams.
        fwhm_nm: band widths in nm (length C) or ``None``.
        wavelength_units: the unit the source used (``"Nanometers"``, ``"Micrometers"``...),
            so writers can emit the same unit again; ``None`` when unknown.
        bad_bands: boolean array (length C), True for a bad band (ENVI ``bbl`` = 0); or ``None``.
        nodata: the no-data value, or ``None``.
        band_names: one name per band, or ``None``.
        crs: coordinate reference system as WKT, or ``None``.
        transform: GDAL-order affine geotransform ``(x0, dx, rx, y0, ry, dy)``, or ``None``.
        interleave: ``"bsq"``, ``"bil"`` or ``"bip"`` as read (ENVI), or ``None``.
        source_format: ``"envi"``, ``"gtiff"``, ``"mat"`` or ``"npy"`` (informative only).
        extra: other metadata to carry through a round trip, JSON-serialisable, namespaced.
    """

    data: np.ndarray
    wavelengths_nm: Optional[np.ndarray] = None
    fwhm_nm: Optional[np.ndarray] = None
    wavelength_units: Optional[str] = None
    bad_bands: Optional[np.ndarray] = None
    nodata: Optional[float] = None
    band_names: Optional[list[str]] = None
    crs: Optional[str] = None
    transform: Optional[tuple[float, ...]] = None
    interleave: Optional[str] = None
    source_format: Optional[str] = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = self.data
        if not isinstance(data, np.ndarray):
            raise InputError(f"cube data must be a numpy array, got {type(data).__name__}")
        if data.ndim == 2:
            data = data[:, :, None]
        if data.ndim != 3:
            raise InputError(f"a cube must be H×W×C, got an array of shape {data.shape}")
        if any(n == 0 for n in data.shape):
            raise InputError(f"the cube is empty (shape {data.shape})")
        if data.dtype.name not in SUPPORTED_DTYPES:
            raise InputError(f"unsupported sample type {data.dtype.name}")
        self.data = data
        c = data.shape[2]
        self.wavelengths_nm = _band_vector(self.wavelengths_nm, c, "wavelengths", np.float64)
        self.fwhm_nm = _band_vector(self.fwhm_nm, c, "FWHM values", np.float64)
        self.bad_bands = _band_vector(self.bad_bands, c, "bad-band flags", bool)
        if self.band_names is not None:
            if isinstance(self.band_names, (str, bytes, dict)):
                raise InputError("band names must be a list")
            try:
                self.band_names = [str(n) for n in self.band_names]
            except TypeError:
                raise InputError("band names must be a list") from None
            if len(self.band_names) != c:
                raise InputError(f"{len(self.band_names)} band names for {c} bands")
        if self.nodata is not None:
            self.nodata = _number(self.nodata, "the no-data value")
        if self.transform is not None:
            if isinstance(self.transform, (str, bytes, dict)):
                raise InputError("a geotransform has 6 numbers")
            try:
                self.transform = tuple(_number(v, "a geotransform") for v in self.transform)
            except TypeError:
                raise InputError("a geotransform has 6 numbers") from None
            if len(self.transform) != 6:
                raise InputError("a geotransform has 6 numbers")
        if self.interleave is not None:
            if not isinstance(self.interleave, str):
                raise InputError(f"unknown interleave {self.interleave!r}")
            self.interleave = self.interleave.lower()
            if self.interleave not in ("bsq", "bil", "bip"):
                raise InputError(f"unknown interleave {self.interleave!r}")
        if not isinstance(self.extra, dict):
            raise InputError("extra metadata must be a mapping")
        for ns in ("envi", "gdal", "mat", "io"):  # what the readers and writers interpret
            if self.extra.get(ns) is not None and not isinstance(self.extra[ns], dict):
                raise InputError(f"extra metadata {ns!r} must be a mapping")

    # ------------------------------------------------------------------ shape helpers
    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, C)."""
        return tuple(self.data.shape)  # type: ignore[return-value]

    @property
    def height(self) -> int:
        return self.data.shape[0]

    @property
    def width(self) -> int:
        return self.data.shape[1]

    @property
    def bands(self) -> int:
        return self.data.shape[2]

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def spectral_coordinate(self) -> np.ndarray:
        """Wavelengths in nm when known, else the band index (0..C-1), as float64."""
        if self.wavelengths_nm is not None:
            return self.wavelengths_nm.copy()
        return np.arange(self.bands, dtype=np.float64)

    # ------------------------------------------------------------------ serialisation
    def metadata_dict(self) -> dict[str, Any]:
        """Everything but the samples, as JSON-serialisable plain values."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "data":
                continue
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_metadata(cls, data: np.ndarray, meta: dict[str, Any]) -> "Cube":
        """Rebuild a cube from samples and a :meth:`metadata_dict` (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"data"}
        kwargs = {k: v for k, v in meta.items() if k in names}
        for k in ("wavelengths_nm", "fwhm_nm", "bad_bands"):
            if kwargs.get(k) is not None:
                kwargs[k] = np.asarray(kwargs[k])
        return cls(data=data, **kwargs)

    def with_bands(self, data: np.ndarray, wavelengths_nm: Optional[np.ndarray],
                   fwhm_nm: Optional[np.ndarray], band_names: Optional[list[str]]) -> "Cube":
        """This cube's georeference and units around a new set of bands.

        Per-band metadata is replaced by the arguments; per-band fields carried in ``extra``
        (GDAL band tags, ENVI gain values, default bands...) are dropped, except scales, offsets
        and units common to every band, which are kept for the new bands.
        """
        k = data.shape[2] if data.ndim == 3 else 1
        extra = {ns: dict(v) if isinstance(v, dict) else v for ns, v in self.extra.items()}
        gdal = extra.get("gdal")
        if isinstance(gdal, dict):
            gdal.pop("band_tags", None)
            for key in ("scales", "offsets", "units"):
                vals = gdal.get(key)
                if vals and all(v == vals[0] for v in vals):
                    gdal[key] = [vals[0]] * k
                else:
                    gdal.pop(key, None)
        envi = extra.get("envi")
        if isinstance(envi, dict):
            for key in PER_BAND_ENVI:
                envi.pop(key, None)
        return dataclasses.replace(self, data=data, wavelengths_nm=wavelengths_nm,
                                   fwhm_nm=fwhm_nm, band_names=band_names, bad_bands=None,
                                   extra=extra)

    def part(self, data: np.ndarray, top: int, left: int, bands: Optional[np.ndarray]) -> "Cube":
        """This cube's metadata around a part of it: ``data`` is the window whose first row
        and column are ``top`` and ``left``, holding the bands ``bands`` (indices into this
        cube's bands, in order; ``None`` for all).

        The geotransform moves to the window's corner; per-band metadata (wavelengths, FWHM,
        bad bands, names, ENVI per-band lists, GDAL band tags, scales, offsets and units) is
        kept for the chosen bands, and ENVI ``default bands`` is renumbered (dropped when one
        of them is not kept).
        """
        transform = self.transform
        if transform is not None and (top or left):
            x0, dx, rx, y0, ry, dy = transform
            transform = (x0 + left * dx + top * rx, dx, rx, y0 + left * ry + top * dy, ry, dy)
        extra = {ns: dict(v) if isinstance(v, dict) else v for ns, v in self.extra.items()}
        if bands is None:
            return dataclasses.replace(self, data=data, transform=transform, extra=extra)
        idx = [int(b) for b in bands]
        c = self.bands

        def pick(v: Any) -> Any:
            return None if v is None else (v[idx] if isinstance(v, np.ndarray)
                                           else [v[i] for i in idx])

        gdal = extra.get("gdal")
        if isinstance(gdal, dict):
            for key in ("band_tags", "scales", "offsets", "units"):
                vals = gdal.get(key)
                if isinstance(vals, list):
                    if len(vals) == c:
                        gdal[key] = pick(vals)
                    else:
                        gdal.pop(key)
        envi = extra.get("envi")
        if isinstance(envi, dict):
            from hinerc.io.spectral_meta import format_envi_list, split_envi_list

            for key in PER_BAND_ENVI:
                if key not in envi:
                    continue
                items = split_envi_list(str(envi[key]))
                if key == "default bands":
                    new = {int(b): i for i, b in enumerate(idx)}
                    try:
                        kept = [new[int(float(v)) - 1] + 1 for v in items]
                    except (KeyError, ValueError):
                        envi.pop(key)
                        continue
                    envi[key] = format_envi_list([str(v) for v in kept])
                elif len(items) == c:
                    envi[key] = format_envi_list(pick(items))
                else:
                    envi.pop(key)
        return dataclasses.replace(self, data=data, transform=transform,
                                   wavelengths_nm=pick(self.wavelengths_nm),
                                   fwhm_nm=pick(self.fwhm_nm), bad_bands=pick(self.bad_bands),
                                   band_names=pick(self.band_names), extra=extra)

    def with_data(self, data: np.ndarray) -> "Cube":
        """A copy of this cube's metadata around new samples of the same band count."""
        return dataclasses.replace(self, data=data, extra=dict(self.extra))


def _number(v: Any, what: str) -> float:
    if isinstance(v, (bool, str, bytes)):
        raise InputError(f"{what} must be a number, got {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{what} must be a number, got {type(v).__name__}") from None


def _band_vector(v: Any, c: int, what: str, dtype: Any) -> Optional[np.ndarray]:
    if v is None:
        return None
    try:
        arr = np.asarray(v, dtype=dtype).reshape(-1)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{what} must be numbers, one per band") from None
    if arr.size != c:
        raise InputError(f"{arr.size} {what} for {c} bands")
    if dtype is np.float64 and not np.all(np.isfinite(arr)):
        raise InputError(f"{what} contain NaN or infinite values")
    return arr
