"""Regenerate the golden ``.hnr`` files of ``tests/data/golden`` (each by the hinerc of its era).

Why: a ``.hnr`` written by any release must decode forever. The goldens are files written by
the code of every format version that existed (1.0: the published network only; 1.1: adds the
low-rank model; 1.2: packed META), plain and tiled, and ``tests/test_golden.py`` checks that
today's reader decodes each one to exactly the samples that its own writer's reader decoded.

How: for every commit in :data:`GOLDENS`, this script checks the commit out in a scratch git
worktree (``git worktree add /tmp/hinerc-golden-<commit> <commit>``, removed afterwards) and runs
itself as a worker with ``PYTHONPATH`` set to that worktree, so the worker's ``import hinerc`` is
the old code (checked through ``hinerc.__file__``). The worker rebuilds the synthetic cube from
the arrays this script saved (so every commit codes the same samples), calls that commit's own
``hinerc.compress``, then decodes the file with that commit's own ``hinerc.decompress`` and
hashes the samples. ``golden.json`` records, per file: version, model, layout, commit, the exact
call, the SHA-256 of the file and of the decoded samples (C-order bytes, with shape and dtype),
and the band vectors of the decoded metadata.

How to compare (``compare`` in golden.json): a low-rank file decodes bit for bit the same under
every BLAS kernel and thread count measured (float64 products, then rounding), so its samples are
compared by hash (``exact``). The network's torch convolutions are not: their float32 sums
change with the thread count and the CPU kernel (a few float32 ulps; now and then one integer
sample rounds the other way), so ``decoded.npz`` keeps the samples that the writer's own reader
decoded from each ``hiner`` file (key: the file name) and the test compares within a tolerance
of the sample type (``tolerance``).

Run (from the repository root, with the project's virtual environment; several minutes)::

    HINERC_GENERATE_GOLDEN=1 nice -n 10 .venv/bin/python tests/data/golden/make_golden.py

Without ``HINERC_GENERATE_GOLDEN=1`` it does nothing, so no test run or tool rewrites the
goldens by accident. Regenerating changes the files (the report records the encode time and
training is not bit-reproducible everywhere), so regenerate only to add a golden; never to make
a failing golden test pass.

Which commit writes which file (see :data:`GOLDENS`):

* ``3da3d9b`` (first working codec, format 1.0): 1.0 hiner plain, as the very first writer made
  it. ``131accc`` (the first commit) wrote 1.0 without the preamble CRC, but its package does not
  import (``hinerc.io`` has no ``__init__.py`` until 3da3d9b), so no file was ever written by it;
* ``1be8421`` (last commit writing 1.0): 1.0 hiner plain and tiled;
* ``a6a4c8a`` (first 1.1 writer): 1.1 lowrank plain (SPEC's LZMA2 stream with its first
  dictionary size);
* ``855311f`` (last commit writing 1.1): 1.1 hiner plain and tiled, lowrank plain and tiled;
* ``8b99100`` (first 1.2 writer: META always packed): 1.2 lowrank plain;
* ``bb00de1`` (1.2, packed META only when smaller): 1.2 hiner and lowrank, plain and tiled,
  plus no-data pixels with a constant and an all-no-data band (lowrank plain, hiner tiled) and
  float32 samples (lowrank and hiner, plain);
* ``1e84a2e`` (first 1.3 writer): lowrank with HEVC maps, plain and tiled, and lowrank plain
  with JPEG 2000 maps (HEVC decoding is exact, so these are compared by hash too);
* ``e7d6df1`` (main at the stop of 2026-11-30): 1.4, a file with RESD (``--max-error 2`` on
  int16, ``--lossless`` on float32), and 1.5, a file with PNET (the pixel network; its share of
  the bytes raised to a half by ``patch``, which the worker sets before compressing: the
  codec's 1% would give a file this small none). The pixel network decodes in float64 with a
  tanh, then rounds to int16: compared by hash like the rest;
* ``c049696`` (the first map filter): 1.6, a file with MFLT (the map filter; kept whatever it
  measured, by ``patch``: a golden needs the section, not the gain). The filter decodes in
  float64 with a tanh, then rounds to int16: compared by hash like the rest;
* ``cafe7f7`` (the first range-coded embeddings): 1.7, a file whose SPEC is range-coded
  (constriction's queue range coder, integer symbols: compared by hash);
* ``82ad57f`` (the first compact side information): 1.8, plain and tiled: JSON sections
  deflated with the preset dictionary, BAND in its integer form.
* ``5047d0c`` (the first AV1 4:4:4 maps): 1.9, a plain file whose MAPS is the ``av1-444``
  codestream (AV1 decoding is exact: compared by hash).
* ``ae9a96c`` (the first adaptive embeddings): 1.10, a plain file whose SPEC is width 3 (rows
  predicted along the bands, range-coded with adaptive scales: integer symbols, compared by
  hash).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SCRIPT = "tests/data/golden/make_golden.py"

#: Commits that write goldens: short hash → what they are.
COMMITS = {
    "3da3d9b": "first commit whose hinerc imports (format 1.0, published network only)",
    "1be8421": "last commit writing format 1.0 (tiles, efforts)",
    "a6a4c8a": "first commit writing format 1.1 (low-rank model, SPEC/MAPS)",
    "855311f": "last commit writing format 1.1",
    "8b99100": "first commit writing format 1.2 (META always packed)",
    "bb00de1": "format 1.2, META packed only when smaller (main when the goldens were made)",
    "1e84a2e": "first commit writing format 1.3 (HEVC maps, MODL maps)",
    "e7d6df1": "main at the stop of 2026-11-30: format 1.4 (RESD of --max-error / --lossless) "
               "and 1.5 (PNET, the pixel network), each only in a file that has the section",
    "c049696": "first commit writing format 1.6 (MFLT, the map filter on the decoded maps)",
    "82ad57f": "first commit writing format 1.8 (compact side information)",
    "5047d0c": "first commit writing format 1.9 (AV1 4:4:4 maps, MODL maps = av1-444)",
    "ae9a96c": "first commit writing format 1.10 (SPEC width 3: adaptive embeddings)",
}


@dataclass
class Golden:
    """One golden file: who writes it, from which cube, with which ``compress`` arguments."""

    name: str
    commit: str
    version: str
    arch: str
    layout: str  # "plain" or "tiled"
    cube: str  # key of make_cubes()
    kwargs: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    #: module attributes the writer sets before compressing ("module.NAME": value), where the
    #: codec's own rule would not put the section in a file small enough to keep here
    patch: dict[str, Any] = field(default_factory=dict)


HINER = {"bpppb": 4.0, "epochs": 2, "seed": 0, "device": "cpu"}
LOWRANK = {"bpppb": 4.0, "effort": 1, "seed": 0}


def _hiner(**kw: Any) -> dict[str, Any]:
    return {**HINER, "arch": "hiner", **kw}


def _lowrank(**kw: Any) -> dict[str, Any]:
    return {**LOWRANK, "arch": "lowrank", **kw}


GOLDENS = [
    # 1.0: the published network is the only model (no ``arch`` argument yet).
    Golden("v1.0-hiner-plain-3da3d9b.hnr", "3da3d9b", "1.0", "hiner", "plain", "plain", HINER,
           "the first writer: BAND raw, not yet shuffled and deflated (that came in ea2c5b2, "
           "still format 1.0)"),
    Golden("v1.0-hiner-plain-1be8421.hnr", "1be8421", "1.0", "hiner", "plain", "plain", HINER),
    Golden("v1.0-hiner-tiled-1be8421.hnr", "1be8421", "1.0", "hiner", "tiled", "tiled",
           {**HINER, "bpppb": 6.0, "tile": 12}),
    # 1.1: low-rank model added.
    Golden("v1.1-lowrank-plain-a6a4c8a.hnr", "a6a4c8a", "1.1", "lowrank", "plain", "plain",
           _lowrank(), "SPEC's raw LZMA2 stream written with preset 9's 64 MiB dictionary "
           "(1 MiB from 7dc9222)"),
    Golden("v1.1-hiner-plain-855311f.hnr", "855311f", "1.1", "hiner", "plain", "plain", _hiner()),
    Golden("v1.1-hiner-tiled-855311f.hnr", "855311f", "1.1", "hiner", "tiled", "tiled",
           _hiner(bpppb=6.0, tile=12)),
    Golden("v1.1-lowrank-plain-855311f.hnr", "855311f", "1.1", "lowrank", "plain", "plain",
           _lowrank()),
    Golden("v1.1-lowrank-tiled-855311f.hnr", "855311f", "1.1", "lowrank", "tiled", "tiled",
           _lowrank(bpppb=6.0, tile=12)),
    # 1.2: META packs band vectors.
    Golden("v1.2-lowrank-plain-8b99100.hnr", "8b99100", "1.2", "lowrank", "plain", "plain",
           _lowrank(), "META always packed"),
    Golden("v1.2-hiner-plain-bb00de1.hnr", "bb00de1", "1.2", "hiner", "plain", "plain", _hiner()),
    Golden("v1.2-hiner-tiled-bb00de1.hnr", "bb00de1", "1.2", "hiner", "tiled", "tiled",
           _hiner(bpppb=6.0, tile=12)),
    Golden("v1.2-lowrank-plain-bb00de1.hnr", "bb00de1", "1.2", "lowrank", "plain", "plain",
           _lowrank()),
    Golden("v1.2-lowrank-tiled-bb00de1.hnr", "bb00de1", "1.2", "lowrank", "tiled", "tiled",
           _lowrank(bpppb=6.0, tile=12)),
    Golden("v1.2-lowrank-plain-nodata-bb00de1.hnr", "bb00de1", "1.2", "lowrank", "plain",
           "nodata", _lowrank(), "no-data pixels and samples (MASK mode 2), a constant band "
           "and an all-no-data band"),
    Golden("v1.2-hiner-tiled-nodata-bb00de1.hnr", "bb00de1", "1.2", "hiner", "tiled",
           "nodata_tiled", _hiner(bpppb=6.0, tile=12),
           "no-data pixels (MASK mode 1), a constant and an all-no-data band"),
    Golden("v1.2-lowrank-plain-float32-bb00de1.hnr", "bb00de1", "1.2", "lowrank", "plain",
           "float32", _lowrank(), "float32 samples; wavelengths as a list in META"),
    Golden("v1.2-hiner-plain-float32-bb00de1.hnr", "bb00de1", "1.2", "hiner", "plain",
           "float32", _hiner(), "float32 samples; wavelengths as a list in META"),
    # 1.3: map coders (HEVC maps); a file without MODL maps is laid out as in 1.2.
    Golden("v1.3-lowrank-plain-hevc-1e84a2e.hnr", "1e84a2e", "1.3", "lowrank", "plain", "plain",
           _lowrank(map_coder="hevc"), "HEVC maps (MODL maps = hevc)"),
    Golden("v1.3-lowrank-tiled-hevc-1e84a2e.hnr", "1e84a2e", "1.3", "lowrank", "tiled", "tiled",
           _lowrank(bpppb=6.0, tile=12, map_coder="hevc"), "HEVC maps in every tile"),
    Golden("v1.3-lowrank-plain-1e84a2e.hnr", "1e84a2e", "1.3", "lowrank", "plain", "plain",
           _lowrank(), "JPEG 2000 maps (no MODL maps): as 1.2 but for the version"),
    # 1.4: RESD (the residual of --max-error / --lossless); 1.5: PNET (the pixel network).
    Golden("v1.4-lowrank-plain-maxerror-e7d6df1.hnr", "e7d6df1", "1.4", "lowrank", "plain",
           "plain", {"effort": 1, "seed": 0, "arch": "lowrank", "max_error": 2},
           "--max-error 2: the model, then its residual quantized and range-coded (RESD)"),
    Golden("v1.4-lowrank-plain-lossless-float32-e7d6df1.hnr", "e7d6df1", "1.4", "lowrank",
           "plain", "float32", {"effort": 1, "seed": 0, "arch": "lowrank", "lossless": True},
           "--lossless on float32 samples (RESD of the samples' bit patterns)"),
    Golden("v1.5-lowrank-plain-pnet-e7d6df1.hnr", "e7d6df1", "1.5", "lowrank", "plain",
           "nonlinear", {"bpppb": 0.3, "effort": 5, "seed": 0, "arch": "lowrank"},
           "HEVC maps, then a pixel network (PNET); its share of the bytes raised to a half "
           "(the codec's 1% would give this small cube none)",
           patch={"hinerc.codecs.lowrank.pixelnet.MAX_SHARE": 0.5}),
    # 1.6: MFLT (the map filter on the decoded maps).
    Golden("v1.6-lowrank-plain-mflt-c049696.hnr", "c049696", "1.6", "lowrank", "plain",
           "nonlinear", {"bpppb": 0.3, "effort": 7, "seed": 0, "arch": "lowrank",
                         "pixel_net": "off"},
           "HEVC and AV1 maps tried, then a map filter (MFLT) on the maps of the file kept; its "
           "share of the bytes raised to a quarter and kept whatever it gained (a golden needs "
           "the section)",
           patch={"hinerc.codecs.lowrank.mapfilter.MAX_SHARE": 0.25,
                  "hinerc.codecs.lowrank.mapfilter.MIN_GAIN_DB": -100.0}),
    # 1.7: SPEC range-coded (width byte 0).
    Golden("v1.7-lowrank-plain-rc-nodata-cafe7f7.hnr", "cafe7f7", "1.7", "lowrank", "plain",
           "nodata", _lowrank(),
           "the embeddings range-coded (SPEC width byte 0; the other cubes' embeddings have "
           "differences of 2**14 or more, which the range coder does not take), no-data pixels"),
    # 1.8: compact side information (JSON sections with the preset dictionary, META without
    # unset fields, BAND's integer form).
    Golden("v1.8-lowrank-plain-82ad57f.hnr", "82ad57f", "1.8", "lowrank", "plain", "plain",
           _lowrank(map_coder="hevc"),
           "META, MODL and RPRT deflated with the preset dictionary, BAND in its integer form "
           "(an int16 cube), HEVC maps"),
    Golden("v1.8-lowrank-tiled-82ad57f.hnr", "82ad57f", "1.8", "lowrank", "tiled", "tiled",
           _lowrank(bpppb=6.0, tile=12),
           "the same in every tile, and the scene's own META and RPRT with the dictionary"),
    # 1.9: the AV1 4:4:4 map coder.
    Golden("v1.9-lowrank-plain-av1444-5047d0c.hnr", "5047d0c", "1.9", "lowrank", "plain",
           "plain", _lowrank(map_coder="av1-444"),
           "the maps three at a time as 12-bit 4:4:4 AV1 pictures (MODL maps = av1-444)"),
    # 1.10: SPEC width 3 (the embeddings' residuals range-coded with adaptive scales).
    Golden("v1.10-lowrank-plain-adaptive-ae9a96c.hnr", "ae9a96c", "1.10", "lowrank", "plain",
           "nonlinear", _lowrank(bpppb=0.1, map_coder="hevc"),
           "the embeddings as residuals of a prediction along the bands, range-coded with "
           "adaptive scales (SPEC width byte 3; 70 bands at 0.1 bpppb: the small cubes' rows "
           "are too short for its two bytes a row), HEVC maps"),
]


# ----------------------------------------------------------------------------- the cubes
def _wavelengths(c: int) -> np.ndarray:
    """AVIRIS-like band centres in nm, two decimals, not quite evenly spaced."""
    base = np.linspace(399.37, 2457.24, c)
    return np.round(base + 1.7 * np.sin(np.arange(c)), 2)


def _scene(h: int, w: int, c: int, seed: int) -> np.ndarray:
    """A smooth low-rank scene with a little noise, float64, about 1000..3000."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    maps = np.stack([np.sin(3 * x + 1), np.cos(4 * y), x * y, np.sin(5 * x * y)], -1)
    spectra = rng.uniform(0.2, 1.0, (maps.shape[-1], c))
    return 1000 + 2000 * maps @ spectra + rng.normal(0, 5, (h, w, c))


