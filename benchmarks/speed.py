"""Encode time and quality per effort level, as ratios to a reference run in the same process.

The machine these run on is shared and noisy, so absolute seconds say little: every level's
encode is paired with a fresh encode at the reference level (default 5, the default) just
before it, in this process, and the table gives the level's time divided by its reference's, in
CPU seconds of this process (``time.process_time``) and in wall seconds; ``--repeat`` pairs
each level several times and keeps the median ratio. The reference level's own row (its time
over another reference run) shows the noise. PSNR is the encoder's (mean per-band PSNR of the
decoded file).

    python benchmarks/speed.py [--efforts 1,...,9] [--rates 0.2,0.5] [--reference 5]
                               [--repeat 1] [--arch lowrank|hiner] [--data DIR]

Runs on Jasper Ridge (``DIR/jasper_ridge/jasperRidge2_R198.hdr``); prints a markdown table and
writes it to ``benchmarks/results/speed.md`` (``speed_hiner.md`` with ``--arch hiner``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

from cubes import SHARED

ROOT = Path(__file__).resolve().parents[1]


def timed(cube, level: int, rate: float, arch: str, out: Path):  # noqa: ANN001, ANN201
    """One encode of the cube in memory to ``out``: (CPU s, wall s, result, model)."""
    import hinerc

    c0, w0 = time.process_time(), time.perf_counter()
    res = hinerc.compress(cube, out, bpppb=rate, effort=level, arch=arch, seed=0, force=True)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    info = hinerc.inspect(out)
    model = (f"rank {info['model_config']['rank']}" if info["arch"] == "lowrank"
             else f"{info['epochs']} epochs")
    return cpu, wall, res, model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--efforts", default="1,2,3,4,5,6,7,8,9")
    ap.add_argument("--rates", default="0.2,0.5")
    ap.add_argument("--reference", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--arch", default="lowrank", choices=["lowrank", "hiner"])
    ap.add_argument("--data", type=Path, default=SHARED, help="the shared data folder")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    from hinerc.io import read_cube

    src = args.data / "jasper_ridge" / "jasperRidge2_R198.hdr"
    if not src.exists():
        raise SystemExit(f"{src} is missing (see --data)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = read_cube(src)
    efforts = [int(x) for x in args.efforts.split(",")]
    ref = args.reference
    head = [f"| bpppb | effort | model | PSNR dB | Δ PSNR vs e{ref} | rate reached | "
            f"CPU time ÷ e{ref} | wall time ÷ e{ref} | e{ref} CPU s | e{ref} wall s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    lines = list(head)
    print("\n".join(lines), flush=True)
    tmp = tempfile.TemporaryDirectory()
    out = Path(tmp.name) / "x.hnr"
    timed(cube, efforts[0], 0.2, args.arch, out)  # imports and caches warm before any timing
    for rate in (float(x) for x in args.rates.split(",")):
        for e in efforts:
            cpu, wall, ref_cpu, ref_wall = [], [], [], []
            for _ in range(args.repeat):
                rc, rw, base, _ = timed(cube, ref, rate, args.arch, out)
                c, w, res, model = timed(cube, e, rate, args.arch, out)
                cpu.append(c / rc)
                wall.append(w / rw)
                ref_cpu.append(rc)
                ref_wall.append(rw)
            row = (f"| {rate:g} | {e} | {model} | {res.psnr_db:.2f} | "
                   f"{res.psnr_db - base.psnr_db:+.3f} | {res.bpppb:.4f} | "
                   f"{statistics.median(cpu):.2f} | {statistics.median(wall):.2f} | "
                   f"{statistics.median(ref_cpu):.1f} | {statistics.median(ref_wall):.1f} |")
            lines.append(row)
            print(row, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    text = (f"# Speed per effort level\n\n{date.today()}, {platform.machine()}, "
            f"{os.cpu_count()} CPU cores (shared), --arch {args.arch}, Python "
            f"{platform.python_version()}, Jasper Ridge 100×100×198.\n"
            f"Command: `python benchmarks/speed.py --efforts {args.efforts} --rates {args.rates} "
            f"--reference {ref} --repeat {args.repeat} --arch {args.arch}`\n\n"
            f"Each level's encode (of the cube in memory) follows a fresh encode at "
            f"effort {ref} in the same process; the times are the level's over that run's "
            f"(median of {args.repeat}), CPU seconds of the process and wall seconds. The "
            f"effort-{ref} rows time one reference run over another: their distance from 1 is "
            f"the noise. The last two columns are the reference runs' own seconds.\n\n"
            + "\n".join(lines) + "\n")
    name = "speed.md" if args.arch == "lowrank" else f"speed_{args.arch}.md"
    (args.out / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
