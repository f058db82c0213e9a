"""Rate–distortion: hinerc against the classical anchors, at equal file size, on real cubes.

Codecs (the anchors come from the benchmark extra: ``pip install -e .[bench]``):

* ``pca+j2k``: KLT over the bands (float32 mean and k basis vectors), the k component images
  quantized to uint16 with one offset per component and one scale common to all, coded as one
  multi-component JPEG 2000 codestream (OpenJPEG through imagecodecs, 9/7 wavelet, no colour
  transform); k searched over 2–64 and the JPEG 2000 quality bisected to the target rate.
* ``sperr``: SPERR 3D (wavelet + SPECK) in bits-per-value mode on the float cube.
* ``j2k``: every band (min–max to uint16, 8 bytes of side information each) in one
  multi-component JPEG 2000 codestream, quality bisected to the rate.
* ``hinerc-eN``: ``hinerc.compress`` at effort N with the default model (``--arch lowrank``;
  the default effort is 5, 9 is the highest).
* ``hiner-eN``: ``hinerc.compress --arch hiner`` (the published network) at effort N.

Rate is every byte a decoder needs (codestream plus side information, or the whole ``.hnr``)
× 8 / (H·W·C). Quality on the real pixels in original units after rounding to the original
sample type: PSNR = mean over bands of the per-band PSNR with peak = the band's max − min,
global PSNR (one peak for the cube), mean spectral angle (degrees). Bands without a single
real sample (EnMAP's water-vapour bands) are dropped from the cube first, for every codec.

Every point is cached in ``benchmarks/results/rd.json`` (a rerun skips it; ``--redo`` forces),
so the slow hinerc runs can be spread over several sessions. The table and the plot are written
from everything cached:

    python benchmarks/rd.py                                   # anchors, every cube and rate
    python benchmarks/rd.py --codecs hinerc-e5 --cubes jasper  # add hinerc points
    python benchmarks/rd.py --report                          # only rewrite table and plot
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np

from cubes import SHARED, enmap_mosaic

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RATES = (0.05, 0.1, 0.25, 0.5, 1.0)
ANCHORS = ("pca+j2k", "sperr", "j2k")


# ----------------------------------------------------------------------------- cubes
def load(key: str):
    """A benchmark cube as a hinerc Cube, bands without real samples removed."""
    import warnings

    from PIL import Image

    from hinerc.bands import nodata_mask
    from hinerc.io import Cube, read_cube

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if key == "jasper":
            cube = read_cube(SHARED / "jasper_ridge" / "jasperRidge2_R198.hdr")
        elif key == "enmap":
            cube = enmap_mosaic()
        elif key == "cave":
            pngs = sorted((SHARED / "cave" / "chart_and_stuffed_toy_ms").glob("*.png"))
            full = np.stack([np.array(Image.open(p)) for p in pngs], -1).astype(np.uint16)
            cube = Cube(np.ascontiguousarray(full[128:384, 128:384]),
                        wavelengths_nm=np.arange(400, 701, 10.0))
        elif key == "urban":
            cube = read_cube(SHARED / "hydice_urban" / "subimage_Urban_R162.mat")
        elif key == "abu":
            cube = read_cube(SHARED / "abu_anomaly" / "abu-beach-4.mat")
        else:
            raise SystemExit(f"unknown cube {key}")
    empty = nodata_mask(cube).all(axis=(0, 1))
    if empty.any():
        keep = ~empty
        cube = cube.with_bands(np.ascontiguousarray(cube.data[:, :, keep]),
                               cube.wavelengths_nm[keep] if cube.wavelengths_nm is not None
                               else None,
                               cube.fwhm_nm[keep] if cube.fwhm_nm is not None else None, None)
    return cube


NAMES = {"jasper": "Jasper Ridge", "enmap": "EnMAP Potsdam mosaic", "cave": "CAVE toy 256×256",
         "urban": "HYDICE Urban", "abu": "ABU beach"}


# ----------------------------------------------------------------------------- helpers
def to_dtype(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(x), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def j2k_at(data: np.ndarray, budget: int) -> tuple[bytes, float]:
    """The largest-quality multi-component J2K codestream of ``data`` (H×W×K uint16) within
    ``budget`` bytes, by bisection on OpenJPEG's quality target; ``(b"", nan)`` if none fits."""
    import imagecodecs

    h, w, _ = data.shape
    res = max(1, min(6, int(math.log2(min(h, w))) - 2))

    def enc(level: float) -> bytes:
        return imagecodecs.jpeg2k_encode(data, level=level, codecformat="J2K", reversible=False,
                                         mct=False, resolutions=res)

    lo, hi = 1.0, 160.0
    best = b""
    if len(enc(lo)) > budget:
        return best, float("nan")
    for _ in range(18):
        mid = (lo + hi) / 2
        blob = enc(mid)
        if len(blob) <= budget:
            lo, best = mid, blob
        else:
            hi = mid
    return best or enc(lo), lo


