"""GeoTIFF reader and writer (through rasterio).

Band metadata follows both GDAL's ``IMAGERY`` domain (``CENTRAL_WAVELENGTH_UM``, ``FWHM_UM``) and
the EnMAP-Box convention of default-domain band tags ``wavelength``, ``wavelength_units``,
``fwhm``, ``bbl``. Fields of an ENVI header that hinerc carries (``extra["envi"]``) travel in the
dataset ``ENVI`` metadata domain (spaces in keys written as underscores, as GDAL does), and
what they say about scaling becomes the band SCALE/OFFSET (:mod:`hinerc.io.radiometry`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

from hinerc.errors import InputError
from hinerc.io.cube import Cube
from hinerc.io.radiometry import gdal_scales_for
from hinerc.io.spectral_meta import (
    canonical_unit,
    make_cube,
    nm_to_strings,
    one_line,
    parse_spectral_values,
    quiet_gdal,
    split_envi_list,
    unit_for_writing,
    values_to_nm,
    wavelengths_from_band_names,
)
from hinerc.outputs import atomic_outputs

_BAND_OWNED = {"wavelength", "wavelength_units", "fwhm", "bbl"}
_IMAGERY_OWNED = {"CENTRAL_WAVELENGTH_UM", "FWHM_UM"}
_SKIP_DOMAINS = {"IMAGE_STRUCTURE", "DERIVED_SUBDATASETS", "ENVI", "IMAGERY", "RPC", "GEOLOCATION",
                 "SUBDATASETS"}
#: ENVI-domain keys the Cube models (underscore spelling)
_ENVI_OWNED = {"samples", "lines", "bands", "header_offset", "data_type", "interleave",
               "byte_order", "wavelength", "wavelength_units", "fwhm", "bbl",
               "data_ignore_value", "band_names", "coordinate_system_string", "file_type"}
TILE = 256


def _all_have(dicts: list[dict[str, str]], key: str) -> bool:
    return bool(dicts) and all(d.get(key, "").strip() != "" for d in dicts)


def read_gtiff(path: Path | str) -> Cube:
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    path = Path(path)
    src = str(path)
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{src}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(path)
    except (RasterioError, OSError) as exc:
        raise InputError(f"{src}: not a readable GeoTIFF: {one_line(exc)}") from None
    with ds:
        if ds.count == 0:
            raise InputError(f"{src}: the file has no bands")
        pages = list(ds.subdatasets) if ds.count == 1 else []
        if len(pages) > 1:  # a multi-page TIFF of single-band pages: each page a band
            from hinerc.io.stack import read_pages

            return read_pages(path, pages)
        if len(set(ds.dtypes)) != 1:
            raise InputError(f"{src}: bands of different sample types {sorted(set(ds.dtypes))}")
        if "complex" in ds.dtypes[0]:
            raise InputError(f"{src}: unsupported sample type {ds.dtypes[0]}")
        try:
            arr = ds.read()
        except (RasterioError, OSError) as exc:
            raise InputError(f"{src}: cannot read the samples: {one_line(exc)}") from None
        data = np.ascontiguousarray(np.moveaxis(arr, 0, 2))
        del arr
        c = ds.count
        band_tags = [dict(ds.tags(b)) for b in range(1, c + 1)]
        imagery = [dict(ds.tags(b, ns="IMAGERY")) for b in range(1, c + 1)]
        ds_tags = dict(ds.tags())
        namespaces = ds.tag_namespaces() or []
        envi_ns = dict(ds.tags(ns="ENVI")) if "ENVI" in namespaces else {}
        domains = {}
        for ns in namespaces:
            if ns in _SKIP_DOMAINS or ns.startswith(("xml:", "json:")):
                continue
            t = dict(ds.tags(ns=ns))
            if t:
                domains[ns] = t
        descriptions = list(ds.descriptions)
        scales, offsets = list(ds.scales), list(ds.offsets)
        units = list(ds.units)
        nodata = next((v for v in ds.nodatavals if v is not None), None)
        crs = ds.crs.to_wkt() if ds.crs else None
        transform: Optional[tuple[float, ...]] = tuple(ds.transform.to_gdal())
        if crs is None and ds.transform.is_identity:
            transform = None

    def envi_get(key: str) -> Optional[str]:
        for k in (key, key.replace("_", " ")):
            if k in envi_ns:
                return envi_ns[k]
        return None

    # ---- wavelengths
    label = (band_tags[0].get("wavelength_units") if band_tags else None) \
        or ds_tags.get("wavelength_units") or envi_get("wavelength_units")
    if label is not None:
        label = label.strip().strip("{}").strip()
    wl = None
    unit_used: Optional[str] = None
    io_extra: dict[str, Any] = {}
    if _all_have(imagery, "CENTRAL_WAVELENGTH_UM"):
        wl = _parse(src, [d["CENTRAL_WAVELENGTH_UM"] for d in imagery], "um", "wavelength")
        unit_used = "um"
        if canonical_unit(label) not in ("nm", "um", "mm"):
            label = "Micrometers"
    else:
        raw = None
        if _all_have(band_tags, "wavelength"):
            raw = [d["wavelength"] for d in band_tags]
        elif envi_get("wavelength") is not None:
            raw = split_envi_list(envi_get("wavelength"))
        elif "wavelength" in ds_tags and ds_tags["wavelength"].strip().startswith("{"):
            raw = split_envi_list(ds_tags["wavelength"])
        if raw is not None:
            if len(raw) != c:
                raise InputError(f"{src}: {len(raw)} wavelengths for {c} bands")
            wl, unit_used, label = parse_spectral_values(raw, label, src)
            if wl is None:
                label = None
            elif label is not None and canonical_unit(label) == "unknown":
                io_extra["wavelength_unit_inferred"] = (
                    "Micrometers" if unit_used == "um" else "Nanometers")
        elif any(descriptions):
            got = wavelengths_from_band_names([d or "" for d in descriptions])
            if got is not None:
                wl, blabel = got
                unit_used = "nm"
                if canonical_unit(label) not in ("nm", "um", "mm"):
                    label = blabel
    if wl is None:
        label = None

    # ---- fwhm
    fw = None
    if _all_have(imagery, "FWHM_UM"):
        fw = _parse(src, [d["FWHM_UM"] for d in imagery], "um", "fwhm")
    else:
        raw = None
        if _all_have(band_tags, "fwhm"):
            raw = [d["fwhm"] for d in band_tags]
        elif envi_get("fwhm") is not None:
            raw = split_envi_list(envi_get("fwhm"))
        if raw is not None:
            if len(raw) != c:
                raise InputError(f"{src}: {len(raw)} FWHM values for {c} bands")
            canon = canonical_unit(label)
            if canon not in ("nm", "um", "mm"):
                canon = unit_used if unit_used in ("nm", "um", "mm") else "nm"
            fw = _parse(src, raw, canon, "fwhm")

    # ---- bad bands
    bad = None
    try:
        if any("bbl" in d for d in band_tags):
            bad = np.array([float(d.get("bbl", "1") or 1) == 0 for d in band_tags], dtype=bool)
        elif envi_get("bbl") is not None:
            raw = split_envi_list(envi_get("bbl"))
            if len(raw) != c:
                raise InputError(f"{src}: {len(raw)} bad-band flags (bbl) for {c} bands")
            bad = np.array([float(v) == 0 for v in raw], dtype=bool)
        elif any("good_band" in d for d in band_tags):  # GDAL's ENVI driver's name for bbl
            bad = np.array([d.get("good_band", "true").strip().lower() == "false"
                            for d in band_tags], dtype=bool)
    except ValueError:
        raise InputError(f"{src}: a bbl value is not a number") from None

    # ---- extra
    gdal: dict[str, Any] = {}
    if ds_tags:
        gdal["tags"] = ds_tags
    rest = [{k: v for k, v in d.items() if k not in _BAND_OWNED} for d in band_tags]
    if any(rest):
        gdal["band_tags"] = rest
    if any(s not in (None, 1.0) for s in scales):
        gdal["scales"] = [float(s) if s is not None else 1.0 for s in scales]
    if any(o not in (None, 0.0) for o in offsets):
        gdal["offsets"] = [float(o) if o is not None else 0.0 for o in offsets]
    if any(units):
        gdal["units"] = [u or "" for u in units]
    if domains:
        gdal["domains"] = domains
    extra: dict[str, Any] = {"gdal": gdal}
    envi_extra = {k.replace("_", " "): v for k, v in envi_ns.items() if k not in _ENVI_OWNED
                  and k.replace(" ", "_") not in _ENVI_OWNED}
    if envi_extra:
        extra["envi"] = envi_extra
    if io_extra:
        extra["io"] = io_extra
    band_names = [d or "" for d in descriptions] if any(descriptions) else None
    return make_cube(
        src, data=data, wavelengths_nm=wl, fwhm_nm=fw, wavelength_units=label, bad_bands=bad,
        nodata=nodata, band_names=band_names, crs=crs, transform=transform, interleave=None,
        source_format="gtiff", extra=extra,
    )


def _parse(src: str, raw: list[str], unit: str, what: str) -> np.ndarray:
    try:
        return values_to_nm(raw, unit)
    except ValueError as exc:
        raise InputError(f"{src}: cannot read the {what} values: {exc}") from None


def write_gtiff(cube: Cube, path: Path | str, interleave: Optional[str] = None) -> list[Path]:
    import rasterio
    from rasterio.crs import CRS
    from rasterio.errors import NotGeoreferencedWarning, RasterioError
    from rasterio.transform import Affine

    path = Path(path)
    h, w, c = cube.shape
    inter = {"bip": "pixel", None: "band", "bsq": "band", "bil": "band"}.get(
        interleave.lower() if interleave else None)
    if inter is None:
        raise InputError(f"unknown interleave {interleave!r} (bsq, bil or bip)")
    profile: dict[str, Any] = dict(driver="GTiff", width=w, height=h, count=c,
                                   dtype=cube.dtype.name, interleave=inter, BIGTIFF="IF_SAFER")
    if h >= TILE and w >= TILE:
        profile.update(tiled=True, blockxsize=TILE, blockysize=TILE)
    if cube.crs:
        try:
            with quiet_gdal():  # an invalid WKT raises, and GDAL prints nothing
                profile["crs"] = CRS.from_wkt(cube.crs)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{path}: cannot use the cube's CRS: {one_line(exc)}") from None
    if cube.transform is not None:
        profile["transform"] = Affine.from_gdal(*cube.transform)
    if cube.nodata is not None:
        nd = cube.nodata
        if cube.dtype.kind in "iu":
            info = np.iinfo(cube.dtype)
            if not (float(nd).is_integer() and info.min <= nd <= info.max):
                raise InputError(f"{path}: nodata {nd} cannot be stored as {cube.dtype.name}")
        profile["nodata"] = nd

    extra = cube.extra or {}
    gdal = extra.get("gdal") or {}
    envi = extra.get("envi") or {}
    scaling = gdal_scales_for(cube)

    band_tags: list[dict[str, str]] = [dict(t) for t in (gdal.get("band_tags") or [])]
    if len(band_tags) != c:
        band_tags = [{} for _ in range(c)]
    imagery: list[dict[str, str]] = [{} for _ in range(c)]
    if cube.wavelengths_nm is not None:
        label, canon = unit_for_writing(cube)
        wl_s = nm_to_strings(cube.wavelengths_nm, canon)
        wl_um = nm_to_strings(cube.wavelengths_nm, "um")
        fw_s = nm_to_strings(cube.fwhm_nm, canon) if cube.fwhm_nm is not None else None
        for i in range(c):
            band_tags[i]["wavelength"] = wl_s[i]
            band_tags[i]["wavelength_units"] = label
            imagery[i]["CENTRAL_WAVELENGTH_UM"] = wl_um[i]
            if fw_s is not None:
                band_tags[i]["fwhm"] = fw_s[i]
    if cube.fwhm_nm is not None:
        fw_um = nm_to_strings(cube.fwhm_nm, "um")
        for i in range(c):
            imagery[i]["FWHM_UM"] = fw_um[i]
            if cube.wavelengths_nm is None:
                band_tags[i]["fwhm"] = nm_to_strings([cube.fwhm_nm[i]], "nm")[0]
                band_tags[i]["wavelength_units"] = "Nanometers"
    if cube.bad_bands is not None:
        for i in range(c):
            band_tags[i]["bbl"] = "0" if cube.bad_bands[i] else "1"

    try:
        with atomic_outputs([path]) as (tmp,), warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(np.moveaxis(cube.data, 2, 0))
                for i in range(c):
                    if band_tags[i]:
                        dst.update_tags(i + 1, **{k: str(v) for k, v in band_tags[i].items()})
                    if imagery[i]:
                        dst.update_tags(i + 1, ns="IMAGERY", **imagery[i])
                    if cube.band_names is not None:
                        dst.set_band_description(i + 1, cube.band_names[i])
                if scaling is not None:  # GDAL's, or what the ENVI fields state
                    if any(s != 1.0 for s in scaling.scales):
                        dst.scales = scaling.scales
                    if any(o != 0.0 for o in scaling.offsets):
                        dst.offsets = scaling.offsets
                if gdal.get("units") and len(gdal["units"]) == c:
                    dst.units = tuple(str(u) for u in gdal["units"])
                if gdal.get("tags"):
                    dst.update_tags(**{k: str(v) for k, v in gdal["tags"].items()})
                for ns, tags in (gdal.get("domains") or {}).items():
                    if tags:
                        dst.update_tags(ns=ns, **{k: str(v) for k, v in tags.items()})
                if envi:
                    dst.update_tags(ns="ENVI", **{k.replace(" ", "_"): _envi_str(v)
                                                  for k, v in envi.items()})
            aux = Path(str(tmp) + ".aux.xml")
            wrote_aux = aux.exists()
            if wrote_aux:  # metadata GDAL could not put in the TIFF itself
                os.replace(aux, Path(str(path) + ".aux.xml"))
    except (RasterioError, OSError, ValueError, TypeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: cannot write the GeoTIFF: {one_line(exc)}") from None
    return [path] + ([Path(str(path) + ".aux.xml")] if wrote_aux else [])


def _envi_str(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(str(x) for x in v) + "}"
    return str(v)
