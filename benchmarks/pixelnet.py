"""The pixel network's gain alone (PNET, ``hinerc/codecs/lowrank/pixelnet.py``).

Each cube is compressed at each rate with ``--pixel-net off`` and with the network allowed a
share of the file's bytes (``pixelnet.MAX_SHARE``: 1% is the codec's rule; larger shares show
what a network would cost and gain on cubes too small for the rule), at the default effort, in
this process; the table gives the PSNR of both files (mean per-band PSNR on the real pixels, in
the cube's units), the network's bytes and width, and the encode times. ``--ablation`` trains
networks of other batch sizes and step counts on one file's decoded maps instead.

    python benchmarks/pixelnet.py                       # Jasper Ridge 100² and the EnMAP mosaic
    python benchmarks/pixelnet.py --scene CACHE/jasper-500.hdr --shares 0.01 --rates 0.2
    python benchmarks/pixelnet.py --ablation CACHE/jasper-1000.hdr

Writes ``benchmarks/results/pixelnet.md`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _encode(cube, rate: float, share: float | None, out: Path, iters: int | None = None,
            batch: int | None = None):
    import hinerc
    from hinerc.codecs.lowrank import pixelnet, presets

    saved = (pixelnet.MAX_SHARE, pixelnet.BATCH, presets.EFFORTS[5])
    try:
        if share is not None:
            pixelnet.MAX_SHARE = share
        if batch is not None:
            pixelnet.BATCH = batch
        if iters is not None:
            presets.EFFORTS[5] = dataclasses.replace(presets.EFFORTS[5], pixel_iters=iters)
        opts = {"pixel_net": "off"} if share is None else {}
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = hinerc.compress(cube, out, bpppb=rate, force=True, **opts)
        secs = time.perf_counter() - t
    finally:
        pixelnet.MAX_SHARE, pixelnet.BATCH, presets.EFFORTS[5] = saved
    info = hinerc.inspect(out)
    net = info["model_sections"].get("PNET", 0)
    width = ""
    if net:
        summary = info["model_summary"]
        width = summary[summary.index("pixel network (") + 15:].split(",")[0]
    return {"psnr": r.psnr_db, "bpppb": info["bpppb"], "secs": secs, "net_bytes": net,
            "net": width, "rank": info.get("rank")}


def gains(cubes: dict, rates: list[float], shares: list[float]) -> list[str]:
    rows = ["| cube | bpppb | share | PSNR without | PSNR with | gain dB | network | its bytes "
            "| rank without / with | encode s without / with |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, cube in cubes.items():
            for rate in rates:
                off = _encode(cube, rate, None, Path(tmp) / "off.hnr")
                for share in shares:
                    try:
                        on = _encode(cube, rate, share, Path(tmp) / "on.hnr")
                    except Exception as exc:  # noqa: BLE001 (a share the codec never uses)
                        rows.append(f"| {name} | {rate:g} | {share:.0%} | {off['psnr']:.2f} | "
                                    f"| | failed: {exc} | | | |")
                        print(rows[-1], flush=True)
                        continue
                    net = on["net"] or "none (too small, or no gain)"
                    rows.append(
                        f"| {name} | {rate:g} | {share:.0%} | {off['psnr']:.2f} | "
                        f"{on['psnr']:.2f} | {on['psnr'] - off['psnr']:+.2f} | {net} | "
                        f"{on['net_bytes']:,} | {off['rank']} / {on['rank']} | "
                        f"{off['secs']:.1f} / {on['secs']:.1f} |")
                    print(rows[-1], flush=True)
    return rows


def ablation(path: Path, rate: float) -> list[str]:
    from hinerc.io import read_cube

    cube = read_cube(path)
    rows = ["| batch | steps | PSNR | gain dB over no network | encode s |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        off = _encode(cube, rate, None, Path(tmp) / "off.hnr")
        rows.append(f"| no network | | {off['psnr']:.2f} | | {off['secs']:.1f} |")
        for batch, iters in ((4096, 1000), (2048, 1000), (1024, 2000), (512, 3000),
                             (512, 4000), (256, 6000)):
            on = _encode(cube, rate, 0.01, Path(tmp) / "on.hnr", iters, batch)
            rows.append(f"| {batch} | {iters} | {on['psnr']:.2f} | "
                        f"{on['psnr'] - off['psnr']:+.2f} | {on['secs']:.1f} |")
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rates", default="0.25,0.5,1.0")
    ap.add_argument("--shares", default="0.01,0.05,0.1,0.2")
    ap.add_argument("--scene", action="append", default=[], help="a cube file to add")
    ap.add_argument("--no-shared", action="store_true", help="only the --scene cubes")
    ap.add_argument("--ablation", type=Path, help="batch/steps ablation on this cube file")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "pixelnet.md")
    args = ap.parse_args()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cmd = "python benchmarks/pixelnet.py " + " ".join(sys.argv[1:])
    if args.ablation:
        rows = ablation(args.ablation, float(args.rates.split(",")[0]))
        title = f"## Training ablation: {args.ablation.name}, {args.rates.split(',')[0]} bpppb"
    else:
        from hinerc.io import read_cube

        cubes = {}
        if not args.no_shared:
            from cubes import enmap_mosaic, SHARED

            cubes["Jasper Ridge 100²×198"] = read_cube(
                SHARED / "jasper_ridge" / "jasperRidge2_R198.hdr")
            cubes["EnMAP mosaic 128×64×224"] = enmap_mosaic()
        for s in args.scene:
            cubes[Path(s).stem] = read_cube(s)
        rows = gains(cubes, [float(r) for r in args.rates.split(",")],
                     [float(s) for s in args.shares.split(",")])
        title = "## Gain of the pixel network, by the share of the bytes it may take"
    text = "\n".join([title, "", f"`{cmd}` — {stamp}, {np.__name__} {np.__version__}", ""]
                     + rows) + "\n"
    args.out.parent.mkdir(exist_ok=True)
    old = args.out.read_text() if args.out.exists() else "# The pixel network (PNET)\n"
    args.out.write_text(old.rstrip("\n") + "\n\n" + text)
    print(text)


if __name__ == "__main__":
    main()