# ----------------------------------------------------------------------------- anchors
def pca_j2k(cube, rate: float) -> tuple[int, np.ndarray, dict]:
    import imagecodecs

    x = cube.data.astype(np.float64)
    h, w, c = x.shape
    target = int(rate * h * w * c / 8)
    flat = x.reshape(-1, c)
    mean = flat.mean(axis=0)
    cov = np.cov(flat - mean, rowvar=False)
    vals, vecs = np.linalg.eigh(cov)
    basis_all = vecs[:, ::-1].astype(np.float32)
    mean32 = mean.astype(np.float32)
    best = None
    for k in (2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64):
        if k > c:
            break
        basis = basis_all[:, :k]
        side = 16 + 4 * (c + k * c + k + 1)
        room = target - side
        if room < 64:
            break
        comps = (flat - mean32) @ basis.astype(np.float64)
        lo = comps.min(axis=0)
        span = (comps.max(axis=0) - lo).max()
        scale = np.float32(span / 65535.0 if span > 0 else 1.0)
        q = np.clip(np.rint((comps - lo) / scale), 0, 65535).astype(np.uint16).reshape(h, w, k)
        blob, _ = j2k_at(q, room)
        if not blob:
            continue
        dq = imagecodecs.jpeg2k_decode(blob).reshape(h * w, k).astype(np.float64)
        rec = (dq * float(scale) + lo.astype(np.float32)) @ basis.T.astype(np.float64) + mean32
        rec = to_dtype(rec.reshape(h, w, c), cube.dtype)
        score = psnr(cube, rec)
        if best is None or score > best[3]:
            best = (side + len(blob), rec, {"k": k}, score)
        elif best is not None and score < best[3] - 1.0:
            break  # past the best k
    if best is None:
        raise RuntimeError("no k fits the rate")
    return best[0], best[1], best[2]


def sperr(cube, rate: float) -> tuple[int, np.ndarray, dict]:
    import imagecodecs

    x = np.ascontiguousarray(np.moveaxis(cube.data.astype(np.float64), 2, 0))
    target = rate * x.size / 8
    bpp = rate
    for _ in range(12):  # the header is counted: aim the codestream at the file budget
        blob = imagecodecs.sperr_encode(x, level=bpp, mode="bpp")
        if abs(len(blob) - target) <= 0.01 * target:
            break
        bpp *= target / len(blob)
    rec = np.moveaxis(imagecodecs.sperr_decode(blob), 0, 2)
    return len(blob), to_dtype(rec, cube.dtype), {}


def j2k(cube, rate: float) -> tuple[int, np.ndarray, dict]:
    import imagecodecs

    x = cube.data.astype(np.float64)
    h, w, c = x.shape
    lo = x.min(axis=(0, 1))
    span = x.max(axis=(0, 1)) - lo
    scale = np.where(span > 0, span / 65535.0, 1.0)
    q = np.clip(np.rint((x - lo) / scale), 0, 65535).astype(np.uint16)
    side = 16 + 8 * c
    blob, _ = j2k_at(q, int(rate * x.size / 8) - side)
    if not blob:
        raise RuntimeError("the rate is below JPEG 2000's smallest codestream")
    rec = imagecodecs.jpeg2k_decode(blob).reshape(h, w, c).astype(np.float64) * scale + lo
    return side + len(blob), to_dtype(rec, cube.dtype), {}


def hinerc_codec(effort: int, arch: str = "lowrank") -> Callable:
    def run(cube, rate: float) -> tuple[int, np.ndarray, dict]:
        import hinerc

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "x.hnr"
            res = hinerc.compress(cube, path, bpppb=rate, effort=effort, arch=arch)
            out = hinerc.decompress(path)
            info = hinerc.inspect(path)
            extra = ({"epochs": res.epochs} if arch == "hiner"
                     else {"k": info["model_config"]["rank"]})
            return path.stat().st_size, out.data, extra
    return run


# ----------------------------------------------------------------------------- metrics
def psnr(cube, rec: np.ndarray) -> float:
    from hinerc.bands import nodata_mask
    from hinerc.metrics import mean_psnr

    return mean_psnr(cube.data, rec, nodata_mask(cube))


