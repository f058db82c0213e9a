"""Lossless and near-lossless: hinerc (--lossless, --max-error E) beside the classical anchors.

Why: issue 17 asks hinerc to be at most 0.9× the smallest anchor's file at every benchmark cube
for E ∈ {0, 1, 2, 4, 8}, with the bound holding on every sample. The cubes are those of the
other benchmarks, loaded as ``../shared/anchors/cubes.py`` loads them (Jasper Ridge, the EnMAP
mosaic, the CAVE chart's 256² centre crop, HYDICE Urban ×1000 and ABU beach as per-band
integers). At each bound E ∈ {0, 1, 2, 4, 8, 16}:

* ``hinerc``: ``hinerc.compress(..., max_error=E)`` (E = 0: ``lossless=True``) at the default
  effort, decoded by ``hinerc.decompress``;
* ``jpegls``: JPEG-LS per band (imagecodecs/CharLS), NEAR = E, each band shifted to unsigned
  by its minimum (4 bytes per band counted);
* ``j2k``: JPEG 2000 reversible 5/3 (imagecodecs/OpenJPEG), one codestream of all bands, no
  colour transform, shifted as JPEG-LS (E = 0 only);
* ``jxl``: JPEG XL lossless per band, effort 7 (imagecodecs/libjxl), shifted (E = 0 only);
* ``lzma``: band differences (int32) + LZMA (xz preset 9) (E = 0 only);
* ``sperr``: SPERR 3D point-wise error E (imagecodecs ``mode="pwe"``) on float64 samples,
  rounded back to integers (E ≥ 1);
* ``sz3``: SZ3 absolute error E through ``pysz`` on float64 samples, rounded (E ≥ 1; skipped
  with a note when pysz does not import).

Rate is every byte × 8 / (H·W·C). Every decoded cube is checked against the bound (a point that
misses it is marked). Encode and decode seconds are wall seconds; the machine's load average
is recorded (it is shared). Points are cached in ``benchmarks/results/lossless.json`` (``--redo``
recomputes); ``lossless.md`` is written from the cache::

    python benchmarks/lossless.py                       # everything (about 15-25 min, 2 cores)
    python benchmarks/lossless.py --cubes jasper --bounds 0,2
    python benchmarks/lossless.py --report              # only the table
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import lzma
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ANCHOR_DIR = Path(os.environ.get("HINERC_ANCHORS") or next(
    (p / "shared" / "anchors" for p in (ROOT.parent, ROOT.parent.parent)
     if (p / "shared" / "anchors").is_dir()), ROOT.parent / "shared" / "anchors"))
CUBES = ("jasper", "enmap_mosaic", "cave_chart_256", "hydice_urban_sub", "abu_beach")
BOUNDS = (0, 1, 2, 4, 8, 16)
ANCHORS = ("jpegls", "j2k", "jxl", "lzma", "sperr", "sz3")
BAR = 0.9  # hinerc at most this fraction of the smallest anchor (E ≤ 8)


def load(name: str):
    spec = importlib.util.spec_from_file_location("anchor_cubes", ANCHOR_DIR / "cubes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load(name)


def _shifted(cube: np.ndarray) -> tuple[np.ndarray, int]:
    """Per band minus its minimum, as uint16 (or uint32), and the bytes of the minima."""
    x = cube.astype(np.int64)
    lo = x.reshape(-1, x.shape[2]).min(0)
    u = x - lo
    return u.astype(np.uint16 if u.max() < 65536 else np.uint32), 4 * cube.shape[2]


def _timed(f, *a, **k):
    t = time.perf_counter()
    out = f(*a, **k)
    return out, time.perf_counter() - t


def anchor(name: str, cube: np.ndarray, e: int):
    """(bytes, rec, encode s, decode s) or None when the anchor has no such point."""
    import imagecodecs as ic

    h, w, c = cube.shape
    if name == "jpegls":
        u, extra = _shifted(cube)
        lo = cube.astype(np.int64).reshape(-1, c).min(0)
        bufs, te = _timed(lambda: [ic.jpegls_encode(np.ascontiguousarray(u[:, :, b]), level=e)
                                   for b in range(c)])
        dec, td = _timed(lambda: np.stack([ic.jpegls_decode(b) for b in bufs], -1))
        return sum(map(len, bufs)) + extra + 4 * c, dec.astype(np.int64) + lo, te, td
    if e == 0 and name == "j2k":
        u, extra = _shifted(cube)
        lo = cube.astype(np.int64).reshape(-1, c).min(0)
        buf, te = _timed(ic.jpeg2k_encode, u, level=0, reversible=True, mct=False)
        dec, td = _timed(ic.jpeg2k_decode, buf)
        return len(buf) + extra, dec.astype(np.int64) + lo, te, td
    if e == 0 and name == "jxl":
        u, extra = _shifted(cube)
        lo = cube.astype(np.int64).reshape(-1, c).min(0)
        bufs, te = _timed(lambda: [ic.jpegxl_encode(np.ascontiguousarray(u[:, :, b]),
                                                    lossless=True, effort=7) for b in range(c)])
        dec, td = _timed(lambda: np.stack([ic.jpegxl_decode(b) for b in bufs], -1))
        return sum(map(len, bufs)) + extra + 4 * c, dec.astype(np.int64) + lo, te, td
    if e == 0 and name == "lzma":
        x = cube.astype(np.int32)
        d = np.diff(x, axis=2, prepend=0).astype(np.int32)
        buf, te = _timed(lambda: lzma.compress(np.moveaxis(d, 2, 0).tobytes(), preset=9))
        dec, td = _timed(lambda: np.cumsum(np.moveaxis(np.frombuffer(
            lzma.decompress(buf), np.int32).reshape(c, h, w), 0, 2), axis=2))
        return len(buf), dec.astype(np.int64), te, td
    if e >= 1 and name == "sperr":
        x = np.ascontiguousarray(np.moveaxis(cube.astype(np.float64), 2, 0))
        buf, te = _timed(ic.sperr_encode, x, level=float(e), mode="pwe")
        dec, td = _timed(ic.sperr_decode, buf)
        return len(buf) + 8, np.rint(np.moveaxis(dec, 0, 2)).astype(np.int64), te, td
    if e >= 1 and name == "sz3":
        import pysz

        x = np.ascontiguousarray(np.moveaxis(cube.astype(np.float64), 2, 0))
        cfg = pysz.szConfig(x.shape)
        cfg.errorBoundMode = pysz.szErrorBoundMode.ABS
        cfg.absErrorBound = float(e)
        (buf, _), te = _timed(pysz.sz.compress, x, cfg)
        (dec, _), td = _timed(pysz.sz.decompress, buf, np.float64, x.shape)
        return buf.nbytes + 16, np.rint(np.moveaxis(dec, 0, 2)).astype(np.int64), te, td
    return None


def run_hinerc(cube: np.ndarray, wl, e: int):
    import hinerc
    from hinerc.io import Cube

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.hnr"
        kw = dict(lossless=True) if e == 0 else dict(max_error=float(e))
        r, te = _timed(hinerc.compress, Cube(np.ascontiguousarray(cube), wavelengths_nm=wl),
                       path, **kw)
        dec, td = _timed(hinerc.decompress, path)
        size = path.stat().st_size
    return size, dec.data.astype(np.int64), te, td


def point(name: str, cube_name: str, cube: np.ndarray, wl, e: int):
    if name == "hinerc":
        got = run_hinerc(cube, wl, e)
    else:
        got = anchor(name, cube, e)
    if got is None:
        return None
    size, rec, te, td = got
    err = int(np.abs(rec - cube.astype(np.int64)).max())
    return {"cube": cube_name, "codec": name, "E": e, "bytes": int(size),
            "bps": size * 8 / cube.size, "max_err": err, "ok": err <= e,
            "encode_s": round(te, 2), "decode_s": round(td, 2),
            "load": round(os.getloadavg()[0], 2), "date": date.today().isoformat()}


def report(cache: dict, command: str, loads: list) -> str:
    lines = ["# Lossless and near-lossless: hinerc beside the anchors", "",
             "Every point is cached in `lossless.json` (with its date and the load when it was "
             "measured) by runs of `python benchmarks/lossless.py`; the last run: "
             f"`{command}` on {platform.node() or 'this machine'} ({os.cpu_count()} CPUs), load "
             f"average {loads[0]:.2f} at its start, {loads[-1]:.2f} at its end; "
             f"{date.today().isoformat()}.", "",
             "Bits per sample (every byte of the file × 8 / (H·W·C)); `✗` marks a point whose "
             "decoded cube misses the bound; `-` an anchor without that point (JPEG 2000, JPEG "
             "XL and LZMA are lossless only, SPERR and SZ3 have no lossless mode). "
             f"Ratio: hinerc / the smallest anchor (the issue's bar: ≤ {BAR} for E ≤ 8).", ""]
    head = ["cube", "E", "hinerc"] + list(ANCHORS) + ["smallest anchor", "ratio", "bar"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    timing = []
    for cube in CUBES:
        for e in BOUNDS:
            row = {p["codec"]: p for p in cache.values() if p and p["cube"] == cube
                   and p["E"] == e}
            if "hinerc" not in row:
                continue
            cells = []
            for name in ("hinerc",) + ANCHORS:
                p = row.get(name)
                cells.append("-" if p is None else f"{p['bps']:.3f}" + ("" if p["ok"] else " ✗"))
            anchors = [row[a] for a in ANCHORS if a in row and row[a]["ok"]]
            best = min(anchors, key=lambda p: p["bps"]) if anchors else None
            ratio = row["hinerc"]["bps"] / best["bps"] if best else float("nan")
            met = "" if e > 8 else (
                "met" if ratio <= BAR and row["hinerc"]["ok"] else "**not met**")
            lines.append(f"| {cube} | {e} | " + " | ".join(cells) + " | "
                         + (f"{best['codec']} {best['bps']:.3f}" if best else "-")
                         + f" | {ratio:.3f} | {met} |")
            timing.append((cube, e, row))
    lines += ["", "Encode / decode seconds (wall, this shared machine; load: its 1-minute load "
              "average when hinerc's point was measured):", "",
              "| cube | E | load | " + " | ".join(("hinerc",) + ANCHORS) + " |",
              "|" + "---|" * (3 + 1 + len(ANCHORS))]
    for cube, e, row in timing:
        cells = [("-" if row.get(n) is None else
                  f"{row[n]['encode_s']:.2f} / {row[n]['decode_s']:.2f}")
                 for n in ("hinerc",) + ANCHORS]
        lines.append(f"| {cube} | {e} | {row['hinerc']['load']:.1f} | " + " | ".join(cells)
                     + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cubes", default=",".join(CUBES))
    ap.add_argument("--bounds", default=",".join(map(str, BOUNDS)))
    ap.add_argument("--codecs", default=",".join(("hinerc",) + ANCHORS))
    ap.add_argument("--redo", action="store_true")
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    cache_path = RESULTS / "lossless.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    loads = [os.getloadavg()[0]]
    print(f"load average {loads[0]:.2f}", flush=True)
    command = "python benchmarks/lossless.py " + " ".join(sys.argv[1:])
    notes = cache.setdefault("_notes", {})
    if not args.report:
        for cube_name in args.cubes.split(","):
            cube, wl, _ = load(cube_name)
            for e in map(int, args.bounds.split(",")):
                for name in args.codecs.split(","):
                    key = f"{cube_name}/{name}/{e}"
                    if key in cache and not args.redo:
                        continue
                    try:
                        p = point(name, cube_name, cube, wl, e)
                    except ImportError as exc:
                        notes[name] = f"not run: {exc}"
                        continue
                    cache[key] = p
                    if p:
                        print(f"{key}: {p['bps']:.3f} bps, max error {p['max_err']}, "
                              f"{p['encode_s']} s / {p['decode_s']} s", flush=True)
                    cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True))
    loads.append(os.getloadavg()[0])
    if args.report:  # the header keeps the run that measured
        last = cache.get("_last_command", {"command": command, "loads": loads})
        command, loads = last["command"], last["loads"]
    cache["_last_command"] = {"command": command, "loads": loads}
    cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True))
    points = {k: v for k, v in cache.items() if not k.startswith("_")}
    text = report(points, command, loads)
    if notes:
        text += "\n" + "\n".join(f"- {k}: {v}" for k, v in notes.items()) + "\n"
    (RESULTS / "lossless.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
