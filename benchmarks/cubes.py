"""The real cubes of ../shared/data that the benchmarks run on, as hinerc Cubes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_cubes() -> dict:
    """The cubes of ../shared/data with at least 64×64 pixels, as hinerc Cubes."""
    from hinerc.io import Cube, read_cube

    cubes = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cubes["Jasper Ridge 100×100×198 int16"] = read_cube(
            SHARED / "jasper_ridge" / "jasperRidge2_R198.hdr")
        cubes["ABU beach 100×100×102 float64"] = read_cube(
            SHARED / "abu_anomaly" / "abu-beach-4.mat")
        cave = read_cube(SHARED / "cave" / "chart_and_stuffed_toy_ms", wavelengths="400:700:10")
        # the same cube as before hinerc read PNG folders: no band names (they would cost META)
        cubes["CAVE toy 512×512×31 uint16"] = Cube(cave.data, wavelengths_nm=cave.wavelengths_nm)
        cubes["EnMAP Potsdam mosaic 128×64×224 float32"] = enmap_mosaic()
    return cubes


def enmap_mosaic():
    """The 8 contiguous tiles x ∈ {160, 192}, y ∈ {64, 96, 128, 160}: 128 rows × 64 columns."""
    from hinerc.io import read_cube

    rows = []
    for y in (64, 96, 128, 160):
        row = [read_cube(SHARED / "enmap_potsdam" / "images" / f"enmap_potsdam_tile_{x}_{y}.tif")
               for x in (160, 192)]
        rows.append(np.concatenate([t.data for t in row], axis=1))
    first = read_cube(SHARED / "enmap_potsdam" / "images" / "enmap_potsdam_tile_160_64.tif")
    return first.with_data(np.concatenate(rows, axis=0))
