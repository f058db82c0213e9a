"""Spectral interpolation, measured honestly: decode bands the encoder never saw.

For each cube and rate: every other band (by wavelength, among the bands with real data) is held
back, the rest is compressed at the rate (rate relative to the kept cube), and the file is
resampled at the held-back wavelengths (``hinerc.resample``: interval by interval the line or
the cubic through the decoded bands, see :mod:`hinerc.spectral`). The result is compared with the true held-back bands, next
to linear and cubic-spline interpolation between the decoded kept bands (the same file, so the
coding error is shared and only the interpolation differs). PSNR is the mean over bands of the
per-band PSNR with peak = the true band's max − min, on real pixels, in the original units.

    python benchmarks/resample.py [--rates 0.25,1.0] [--effort 5] [--cubes jasper,enmap]

Prints a markdown table and writes it to ``benchmarks/results/resample.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from cubes import SHARED, enmap_mosaic

ROOT = Path(__file__).resolve().parents[1]


def split_bands(cube) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held) band indices: every other band with real data, held ones strictly inside."""
    from hinerc.bands import prepare

    coded = prepare(cube).table.coded
    wl = cube.wavelengths_nm
    coded = coded[np.argsort(wl[coded], kind="stable")]
    held = coded[1::2]
    kept_wl = wl[coded[0::2]]
    held = held[(wl[held] > kept_wl.min()) & (wl[held] < kept_wl.max())]
    kept = np.setdiff1d(np.arange(cube.bands), held)
    return kept, np.sort(held)


def interpolate(wl_from: np.ndarray, bands: np.ndarray, wl_to: np.ndarray, kind: str) -> np.ndarray:
    """H×W×K from H×W×N decoded bands by linear or cubic-spline interpolation over wavelength."""
    from scipy.interpolate import CubicSpline

    order = np.argsort(wl_from, kind="stable")
    x, y = wl_from[order], bands[:, :, order].astype(np.float64)
    x, first = np.unique(x, return_index=True)
    y = y[:, :, first]
    if kind == "linear":
        idx = np.clip(np.searchsorted(x, wl_to), 1, x.size - 1)
        t = (wl_to - x[idx - 1]) / (x[idx] - x[idx - 1])
        return y[:, :, idx - 1] * (1 - t) + y[:, :, idx] * t
    return CubicSpline(x, y, axis=2)(wl_to)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="0.25,1.0")
    ap.add_argument("--effort", type=int, default=5)
    ap.add_argument("--cubes", default="jasper,enmap")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    from hinerc import api
    from hinerc.bands import nodata_mask
    from hinerc.io import read_cube
    from hinerc.metrics import mean_psnr

    loaders = {"jasper": ("Jasper Ridge", lambda: read_cube(
                   SHARED / "jasper_ridge" / "jasperRidge2_R198.hdr")),
               "enmap": ("EnMAP mosaic", enmap_mosaic)}
    lines = ["| cube | bpppb (kept cube) | kept / held bands | PSNR kept dB | held: hinerc resample dB "
             "| held: linear dB | held: cubic spline dB | encode s | resample s |",
             "|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for key in args.cubes.split(","):
        name, load = loaders[key]
        cube = load()
        kept, held = split_bands(cube)
        sub = cube.with_bands(np.ascontiguousarray(cube.data[:, :, kept]),
                              cube.wavelengths_nm[kept],
                              cube.fwhm_nm[kept] if cube.fwhm_nm is not None else None, None)
        sub.bad_bands = cube.bad_bands[kept] if cube.bad_bands is not None else None
        truth = cube.data[:, :, held]
        missing = nodata_mask(cube)[:, :, held]
        wl_held = cube.wavelengths_nm[held]
        for rate in (float(r) for r in args.rates.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                hnr = Path(tmp) / "x.hnr"
                t0 = time.perf_counter()
                res = api.compress(sub, hnr, bpppb=rate, effort=args.effort, device=args.device)
                enc_s = time.perf_counter() - t0
                decoded = api.decompress(hnr, device=args.device)
                t0 = time.perf_counter()
                ours = api.resample(hnr, wavelengths=wl_held.tolist(), dtype="float32",
                                    device=args.device).data
                res_s = time.perf_counter() - t0
            keep_real = decoded.data.astype(np.float64)
            good = ~np.all(nodata_mask(decoded), axis=(0, 1))
            wl_kept = sub.wavelengths_nm[good]
            lin = interpolate(wl_kept, keep_real[:, :, good], wl_held, "linear")
            cub = interpolate(wl_kept, keep_real[:, :, good], wl_held, "cubic")

            def score(est: np.ndarray) -> float:
                return mean_psnr(truth, est, missing)

            row = (f"| {name} | {res.bpppb:.4f} | {len(kept)} / {len(held)} | {res.psnr_db:.2f} "
                   f"| {score(ours):.2f} | {score(lin):.2f} | {score(cub):.2f} | {enc_s:.0f} "
                   f"| {res_s:.1f} |")
            lines.append(row)
            print(row, flush=True)
    head = (f"Spectral interpolation on held-back bands, effort {args.effort}, {date.today()}, "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads, "
            f"python {sys.version.split()[0]}.\n\nCommand: `python benchmarks/resample.py "
            f"--rates {args.rates} --effort {args.effort} --cubes {args.cubes}`\n\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "resample.md").write_text(head + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
