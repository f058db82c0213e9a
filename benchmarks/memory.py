"""Peak memory of ``hinerc compress`` on large synthetic scenes: bounded by the tile, not the scene.

For each size (256², 1024², 2048² pixels × 224 bands, int16), a smooth, spectrally low-rank
synthetic scene with noise is written to a ``.npy`` (built in slices through a memory map), then
compressed at the lowest effort (one training epoch) with the default 256×256 tiles and decoded,
each under ``/usr/bin/time -v``; the table gives wall time and peak resident memory.

    python benchmarks/memory.py [--sizes 256,1024,2048] [--bpppb 0.02] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BANDS = 224


def make_scene(path: Path, size: int, seed: int = 0) -> None:
    """Write a size×size×224 int16 scene: 4 smooth endmember maps mixed by random spectra."""
    rng = np.random.default_rng(seed)
    spectra = rng.uniform(500, 4000, (4, BANDS))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.int16, shape=(size, size, BANDS))
    x = np.arange(size) / 64.0
    for r0 in range(0, size, 128):
        y = (np.arange(r0, min(r0 + 128, size)) / 64.0)[:, None]
        maps = np.stack([np.sin(x + 2 * y) ** 2, np.cos(0.7 * x - y) ** 2,
                         0.5 + 0.5 * np.sin(0.3 * x * y), np.full((y.size, size), 0.3)], -1)
        block = maps @ spectra + rng.normal(0, 20, (y.size, size, BANDS))
        out[r0: r0 + y.size] = np.clip(block, -32768, 32767).astype(np.int16)
    out.flush()
    del out


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of a command under /usr/bin/time -v."""
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", r.stderr)
    parts = [float(p) for p in wall.group(1).split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return secs, rss / 1024 / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="256,1024,2048")
    ap.add_argument("--bpppb", type=float, default=0.02)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    hinerc = [sys.executable, "-m", "hinerc"]
    lines = ["| scene | input GB | tiles | compress s | compress peak RSS GB | bpppb | "
             "decompress s | decompress peak RSS GB |", "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(dir=ROOT.parent if (ROOT.parent).is_dir() else None) as tmp:
            src, hnr, dec = Path(tmp) / "scene.npy", Path(tmp) / "scene.hnr", Path(tmp) / "dec.npy"
            make_scene(src, size)
            c_s, c_gb = timed([*hinerc, "compress", str(src), "-o", str(hnr), "--bpppb",
                               str(args.bpppb), "--epochs", "1", "--quiet"])
            d_s, d_gb = timed([*hinerc, "decompress", str(hnr), "-o", str(dec), "--quiet"])
            bpppb = hnr.stat().st_size * 8 / (size * size * BANDS)
            tiles = (-(-size // 256)) ** 2
            row = (f"| {size}×{size}×{BANDS} int16 | {src.stat().st_size / 1e9:.2f} | {tiles} | "
                   f"{c_s:.0f} | {c_gb:.2f} | {bpppb:.4f} | {d_s:.0f} | {d_gb:.2f} |")
            lines.append(row)
            print(row, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    text = (f"# Peak memory\n\n{date.today()}, {platform.machine()}, 2 CPU cores, Python "
            f"{platform.python_version()}; default 256×256 tiles, 1 epoch, --bpppb {args.bpppb}.\n"
            f"Command: `python benchmarks/memory.py --sizes {args.sizes} --bpppb {args.bpppb}`\n\n"
            + "\n".join(lines) + "\n")
    (args.out / "memory.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
