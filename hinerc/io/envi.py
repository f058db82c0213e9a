"""ENVI (.hdr + binary) reader and writer.

Samples are read through :mod:`spectral` (``open_memmap``, so the ``reflectance scale factor``
is NOT applied) and returned H×W×C in native byte order. Header fields hinerc does not interpret
are kept verbatim (their raw header text) in ``extra["envi"]`` and written back by the writer.
A cube read from a GeoTIFF gets its band SCALE/OFFSET written as ENVI states them
(:mod:`hinerc.io.radiometry`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

from hinerc.errors import HinercWarning, InputError
from hinerc.io import mapped
from hinerc.io.cube import Cube
from hinerc.io.radiometry import envi_fields_for
from hinerc.io.spectral_meta import (
    format_envi_list,
    make_cube,
    map_info_to_transform,
    nm_to_strings,
    one_line,
    parse_spectral_values,
    split_envi_list,
    transform_to_map_info,
    transforms_equal,
    unit_for_writing,
    values_to_nm,
    wavelengths_from_band_names,
)
from hinerc.outputs import atomic_outputs

#: Bytes read at once from an ENVI data file.
_READ_BYTES = 1 << 24

#: ENVI data type code -> numpy dtype
ENVI_DTYPES = {
    1: np.dtype("uint8"), 2: np.dtype("int16"), 3: np.dtype("int32"), 4: np.dtype("float32"),
    5: np.dtype("float64"), 12: np.dtype("uint16"), 13: np.dtype("uint32"),
    14: np.dtype("int64"), 15: np.dtype("uint64"),
}
DTYPE_TO_ENVI = {v.name: k for k, v in ENVI_DTYPES.items()}
_COMPLEX = {6: "complex64", 9: "complex128"}

#: binary extensions an ENVI data file may carry
DATA_EXTS = (".img", ".dat", ".bsq", ".bil", ".bip", ".raw", ".bin", ".sli", ".hyspex")

#: header fields that the Cube models (everything else goes to extra["envi"])
OWNED_FIELDS = {
    "samples", "lines", "bands", "header offset", "data type", "interleave", "byte order",
    "wavelength", "wavelength units", "fwhm", "bbl", "data ignore value", "band names",
    "coordinate system string",
}
_MANDATORY = ("samples", "lines", "bands", "data type", "interleave", "byte order")


# ------------------------------------------------------------------------------ header text
def parse_header_text(text: str, source: str) -> dict[str, str]:
    """Parse ENVI header text into ``{lower-case key: raw value text}``.

    A braced value keeps its braces and line breaks (exactly as in the file, lines right-
    stripped), so it can be written back verbatim.
    """
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines or not lines[0].strip().upper().startswith("ENVI"):
        raise InputError(f"{source}: not an ENVI header (the first line is not 'ENVI')")
    out: dict[str, str] = {}
    i = 1
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith(";") or "=" not in line:
            continue
        key, _, val = line.partition("=")
        key = " ".join(key.strip().lower().split())
        val = val.strip()
        if val.startswith("{"):
            parts = [val]
            depth = val.count("{") - val.count("}")
            while depth > 0:
                if i >= len(lines):
                    raise InputError(f"{source}: the value of '{key}' has no closing brace")
                nxt = lines[i].rstrip()
                i += 1
                parts.append(nxt)
                depth += nxt.count("{") - nxt.count("}")
            val = "\n".join(parts)
        out[key] = val
    return out


def _value_text(key: str, value: Any) -> str:
    """An extra["envi"] value as header text."""
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(str(v) for v in value) + "}"
    if isinstance(value, float):
        return repr(value)
    s = str(value)
    if s.startswith("{"):
        return s
    if key == "description" or "\n" in s:
        return "{" + s + "}"
    return s


# ------------------------------------------------------------------------------ file pairing
def _with_upper(names: list[str]) -> list[str]:
    return names + [n.upper() for n in names]


def find_header(path: Path) -> Optional[Path]:
    """The header of an ENVI data file (``a.img`` -> ``a.hdr`` or ``a.img.hdr``)."""
    cands = [path.with_suffix(".hdr"), path.with_suffix(".HDR"),
             Path(str(path) + ".hdr"), Path(str(path) + ".HDR")]
    if path.suffix == "":
        cands = [Path(str(path) + ".hdr"), Path(str(path) + ".HDR")]
    for c in cands:
        if c.is_file():
            return c
    return None


def find_binary(hdr: Path, interleave: Optional[str] = None) -> Optional[Path]:
    """The data file of an ENVI header (``a.hdr`` -> ``a``, ``a.img``, ``a.dat``, ...)."""
    stem = hdr.with_suffix("")
    exts = list(DATA_EXTS)
    if interleave and f".{interleave.lower()}" not in exts:
        exts.append(f".{interleave.lower()}")
    cands = [stem] + [Path(str(stem) + e) for e in _with_upper(exts)]
    for c in cands:
        if c.is_file() and c != hdr:
            return c
    return None


def resolve_pair(path: Path) -> tuple[Path, Optional[Path]]:
    """(header, binary or None) for a path naming either the header or the binary."""
    if path.suffix.lower() == ".hdr":
        return path, None
    hdr = find_header(path)
    if hdr is None:
        raise InputError(f"{path}: no ENVI header beside it (looked for "
                         f"{path.with_suffix('.hdr').name} and {path.name}.hdr)")
    return hdr, path


def output_pair(path: Path) -> tuple[Path, Path]:
    """(header, binary) to write for an output path: out.hdr -> out.img; out.img -> out.hdr."""
    if path.suffix.lower() == ".hdr":
        stem = path.with_suffix("")
        if stem.suffix.lower() in DATA_EXTS:  # out.img.hdr -> out.img
            return path, stem
        return path, path.with_suffix(".img")
    if path.suffix == "":
        return Path(str(path) + ".hdr"), path
    return path.with_suffix(".hdr"), path


# ------------------------------------------------------------------------------ reader
def _int_field(h: dict[str, str], key: str, source: str) -> int:
    try:
        v = int(h[key].strip().strip("{}").strip())
    except ValueError:
        raise InputError(f"{source}: '{key} = {one_line(h[key])}' is not an integer") from None
    return v


def read_envi(path: Path | str) -> Cube:
    path = Path(path)
    hdr, binary = resolve_pair(path)
    src = str(hdr)
    if not hdr.is_file():
        raise InputError(f"{hdr}: no such file")
    raw_bytes = hdr.read_bytes()
    if not raw_bytes.strip():
        raise InputError(f"{hdr}: the file is empty")
    if b"\x00" in raw_bytes[:4096]:
        raise InputError(f"{hdr}: not an ENVI header (binary content)")
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        text = raw_bytes.decode("latin-1")
    h = parse_header_text(text, src)
    for key in _MANDATORY:
        if key not in h:
            raise InputError(f"{src}: the header has no '{key}' field")
    lines, samples, bands = (_int_field(h, k, src) for k in ("lines", "samples", "bands"))
    if min(lines, samples, bands) <= 0:
        raise InputError(f"{src}: impossible size {lines} lines × {samples} samples × {bands} bands")
    code = _int_field(h, "data type", src)
    if code in _COMPLEX:
        raise InputError(f"{src}: unsupported data type {code} ({_COMPLEX[code]}): "
                         "complex samples cannot be coded")
    if code not in ENVI_DTYPES:
        raise InputError(f"{src}: unknown ENVI data type {code} (known: "
                         f"{', '.join(str(k) for k in sorted(ENVI_DTYPES))})")
    dtype = ENVI_DTYPES[code]
    interleave = h["interleave"].strip().lower()
    if interleave not in ("bsq", "bil", "bip"):
        raise InputError(f"{src}: unknown interleave {h['interleave']!r} (bsq, bil or bip)")
    byte_order = _int_field(h, "byte order", src)
    if byte_order not in (0, 1):
        raise InputError(f"{src}: byte order must be 0 or 1, got {byte_order}")
    offset = _int_field(h, "header offset", src) if "header offset" in h else 0
    ftype = h.get("file type", "").strip().lower()
    if "spectral library" in ftype:
        raise InputError(f"{src}: ENVI spectral libraries are not image cubes")
    for k in ("major frame offsets", "minor frame offsets"):
        if k in h and any(float(v or 0) != 0 for v in split_envi_list(h[k])):
            raise InputError(f"{src}: '{k}' is not supported")

    if binary is None:
        binary = find_binary(hdr, interleave)
        if binary is None:
            raise InputError(f"{src}: the data file is missing (looked for {hdr.with_suffix('').name}"
                             f" with no extension, .img, .dat, .{interleave}, ...)")
    if not binary.is_file():
        raise InputError(f"{binary}: no such file")
    expected = offset + lines * samples * bands * dtype.itemsize
    actual = binary.stat().st_size
    if actual != expected:
        what = "is empty" if actual == 0 else f"holds {actual} bytes"
        raise InputError(
            f"{binary}: the data file {what} but {hdr.name} describes {expected} "
            f"({lines}×{samples}×{bands} {dtype.name}"
            + (f" + {offset} header bytes" if offset else "") + ")")

    data = _read_samples(hdr, binary, dtype, lines, samples, bands, byte_order, offset,
                         interleave)

    # ---- spectral metadata
    extra_envi: dict[str, str] = {}
    for k, v in h.items():
        if k not in OWNED_FIELDS:
            extra_envi[k] = v
    band_names = None
    if "band names" in h:
        band_names = split_envi_list(h["band names"])
        if len(band_names) != bands:
            warnings.warn(f"{src}: {len(band_names)} band names for {bands} bands; "
                          "they are kept in the header only", HinercWarning, stacklevel=2)
            extra_envi["band names"] = h["band names"]
            band_names = None
    unit_label = h["wavelength units"].strip() if "wavelength units" in h else None
    wl = fw = None
    unit_used = None
    io_extra: dict[str, Any] = {}
    if "wavelength" in h:
        raw = split_envi_list(h["wavelength"])
        if len(raw) != bands:
            raise InputError(f"{src}: {len(raw)} wavelengths for {bands} bands")
        wl, unit_used, unit_label = parse_spectral_values(raw, unit_label, src)
        if wl is None:  # unsupported unit: carry the raw fields through
            extra_envi["wavelength"] = h["wavelength"]
            if "wavelength units" in h:
                extra_envi["wavelength units"] = h["wavelength units"]
            unit_label = None
        elif unit_label is not None and unit_label.strip().lower() in ("unknown", ""):
            io_extra["wavelength_unit_inferred"] = "Micrometers" if unit_used == "um" else "Nanometers"
    elif band_names is not None:
        got = wavelengths_from_band_names(band_names)
        if got is not None:
            wl, label = got
            unit_used = "nm"
            if unit_label is None or unit_label.strip().lower() in ("unknown", ""):
                unit_label = label
    elif "wavelength units" in h:
        extra_envi["wavelength units"] = h["wavelength units"]
        unit_label = None
    if "fwhm" in h:
        raw = split_envi_list(h["fwhm"])
        if len(raw) != bands:
            raise InputError(f"{src}: {len(raw)} FWHM values for {bands} bands")
        if wl is None and "wavelength" in h:  # unusable unit: carry through
            extra_envi["fwhm"] = h["fwhm"]
        else:
            fw_unit = unit_used or "nm"
            try:
                fw = values_to_nm(raw, fw_unit)
            except ValueError as exc:
                raise InputError(f"{src}: cannot read the fwhm list: {exc}") from None
    bad = None
    if "bbl" in h:
        raw = split_envi_list(h["bbl"])
        if len(raw) != bands:
            raise InputError(f"{src}: {len(raw)} bad-band flags (bbl) for {bands} bands")
        try:
            bad = np.array([float(v) == 0 for v in raw], dtype=bool)
        except ValueError:
            raise InputError(f"{src}: the bbl list holds a value that is not a number") from None
    nodata = None
    if "data ignore value" in h:
        try:
            nodata = float(h["data ignore value"].strip().strip("{}"))
        except ValueError:
            raise InputError(f"{src}: 'data ignore value' is not a number") from None

    transform = None
    crs = None
    if "map info" in h:
        try:
            transform, crs = map_info_to_transform(h["map info"])
        except (ValueError, IndexError):
            warnings.warn(f"{src}: cannot read 'map info'; it is kept as it is",
                          HinercWarning, stacklevel=2)
    if "coordinate system string" in h:
        css = h["coordinate system string"].strip()
        if css.startswith("{") and css.endswith("}"):
            css = css[1:-1]
        crs = " ".join(css.split()) or crs

    extra: dict[str, Any] = {"envi": extra_envi}
    if io_extra:
        extra["io"] = io_extra
    return make_cube(
        src, data=data, wavelengths_nm=wl, fwhm_nm=fw, wavelength_units=unit_label,
        bad_bands=bad, nodata=nodata, band_names=band_names, crs=crs, transform=transform,
        interleave=interleave, source_format="envi", extra=extra,
    )


def _read_samples(hdr: Path, binary: Path, dtype: np.dtype, lines: int, samples: int,
                  bands: int, byte_order: int, offset: int, interleave: str) -> np.ndarray:
    """The samples as a lines × samples × bands array in native byte order, read from the file
    a few lines at a time (no memory map: a mapped file's pages would count in the process's
    memory beside the array, twice the cube at the peak); a scene larger than
    :data:`hinerc.io.mapped.MAP_ABOVE` is a read-only memory map instead, read by windows."""
    stored = np.dtype(dtype).newbyteorder(">" if byte_order else "<")
    if stored.isnative and lines * samples * bands * stored.itemsize > mapped.MAP_ABOVE:
        # a scene: memory-mapped, read by windows (hinerc.io.mapped)
        shape = {"bsq": (bands, lines, samples), "bil": (lines, bands, samples)}.get(
            interleave, (lines, samples, bands))
        try:
            mm = mapped.mapped(str(binary), stored, offset, shape)
        except (OSError, ValueError) as exc:
            raise InputError(f"{hdr}: cannot read the ENVI data: {one_line(exc)}") from None
        order = {"bsq": (1, 2, 0), "bil": (0, 2, 1)}.get(interleave, (0, 1, 2))
        return mm.transpose(order)
    data = np.empty((lines, samples, bands), dtype=dtype)  # native byte order
    item = stored.itemsize
    try:
        with open(binary, "rb") as f:
            if interleave == "bsq":
                per = max(1, _READ_BYTES // max(1, samples * item))
                for b in range(bands):
                    for l0 in range(0, lines, per):
                        n = min(per, lines - l0)
                        f.seek(offset + ((b * lines + l0) * samples) * item)
                        chunk = _read_exact(f, stored, n * samples, hdr)
                        data[l0:l0 + n, :, b] = chunk.reshape(n, samples)
            else:
                per = max(1, _READ_BYTES // max(1, samples * bands * item))
                f.seek(offset)
                for l0 in range(0, lines, per):
                    n = min(per, lines - l0)
                    chunk = _read_exact(f, stored, n * samples * bands, hdr)
                    if interleave == "bil":
                        data[l0:l0 + n] = chunk.reshape(n, bands, samples).transpose(0, 2, 1)
                    else:
                        data[l0:l0 + n] = chunk.reshape(n, samples, bands)
    except OSError as exc:
        raise InputError(f"{hdr}: cannot read the ENVI data: {exc.strerror or exc}") from None
    return data


def _read_exact(f: Any, dtype: np.dtype, count: int, hdr: Path) -> np.ndarray:
    chunk = np.fromfile(f, dtype=dtype, count=count)
    if chunk.size != count:
        raise InputError(f"{hdr}: the ENVI data file ends early")
    return chunk


# ------------------------------------------------------------------------------ writer
_TOP_ORDER = ("description", "samples", "lines", "bands", "header offset", "file type",
              "data type", "interleave", "sensor type", "byte order")


def header_text(cube: Cube, interleave: str) -> str:
    """The ENVI header for ``cube`` written little-endian with ``interleave``."""
    h, w, c = cube.shape
    extra = dict((cube.extra or {}).get("envi") or {})
    code = DTYPE_TO_ENVI.get(cube.dtype.name)
    if code is None:
        raise InputError(f"ENVI has no {cube.dtype.name} sample type; "
                         "write a GeoTIFF or .npy instead")
    fields: dict[str, str] = {}
    if "description" in extra:
        fields["description"] = _value_text("description", extra.pop("description"))
    fields["samples"] = str(w)
    fields["lines"] = str(h)
    fields["bands"] = str(c)
    fields["header offset"] = "0"
    fields["file type"] = _value_text("file type", extra.pop("file type", "ENVI Standard"))
    fields["data type"] = str(code)
    fields["interleave"] = interleave
    if "sensor type" in extra:
        fields["sensor type"] = _value_text("sensor type", extra.pop("sensor type"))
    fields["byte order"] = "0"
    for k in ("header offset", "byte order", "data type", "interleave", "samples", "lines",
              "bands"):
        extra.pop(k, None)

    # geo
    verbatim = extra.pop("map info", None)
    if cube.transform is not None:
        use_verbatim = False
        if verbatim is not None:
            try:
                use_verbatim = transforms_equal(map_info_to_transform(str(verbatim))[0],
                                                cube.transform)
            except (ValueError, IndexError):
                use_verbatim = False
        fields["map info"] = (_value_text("map info", verbatim) if use_verbatim
                              else transform_to_map_info(cube.transform, cube.crs))
    elif verbatim is not None and cube.crs is None:
        fields["map info"] = _value_text("map info", verbatim)  # unparsed: carry through
    if cube.crs:
        fields["coordinate system string"] = "{" + cube.crs + "}"

    # spectral
    if cube.wavelengths_nm is not None:
        label, canon = unit_for_writing(cube)
        extra.pop("wavelength", None)
        extra.pop("wavelength units", None)
        fields["wavelength units"] = label
        fields["wavelength"] = format_envi_list(nm_to_strings(cube.wavelengths_nm, canon))
        if cube.fwhm_nm is not None:
            extra.pop("fwhm", None)
            fields["fwhm"] = format_envi_list(nm_to_strings(cube.fwhm_nm, canon))
    elif cube.fwhm_nm is not None:
        extra.pop("fwhm", None)
        fields["wavelength units"] = "Nanometers"
        fields["fwhm"] = format_envi_list(nm_to_strings(cube.fwhm_nm, "nm"))
    if cube.bad_bands is not None:
        extra.pop("bbl", None)
        fields["bbl"] = format_envi_list(["0" if b else "1" for b in cube.bad_bands], 26)
    if cube.nodata is not None:
        extra.pop("data ignore value", None)
        nd = cube.nodata
        fields["data ignore value"] = str(int(nd)) if float(nd).is_integer() else repr(nd)
    if cube.band_names is not None:
        extra.pop("band names", None)
        names = [n.replace(",", ";").replace("}", ")").replace("{", "(") for n in cube.band_names]
        fields["band names"] = "{\n " + ",\n ".join(names) + "}"

    fields.update(envi_fields_for(cube))  # GDAL band scales as ENVI states them
    for k, v in extra.items():  # everything else, verbatim
        if k in fields:
            continue
        fields[k] = _value_text(k, v)

    order = [k for k in _TOP_ORDER if k in fields] + [k for k in fields if k not in _TOP_ORDER]
    return "ENVI\n" + "".join(f"{k} = {fields[k]}\n" for k in order)


def write_envi(cube: Cube, path: Path | str, interleave: Optional[str] = None) -> list[Path]:
    path = Path(path)
    inter = (interleave or cube.interleave or "bsq").lower()
    if inter not in ("bsq", "bil", "bip"):
        raise InputError(f"unknown interleave {interleave!r} (bsq, bil or bip)")
    hdr_path, data_path = output_pair(path)
    text = header_text(cube, inter)
    le = cube.dtype.newbyteorder("<")
    data = cube.data
    with atomic_outputs([data_path, hdr_path]) as (tmp_data, tmp_hdr):
        with open(tmp_data, "wb") as f:
            if inter == "bsq":
                for b in range(cube.bands):
                    np.ascontiguousarray(data[:, :, b], dtype=le).tofile(f)
            elif inter == "bil":
                for r in range(cube.height):
                    np.ascontiguousarray(data[r].T, dtype=le).tofile(f)
            else:
                for r in range(cube.height):
                    np.ascontiguousarray(data[r], dtype=le).tofile(f)
        with open(tmp_hdr, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return [hdr_path, data_path]
