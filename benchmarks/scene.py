"""Whole scenes (issue 16 item 5): hinerc and PCA + JPEG 2000 on scene-sized cubes, same run.

Every benchmark cube elsewhere is a crop of at most 512²; users compress scenes. This script

1. builds test scenes from the shared data into a cache folder (default ``benchmarks/scenes/``,
   git-ignored), written line by line so that building never holds a scene in memory:

   * ``jasper-N``: Jasper Ridge (100×100×198 int16) mirror-tiled to N×N (tile (i, j) flipped
     vertically when i is odd, horizontally when j is odd; the same as
     ``np.pad(cube, mode="symmetric")``), ENVI BIL int16 with the original header's fields
     (wavelength, fwhm, bbl, reflectance scale factor). N = 1000 by default, ``--sizes`` for more;
   * ``enmap-N`` (``--enmap``): the 128×64×218 EnMAP mosaic of the anchors' ``cubes.py``,
     mirror-tiled the same way;
   * ``angstrip-Lx600`` (``--strip`` for L = 5000 lines as in the issue, ``--strip L`` for fewer):
     the AVIRIS-NG topoflux cube (25 lines × 30 samples × 425 float32) mirror-tiled to
     L lines × 600 samples, ENVI BIL float32 (5000 lines is 5.1 GB on disk).

2. runs on each scene, one process at a time, the real CLI as subprocesses:
   ``hinerc compress SCENE.hdr -o x.hnr --bpppb R [--effort E]``, ``hinerc decompress x.hnr
   -o full.npy``, ``hinerc decompress x.hnr -o win.npy --window R,C,100,100`` (a window at the
   scene's centre, checked equal to the same window of the full decode), and the classical
   anchor ``pca_j2k`` of ``../shared/anchors`` (KLT + one multi-component JPEG 2000 codestream,
   k searched; run here as a child process that decodes into a .npy).

For every step: wall seconds, peak RSS of that child (``os.wait4`` gives each child's own
resource usage, children it waited for included), PSNR (``metrics.psnr_band`` of the anchors:
mean per-band PSNR with peak = the original band's max − min, computed here on the decoded cube
against the scene file), rate (real file size × 8 / (H·W·C); for the anchor, its one byte
string) and the time ratio hinerc / anchor of the same run. Results are cached in
``benchmarks/results/scene.json`` (one entry per scene, effort and rate; a rerun replaces it) and
``benchmarks/results/scene.md`` is written from all of them, with each entry's command and the
machine's load (``os.getloadavg``, before and after)::

    nice -n 10 python benchmarks/scene.py                          # jasper-1000, 0.2 bpppb
    nice -n 10 python benchmarks/scene.py --sizes 250,500 --effort 1
    nice -n 10 python benchmarks/scene.py --build-only --enmap --strip 1000
    python benchmarks/scene.py --report                            # only rewrite scene.md

A step that runs past ``--max-seconds`` (default 900) is killed and reported as stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CACHE = ROOT / "benchmarks" / "scenes"
#: ``../shared`` beside the checkout (or beside the folder of a git worktree)
SHARED = Path(os.environ.get("HINERC_SHARED") or next(
    (p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "data").is_dir()),
    ROOT.parent / "shared"))
DATA = SHARED / "data"
ANCHOR_DIR = SHARED / "anchors"
ANCHOR = "pca_j2k"
DEFAULT_EFFORT = 5  # hinerc compress --effort default on main (hinerc/cli.py)


# ----------------------------------------------------------------------------- scenes
def mirror_index(n: int, size: int) -> np.ndarray:
    """Source indices 0..size-1 of a mirror tiling to length ``n``: 0..s-1, s-1..0, 0..s-1, …"""
    i = np.arange(n) % (2 * size)
    return np.where(i < size, i, 2 * size - 1 - i)


def _header_text(fields: dict, lines: int, samples: int, bands: int, dtype_code: int) -> str:
    out = ["ENVI", f"samples = {samples}", f"lines = {lines}", f"bands = {bands}",
           "header offset = 0", "file type = ENVI Standard", f"data type = {dtype_code}",
           "interleave = bil", "byte order = 0"]
    for k, v in fields.items():
        if isinstance(v, (list, tuple)):
            v = "{" + ", ".join(str(x) for x in v) + "}"
        out.append(f"{k} = {v}")
    return "\n".join(out) + "\n"


def write_mirror_bil(src: np.ndarray, hdr: Path, lines: int, samples: int, fields: dict) -> Path:
    """Mirror-tile ``src`` (H×W×C) to lines×samples×C, written as ENVI BIL line by line."""
    codes = {np.dtype("int16"): 2, np.dtype("float32"): 4, np.dtype("uint16"): 12}
    dt = np.dtype(src.dtype)
    hdr = Path(hdr)
    hdr.parent.mkdir(parents=True, exist_ok=True)
    img = hdr.with_suffix(".img")
    rows = mirror_index(lines, src.shape[0])
    cols = mirror_index(samples, src.shape[1])
    bil = np.ascontiguousarray(np.transpose(src, (0, 2, 1)))  # H × C × W
    tmp = img.with_suffix(".img.part")
    with open(tmp, "wb") as f:
        for r in rows:
            f.write(np.ascontiguousarray(bil[r][:, cols]).astype(dt.newbyteorder("<")).tobytes())
    tmp.replace(img)
    hdr.write_text(_header_text(fields, lines, samples, src.shape[2], codes[dt]))
    return hdr


def read_scene(hdr: Path) -> np.memmap:
    """A scene written here as an H×W×C view of its BIL memmap (nothing loaded)."""
    txt = Path(hdr).read_text()
    get = lambda k: int(re.search(rf"^{k}\s*=\s*(\d+)", txt, re.M).group(1))  # noqa: E731
    dt = {2: "<i2", 4: "<f4", 12: "<u2"}[get("data type")]
    mm = np.memmap(Path(hdr).with_suffix(".img"), dtype=dt, mode="r",
                   shape=(get("lines"), get("bands"), get("samples")))
    return np.transpose(mm, (0, 2, 1))


def _envi_fields(hdr: Path, keys=("wavelength units", "reflectance scale factor", "wavelength",
                                   "fwhm", "bbl")) -> dict:
    from spectral.io import envi

    md = envi.read_envi_header(str(hdr))
    return {k: md[k] for k in keys if k in md}


def jasper_source(crop: int | None = None) -> tuple[np.ndarray, dict]:
    d = DATA / "jasper_ridge"
    hdr = d / "jasperRidge2_R198.hdr"
    mm = np.memmap(d / "jasperRidge2_R198.img", dtype="<i2", mode="r", shape=(100, 198, 100))
    cube = np.array(np.transpose(mm, (0, 2, 1)))
    if crop:
        cube = cube[:crop, :crop]
    return cube, _envi_fields(hdr)


def build_jasper(size: int, cache: Path = CACHE, crop: int | None = None) -> Path:
    hdr = Path(cache) / (f"jasper-{size}" + (f"-crop{crop}" if crop else "") + ".hdr")
    if not (hdr.exists() and hdr.with_suffix(".img").exists()):
        src, fields = jasper_source(crop)
        fields["description"] = f"{{Jasper Ridge mirror-tiled to {size}x{size} by benchmarks/scene.py}}"
        write_mirror_bil(src, hdr, size, size, fields)
    return hdr


def build_enmap(size: int, cache: Path = CACHE) -> Path:
    hdr = Path(cache) / f"enmap-{size}.hdr"
    if not (hdr.exists() and hdr.with_suffix(".img").exists()):
        sys.path.insert(0, str(ANCHOR_DIR))
        import cubes

        src, wl, meta = cubes.load("enmap_mosaic")
        fields = {"description": f"{{EnMAP Potsdam mosaic mirror-tiled to {size}x{size}}}",
                  "wavelength units": "Nanometers",
                  "reflectance scale factor": meta.get("reflectance_scale_factor", 10000),
                  "wavelength": [f"{v:.3f}" for v in wl],
                  "fwhm": [f"{v:.3f}" for v in meta.get("fwhm", [])] or None}
        write_mirror_bil(np.ascontiguousarray(src), hdr, size, size,
                         {k: v for k, v in fields.items() if v is not None})
    return hdr


def build_strip(lines: int, samples: int = 600, cache: Path = CACHE) -> Path:
    hdr = Path(cache) / f"angstrip-{lines}x{samples}.hdr"
    if not (hdr.exists() and hdr.with_suffix(".img").exists()):
        d = DATA / "aviris_ng_isofit"
        mm = np.memmap(d / "ang20160910t185702_2rdn_img", dtype="<f4", mode="r",
                       shape=(425, 25, 30))  # BSQ
        src = np.ascontiguousarray(np.transpose(mm, (1, 2, 0)))
        wl = np.loadtxt(d / "wavelengths_ang20160910t185702_from_band_names.txt")
        fields = {"description": f"{{AVIRIS-NG topoflux radiance mirror-tiled to {lines}x{samples}}}",
                  "wavelength units": "Nanometers", "wavelength": [f"{v:.2f}" for v in wl]}
        write_mirror_bil(src, hdr, lines, samples, fields)
    return hdr


# ----------------------------------------------------------------------------- running
def run_child(cmd: list[str], max_seconds: float) -> dict:
    """Run ``cmd``; wall seconds, this child's peak RSS (GB), exit code, stopped flag.

    The peak RSS is GNU time's (``/usr/bin/time -f %M``) where it is installed: Linux carries a
    process's RSS high-water mark across ``exec``, so ``os.wait4`` on a child forked from this
    process (which holds pages of the scenes it compared) reports at least this process's
    peak; ``time`` is a small process, so its child's figure is the command's own."""
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        cmd = [str(gnu_time), "-f", "RSSKB %M"] + cmd
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    out = []
    import threading

    th = threading.Thread(target=lambda: out.append(p.stdout.read()), daemon=True)
    th.start()
    stopped = False
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > max_seconds and not stopped:
            os.killpg(p.pid, signal.SIGTERM)
            stopped = True
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    th.join(5)
    text = (out[0] if out else b"").decode(errors="replace")
    m = re.search(r"^RSSKB (\d+)\s*$", text, re.M)
    rss_kb = int(m.group(1)) if m else ru.ru_maxrss
    text = re.sub(r"^RSSKB \d+\s*$", "", text, flags=re.M).strip()
    return {"wall_s": round(wall, 2), "rss_gb": round(rss_kb / 2**20, 3),
            "rc": p.returncode, "stopped": stopped, "tail": text[-600:]}


def psnr(orig: np.ndarray, rec: np.ndarray) -> float:
    sys.path.insert(0, str(ANCHOR_DIR))
    import metrics

    return round(float(metrics.psnr_band(orig, rec)), 3)


def _anchor_child(hdr: str, rate: float, out: str, budget: float | None = None,
                  name: str = ANCHOR) -> None:
    """Child process: the anchor on the scene; decoded cube to ``out`` (.npy), facts to stdout."""
    sys.path.insert(0, str(ANCHOR_DIR))
    import anchors

    cube = np.ascontiguousarray(read_scene(Path(hdr)))
    info: dict = {}
    if name != ANCHOR:  # a modern anchor (PCA16 + HEVC/AV1 intra, per-component allocation)
        import anchors_modern

        rec, real, secs = anchors_modern.run(name, cube, rate, info=info)
    elif budget:  # the k search stops after this many seconds (the anchor's own default: 45 s)
        anchors.PCA_TIME_BUDGET_S = budget
        rec, real, secs = anchors.pca_j2k(cube, rate, info=info, time_budget_s=budget)
    else:
        rec, real, secs = anchors.run(ANCHOR, cube, rate, info=info)
    np.save(out, rec)
    print("ANCHOR " + json.dumps({"bpppb": float(real), "seconds": float(secs), "k": info.get("k")}))


def bench_scene(hdr: Path, rate: float, effort: int | None, work: Path, max_s: float,
                log=print, anchor_budget: float | None = None, no_anchor: bool = False,
                anchor: str = ANCHOR) -> dict:
    orig = read_scene(hdr)
    H, W, C = orig.shape
    n = H * W * C
    hinerc = [sys.executable, "-m", "hinerc.cli"] if not _hinerc_exe() else [_hinerc_exe()]
    hnr, full, win = work / "x.hnr", work / "full.npy", work / "win.npy"
    eff = ["--effort", str(effort)] if effort is not None else []
    res: dict = {"scene": hdr.stem, "shape": [H, W, C], "dtype": str(orig.dtype), "rate": rate,
                 "effort": effort, "mb": round(n * orig.dtype.itemsize / 1e6, 1),
                 "anchor": anchor}
    steps = res["steps"] = {}

    log(f"[{hdr.stem}] hinerc compress …")
    r = run_child(hinerc + ["compress", str(hdr), "-o", str(hnr), "--bpppb", str(rate)] + eff
                  + ["--quiet"], max_s)
    steps["compress"] = r
    if r["rc"] == 0 and hnr.exists():
        r["bpppb"] = round(hnr.stat().st_size * 8 / n, 4)
        info = subprocess.run(hinerc + ["info", str(hnr), "--json"], capture_output=True, text=True)
        if info.returncode == 0:  # what was coded (not timed)
            facts = json.loads(info.stdout)
            r["info"] = {k: facts.get(k) for k in ("tiles", "model_summary", "psnr_db")}
        log(f"  {r['wall_s']} s, {r['rss_gb']} GB")
        log(f"[{hdr.stem}] hinerc decompress …")
        d = run_child(hinerc + ["decompress", str(hnr), "-o", str(full), "--quiet"], max_s)
        steps["decompress"] = d
        if d["rc"] == 0:
            rec = np.load(full, mmap_mode="r")
            d["psnr_db"] = r["psnr_db"] = psnr(orig, rec)
            h, w = min(100, H), min(100, W)
            # at the centre (on a scene of 2×2 tiles, it meets all four: the worst case) and
            # at a quarter of each side (inside one tile)
            for step, (row, col) in (("window", (H // 2 - 50, W // 2 - 50)),
                                     ("window_quarter", (H // 4 - 50, W // 4 - 50))):
                row, col = max(row, 0), max(col, 0)
                spec = f"{row},{col},{h},{w}"
                log(f"[{hdr.stem}] hinerc decompress --window {spec} …")
                wr = run_child(hinerc + ["decompress", str(hnr), "-o", str(win), "--window",
                                         spec, "--quiet", "--force"], max_s)
                wr["window"] = spec
                if wr["rc"] == 0:
                    wv = np.load(win)
                    wr["equal_to_full"] = bool(wv.shape == (h, w, C) and np.array_equal(
                        wv, rec[row:row + h, col:col + w]))
                steps[step] = wr
            del rec
    if no_anchor:
        return _finish(res, steps)
    log(f"[{hdr.stem}] anchor {anchor} …")
    a_out = work / "anchor.npy"
    a = run_child([sys.executable, str(Path(__file__).resolve()), "--_anchor", str(hdr),
                   str(rate), str(a_out), "--anchor", anchor]
                  + (["--anchor-budget", str(anchor_budget)] if anchor_budget else []), max_s)
    if anchor == ANCHOR:
        a["k_search_budget_s"] = anchor_budget or 45.0
    steps["anchor"] = a
    m = re.search(r"^ANCHOR (.*)$", a["tail"], re.M)
    if a["rc"] == 0 and m:
        a.update({k: v for k, v in json.loads(m.group(1)).items()})
        a["bpppb"] = round(a["bpppb"], 4)
        a["psnr_db"] = psnr(orig, np.load(a_out, mmap_mode="r"))
    if steps["compress"]["rc"] == 0 and a["rc"] == 0:
        res["ratio"] = round(steps["compress"]["wall_s"] / a["wall_s"], 2)
    return _finish(res, steps)


def _finish(res: dict, steps: dict) -> dict:
    for s in steps.values():
        if s["rc"] == 0 and not s["stopped"]:
            s.pop("tail", None)
    return res


def _hinerc_exe() -> str | None:
    exe = Path(sys.executable).with_name("hinerc")
    return str(exe) if exe.exists() else None


# ----------------------------------------------------------------------------- report
def _fmt_row(res: dict, step: str, label: str) -> str:
    s = res["steps"].get(step)
    if s is None:
        return ""
    H, W, C = res["shape"]
    size = f"{H}×{W}×{C} {res['dtype']} ({res['mb']:.0f} MB)"
    if s["stopped"]:
        wall = f"stopped at {s['wall_s']:.0f} s"
    elif s["rc"] != 0:
        wall = f"failed (exit {s['rc']})"
    else:
        wall = f"{s['wall_s']:.1f}"
    ps = f"{s['psnr_db']:.2f}" if "psnr_db" in s and step != "decompress" else ""
    rate = f"{s['bpppb']:.4f}" if "bpppb" in s else ""
    extra = ""
    if step == "compress" and "ratio" in res:
        extra = f"{res['ratio']:.2f}"
    note = []
    if step == "compress" and s.get("info"):
        note.append(f"{s['info']['tiles']} tile(s): {s['info']['model_summary']}")
    if step == "anchor" and s.get("k") is not None:
        note.append(f"k={s['k']}" + (f" (k search budget {s['k_search_budget_s']:.0f} s)"
                                     if "k_search_budget_s" in s else ""))
    if step.startswith("window") and "equal_to_full" in s:
        full = res["steps"].get("decompress", {}).get("wall_s")
        note.append(f"{s['window']}; same values as the full decode: "
                    f"{'yes' if s['equal_to_full'] else 'NO'}")
        if full:
            note.append(f"{s['wall_s'] / full:.2f}× the full decode")
    return (f"| {res['scene']} | {size} | {label} | {wall} | {s['rss_gb']:.2f} | {ps} | {rate} "
            f"| {extra} | {'; '.join(note)} |")


def report(db: dict) -> str:
    lines = ["# Whole scenes: hinerc against PCA + JPEG 2000 (`benchmarks/scene.py`)", "",
             "Written by `benchmarks/scene.py` from `scene.json` (see the script's docstring). "
             "Wall seconds and peak RSS are those of each child process (GNU `time -f %M`); PSNR is the "
             "mean per-band PSNR (peak = original band max − min) of the decoded cube against the "
             "scene file, computed by the script; rate = real bytes × 8 / (H·W·C); ratio = hinerc "
             "compress wall / anchor wall in the same run. `pca_j2k` is the anchor of "
             "`../shared/anchors` (k searched, 45 s search budget), run as a child process that "
             "also decodes. Load = `os.getloadavg()` 1-min before → after the entry; the machine "
             "has 2 CPU cores shared with other work. What the numbers mean, and a rerun of the anchor "
             "with a longer k search: `scene_notes.md`.", ""]
    for key in sorted(db, key=lambda k: (db[k]["shape"][0] * db[k]["shape"][1], k)):
        res = db[key]
        eff = res["effort"] if res["effort"] is not None else f"default ({DEFAULT_EFFORT})"
        lines += [f"## {res['scene']}, {res['rate']} bpppb, effort {eff}", "",
                  f"`{res['command']}` — {res['when']}, load {res['load_before']} → "
                  f"{res['load_after']} ({res.get('uptime', '')})", "",
                  "| scene | size | step | wall s | peak RSS GB | PSNR dB | rate bpppb | "
                  "time ratio hinerc/anchor | notes |", "|---|---|---|---|---|---|---|---|---|"]
        for step, label in (("compress", f"`hinerc compress` (effort {eff})"),
                            ("decompress", "`hinerc decompress`"),
                            ("window", "`hinerc decompress --window` 100×100 (centre)"),
                            ("window_quarter", "`hinerc decompress --window` 100×100 "
                                               "(a quarter in)"),
                            ("anchor", f"{res.get('anchor', ANCHOR)} (encode + decode)")):
            row = _fmt_row(res, step, label)
            if row:
                lines.append(row)
        for step, s in res["steps"].items():
            if s.get("tail"):
                lines += ["", f"{step} output tail: `{s['tail'].strip()[-300:]}`"]
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000", help="Jasper scene sizes N (N×N), comma-separated")
    ap.add_argument("--enmap", action="store_true", help="also the EnMAP mosaic at these sizes")
    ap.add_argument("--strip", type=int, nargs="?", const=5000, default=None, metavar="LINES",
                    help="also the AVIRIS-NG float32 strip of LINES×600×425 (LINES: 5000, as in "
                         "the issue, when not given; 5.1 GB on disk)")
    ap.add_argument("--no-jasper", action="store_true", help="skip the Jasper scenes")
    ap.add_argument("--bpppb", type=float, default=0.2)
    ap.add_argument("--effort", type=int, default=None, help="hinerc effort (default: hinerc's)")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--max-seconds", type=float, default=900.0)
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--report", action="store_true", help="only rewrite scene.md")
    ap.add_argument("--anchor-budget", type=float, default=None, metavar="S",
                    help="seconds of the anchor's k search (its own default: 45; under load it "
                         "may stop at a small k)")
    ap.add_argument("--no-anchor", action="store_true",
                    help="hinerc only (the anchor holds several copies of the scene: a 2000² "
                         "scene needs about 28 GB)")
    ap.add_argument("--anchor", default=ANCHOR,
                    help=f"the classical anchor ({ANCHOR}, or a name of ../shared/anchors/"
                         "anchors_modern.py such as pca_hevcpip_rd16, the strongest)")
    ap.add_argument("--_anchor", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._anchor:
        _anchor_child(a._anchor[0], float(a._anchor[1]), a._anchor[2], a.anchor_budget,
                      a.anchor)
        return
    dbf = RESULTS / "scene.json"
    db = json.loads(dbf.read_text()) if dbf.exists() else {}
    if a.report:
        (RESULTS / "scene.md").write_text(report(db))
        return
    sizes = [int(s) for s in a.sizes.split(",") if s]
    scenes = [] if a.no_jasper else [build_jasper(s, a.cache) for s in sizes]
    if a.enmap:
        scenes += [build_enmap(s, a.cache) for s in sizes]
    if a.strip:
        scenes.append(build_strip(a.strip, cache=a.cache))
    for h in scenes:
        print(f"scene {h}")
    if a.build_only:
        return
    command = "python " + " ".join(shlex.quote(x) for x in
                                   ["benchmarks/scene.py"] + (argv if argv is not None else sys.argv[1:]))
    for hdr in scenes:
        l0 = round(os.getloadavg()[0], 2)
        with tempfile.TemporaryDirectory(dir=a.cache) as tmp:
            res = bench_scene(hdr, a.bpppb, a.effort, Path(tmp), a.max_seconds,
                              anchor_budget=a.anchor_budget, no_anchor=a.no_anchor,
                              anchor=a.anchor)
        res.update(command=command, load_before=l0, load_after=round(os.getloadavg()[0], 2),
                   uptime=subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
                   when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                   nice=os.nice(0))
        db[f"{res['scene']}|{a.bpppb}|{a.effort}"
           + ("" if a.anchor == ANCHOR else f"|{a.anchor}")] = res
        RESULTS.mkdir(parents=True, exist_ok=True)
        dbf.write_text(json.dumps(db, indent=1))
        (RESULTS / "scene.md").write_text(report(db))
        print(report({"x": res}))


if __name__ == "__main__":
    main()
