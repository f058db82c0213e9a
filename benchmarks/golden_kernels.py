"""Does decoding depend on the BLAS kernel or the thread count? Measured on the golden files.

Every golden ``.hnr`` of ``tests/data/golden`` is decoded (on the CPU) in a fresh process under
each environment below: OpenBLAS core types (numpy's products, used by the low-rank decoder)
and thread counts, and, for the network's torch convolutions, oneDNN's and ATen's instruction
set limits. Each decode is compared with what the file's own writer decoded (the hash in
``golden.json``) and with the decode under ``OMP_NUM_THREADS=1``: how many samples differ, by
how much (absolute, and in float32/integer steps of the sample). This is what
``tests/test_golden.py``'s choice between exact hashes and tolerances rests on.

    python benchmarks/golden_kernels.py

Prints a markdown report and writes it to ``benchmarks/results/golden_kernels.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden"
OUT = ROOT / "benchmarks" / "results" / "golden_kernels.md"

#: name → environment variables of one run; OMP_NUM_THREADS=1 is the reference of the diffs.
RUNS = {
    "omp1": {"OMP_NUM_THREADS": "1"},
    "omp2": {"OMP_NUM_THREADS": "2"},
    "Haswell/1": {"OPENBLAS_CORETYPE": "Haswell", "OMP_NUM_THREADS": "1"},
    "Haswell/2": {"OPENBLAS_CORETYPE": "Haswell", "OMP_NUM_THREADS": "2"},
    "SkylakeX/1": {"OPENBLAS_CORETYPE": "SkylakeX", "OMP_NUM_THREADS": "1"},
    "SkylakeX/2": {"OPENBLAS_CORETYPE": "SkylakeX", "OMP_NUM_THREADS": "2"},
    "Prescott/1": {"OPENBLAS_CORETYPE": "Prescott", "OMP_NUM_THREADS": "1"},
    "Prescott/2": {"OPENBLAS_CORETYPE": "Prescott", "OMP_NUM_THREADS": "2"},
    "oneDNN AVX2": {"DNNL_MAX_CPU_ISA": "AVX2"},
    "oneDNN SSE4.1/1": {"DNNL_MAX_CPU_ISA": "SSE41", "OMP_NUM_THREADS": "1"},
    "ATen default": {"ATEN_CPU_CAPABILITY": "default"},
}

CHILD = r"""
import ctypes, glob, json, os, sys
import numpy as np, torch, hinerc
lib = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*.so"))
core = "?"
if lib:
    so = ctypes.CDLL(lib[0])
    for fn in ("scipy_openblas_get_corename64_", "openblas_get_corename64_",
               "openblas_get_corename"):
        if hasattr(so, fn):
            getattr(so, fn).restype = ctypes.c_char_p
            core = getattr(so, fn)().decode()
            break
out, names = {}, json.loads(sys.argv[2])
for name in names:
    try:
        out[name] = hinerc.decompress(os.path.join(sys.argv[3], name), device="cpu").data
    except Exception as exc:
        out[name + ".error"] = np.array(type(exc).__name__)
np.savez(sys.argv[1], **out)
print(json.dumps({"openblas": core, "torch_threads": torch.get_num_threads()}))
"""


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _steps(a: np.ndarray, ref: np.ndarray) -> float:
    """Largest difference in units of the sample type's step (1 for integers, ulp for floats)."""
    d = np.abs(a.astype(np.float64) - ref.astype(np.float64))
    if ref.dtype.kind == "f":
        d = d / np.spacing(np.abs(ref)).astype(np.float64)
    return float(d.max())


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    manifest = json.loads((GOLDEN / "golden.json").read_text())
    entries = {e["file"]: e for e in manifest["files"]}
    results, facts = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for run, env in RUNS.items():
            path = Path(tmp) / "run.npz"
            cmd = [sys.executable, "-c", CHILD, str(path), json.dumps(list(entries)), str(GOLDEN)]
            proc = subprocess.run(cmd, env={**os.environ, **env}, check=True,
                                  capture_output=True, text=True)
            facts[run] = json.loads(proc.stdout.strip().splitlines()[-1])
            with np.load(path) as z:
                results[run] = {k: z[k] for k in z.files}
    lines = [f"# Golden decodes under BLAS kernels and thread counts ({date.today()})", "",
             f"{_cpu()}, {os.cpu_count()} CPUs, numpy "
             f"{np.__version__}; produced by `python benchmarks/golden_kernels.py`.", "",
             "OpenBLAS core actually loaded and torch threads per run: "
             + ", ".join(f"{r}: {f['openblas']}/{f['torch_threads']}" for r, f in facts.items())
             + ".", "",
             "`=`: the writer's hash; otherwise samples differing from the writer's decode "
             "/ largest difference in steps of the sample type (1 for integers, float32 ulps "
             "for floats); `refused`: today's reader refuses the file.", "",
             "| file | " + " | ".join(RUNS) + " |", "|---|" + "---|" * len(RUNS)]
    for name, e in entries.items():
        cells = []
        for run in RUNS:
            got = results[run].get(name)
            if got is None:
                cells.append("refused")
            elif _sha(got) == e["samples"]["sha256"]:
                cells.append("=")
            else:
                ref = np.load(GOLDEN / "decoded.npz")[name] if e["compare"] == "tolerance" else None
                if ref is None:
                    cells.append("differs (no reference)")
                else:
                    n = int(np.count_nonzero(got != ref))
                    cells.append(f"{n}/{got.size}, {_steps(got, ref):g}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    OUT.write_text(text)


if __name__ == "__main__":
    main()
