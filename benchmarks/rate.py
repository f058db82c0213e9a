"""Rate-control sweep: does ``--bpppb R`` land the written file within ±3% of R?

For every cube of ``../shared/data`` with at least 64×64 pixels (Jasper Ridge, ABU beach, the
CAVE scene, and the EnMAP Potsdam 128×64 mosaic), at each rate, compress with a short training
(rate control does not depend on training length: the budget comes from the rate, and the final
size is measured from the bytes) and report the real rate from the file size.

    python benchmarks/rate.py [--epochs 1] [--rates 0.05,0.1,0.25,0.5,1,2] [--out benchmarks/results]

Prints a markdown table and writes it to ``OUT/rate_control.md``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from cubes import load_cubes

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--rates", default="0.05,0.1,0.25,0.5,1,2")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    import hinerc

    rates = [float(r) for r in args.rates.split(",")]
    lines = ["| cube | target bpppb | file bytes | real bpppb | error | within ±3% | encode s |",
             "|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    ok = True
    for name, cube in load_cubes().items():
        for r in rates:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "c.hnr"
                t0 = time.perf_counter()
                try:
                    hinerc.compress(cube, out, bpppb=r, epochs=args.epochs, seed=0)
                except hinerc.HinercError as exc:
                    row = f"| {name} | {r:g} | – | – | – | refused: {exc} | – |"
                    ok = False
                else:
                    size = out.stat().st_size
                    real = size * 8 / np.prod(cube.shape)
                    err = real / r - 1
                    inside = abs(err) <= 0.03
                    ok &= inside
                    row = (f"| {name} | {r:g} | {size:,} | {real:.4f} | {err * 100:+.2f}% | "
                           f"{'yes' if inside else 'NO'} | {time.perf_counter() - t0:.1f} |")
            lines.append(row)
            print(row, flush=True)
    header = (f"# Rate control\n\n{date.today()}, hinerc {hinerc.__version__}, "
              f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
              f"{args.epochs} training epoch(s) per point, seed 0.\n"
              f"Command: `python benchmarks/rate.py --epochs {args.epochs} --rates {args.rates}`\n\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rate_control.md").write_text(header + "\n".join(lines) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
