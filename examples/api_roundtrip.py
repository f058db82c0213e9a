"""Compress, inspect and decode a cube with the Python API, then check the quality yourself.

    python examples/api_roundtrip.py [CUBE] [BPPPB]

Defaults to the bundled Jasper Ridge crop at 0.5 bpppb.
"""

import sys
import tempfile
from pathlib import Path

import hinerc
from hinerc.metrics import mean_psnr

here = Path(__file__).resolve().parent
src = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "data" / "jasper_ridge_crop.hdr"
rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5

original = hinerc.read_cube(src)
print(f"{src.name}: {original.shape} {original.dtype}")

with tempfile.TemporaryDirectory() as tmp:
    hnr = Path(tmp) / "cube.hnr"
    result = hinerc.compress(original, hnr, bpppb=rate, seed=0)  # arch="hiner" for the network
    print(f"compressed: {result.size_bytes:,} bytes = {result.bpppb:.4f} bpppb, "
          f"PSNR {result.psnr_db:.2f} dB in {result.seconds:.1f} s")

    facts = hinerc.inspect(hnr)  # header only, no decoding
    print(f"info: {facts['shape']} {facts['dtype']}, {facts['compression_ratio']:.1f}:1, "
          f"model {facts['arch']}")

    decoded = hinerc.decompress(hnr, Path(tmp) / "decoded.hdr")
    print(f"decoded: {decoded.shape} {decoded.dtype}, "
          f"PSNR recomputed {mean_psnr(original.data, decoded.data):.2f} dB")
