"""What ``hinerc info`` says of a file: a ``.hnr`` from its header alone, or an input cube.

Every CRC of a ``.hnr`` is checked and its model's sections are parsed by its codec, but
nothing is decoded (no torch is imported). The keys are those of ``info --json``
(``docs/json.md``); the codec adds its own (:meth:`hinerc.codecs.base.Codec.describe`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from hinerc import pipeline
from hinerc.format.container import HnrFile
from hinerc.format.header import FLAG_NO_RESAMPLE, EncodeReport
from hinerc.io import read_cube


def band_nm(wavelengths: Any, band: Optional[int]) -> Optional[float]:
    """The wavelength (nm) of 1-based ``band``, or ``None`` when unknown."""
    if band is None or wavelengths is None or not 1 <= band <= len(wavelengths):
        return None
    return float(wavelengths[band - 1])


def describe_hnr(path: Any) -> dict[str, Any]:
    """``info`` of a ``.hnr``."""
    p = Path(path)
    ld = pipeline.read(p)
    f, codec = ld.file, ld.codec
    hd = f.header
    size = p.stat().st_size
    wl = f.meta.get("wavelengths_nm")
    report = f.report or EncodeReport()
    bits = report.source_bits_per_sample or np.dtype(hd.dtype).itemsize * 8
    bpppb = size * 8 / hd.samples
    plain = f.plain()
    kinds = plain[0].bands.kinds
    fwhm, bad, transform = f.meta.get("fwhm_nm"), f.meta.get("bad_bands"), f.meta.get("transform")
    model_tags = ("MODL",) + codec.sections + tuple(
        t for t in codec.optional_sections if any(t in p.section_sizes for p in plain))
    model_sections = {tag: sum(t.section_sizes.get(tag, 0) for t in plain) for tag in model_tags}
    facts = codec.describe(ld.parts, model_sections, f.report)
    d = {
        "kind": "hnr",
        "path": str(p),
        "format_version": "%d.%d" % f.version,
        "shape": [hd.height, hd.width, hd.bands],
        "dtype": hd.dtype,
        "tiles": len(f.tiles) or 1,
        "bands_coded": int((kinds == 0).sum()),
        "bands_constant": int((kinds == 1).sum()),
        "bands_nodata": int((kinds == 2).sum()),
        "wavelength_count": len(wl) if wl else 0,
        "wavelength_min_nm": min(wl) if wl else None,
        "wavelength_max_nm": max(wl) if wl else None,
        "fwhm": fwhm is not None,
        "bad_bands": sum(map(bool, bad)) if bad is not None else 0,
        "crs": f.meta.get("crs") is not None,
        "transform": list(transform) if transform else None,
        "file_bytes": size,
        "bpppb": bpppb,
        "compression_ratio": bits / bpppb,
        "source_bits_per_sample": bits,
        "arch": codec.name,
        "model_summary": facts.pop("summary"),
        "resample": resample_status(f) is None,
        "resample_note": resample_status(f) or "interpolates the decoded bands (costs no byte)",
        "model_values": sum(codec.stored_values(p.content, p.header) for p in ld.parts),
        "model_config": dict(plain[0].model),
        "payload_bytes": sum(t.section_sizes.get(tag, 0) for t in plain
                             for tag in codec.payload_sections),
        "sections": f.section_sizes,
        "model_sections": model_sections,
        "psnr_db": report.psnr_db,
        "worst_band_psnr_db": report.worst_band_psnr_db,
        "worst_band": report.worst_band,
        "worst_band_nm": band_nm(wl, report.worst_band),
        "sam_deg": report.sam_deg,
        "max_abs_error": report.max_abs_error,
        "max_error_bound": ld.max_error,
        "encode_seconds": report.encode_seconds,
        "device": report.device,
        "seed": report.seed,
        "hinerc_version": report.hinerc_version,
        "nodata": f.meta.get("nodata"),
        "interleave": f.meta.get("interleave"),
        "source_format": f.meta.get("source_format"),
    }
    d.update(facts)
    return d


def resample_status(f: HnrFile) -> Optional[str]:
    """Why the file cannot be resampled, or ``None`` when it can."""
    if f.header.flags & FLAG_NO_RESAMPLE:
        return "no: written with --no-resample"
    if not f.meta.get("wavelengths_nm"):
        return "no: the cube declares no wavelengths"
    if not any(t.header.n_coded for t in f.plain()):
        return "no: no band is coded by the model (all constant or no-data)"
    return None


def describe_cube(path: Any, format: Optional[str] = None, var: Optional[str] = None
                  ) -> dict[str, Any]:
    """``info`` of an input cube (ENVI, GeoTIFF, .mat, .npy, a stack of band images)."""
    p = Path(path)
    cube = read_cube(p, format=format, var=var)
    wl = cube.wavelengths_nm
    return {
        "kind": "cube",
        "path": str(p),
        "format": cube.source_format,
        "shape": list(cube.shape),
        "dtype": cube.dtype.name,
        "interleave": cube.interleave,
        "wavelength_count": int(wl.size) if wl is not None else 0,
        "wavelength_min_nm": float(wl.min()) if wl is not None else None,
        "wavelength_max_nm": float(wl.max()) if wl is not None else None,
        "fwhm": cube.fwhm_nm is not None,
        "bad_bands": int(cube.bad_bands.sum()) if cube.bad_bands is not None else 0,
        "nodata": cube.nodata,
        "crs": cube.crs is not None,
        "transform": list(cube.transform) if cube.transform else None,
        "bits_per_sample": cube.dtype.itemsize * 8,
        "size_bytes": int(cube.data.nbytes),
    }
