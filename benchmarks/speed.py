"""Encoding and decoding speed per effort level, timed as a user sees it (whole processes).

For Jasper Ridge and the EnMAP Potsdam mosaic at 0.25 bpppb and each effort level: encode wall
time (``hinerc compress``, process start to file written), the model (the rank for the default
``lowrank`` model; epochs and seconds per epoch, training time / epochs from the file's report,
for ``--arch hiner``), PSNR, decode wall time (``hinerc decompress`` to .npy) and ``hinerc info``
wall time. The lowrank model runs on the CPU; ``--arch hiner`` runs on ``--device``.

    python benchmarks/speed.py [--efforts 1,3,5,7,9] [--rate 0.25] [--arch lowrank|hiner]
                               [--device auto]

Prints a markdown table and writes it to ``benchmarks/results/speed.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from cubes import SHARED, enmap_mosaic

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-1500:]}")
    return time.perf_counter() - t0, r.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--efforts", default="1,2,3,4,5,6,7,8,9")
    ap.add_argument("--rate", type=float, default=0.25)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--arch", default="lowrank", choices=["lowrank", "hiner"])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    from hinerc.io import write_cube

    hinerc = [sys.executable, "-m", "hinerc"]
    lines = ["| cube | effort | model | encode s | PSNR dB | bpppb | decode s | info s |",
             "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        mosaic = Path(tmp) / "enmap_mosaic.tif"
        write_cube(enmap_mosaic(), mosaic)
        cubes = {"Jasper Ridge": SHARED / "jasper_ridge" / "jasperRidge2_R198.hdr",
                 "EnMAP mosaic": mosaic}
        for name, src in cubes.items():
            for e in (int(x) for x in args.efforts.split(",")):
                hnr, dec = Path(tmp) / "x.hnr", Path(tmp) / "x.npy"
                enc_s, _ = timed([*hinerc, "compress", str(src), "-o", str(hnr), "--bpppb",
                                  str(args.rate), "-e", str(e), "--arch", args.arch,
                                  "--device", args.device,
                                  "--quiet", "--force"])
                dec_s, _ = timed([*hinerc, "decompress", str(hnr), "-o", str(dec), "--device",
                                  args.device, "--quiet", "--force"])
                info_s, out = timed([*hinerc, "info", str(hnr), "--json"])
                d = json.loads(out)
                model = (f"rank {d['model_config']['rank']}" if d["arch"] == "lowrank" else
                         f"{d['epochs']} epochs, {d['encode_seconds'] / d['epochs']:.2f} s/epoch")
                row = (f"| {name} | {e} | {model} | {enc_s:.1f} | {d['psnr_db']:.2f} | "
                       f"{d['bpppb']:.4f} | {dec_s:.2f} | {info_s:.2f} |")
                lines.append(row)
                print(row, flush=True)
                os.unlink(dec)
    args.out.mkdir(parents=True, exist_ok=True)
    text = (f"# Speed\n\n{date.today()}, {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"--arch {args.arch}, device {args.device}, Python {platform.python_version()}, "
            f"{args.rate} bpppb.\nCommand: `python benchmarks/speed.py --efforts {args.efforts} "
            f"--rate {args.rate} --arch {args.arch} --device {args.device}`\n\n"
            + "\n".join(lines) + "\n")
    name = "speed.md" if args.arch == "lowrank" else f"speed_{args.arch}.md"
    (args.out / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
