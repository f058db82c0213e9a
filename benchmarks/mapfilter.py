"""The map filter (MFLT): what it gains, at equal file size, on the benchmark cubes.

Each point codes the cube twice in the same process at the same effort and rate, with
``map_filter="off"`` and ``"auto"`` (the encoder trains a filter, codes the cube again with its
bytes taken from the maps, and keeps the better file), and prints one Markdown row: real rates
(every byte of the file), mean per-band PSNR of the decoded cube in its own units (the anchors'
``psnr_band``), the rank, the filter's bytes (— where the encoder did not keep one), and the
encode and decode seconds of each. The cubes are loaded as ``rd.py`` loads them (the anchors'
``cubes.py``)::

    python benchmarks/mapfilter.py                                   # Jasper, CAVE, ABU at 0.25
    python benchmarks/mapfilter.py --cubes jasper --rates 0.1,0.25 --effort 9
    python benchmarks/mapfilter.py --cubes benchmarks/scenes/jasper-1000.hdr --rates 0.2

A cube given as a path (an ENVI header: the scenes ``benchmarks/scene.py --build-only`` writes)
is read with hinerc's reader and measured the same way.

Times are wall seconds on a shared machine: compare the two columns of one row, not rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

import rd


def load(key: str) -> tuple[np.ndarray, np.ndarray]:
    """A benchmark cube by its name in the anchors' ``cubes.py``, or a cube file by its path."""
    if key.endswith(".hdr"):
        from hinerc.io import read_cube

        cube = read_cube(key)
        return np.ascontiguousarray(cube.data), cube.wavelengths_nm
    return rd.load(key)


def point(key: str, rate: float, effort: int, mode: str) -> dict:
    import hinerc
    from hinerc.io import Cube

    data, wl = load(key)
    metrics = rd._anchors()[3]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.hnr"
        t0 = time.perf_counter()
        hinerc.compress(Cube(data, wavelengths_nm=wl), path, bpppb=rate, effort=effort, seed=0,
                        map_filter=mode)
        enc = time.perf_counter() - t0
        t0 = time.perf_counter()
        rec = hinerc.decompress(path).data
        dec = time.perf_counter() - t0
        info = hinerc.inspect(path)
        return {"bpppb": path.stat().st_size * 8 / data.size,
                "psnr": float(metrics.psnr_band(data, np.asarray(rec).astype(data.dtype))),
                "rank": info.get("rank"), "mflt": info["sections"].get("MFLT"),
                "encode_s": enc, "decode_s": dec}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cubes", default="jasper,cave_chart_256,abu_beach")
    ap.add_argument("--rates", default="0.25")
    ap.add_argument("--effort", type=int, default=7)
    a = ap.parse_args(argv)
    print(f"`python benchmarks/mapfilter.py --cubes {a.cubes} --rates {a.rates} "
          f"--effort {a.effort}` — {date.today()}\n")
    print("| cube | bpppb | without: bpppb, dB, k | with: bpppb, dB, k | gain dB | MFLT bytes "
          "| encode s without / with | decode s without / with |")
    print("|---|---|---|---|---|---|---|---|")
    for key in a.cubes.split(","):
        for rate in map(float, a.rates.split(",")):
            off = point(key, rate, a.effort, "off")
            on = point(key, rate, a.effort, "auto")
            print(f"| {rd.NAMES.get(key, Path(key).stem)} | {rate:g} "
                  f"| {off['bpppb']:.4f}, {off['psnr']:.2f}, {off['rank']} "
                  f"| {on['bpppb']:.4f}, {on['psnr']:.2f}, {on['rank']} "
                  f"| {on['psnr'] - off['psnr']:+.2f} "
                  f"| {on['mflt'] - 12 if on['mflt'] else '—'} "
                  f"| {off['encode_s']:.1f} / {on['encode_s']:.1f} "
                  f"| {off['decode_s']:.2f} / {on['decode_s']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
