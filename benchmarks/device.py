"""Where the networks train (issue 18, item 5): the same encode with ``--device cpu`` and
``cuda``, CAVE's whole 512×512×31 chart at the highest effort by default.

For each device: the encode's wall seconds and those of its stages (``on_stage``: the rank
search, the map filter's training, the pixel network's), the decode's seconds (always on the
CPU), the mean per-band PSNR of the decoded cube in its own units (the anchors' ``psnr_band``),
the real rate, what the file carries, and the SHA-256 of the decoded samples in fresh
processes of 1 thread and of all threads (a file decodes to the same bits whatever trained
it). Then the CPU / CUDA encode-time ratio of the same run. Prints Markdown::

    python benchmarks/device.py                           # cave_chart 0.25 bpppb -e9, cpu and cuda
    python benchmarks/device.py --devices cpu --cube jasper --effort 7 --rate 0.25

A device that is not there (no CUDA) is reported as such, not skipped silently.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import rd

_DECODE = ("import hashlib, sys, numpy as np, hinerc; "
           "d = np.ascontiguousarray(hinerc.decompress(sys.argv[1], device='cpu').data); "
           "print(hashlib.sha256(d.tobytes()).hexdigest())")


def decoded_hash(path: Path, threads: int | None) -> str:
    """SHA-256 of the decoded samples in a fresh process (``threads``: BLAS/OpenMP threads)."""
    env = dict(os.environ)
    if threads:
        env.update({v: str(threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                               "MKL_NUM_THREADS")})
    out = subprocess.run([sys.executable, "-c", _DECODE, str(path)], env=env,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def run(data: np.ndarray, wl: np.ndarray, rate: float, effort: int, device: str,
        tmp: Path) -> dict:
    import hinerc
    from hinerc.io import Cube

    metrics = rd._anchors()[3]
    path = tmp / f"{device.replace(':', '_')}.hnr"
    stages: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    hinerc.compress(Cube(data, wavelengths_nm=wl), path, bpppb=rate, effort=effort, seed=0,
                    device=device, on_stage=lambda s: stages.append((s, time.perf_counter())))
    end = time.perf_counter()
    marks = [t0] + [t for _, t in stages] + [end]
    spans = {"search": marks[1] - marks[0]} if stages else {}
    for (name, t), t_next in zip(stages, marks[2:]):
        spans[name] = spans.get(name, 0.0) + t_next - t
    t1 = time.perf_counter()
    rec = hinerc.decompress(path, device="cpu").data
    dec = time.perf_counter() - t1
    info = hinerc.inspect(path)
    one, many = decoded_hash(path, 1), decoded_hash(path, None)
    return {"device": info.get("device"), "encode_s": end - t0, "decode_s": dec,
            "psnr": float(metrics.psnr_band(data, np.asarray(rec).astype(data.dtype))),
            "bpppb": path.stat().st_size * 8 / data.size, "summary": info.get("model_summary"),
            "spans": spans, "same_bits": one == many, "sha": one[:12]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cube", default="cave_chart", help="a name of the anchors' cubes.py")
    ap.add_argument("--rate", type=float, default=0.25)
    ap.add_argument("--effort", type=int, default=9)
    ap.add_argument("--devices", default="cpu,cuda")
    a = ap.parse_args(argv)
    data, wl = rd.load(a.cube)
    h, w, c = data.shape
    print(f"`python benchmarks/device.py --cube {a.cube} --rate {a.rate} --effort {a.effort} "
          f"--devices {a.devices}` — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPU threads, load {os.getloadavg()[0]:.1f}\n")
    print(f"{a.cube}: {h}×{w}×{c} {data.dtype}\n")
    print("| device | encode s | stages s | decode s (CPU) | PSNR dB | bpppb | decoded SHA-256 "
          "| 1 thread = all | file |")
    print("|---|---|---|---|---|---|---|---|---|")
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for device in a.devices.split(","):
            try:
                r = run(data, wl, a.rate, a.effort, device, Path(tmp))
            except Exception as exc:  # noqa: BLE001 - a missing device is a row, not a crash
                print(f"| {device} | — | — | — | — | — | — | — | not run: {exc} |", flush=True)
                continue
            times[device] = r["encode_s"]
            spans = "; ".join(f"{k} {v:.1f}" for k, v in r["spans"].items())
            print(f"| {r['device']} | {r['encode_s']:.1f} | {spans} | {r['decode_s']:.2f} "
                  f"| {r['psnr']:.2f} | {r['bpppb']:.4f} | {r['sha']}… "
                  f"| {'yes' if r['same_bits'] else 'NO'} | {r['summary']} |", flush=True)
    if "cpu" in times and len(times) > 1:
        for dev, t in times.items():
            if dev != "cpu":
                print(f"\nencode time cpu / {dev}: {times['cpu'] / t:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
