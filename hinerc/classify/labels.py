"""Label rasters aligned with a cube (0 = unlabelled) and the stratified train/test split. No torch."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from hinerc.errors import InputError

PathLike = Union[str, Path]


@dataclass
class Labels:
    """Train and test class maps (H×W int32, 0 = unlabelled, classes 1..K)."""

    train: np.ndarray
    test: Optional[np.ndarray]

    @property
    def n_classes(self) -> int:
        top = int(self.train.max(initial=0))
        if self.test is not None:
            top = max(top, int(self.test.max(initial=0)))
        return top


def _as_classes(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[2] == 1:  # a one-band cube
        a = a[:, :, 0]
    if a.ndim != 2:
        raise InputError(f"{what}: labels must be a single 2-D map, got shape {a.shape}")
    if a.dtype.kind not in "iuf":
        raise InputError(f"{what}: labels must be numbers")
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or (a != np.round(a)).any():
            raise InputError(f"{what}: labels must be whole class numbers (0 = unlabelled)")
    if (a < 0).any() or a.max(initial=0) > 65535:
        raise InputError(f"{what}: class numbers must be 0..65535 (0 = unlabelled)")
    return a.astype(np.int32)


def read_labels(path: PathLike, var: Optional[str] = None) -> Labels:
    """Read a label raster: GeoTIFF, ENVI, ``.npy``, PNG, or ``.mat``.

    A ``.mat`` holding ``TR`` and ``TE`` (the SpectralFormer layout) gives both maps; any other
    file gives the train map only (then split it, or give ``--test``).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".mat":
        from hinerc.io.matlab import load_mat_variables

        variables = load_mat_variables(p)
        if "TR" in variables and "TE" in variables:
            return Labels(_as_classes(variables["TR"], f"{p} TR"),
                          _as_classes(variables["TE"], f"{p} TE"))
        if var is not None:
            if var not in variables:
                raise InputError(f"{p}: no variable {var!r}")
            return Labels(_as_classes(variables[var], str(p)), None)
        maps = {k: v for k, v in variables.items() if np.asarray(v).ndim == 2}
        if len(maps) != 1:
            raise InputError(f"{p}: expected TR and TE or one 2-D label map, found "
                             f"{sorted(maps) or 'none'} (use --var)")
        return Labels(_as_classes(next(iter(maps.values())), str(p)), None)
    if suffix == ".npy":
        return Labels(_as_classes(np.load(p, allow_pickle=False), str(p)), None)
    if suffix == ".hdr" or (p.with_suffix(".hdr").exists() and suffix in (".img", ".dat", "")):
        from hinerc.io import read_cube

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Labels(_as_classes(read_cube(p).data, str(p)), None)
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(p) as ds:
                if ds.count != 1:
                    raise InputError(f"{p}: a label raster has one band, this one has {ds.count}")
                return Labels(_as_classes(ds.read(1), str(p)), None)
    except RasterioIOError as exc:
        raise InputError(f"{p}: not a label raster hinerc can read ({exc})") from None


def split(train: np.ndarray, spec: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of one labels map: ``spec`` is a fraction per class (``"0.1"``) or a
    count per class (``"20"``). Every class keeps at least one test pixel when it has two."""
    try:
        value = float(spec)
    except ValueError:
        raise InputError(f"--split must be a fraction (0.1) or a count per class (20), "
                         f"got {spec!r}") from None
    is_count = "." not in spec and "e" not in spec.lower()
    if not (value > 0 and (value < 1 or is_count)) or (is_count and value != int(value)):
        raise InputError(f"--split must be a fraction in (0, 1) or a positive count, got {spec!r}")
    rng = np.random.default_rng(seed)
    tr = np.zeros_like(train)
    te = np.zeros_like(train)
    flat_tr, flat_te, flat = tr.reshape(-1), te.reshape(-1), train.reshape(-1)
    for k in np.unique(flat[flat > 0]):
        idx = np.flatnonzero(flat == k)
        idx = idx[rng.permutation(idx.size)]
        n = int(value) if is_count else int(round(value * idx.size))
        n = max(1, min(n, idx.size - 1)) if idx.size > 1 else idx.size
        flat_tr[idx[:n]] = k
        flat_te[idx[n:]] = k
    return tr, te
