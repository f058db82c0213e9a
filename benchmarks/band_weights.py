"""What weighing the bands in the KLT by their errors (``--band-weights error``, the default at
efforts 3–9) does to each measure of quality, against the original units (``units``) and the
best classical anchor at the same point.

Why: the weights serve the band-mean PSNR (the mean over bands of each band's PSNR, which
``benchmarks/rd.py`` and the issues compare by): a band of small error counts more. The cube's
overall squared error (PSNR with the cube's range as peak) and the worst band move too, and a
user should see by how much. Each row codes the cube at the rate both ways in the same process
and runs the best anchor of that point (from ``benchmarks/results/rd.json``) again::

    python benchmarks/band_weights.py                      # every cube and rate of rd.py
    python benchmarks/band_weights.py --cubes jasper --rates 0.25 --effort 5

Writes ``benchmarks/results/band_weights.md`` (``--out``) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rd  # noqa: E402  (the cubes, the anchors and their cached points)


def _quality(metrics, data: np.ndarray, rec: np.ndarray) -> dict:
    rec = np.asarray(rec).astype(data.dtype)
    bands = metrics.psnr_bands(data, rec)
    return {"band_mean": float(metrics.psnr_band(data, rec)),
            "global": float(metrics.psnr_global(data, rec)),
            "worst": float(np.nanmin(bands)), "sam": float(metrics.sam_deg(data, rec))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cubes", default=",".join(rd.NAMES))
    ap.add_argument("--rates", default=",".join(map(str, rd.RATES)))
    ap.add_argument("--effort", type=int, default=5)
    ap.add_argument("--out", type=Path, default=rd.RESULTS / "band_weights.md")
    args = ap.parse_args(argv)
    metrics = rd._anchors()[3]
    cache = json.loads((rd.RESULTS / "rd.json").read_text()) if (rd.RESULTS / "rd.json").exists() else {}
    head = ("| cube | bpppb | best anchor | its band-mean / overall / worst band dB / SAM | "
            f"-e{args.effort} units: the same | -e{args.effort} error: the same | "
            "error − units, band-mean / overall | "
            "error − anchor, band-mean / overall | encode s units / error |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    print("\n".join(rows), flush=True)
    for key in args.cubes.split(","):
        data, wl = rd.load(key)
        for rate in (float(r) for r in args.rates.split(",")):
            best = rd.best_anchor(cache, key, rate)
            q = {}
            if best is not None:
                try:
                    rec, _, _ = _run_anchor(best[0], data, rate)
                    q["anchor"] = _quality(metrics, data, rec)
                except (OSError, RuntimeError) as exc:  # its encoder is missing here
                    print(f"{best[0]} cannot run: {exc}", file=sys.stderr)
            for weights in ("units", "error"):
                r = rd.run_hinerc(f"hinerc-e{args.effort}", data, wl, rate,
                                  band_weights=weights)
                q[weights] = _quality(metrics, data, r.pop("rec"))
                q[weights]["s"] = r["encode_s"]
            u, e, a = q["units"], q["error"], q.get("anchor")
            fmt = lambda d: (f"{d['band_mean']:.2f} / {d['global']:.2f} / {d['worst']:.2f} / "
                             f"{d['sam']:.2f}°")
            row = (f"| {rd.NAMES.get(key, key)} | {rate} | {best[0] if a else '—'} | "
                   f"{fmt(a) if a else '—'} | {fmt(u)} | {fmt(e)} | "
                   f"{e['band_mean'] - u['band_mean']:+.2f} / {e['global'] - u['global']:+.2f} | "
                   + (f"{e['band_mean'] - a['band_mean']:+.2f} / {e['global'] - a['global']:+.2f}"
                      if a else "—") + f" | {u['s']:.0f} / {e['s']:.0f} |")
            rows.append(row)
            print(row, flush=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "python benchmarks/band_weights.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = (f"# Band weights in the KLT: each measure of quality\n\n`{cmd.strip()}` — {stamp}, "
            f"{os.cpu_count()} CPUs (load {os.getloadavg()[0]:.1f} at the end). PSNR in dB: "
            "band-mean = the mean of each band's PSNR (peak: the band's range; what rd.py "
            "compares), overall = the cube's squared error (peak: the cube's range), worst = "
            "the lowest band's PSNR; SAM: the mean spectral angle (degrees). The anchor is the best one of the point in rd.json, run "
            "again here.\n\n" + "\n".join(rows) + "\n")
    args.out.write_text(text)


def _run_anchor(name: str, data: np.ndarray, rate: float):
    r = rd.run_anchor(name, data, rate)
    return r["rec"], r["bpppb"], r["encode_s"]


if __name__ == "__main__":
    main()
