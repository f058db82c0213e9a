"""The SVM floor on a few labels: does the default SpectralFormer beat an SVM on the test crop?

``tests/data/enmap_labelled_crop.tif`` (16×16 EnMAP pixels, 218 bands with data, 6 classes,
every pixel labelled) split per class with ``--split 0.3`` (77 training pixels, 179 test
pixels) for each seed. Rows, on the same pixels and the same split:

* ``SVM`` on single spectra (scikit-learn, the benchmark extra): ``C=1`` (scikit-learn's
  default) and ``C=100`` (the setting of ``benchmarks/classify.py``), RBF, ``gamma="scale"``,
  on the bands as ``classify`` prepares them (min–max normalised);
* ``SpectralFormer`` at the defaults of ``hinerc classify`` (ASW on; the input is a GeoTIFF,
  so no ISI): 10 epochs stretched to 300 optimizer steps, trained the few-labels way;
* ``SpectralFormer, --min-steps 0``: the 10 epochs only (20 steps), as before ``--min-steps``.

    python benchmarks/classify_floor.py [--seeds 0,1,2] [--split 0.3] [--no-old]

Prints a markdown table and writes it to ``benchmarks/results/classify_floor.md`` (``--name``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CROP = ROOT / "tests" / "data" / "enmap_labelled_crop.tif"
LABELS = ROOT / "tests" / "data" / "enmap_labelled_crop_labels.tif"


def svm_oa(x: np.ndarray, train: np.ndarray, test: np.ndarray, c: float) -> float:
    """OA of an RBF SVM trained on the spectra (C×H×W ``x``) of the ``train`` pixels."""
    from sklearn.svm import SVC

    pred = SVC(C=c, gamma="scale").fit(x[:, train > 0].T, train[train > 0]).predict(
        x[:, test > 0].T)
    return float((pred == test[test > 0]).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (split and training)")
    ap.add_argument("--split", default="0.3")
    ap.add_argument("--no-old", action="store_true", help="leave out the --min-steps 0 row")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--name", default="classify_floor.md")
    args = ap.parse_args(argv)
    from hinerc.classify.train import (TrainSettings, classify, label_maps, load_input,
                                       prepare_cube)

    seeds = [int(s) for s in args.seeds.split(",")]
    cube, _ = load_input(CROP)
    x = prepare_cube(cube).data
    rows: dict[str, list[float]] = {}
    lines = ["| seed | train px | test px | classifier | steps | OA % | κ | s |",
             "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)

    def emit(seed, lab, name, steps, oa, kappa, seconds):
        rows.setdefault(name, []).append(100 * oa)
        line = (f"| {seed} | {int((lab.train > 0).sum())} | {int((lab.test > 0).sum())} | {name} "
                f"| {steps} | {100 * oa:.2f} | {kappa} | {seconds:.0f} |")
        lines.append(line)
        print(line, flush=True)

    for seed in seeds:
        lab = label_maps(x.shape[1:], LABELS, None, args.split, seed)
        for c in (1, 100):
            t0 = time.perf_counter()
            oa = svm_oa(x, lab.train, lab.test, c)
            emit(seed, lab, f"SVM C={c}", "—", oa, "—", time.perf_counter() - t0)
        variants = [("SpectralFormer (defaults)", {})]
        if not args.no_old:
            variants.append(("SpectralFormer, --min-steps 0", {"min_steps": 0}))
        for name, kw in variants:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res, _ = classify(CROP, LABELS, split_spec=args.split,
                                  settings=TrainSettings(seed=seed, **kw))
            emit(seed, lab, name, res.steps, res.accuracy.oa, f"{res.accuracy.kappa:.3f}",
                 res.seconds)
    summary = ["", "| classifier | seeds | mean OA % | min–max OA % |", "|---|---|---|---|"]
    summary += [f"| {name} | {len(v)} | {np.mean(v):.2f} | {min(v):.2f}–{max(v):.2f} |"
                for name, v in rows.items()]
    lines += summary
    print("\n".join(summary), flush=True)
    import torch

    text = (f"# The SVM floor on a few labels\n\n{date.today()}, {platform.machine()}, "
            f"{os.cpu_count()} CPU cores (shared: times are upper bounds), "
            f"{torch.get_num_threads()} torch thread(s). "
            f"`tests/data/enmap_labelled_crop.tif`, `--split {args.split}` per seed.\n"
            f"Command: `python benchmarks/classify_floor.py --seeds {args.seeds} "
            f"--split {args.split}{' --no-old' if args.no_old else ''}`\n"
            "How the few-labels training was chosen: "
            "[classify_floor_choices.md](classify_floor_choices.md).\n\n"
            + "\n".join(lines) + "\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / args.name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
