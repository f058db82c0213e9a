"""Model size from a parameter budget: the HINER channel ladder, filled to the budget.

The published rule derives the stem width from a model size by a quadratic solve and narrows
each stage by 1.2 down to a floor of 12 channels. On small cubes that floor alone exceeds low
budgets, so here the floor never exceeds the stem width, the embedding depth shrinks when the
embeddings would eat more than 40% of the budget, and after the largest ladder that fits, single
channels are added stage by stage until the next one would overflow. The result lands within a
fraction of a percent of the budget. Numpy only.
"""

from __future__ import annotations

from hinerc.codecs.hiner.config import ModelConfig
from hinerc.codecs.hiner.geometry import Geometry

REDUCE = 1.2
LOWER_WIDTH = 12
MAX_WIDTH = 1024
EMBED_CHOICES = (16, 8, 4, 2, 1)


def hiner_kernels(n_stages: int) -> list[int]:
    """Published kernel ladder: 1, 3, 5, 5, ... (``ks 0_1_5``)."""
    return [min(1 + 2 * i, 5) for i in range(n_stages)]


def ladder(c0: int, n_stages: int) -> list[int]:
    chans = [c0]
    floor = min(LOWER_WIDTH, c0)
    for _ in range(n_stages):
        chans.append(max(int(round(chans[-1] / REDUCE)), floor))
    return chans


def _config(geom: Geometry, embed: int, chans: list[int]) -> ModelConfig:
    return ModelConfig(arch="hiner", embed_channels=embed, embed_h=geom.embed_h,
                       embed_w=geom.embed_w, strides=list(geom.strides), channels=list(chans),
                       kernels=hiner_kernels(len(geom.strides)), crop_top=geom.crop_top,
                       crop_left=geom.crop_left)


def config_for_budget(geom: Geometry, n_coded: int, budget: int) -> ModelConfig | None:
    """The largest HINER config with at most ``budget`` stored values (embeddings included).

    Returns ``None`` when even the smallest model (1 channel everywhere) does not fit.
    """
    n_stages = len(geom.strides)
    for embed in EMBED_CHOICES:
        emb = n_coded * embed * geom.embed_h * geom.embed_w
        if embed > 1 and emb > 0.4 * budget:
            continue
        room = budget - emb

        def size(chans: list[int]) -> int:
            return _config(geom, embed, chans).decoder_params()

        if size([1] * (n_stages + 1)) > room:
            continue
        lo, hi = 1, MAX_WIDTH
        while lo < hi:  # largest stem width whose ladder fits
            mid = (lo + hi + 1) // 2
            if size(ladder(mid, n_stages)) <= room:
                lo = mid
            else:
                hi = mid - 1
        chans = ladder(lo, n_stages)
        grown = True
        while grown:  # fill the remainder one channel at a time, last stage first
            grown = False
            for i in reversed(range(len(chans))):
                if chans[i] >= MAX_WIDTH:
                    continue
                trial = chans[:i] + [chans[i] + 1] + chans[i + 1:]
                if size(trial) <= room:
                    chans, grown = trial, True
        return _config(geom, embed, chans)
    return None


def smallest_config(geom: Geometry) -> ModelConfig:
    return _config(geom, 1, [1] * (len(geom.strides) + 1))
