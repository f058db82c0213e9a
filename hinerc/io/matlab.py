"""MATLAB ``.mat`` reader (v5 through scipy, v7.3/HDF5 through h5py) and v5 writer.

The writer stores the cube and, where the readers of hyperspectral ``.mat`` files look for them,
``wavelengths`` and ``fwhm`` (nm, one column each); MATLAB has no convention for the rest, which
:mod:`hinerc.io.kept` names in a warning.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import numpy as np

from hinerc.errors import InputError
from hinerc.io.cube import Cube
from hinerc.io.declare import reshape_columns
from hinerc.io.spectral_meta import (
    UNIT_NAMES,
    infer_unit,
    make_cube,
    one_line,
    values_to_nm,
)
from hinerc.outputs import atomic_outputs

_NUMERIC_CLASSES = {"double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                    "int64", "uint64"}
_WL_RE = re.compile(r"^(wavelengths?|wavelengths?_(nm|um)|wl|wls|lambda)$", re.IGNORECASE)
_FWHM_RE = re.compile(r"^(fwhm|fwhms|fwhm_(nm|um))$", re.IGNORECASE)
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_V5_LIMIT = 2**31 - 1


def _describe(vars_: dict[str, tuple[tuple[int, ...], str]]) -> str:
    return ", ".join(f"{n} ({'×'.join(str(s) for s in shp)} {cls})" for n, (shp, cls) in vars_.items())


def _list_variables(path: Path, src: str) -> tuple[str, dict[str, tuple[tuple[int, ...], str]]]:
    """('5' or '7.3', {name: (shape as MATLAB shows it, MATLAB class)})."""
    import h5py

    if h5py.is_hdf5(str(path)):
        out = {}
        try:
            with h5py.File(path, "r") as f:
                for name, obj in f.items():
                    if name.startswith("#") or not isinstance(obj, h5py.Dataset):
                        continue
                    cls = obj.attrs.get("MATLAB_class", b"")
                    cls = cls.decode() if isinstance(cls, bytes) else str(cls)
                    if not cls:
                        cls = obj.dtype.name if obj.dtype.kind in "iuf" else "other"
                        cls = {"float64": "double", "float32": "single"}.get(cls, cls)
                    out[name] = (tuple(reversed(obj.shape)), cls)
        except OSError as exc:
            raise InputError(f"{src}: not a readable MATLAB v7.3 file: {one_line(exc)}") from None
        return "7.3", out
    import scipy.io

    try:
        info = scipy.io.whosmat(str(path))
    except Exception as exc:  # noqa: BLE001 - any parser failure is an unreadable input
        raise InputError(f"{src}: not a readable MATLAB file: {one_line(exc)}") from None
    return "5", {n: (tuple(shp), cls) for n, shp, cls in info}


def _load(path: Path, version: str, names: list[str], src: str) -> dict[str, np.ndarray]:
    if version == "7.3":
        import h5py

        out = {}
        with h5py.File(path, "r") as f:
            for n in names:
                arr = np.asarray(f[n][()])
                out[n] = np.ascontiguousarray(arr.transpose(tuple(range(arr.ndim))[::-1]))
        return out
    import scipy.io

    try:
        m = scipy.io.loadmat(str(path), variable_names=names, mat_dtype=True, squeeze_me=False)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{src}: cannot read {', '.join(names)}: {one_line(exc)}") from None
    return {n: np.asarray(m[n]) for n in names}


def _vector_candidates(vars_: dict[str, tuple[tuple[int, ...], str]], regex: re.Pattern[str],
                       c: int) -> Optional[str]:
    for name, (shp, cls) in vars_.items():
        if cls in _NUMERIC_CLASSES and regex.match(name) and int(np.prod(shp)) == c \
                and max(shp) == c:
            return name
    return None


def read_mat(path: Path | str, var: Optional[str] = None,
             shape: Optional[tuple[int, int]] = None) -> Cube:
    """The cube of a ``.mat``: its one 3-D numeric variable (or ``var``); with ``shape`` (rows,
    columns), a 2-D bands × pixels matrix reshaped column-major (:mod:`hinerc.io.declare`)."""
    path = Path(path)
    src = str(path)
    if path.stat().st_size == 0:
        raise InputError(f"{src}: the file is empty")
    version, vars_ = _list_variables(path, src)
    numeric = {n: v for n, v in vars_.items() if v[1] in _NUMERIC_CLASSES}
    pixels = shape[0] * shape[1] if shape is not None else None
    if var is not None:
        if var not in vars_:
            raise InputError(f"{src}: no variable {var!r}; variables: {_describe(vars_) or 'none'}")
        shp, cls = vars_[var]
        if cls not in _NUMERIC_CLASSES or len(shp) not in (2, 3):
            raise InputError(f"{src}: variable {var!r} is {'×'.join(map(str, shp))} {cls}, "
                             "not a 2-D or 3-D numeric array")
        if shape is not None and len(shp) != 2:
            raise InputError(f"{src}: --shape reads a 2-D bands × pixels matrix; {var!r} is "
                             f"{'×'.join(map(str, shp))}")
        name = var
    elif shape is not None:
        mats = [n for n, (shp, _) in numeric.items() if len(shp) == 2 and pixels in shp]
        if not mats:
            raise InputError(f"{src}: no 2-D variable has {pixels} pixels (--shape "
                             f"{shape[0]},{shape[1]}) in a row or column; variables: "
                             f"{_describe(vars_) or 'none'}")
        if len(mats) > 1:
            raise InputError(f"{src}: several 2-D variables have {pixels} pixels "
                             f"({_describe({n: vars_[n] for n in mats})}); pass --var NAME")
        name = mats[0]
    else:
        cubes = [n for n, (shp, _) in numeric.items() if len(shp) == 3]
        if not cubes:
            hint = ("; a 2-D bands × pixels matrix needs --shape ROWS,COLUMNS"
                    if any(len(shp) == 2 and min(shp) > 1 for shp, _ in numeric.values()) else "")
            raise InputError(f"{src}: no 3-D numeric variable; variables: "
                             f"{_describe(vars_) or 'none'}{hint}")
        if len(cubes) > 1:
            raise InputError(f"{src}: several 3-D variables ({_describe({n: vars_[n] for n in cubes})}); "
                             "pass --var NAME to choose one")
        name = cubes[0]
    shp = vars_[name][0]
    c = shp[2] if len(shp) == 3 else 1
    if shape is not None:  # the side that is not the pixels is the bands
        c = shp[0] if shp[1] == pixels else shp[1]
    wl_name = _vector_candidates(numeric, _WL_RE, c)
    fw_name = _vector_candidates(numeric, _FWHM_RE, c)
    loaded = _load(path, version, [n for n in (name, wl_name, fw_name) if n], src)
    data = loaded[name]
    if data.dtype.kind not in "iuf":
        raise InputError(f"{src}: variable {name!r} is not numeric ({data.dtype})")
    if shape is not None:
        data = reshape_columns(data, shape, name, src)

    wl = fw = None
    label = None
    unit = None
    try:
        if wl_name:
            raw = loaded[wl_name].astype(np.float64).ravel()
            m = re.search(r"_(nm|um)$", wl_name, re.IGNORECASE)
            unit = m.group(1).lower() if m else infer_unit(raw)
            wl = values_to_nm(raw.tolist(), unit)
            label = UNIT_NAMES[unit]
        if fw_name:
            raw = loaded[fw_name].astype(np.float64).ravel()
            m = re.search(r"_(nm|um)$", fw_name, re.IGNORECASE)
            fw = values_to_nm(raw.tolist(), m.group(1).lower() if m else (unit or "nm"))
    except ValueError as exc:
        raise InputError(f"{src}: cannot use the wavelength variable: {exc}") from None
    extra: dict[str, Any] = {"mat": {"var": name, "version": version}}
    return make_cube(src, data=data, wavelengths_nm=wl, fwhm_nm=fw, wavelength_units=label,
                     source_format="mat", extra=extra)


def write_mat(cube: Cube, path: Path | str) -> list[Path]:
    import scipy.io

    path = Path(path)
    if cube.data.nbytes > _V5_LIMIT:
        raise InputError(f"{path}: the cube ({cube.data.nbytes} bytes) is too large for a "
                         "MATLAB v5 file (2 GiB per variable); write ENVI or GeoTIFF instead")
    name = str(((cube.extra or {}).get("mat") or {}).get("var") or "cube")
    if not _IDENT.match(name) or name in ("wavelengths", "fwhm"):
        name = "cube"
    out: dict[str, Any] = {name: cube.data}
    if cube.wavelengths_nm is not None:
        out["wavelengths"] = cube.wavelengths_nm.reshape(-1, 1)
    if cube.fwhm_nm is not None:
        out["fwhm"] = cube.fwhm_nm.reshape(-1, 1)
    with atomic_outputs([path]) as (tmp,):
        with open(tmp, "wb") as f:
            scipy.io.savemat(f, out, format="5", oned_as="column")
    return [path]


def load_mat_variables(path: Path | str) -> dict[str, np.ndarray]:
    """Every numeric variable of 2 or more dimensions in a ``.mat`` (v5 or v7.3), by name
    (label maps, for ``hinerc classify``)."""
    p = Path(path)
    version, vars_ = _list_variables(p, str(p))
    names = [n for n, (shp, cls) in vars_.items()
             if len(shp) >= 2 and cls not in ("char", "cell", "struct", "other", "logical")]
    return _load(p, version, names, str(p)) if names else {}