def measure(cube, codec: str, rate: float) -> dict:
    from hinerc.bands import nodata_mask
    from hinerc.metrics import global_psnr, mean_sam_degrees

    fn = {"pca+j2k": pca_j2k, "sperr": sperr, "j2k": j2k}.get(codec)
    if fn is None:
        fn = hinerc_codec(int(codec.split("-e")[1]), "hiner" if codec.startswith("hiner-")
                          else "lowrank")
    t0 = time.perf_counter()
    size, rec, extra = fn(cube, rate)
    secs = time.perf_counter() - t0
    nd = nodata_mask(cube)
    return {"bpppb": size * 8 / cube.data.size, "psnr_db": psnr(cube, rec),
            "global_psnr_db": global_psnr(cube.data, rec, nd),
            "sam_deg": mean_sam_degrees(cube.data, rec, nd), "seconds": secs, **extra}


# ----------------------------------------------------------------------------- report
def report(db: dict, out: Path) -> str:
    cubes = [k for k in NAMES if any(key.startswith(k + "|") for key in db)]
    codecs = sorted({key.split("|")[1] for key in db},
                    key=lambda s: (s.startswith("hiner"), ANCHORS.index(s) if s in ANCHORS else s))
    lines = [f"R–D on real cubes, {date.today()}, {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} CPU threads. PSNR dB (rate reached, bpppb) per codec; "
             "PSNR = mean of per-band PSNR, peak = band max − min. Command: "
             "`python benchmarks/rd.py` (see its docstring).", ""]
    head = "| cube | target bpppb | " + " | ".join(codecs) + " |"
    lines += [head, "|" + "---|" * (2 + len(codecs))]
    for cube in cubes:
        for rate in RATES:
            cells = []
            for codec in codecs:
                r = db.get(f"{cube}|{codec}|{rate}")
                if r is None:
                    cells.append("—")
                elif "error" in r:
                    cells.append("n/a")
                else:
                    extra = f", k={r['k']}" if "k" in r else ""
                    t = f", {r['seconds']:.0f} s" if codec.startswith("hiner") else ""
                    cells.append(f"{r['psnr_db']:.2f} ({r['bpppb']:.3f}{extra}{t})")
            lines.append(f"| {NAMES[cube]} | {rate} | " + " | ".join(cells) + " |")
    lines += ["", "Global PSNR dB / mean SAM degrees:", "",
              "| cube | target bpppb | " + " | ".join(codecs) + " |",
              "|" + "---|" * (2 + len(codecs))]
    for cube in cubes:
        for rate in RATES:
            cells = []
            for codec in codecs:
                r = db.get(f"{cube}|{codec}|{rate}")
                cells.append("—" if r is None or "error" in r else
                             f"{r['global_psnr_db']:.2f} / {r['sam_deg']:.3f}")
            lines.append(f"| {NAMES[cube]} | {rate} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (out / "rd.md").write_text(text)
    try:
        plot(db, cubes, codecs, out / "rd.png")
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e .[bench])", file=sys.stderr)
    return text


def plot(db: dict, cubes: list[str], codecs: list[str], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(cubes)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6), squeeze=False)
    for ax, cube in zip(axes[0], cubes):
        for codec in codecs:
            pts = sorted((r["bpppb"], r["psnr_db"]) for key, r in db.items()
                         if key.startswith(f"{cube}|{codec}|") and "error" not in r)
            if pts:
                ax.plot(*zip(*pts), marker="o", ms=3, label=codec)
        ax.set_xscale("log")
        ax.set_title(NAMES[cube], fontsize=10)
        ax.set_xlabel("bpppb (file size)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("PSNR dB (mean per band)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cubes", default=",".join(NAMES))
    ap.add_argument("--rates", default=",".join(map(str, RATES)))
    ap.add_argument("--codecs", default=",".join(ANCHORS),
                    help="anchors, hinerc-eN (N = effort 1..9) and/or hiner-eN")
    ap.add_argument("--redo", action="store_true", help="recompute cached points")
    ap.add_argument("--report", action="store_true", help="only rewrite the table and plot")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "rd.json"
    db = json.loads(cache.read_text()) if cache.exists() else {}
    if not args.report:
        for key in args.cubes.split(","):
            cube = load(key)
            for codec in args.codecs.split(","):
                for rate in (float(r) for r in args.rates.split(",")):
                    name = f"{key}|{codec}|{rate}"
                    if name in db and not args.redo:
                        continue
                    try:
                        db[name] = measure(cube, codec, rate)
                    except Exception as exc:  # noqa: BLE001 (a rate a codec cannot reach)
                        db[name] = {"error": f"{type(exc).__name__}: {exc}"}
                    print(name, json.dumps(db[name]), flush=True)
                    cache.write_text(json.dumps(db, indent=1, sort_keys=True))
    print(report(db, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