def _nonlinear(h: int, w: int, c: int, seed: int) -> np.ndarray:
    """Spectra that are a non-linear function of smooth fields (a pixel network gains on them),
    int16 about 1000..2600: the cube of ``tests/test_pixelnet.py``, copied on purpose (a
    golden's source must not change when a test's cube does)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / 12.0
    a = np.sin(x + 0.5 * np.cos(y))
    b = np.cos(0.7 * y - 0.3 * x)
    lam = np.linspace(0, 1, c)
    spec = (np.tanh(2.5 * a[..., None] * (1 + lam)) + np.exp(-(b[..., None] - lam) ** 2 * 8)
            + 0.5 * a[..., None] * b[..., None] * lam)
    return (1000 + 800 * spec + rng.normal(0, 0.5, spec.shape)).astype(np.int16)


def make_cubes() -> dict[str, dict[str, Any]]:
    """Every cube the goldens code: samples and the metadata given to ``Cube``."""
    c = 12
    meta = {"wavelengths_nm": _wavelengths(c).tolist(), "fwhm_nm": [9.6] * c,
            "wavelength_units": "Nanometers", "band_names": [f"Band {i + 1}" for i in range(c)],
            "nodata": None}
    plain = np.rint(_scene(16, 16, c, seed=1)).astype(np.int16)
    tiled = np.rint(_scene(24, 24, c, seed=2)).astype(np.int16)

    def holes(data: np.ndarray, seed: int, corner: int, single: bool) -> np.ndarray:
        d = data.copy()
        rng = np.random.default_rng(seed)
        d[:, :, 3] = 500  # a constant band
        d[:, :, 7] = -9999  # an all-no-data band
        h, w = d.shape[:2]
        d[rng.random((h, w)) < 0.08] = -9999  # no-data pixels (every band)
        d[:corner, :corner] = -9999  # a no-data corner
        if single:  # a few single no-data samples: the mask differs between bands
            idx = rng.integers(0, [h, w, data.shape[2]], (6, 3))
            d[idx[:, 0], idx[:, 1], idx[:, 2]] = -9999
        return d

    nodata_meta = {**meta, "nodata": -9999.0}
    nl = 70  # a pixel network needs 64 bands or more
    nl_meta = {"wavelengths_nm": _wavelengths(nl).tolist(), "fwhm_nm": [9.6] * nl,
               "wavelength_units": "Nanometers",
               "band_names": [f"Band {i + 1}" for i in range(nl)], "nodata": None}
    reflect = (_scene(16, 16, c, seed=3) / 10000.0).astype(np.float32)
    return {
        "plain": {"data": plain, "meta": meta},
        "tiled": {"data": tiled, "meta": meta},
        "nodata": {"data": holes(plain, 4, corner=5, single=True), "meta": nodata_meta},
        "nodata_tiled": {"data": holes(tiled, 5, corner=8, single=False), "meta": nodata_meta},
        # Band centres as a float32 header gives them (399.3699951171875...): more than 12
        # decimals, so a 1.2 writer keeps them as a plain list in META.
        "float32": {"data": reflect, "meta": {**meta, "wavelengths_nm": [
            float(v) for v in np.float32(meta["wavelengths_nm"])]}},
        "nonlinear": {"data": _nonlinear(72, 80, nl, seed=6), "meta": nl_meta},
    }


# ----------------------------------------------------------------------------- helpers
def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def samples_digest(data: np.ndarray) -> dict[str, Any]:
    """What golden.json records of decoded samples: SHA-256 of the C-order bytes, shape, dtype."""
    arr = np.ascontiguousarray(data)
    return {"sha256": sha256(arr.tobytes(order="C")), "shape": list(arr.shape),
            "dtype": arr.dtype.name}


def call_text(kwargs: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"hinerc.compress(cube, out, {args})"


# ----------------------------------------------------------------------------- worker
def worker(job_path: str) -> None:
    """Runs under ``PYTHONPATH=<old worktree>``: compress with that commit, decode, describe."""
    job = json.loads(Path(job_path).read_text())
    import hinerc
    from hinerc.io import Cube

    tree = Path(job["tree"]).resolve()
    where = Path(hinerc.__file__).resolve()
    if tree not in where.parents:
        raise SystemExit(f"hinerc imported from {where}, not from {tree}")
    arrays = np.load(job["cube"])
    meta = json.loads(Path(job["meta"]).read_text())
    cube = Cube(arrays["data"], wavelengths_nm=np.asarray(meta["wavelengths_nm"]),
                fwhm_nm=np.asarray(meta["fwhm_nm"]), wavelength_units=meta["wavelength_units"],
                band_names=list(meta["band_names"]), nodata=meta["nodata"])
    kwargs = dict(job["kwargs"])
    params = inspect.signature(hinerc.compress).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())  # codec options (1.3 on)
    missing = [] if takes_any else [k for k in kwargs if k not in params]
    if missing:
        raise SystemExit(f"this commit's compress has no {missing}")
    out = Path(job["out"])
    for name, value in job.get("patch", {}).items():
        module, attr = name.rsplit(".", 1)
        setattr(importlib.import_module(module), attr, value)
    hinerc.compress(cube, out, **kwargs)
    blob = out.read_bytes()
    decoded = hinerc.decompress(out)
    facts = hinerc.inspect(out)
    result = {
        "hinerc_file": str(where),
        "file_version": "%d.%d" % (blob[8], blob[9]),
        "inspect_format_version": facts.get("format_version"),
        "inspect_arch": facts.get("arch", "hiner"),
        "inspect_tiles": facts.get("tiles", 1),
        "samples": samples_digest(decoded.data),
        "npy": job["npy"],
        "metadata": {
            "wavelengths_nm": None if decoded.wavelengths_nm is None
            else [float(v) for v in decoded.wavelengths_nm],
            "fwhm_nm": None if decoded.fwhm_nm is None else [float(v) for v in decoded.fwhm_nm],
            "band_names": decoded.band_names,
            "nodata": decoded.nodata,
        },
        "environment": _environment(),
    }
    np.save(job["npy"], np.ascontiguousarray(decoded.data))
    Path(job["result"]).write_text(json.dumps(result))


def _environment() -> dict[str, str]:
    import platform

    env = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("torch", "imagecodecs"):
        try:
            env[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - informative only
            pass
    return env


# ----------------------------------------------------------------------------- main
def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def generate(only: list[str]) -> None:
    cubes = make_cubes()
    manifest_path = HERE / "golden.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"files": []}
    entries = {e["file"]: e for e in old.get("files", [])}
    todo = [g for g in GOLDENS if not only or g.name in only or g.commit in only]
    with tempfile.TemporaryDirectory(prefix="hinerc-golden-") as tmp:
        tmpd = Path(tmp)
        for key, cube in cubes.items():
            np.savez(tmpd / f"{key}.npz", data=cube["data"])
            (tmpd / f"{key}.json").write_text(json.dumps(cube["meta"]))
        for commit in dict.fromkeys(g.commit for g in todo):
            full = _git("rev-parse", f"{commit}^{{commit}}")
            tree = Path(tempfile.gettempdir()) / f"hinerc-golden-{commit}"
            _git("worktree", "add", "--detach", str(tree), full)
            try:
                for g in (g for g in todo if g.commit == commit):
                    entries[g.name] = _make_one(g, full, tree, tmpd)
                    _write_manifest(manifest_path, entries)  # after each: a failure keeps them
                    print(f"{g.name}: {entries[g.name]['file_bytes']} bytes", flush=True)
            finally:
                _git("worktree", "remove", "--force", str(tree))


def _write_manifest(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    order = [g.name for g in GOLDENS]
    files = sorted(entries.values(), key=lambda e: order.index(e["file"])
                   if e["file"] in order else len(order))
    manifest = {
        "about": "Golden .hnr files, each written and decoded by the hinerc commit named in it; "
                 "made by " + SCRIPT + " (see its docstring). samples.sha256 is the SHA-256 of "
                 "the decoded cube's data array, C-order bytes, with that shape and dtype. "
                 "compare: 'exact' (by that hash) or 'tolerance' (against the writer's decode "
                 "kept in " + DECODED + ", within the sample type's tolerance).",
        "commits": COMMITS,
        "files": files,
    }
    path.write_text(json.dumps(manifest, indent=1) + "\n")


def _make_one(g: Golden, full: str, tree: Path, tmpd: Path) -> dict[str, Any]:
    out = tmpd / g.name
    job = {"tree": str(tree), "cube": str(tmpd / f"{g.cube}.npz"),
           "meta": str(tmpd / f"{g.cube}.json"), "kwargs": g.kwargs, "patch": g.patch,
           "out": str(out),
           "result": str(tmpd / (g.name + ".result.json")),
           "npy": str(tmpd / (g.name + ".decoded.npy"))}
    job_path = tmpd / (g.name + ".job.json")
    job_path.write_text(json.dumps(job))
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(job_path)],
                   check=True, env=env, cwd=tmpd)
    res = json.loads(Path(job["result"]).read_text())
    blob = out.read_bytes()
    if res["file_version"] != g.version:
        raise SystemExit(f"{g.name}: {g.commit} wrote format {res['file_version']}, "
                         f"expected {g.version}")
    if res["inspect_arch"] != g.arch or (res["inspect_tiles"] > 1) != (g.layout == "tiled"):
        raise SystemExit(f"{g.name}: not {g.arch} {g.layout}: {res}")
    shutil.copyfile(out, HERE / g.name)
    exact = g.arch != "hiner"
    if not exact:  # keep the writer's decode: torch's float32 sums vary with threads and kernels
        _store_decoded(g.name, np.load(res["npy"]))
    cube = tmpd / f"{g.cube}.npz"
    return {
        "file": g.name,
        "version": g.version,
        "arch": g.arch,
        "layout": g.layout,
        "note": g.note,
        "file_sha256": sha256(blob),
        "file_bytes": len(blob),
        "written_by": {"commit": full, "call": call_text(g.kwargs),
                       **({"patch": g.patch} if g.patch else {}),
                       "cube": f"make_cubes()[{g.cube!r}] in {SCRIPT}",
                       "command": f"HINERC_GENERATE_GOLDEN=1 python {SCRIPT} {g.name}"},
        "source_samples_sha256": samples_digest(np.load(cube)["data"])["sha256"],
        "decoded_by_writer": {"inspect_format_version": res["inspect_format_version"],
                              "environment": res["environment"]},
        "samples": res["samples"],
        "compare": "exact" if exact else "tolerance",
        "metadata": res["metadata"],
    }


DECODED = "decoded.npz"


def _store_decoded(name: str, data: np.ndarray) -> None:
    """Add (or replace) one file's decoded samples in decoded.npz, keyed by the file name."""
    path = HERE / DECODED
    arrays = dict(np.load(path)) if path.exists() else {}
    arrays[name] = data
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **{k: arrays[k] for k in sorted(arrays)})
    os.replace(tmp, path)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--worker"]:
        worker(argv[1])
        return
    if os.environ.get("HINERC_GENERATE_GOLDEN") != "1":
        print("make_golden.py rewrites tests/data/golden: set HINERC_GENERATE_GOLDEN=1 to run it "
              "(optionally with golden file names or commits to redo only those)",
              file=sys.stderr)
        raise SystemExit(2)
    generate(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
