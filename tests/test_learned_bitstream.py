"""benchmarks/learned_bitstream.py: the learned coder's latents come back from their bytes,
the integer context model follows the float one it was trained as, and the real file of a
small coder costs about what the training estimated (issue 18, items 1 and 4)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("constriction")

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, mod)
    spec.loader.exec_module(mod)
    return mod


bits = _load("learned_bitstream")
bench = _load("learned_maps")


def _layers(rng, nin=12, hidden=24):
    sizes = [nin, hidden, hidden, 2]
    return [(rng.integers(-300, 300, (o, i)), rng.integers(-3000, 3000, o))
            for i, o in zip(sizes[:-1], sizes[1:])]


@pytest.mark.parametrize("shape", [(3, 9, 11), (2, 1, 1), (1, 7, 2), (4, 2, 13)])
def test_latents_come_back_from_their_bytes(shape):
    rng = np.random.default_rng(sum(shape))
    layers = _layers(rng)
    levels = [rng.laplace(0, 6, shape).round().astype(np.int64),
              rng.integers(-2, 3, (1, 3, 3)).astype(np.int64)]
    buf = bits.encode_latents(levels, layers)
    back = bits.decode_latents(buf, [y.shape for y in levels], layers)
    for a, b in zip(levels, back):
        np.testing.assert_array_equal(a, b)


def test_the_wavefronts_cover_each_latent_once_after_its_context():
    h, w = 6, 8
    seen = np.full((h, w), -1)
    for t, (rows, cols) in enumerate(bits._fronts(h, w)):
        assert (seen[rows, cols] == -1).all()
        seen[rows, cols] = t
    assert (seen >= 0).all()
    for y in range(h):
        for x in range(w):
            for dy, dx in bits.OFFSETS:
                if 0 <= y + dy < h and 0 <= x + dx < w:
                    assert seen[y + dy, x + dx] < seen[y, x]


def test_a_latent_beyond_the_range_is_refused():
    layers = _layers(np.random.default_rng(0))
    with pytest.raises(ValueError, match="beyond"):
        bits.encode_latents([np.full((1, 2, 2), bits.LIMIT, np.int64)], layers)


def test_the_integer_context_model_follows_the_float_one():
    torch.manual_seed(0)
    arm = torch.nn.Sequential(torch.nn.Linear(12, 24), torch.nn.ReLU(), torch.nn.Linear(24, 24),
                              torch.nn.ReLU(), torch.nn.Linear(24, 2))
    ctx = np.random.default_rng(1).integers(-20, 21, (500, 12))
    with torch.no_grad():
        o = arm(torch.tensor(ctx, dtype=torch.float32)).double().numpy()
    mu, b = bits.arm_params(bits.arm_to_int(arm), ctx)
    assert np.abs(mu - o[:, 0]).max() < 0.2  # weights rounded to 1/256, the mean to 1/16
    want = np.log2(np.logaddexp(0.0, o[:, 1]) + 0.05)
    assert np.abs(np.log2(b) - want).max() < 0.1  # scale codes are 1/8 of an octave apart


def _problem(h=20, w=24, n=9, k=4):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:h, :w] / 7.0
    base = np.stack([np.sin(xx + j) * np.cos(yy * (j + 1)) for j in range(3)], -1)
    t = base.reshape(-1, 3) @ rng.random((3, n)) + 0.01 * rng.random((h * w, n))
    t = (t - t.min(0)) / (t.max(0) - t.min(0))
    tt = torch.tensor(t, dtype=torch.float32)
    mean = tt.mean(0)
    _, _, vt = torch.linalg.svd(tt - mean, full_matrices=False)
    return t, h, w, vt[:k], mean, (tt - mean) @ vt[:k].T


def test_the_real_file_costs_about_the_estimate_and_decodes_as_well():
    t, h, w, basis, mean, scores = _problem()
    a = bench._args(["--init", "dpcm", "--k", "4", "--delta", "0.02", "--chans", "1,1"])
    torch.manual_seed(0)
    net = bench.build(a, h, w, basis, mean, scores)
    bench.train(net, torch.tensor(t, dtype=torch.float32), 1e-6, 150)
    with torch.no_grad():
        rec, est = net("round")
    f = bits.real_file(net, t, lam=1e-6, header=100)
    assert 0.97 * float(est) / 8 <= f.latents <= 1.1 * float(est) / 8 + 16
    assert f.total == f.latents + f.arm + f.weights + f.spec + 100
    assert f.latents < f.latents_without_context  # the smooth maps' context pays
    assert f.decoded.shape == t.shape
    mse_net = float(((rec.double().numpy().clip(0, 1) - t) ** 2).mean())
    mse_file = float(((f.decoded - t) ** 2).mean())
    assert mse_file < 1.5 * mse_net  # the refitted embeddings make up for rounded weights
    with torch.no_grad():  # the coder is left as it was
        np.testing.assert_array_equal(net("round")[0].numpy(), rec.numpy())


@pytest.mark.parametrize("prec", [4, 8])
def test_a_coarser_context_model_is_multiples_of_its_step_and_packs_smaller(prec):
    torch.manual_seed(0)
    arm = torch.nn.Sequential(torch.nn.Linear(12, 24), torch.nn.ReLU(), torch.nn.Linear(24, 2))
    layers = bits.arm_to_int(arm, prec)
    for w, _ in layers:
        assert (w % (1 << (bits.SHIFT - prec)) == 0).all()
    if prec < bits.SHIFT:
        assert len(bits.pack_arm(layers, prec)) < len(bits.pack_arm(bits.arm_to_int(arm)))
