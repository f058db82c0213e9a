"""Classification accuracy: confusion matrix, overall (OA) and average (AA) accuracy, Cohen's κ.

As SpectralFormer and the HINER code report them: OA = trace / total; AA = mean over classes
of the per-class recall (classes with test pixels); κ = (OA − pₑ) / (1 − pₑ) with pₑ = Σ row·col /
total². Fractions in [0, 1]. Numpy only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def confusion(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """K×K counts: row = true class, column = predicted (classes 1..K as indices 0..K−1)."""
    m = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(m, (np.asarray(true) - 1, np.asarray(pred) - 1), 1)
    return m


@dataclass
class Accuracy:
    oa: float
    aa: float
    kappa: float
    per_class: list  # recall per class (None for a class without test pixels)
    confusion: list  # K×K counts

    def to_dict(self) -> dict:
        return asdict(self)


def accuracy(m: np.ndarray) -> Accuracy:
    total = m.sum()
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    oa = float(np.trace(m) / total) if total else float("nan")
    recall = [float(m[i, i] / rows[i]) if rows[i] else None for i in range(len(m))]
    present = [r for r in recall if r is not None]
    aa = float(np.mean(present)) if present else float("nan")
    pe = float((rows * cols).sum() / total ** 2) if total else float("nan")
    kappa = (oa - pe) / (1 - pe) if total and pe < 1 else float("nan")
    return Accuracy(oa, aa, float(kappa), recall, m.tolist())
