"""What a mean PSNR hides: the quality record of ``compress`` and the per-band PSNR behind it.

Compresses a cube at each rate and prints what ``hinerc compress`` reports (mean per-band PSNR,
worst band with its wavelength, mean SAM, largest absolute error), plus how many bands fall below
a threshold and the worst few bands, measured again on the decoded file. Default: the AVIRIS-NG
radiance chip of ``../shared/data/aviris_ng_isofit`` (30×25×425, with water absorption bands).

    python benchmarks/quality.py [--cube PATH] [--rates 0.2,0.5] [--below 30] [--effort 5]

Prints a markdown table and writes it to ``benchmarks/results/quality.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from datetime import date
from pathlib import Path

import numpy as np

from cubes import SHARED

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = SHARED / "aviris_ng_isofit" / "ang20160910t185702_2rdn_img.hdr"


def measure(path: Path, rate: float, effort: int, below: float) -> dict:
    import hinerc
    from hinerc.bands import nodata_mask
    from hinerc.io import read_cube
    from hinerc.metrics import band_psnr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = read_cube(path)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "q.hnr"
        res = hinerc.compress(cube, out, bpppb=rate, effort=effort)
        dec = hinerc.decompress(out).data
    p = band_psnr(cube.data, dec, nodata_mask(cube))
    order = np.argsort(np.where(np.isnan(p), np.inf, p))
    wl = cube.wavelengths_nm
    worst = ", ".join(f"{i + 1}" + (f" ({wl[i]:.0f} nm)" if wl is not None else "")
                      + f" {p[i]:.1f}" for i in order[:5])
    return {"rate": res.bpppb, "psnr": res.psnr_db, "worst": res.worst_band_psnr_db,
            "band": res.worst_band, "nm": res.worst_band_nm, "sam": res.sam_deg,
            "err": res.max_abs_error, "below": int(np.sum(p < below)), "bands": p.size,
            "worst5": worst}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cube", type=Path, default=DEFAULT)
    ap.add_argument("--rates", default="0.2,0.5,1.0")
    ap.add_argument("--below", type=float, default=30.0)
    ap.add_argument("--effort", type=int, default=5)
    args = ap.parse_args()
    lines = [f"Quality record of `hinerc compress` on `{args.cube.name}`, {date.today()}, "
             f"effort {args.effort}. PSNR = mean of per-band PSNR (peak = band max − min); "
             "SAM = mean spectral angle per pixel; error in original units. Command: "
             "`python benchmarks/quality.py`.", "",
             f"| bpppb | mean PSNR dB | worst band dB (band, nm) | bands < {args.below:g} dB "
             "| SAM ° | max abs error | five worst bands (band (nm) dB) |",
             "|---|---|---|---|---|---|---|"]
    for rate in (float(r) for r in args.rates.split(",")):
        m = measure(args.cube, rate, args.effort, args.below)
        nm = f", {m['nm']:.2f} nm" if m["nm"] is not None else ""
        lines.append(f"| {m['rate']:.4f} | {m['psnr']:.2f} | {m['worst']:.2f} (band {m['band']}"
                     f"{nm}) | {m['below']} of {m['bands']} | {m['sam']:.3f} | {m['err']:.4g} "
                     f"| {m['worst5']} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    (ROOT / "benchmarks" / "results" / "quality.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
