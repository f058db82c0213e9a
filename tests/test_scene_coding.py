"""The scene paths of the low-rank codec (issue 16): the map coders' sampled R–D grid, the
large-cube search without float64 copies, the decoded bands mixed by windows. Small inputs with
the size thresholds lowered, so each path runs in a second."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from hinerc.codecs.lowrank import model  # noqa: E402
from hinerc.codecs.lowrank.mapcoders import intra  # noqa: E402
from hinerc.codecs.lowrank.mapcoders.hevc import HevcMapCoder  # noqa: E402

QPS = (0, 6, 12, 18, 24, 36, 51)


def _maps(h=130, w=150, k=4, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.empty((h, w, k), np.float32)
    for j in range(k):
        out[:, :, j] = (np.sin((3 + j) * 6 * x + j) * np.cos((2 + j) * 5 * y) * 1000.0 / (j + 1)
                        + rng.normal(0, 5.0, (h, w)))
    return out


def test_sample_blocks_spread_over_the_map_and_fill_a_mosaic():
    blocks, rows, cols = intra.sample_blocks(1000, 1000)
    assert len(blocks) == rows * cols and len(blocks) >= intra.SAMPLE_MIN
    ys = sorted({y for y, _ in blocks})
    xs = sorted({x for _, x in blocks})
    assert ys[0] < 128 and ys[-1] > 700 and len(xs) > 5  # spread over the map, not a corner
    assert all(y + 64 <= 1000 and x + 64 <= 1000 for y, x in blocks)
    m = np.arange(1000 * 1000, dtype=np.float64).reshape(1000, 1000)
    mo = intra._mosaic(m, blocks, rows, cols)
    y, x = blocks[1]
    assert np.array_equal(mo[:64, 64:128], m[y:y + 64, x:x + 64])


def test_between_interpolates_log_linearly_and_keeps_the_measured_levels():
    out = intra._between([0, 4, 8], np.array([100.0, 10.0, 1.0]), [0, 2, 4, 6, 8])
    assert np.allclose(out, [100, 10 ** 1.5, 10, 10 ** 0.5, 1])


def test_sampled_coding_lands_within_the_budget_and_decodes_what_it_measured():
    """Maps larger than ``sample_above`` are measured on a sample and coded whole only at the
    levels picked: the stream is within the budget, decodes, and its measured errors are the
    real ones (every point picked was coded whole)."""
    maps = _maps()
    sampled = HevcMapCoder(qps=QPS, jobs=2)
    sampled.sample_above = 0
    budget = 6000
    data = sampled.encode_bytes(maps, budget)
    assert len(data) <= budget
    dec = sampled.decode_maps(data, *maps.shape)
    sse = ((dec - maps) ** 2).sum(axis=(0, 1))
    assert np.allclose(sse, sampled.last.map_sse, rtol=1e-6, atol=1e-6)
    # against the full grid on the same maps and budget: the same order of quality
    full = HevcMapCoder(qps=QPS, jobs=2)
    ref = full.decode_maps(full.encode_bytes(maps, budget), *maps.shape)
    assert sse.sum() < 1.5 * ((ref - maps) ** 2).sum()


def test_without_takes_empty_maps_out_and_keeps_the_others():
    maps = _maps(k=3).astype(np.float64)
    coder = HevcMapCoder(qps=QPS, jobs=2)
    data = coder.encode_bytes(maps, 3000, weights=np.array([1.0, 0.0, 1.0]))  # 1: worth nothing
    empty = [j for j, m in enumerate(coder.last.modes) if m == intra.EMPTY]
    assert empty == [1]
    kept = coder.without(data, 3, empty)
    assert kept is not None and len(kept) < len(data)
    both = coder.decode_maps(data, *maps.shape[:2], 3)
    assert np.array_equal(coder.decode_maps(kept, *maps.shape[:2], 2), both[:, :, [0, 2]])
    assert coder.without(data, 3, [0]) is None  # a coded map is not taken out


def test_the_large_problem_scores_fits_as_the_exact_one(monkeypatch):
    """The large-cube search (Gram matrices, pixels read by chunks) finds the same basis and
    scores a fit within 0.05 dB of decoding it (the decoder's clip only lowers the error)."""
    rng = np.random.default_rng(2)
    n, h, w = 12, 40, 50
    base = rng.random((3, h * w))
    target = (rng.random((n, 3)) @ base + rng.normal(0, 0.01, (n, h * w)))
    target = ((target - target.min(1, keepdims=True)) / np.ptp(target, axis=1, keepdims=True))
    target = target.reshape(n, h, w).astype(np.float32)
    scales = np.linspace(100, 300, n)
    coder = HevcMapCoder(qps=QPS, jobs=2)
    small = model._Problem(target, None, scales, coder)
    monkeypatch.setattr(model, "CHUNK", 257)  # several chunks
    large = model._LargeProblem(target, None, scales, coder)
    for j in range(3):  # the leading components agree up to sign
        assert abs(abs(small.basis[:, j] @ large.basis[:, j]) - 1) < 1e-6
    maps = large.maps_for(3)
    blob = coder.encode_bytes(maps, 2500)
    exact = small.quantized(small.fit(3, blob, False), model.DEFAULT_REL)
    fast = large.quantized(large.fit(3, blob, False), model.DEFAULT_REL)
    assert fast.decoded is None and exact.psnr_db >= fast.psnr_db - 1e-6
    assert abs(exact.psnr_db - fast.psnr_db) < 0.05


def test_mixed_blocks_equal_the_whole_decode():
    rng = np.random.default_rng(4)
    k, n, h, w = 3, 5, 17, 23
    maps = rng.random((k, h, w)) * 60000
    emb = rng.normal(0, 0.3, (k + 1, n))
    emb[-1] = 0.5
    mixed = model.Mixed(maps, emb, h, w, np.array([30000, 30000, 30000]))
    whole = mixed.full()
    assert whole.shape == (n, h, w) and whole.min() >= 0 and whole.max() <= 1
    assert np.array_equal(mixed.block(3, 11, 5, 20), whole[:, 3:11, 5:20])


def test_planes_convert_only_the_window_asked_and_equal_the_whole():
    maps = _maps(h=40, w=36, k=3).astype(np.float64)
    coder = HevcMapCoder(qps=QPS, jobs=2)
    data = coder.encode_bytes(maps, 4000)
    planes = coder.decode_planes(data, 40, 36, 3)
    whole = np.asarray(planes)
    assert whole.shape == (3, 40, 36)
    assert np.array_equal(planes[:, 5:17, 9:30], whole[:, 5:17, 9:30])
    assert np.array_equal(planes[1], whole[1])
    assert np.array_equal(coder.decode_maps(data, 40, 36, 3), np.moveaxis(whole, 0, 2))
