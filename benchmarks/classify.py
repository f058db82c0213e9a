"""Land-cover classification on decoded EnMAP cubes: does the codec keep what a classifier needs?

The 18 labelled EnMAP Potsdam tiles (32×32, 224 bands) are laid side by side into one 32×576 cube
(tiles in the order train, validation, test of the split files in ``enmap_potsdam``); the train
tiles' labels train, the test tiles' labels score (the validation tiles are not used: nothing is
selected on them). Rows:

* ``original``: SpectralFormer on the original cube (no ASW, no ISI: nothing to interpolate);
* ``decoded R, plain``: on the cube decoded from a ``.hnr`` at R bpppb, without ASW and ISI;
* ``decoded R, ASW+ISI``: the same file with both;
* ``SVM`` / ``random forest`` on single spectra (scikit-learn, the benchmark extra).

Every classifier run is ``hinerc classify`` through its Python entry point (the same code), with
the same seed and epochs. OA, AA, κ on the test tiles, and the training time.

    python benchmarks/classify.py [--epochs 10] [--rates 0.1,0.25] [--seeds 0]
                                  [--variants plain,asw+isi,asw,isi] [--no-baselines]

With several ``--seeds`` every SpectralFormer row runs once per seed (the 660 test pixels make
one seed's OA move by a point or two) and a second table gives the mean and range over seeds.
Prints markdown tables and writes them to ``benchmarks/results/classify.md`` (``--name``).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np

from cubes import SHARED

ROOT = Path(__file__).resolve().parents[1]
POTSDAM = SHARED / "enmap_potsdam"


def _files(name: str) -> list[str]:
    with open(POTSDAM / name) as fh:
        return [Path(r["image"]).name for r in csv.DictReader(fh)]


def build(tmp: Path) -> tuple[Path, Path, Path, int]:
    """The side-by-side cube (GeoTIFF), train and test label maps (.npy); the train tiles."""
    import rasterio

    from hinerc.io import read_cube, write_cube

    names = _files("train_files.csv") + _files("validation_files.csv") + _files("test_files.csv")
    n_train, n_test = len(_files("train_files.csv")), len(_files("test_files.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiles = [read_cube(POTSDAM / "images" / n) for n in names]
    labels = []
    for n in names:
        with rasterio.open(POTSDAM / "labels" / n) as ds:
            labels.append(ds.read(1).astype(np.int32))
    cube = tiles[0].with_data(np.concatenate([t.data for t in tiles], axis=1))
    cube.transform = None  # tiles from all over the scene: no single georeference
    train = np.concatenate([lab if i < n_train else np.zeros_like(lab)
                            for i, lab in enumerate(labels)], axis=1)
    test = np.concatenate([lab if i >= len(names) - n_test else np.zeros_like(lab)
                           for i, lab in enumerate(labels)], axis=1)
    write_cube(cube, tmp / "potsdam.tif")
    np.save(tmp / "train.npy", train)
    np.save(tmp / "test.npy", test)
    return tmp / "potsdam.tif", tmp / "train.npy", tmp / "test.npy", n_train


def baseline(kind: str, cube_path: Path, train: np.ndarray, test: np.ndarray) -> dict:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.svm import SVC

    from hinerc.classify.metrics import accuracy, confusion
    from hinerc.classify.train import load_input, prepare_cube

    t0 = time.perf_counter()
    cube, _ = load_input(cube_path)
    x = prepare_cube(cube).data  # C×H×W in [0, 1]
    xtr, ytr = x[:, train > 0].T, train[train > 0]
    xte, yte = x[:, test > 0].T, test[test > 0]
    clf = (SVC(C=100, gamma="scale") if kind == "svm"
           else RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=2))
    pred = clf.fit(xtr, ytr).predict(xte)
    acc = accuracy(confusion(yte, pred, int(max(train.max(), test.max()))))
    return {"oa": acc.oa, "aa": acc.aa, "kappa": acc.kappa, "seconds": time.perf_counter() - t0}


#: ``--variants``: row label, ASW, ISI.
VARIANTS = {"plain": ("SpectralFormer", False, False),
            "asw+isi": ("SpectralFormer + ASW + ISI", True, True),
            "asw": ("SpectralFormer + ASW", True, False),
            "isi": ("SpectralFormer + ISI", False, True)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--rates", default="0.1,0.25")
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds")
    ap.add_argument("--variants", default="plain,asw+isi",
                    help="SpectralFormer variants on the decoded cubes: plain, asw+isi, asw, isi")
    ap.add_argument("--no-baselines", action="store_true",
                    help="leave out SVM, random forest and SpectralFormer on the original")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--name", default="classify.md", help="file name of the written table")
    args = ap.parse_args(argv)
    if not set(args.variants.split(",")) <= set(VARIANTS):
        ap.error(f"--variants takes {', '.join(VARIANTS)}")
    import hinerc
    from hinerc.classify.train import TrainSettings, classify

    seeds = [int(x) for x in args.seeds.split(",")]
    runs: dict[tuple, list[float]] = {}
    lines = ["| input | bpppb | PSNR dB | classifier | seed | OA % | AA % | κ | train+test s |",
             "|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)

    def emit(name, rate, psnr, clf, d, seed="—"):
        row = (f"| {name} | {rate} | {psnr} | {clf} | {seed} | {100 * d['oa']:.2f} "
               f"| {100 * d['aa']:.2f} | {d['kappa']:.4f} | {d['seconds']:.0f} |")
        lines.append(row)
        runs.setdefault((name, rate, clf), []).append(100 * d["oa"])
        print(row, flush=True)

    def former(name, rate, psnr, clf, source, asw, isi):
        for seed in seeds:
            res, _ = classify(source, train, test, settings=TrainSettings(
                epochs=args.epochs, asw=asw, isi=isi, seed=seed))
            emit(name, rate, psnr, clf, {**res.report(), "seconds": res.seconds}, seed)

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        cube, train, test, _ = build(tmp)
        tr, te = np.load(train), np.load(test)
        if not args.no_baselines:
            for kind in ("svm", "random forest"):
                emit("original", "—", "—", kind.upper() if kind == "svm" else kind,
                     baseline("svm" if kind == "svm" else "rf", cube, tr, te))
            former("original", "—", "—", "SpectralFormer", cube, False, False)
        for rate in (float(r) for r in args.rates.split(",")):
            hnr = tmp / f"potsdam_{rate}.hnr"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                enc = hinerc.compress(cube, hnr, bpppb=rate)
            psnr = f"{enc.psnr_db:.2f}"
            for v in args.variants.split(","):
                label, asw, isi = VARIANTS[v]
                former("decoded", f"{enc.bpppb:.3f}", psnr, label, hnr, asw, isi)
            if not args.no_baselines:
                emit("decoded", f"{enc.bpppb:.3f}", psnr, "SVM", baseline("svm", hnr, tr, te))
    if len(seeds) > 1:
        summary = ["", "| input | bpppb | classifier | seeds | mean OA % | min–max OA % |",
                   "|---|---|---|---|---|---|"]
        summary += [f"| {name} | {rate} | {clf} | {len(oas)} | {np.mean(oas):.2f} "
                    f"| {min(oas):.2f}–{max(oas):.2f} |"
                    for (name, rate, clf), oas in runs.items() if len(oas) > 1]
        lines += summary
        print("\n".join(summary), flush=True)
    text = (f"# Classification on decoded cubes\n\n{date.today()}, {platform.machine()}, "
            f"{os.cpu_count()} CPU cores. EnMAP Potsdam, 14 train tiles / 2 test tiles of the "
            f"split files, {args.epochs} epochs.\nCommand: `python benchmarks/classify.py "
            f"--epochs {args.epochs} --rates {args.rates} --seeds {args.seeds} "
            f"--variants {args.variants}{' --no-baselines' if args.no_baselines else ''}`\n\n"
            + "\n".join(lines) + "\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / args.name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
