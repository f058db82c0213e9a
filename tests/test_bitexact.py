"""A file decodes to the same bytes whatever the thread count of the decoder.

Encoded here (all threads), decoded in fresh processes with 1 and 2 BLAS/OpenMP threads, and in
this one: the same SHA-256 of the decoded samples each time. The files are the two paths of the
default model whose arithmetic is floating-point: the linear mix (float64 products, then the
sample type), the pixel network after it and the map filter before it, with float32 samples (a float is not rounded to
an integer, so a last-bit difference would show). Across machines the goldens check it
(``test_golden.py``: hashes written on another machine); across devices, a file whose
networks trained on CUDA decodes to the same bits in every thread count (on a machine with a
GPU; every decoder runs on the CPU).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

import hinerc
from hinerc.codecs.lowrank import mapfilter, pixelnet
from hinerc.io import Cube
from marks import requires_cuda

_DECODE = ("import hashlib, sys, numpy as np, hinerc; "
           "d = np.ascontiguousarray(hinerc.decompress(sys.argv[1], device='cpu').data); "
           "print(hashlib.sha256(d.tobytes()).hexdigest())")
_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _hash_in_process(path) -> str:
    data = np.ascontiguousarray(hinerc.decompress(path, device="cpu").data)
    return hashlib.sha256(data.tobytes()).hexdigest()


def _hash_with_threads(path, threads: int) -> str:
    env = {**os.environ, **{v: str(threads) for v in _THREADS}}
    done = subprocess.run([sys.executable, "-c", _DECODE, str(path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def _cube(h: int, w: int, c: int) -> np.ndarray:
    """Reflectance-like float32 spectra, a non-linear function of two smooth fields."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:h, 0:w] / 10.0
    a, b = np.sin(x + 0.4 * np.cos(y)), np.cos(0.6 * y - 0.2 * x)
    lam = np.linspace(0, 1, c)
    spec = np.tanh(2 * a[..., None] * (1 + lam)) + np.exp(-(b[..., None] - lam) ** 2 * 6)
    return (0.2 + 0.1 * spec + rng.normal(0, 1e-4, spec.shape)).astype(np.float32)


def _encode_all(d, device: str = "auto"):
    """The three files, their networks trained on ``device`` (briefly: their arithmetic is what
    is tested, not their gain)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(pixelnet, "MAX_SHARE", 0.5)
    real_train = pixelnet.train

    def brief(maps, miss, linear_held, hidden, iters, seed, device="cpu", tick=None):
        net, _ = real_train(maps, miss, linear_held, hidden, 300, seed, device, tick)
        return net, 1.0  # kept whatever it gains: its arithmetic is what is tested

    mp.setattr(pixelnet, "train", brief)
    real_filter = mapfilter.train

    def brief_filter(u, target, valid, emb, width, iters, *rest, **kw):
        return real_filter(u, target, valid, emb, width, 200, *rest, **kw)

    mp.setattr(mapfilter, "train", brief_filter)
    mp.setattr(mapfilter, "MAX_SHARE", 0.25)
    mp.setattr(mapfilter, "MIN_GAIN_DB", -100.0)  # kept whatever it gains
    try:
        data = _cube(64, 72, 70)
        hinerc.compress(Cube(data), d / "net.hnr", bpppb=1.0, effort=5, device=device)
        hinerc.compress(Cube(data), d / "mix.hnr", bpppb=1.0, effort=5, pixel_net="off",
                        device=device)
        hinerc.compress(Cube(data), d / "filter.hnr", bpppb=0.5, effort=7, pixel_net="off",
                        map_coder="hevc", device=device)
    finally:
        mp.undo()
    assert hinerc.inspect(d / "net.hnr")["pixel_net"] is True
    assert hinerc.inspect(d / "mix.hnr")["pixel_net"] is False
    assert hinerc.inspect(d / "filter.hnr")["map_filter"] is True
    return d


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return _encode_all(tmp_path_factory.mktemp("bitexact"), "cpu")


@pytest.mark.parametrize("name", ["net.hnr", "mix.hnr", "filter.hnr"])
def test_the_thread_count_does_not_change_a_bit(files, name):
    here = _hash_in_process(files / name)
    assert _hash_with_threads(files / name, 1) == here
    assert _hash_with_threads(files / name, 2) == here


@requires_cuda
def test_a_file_whose_networks_trained_on_cuda_decodes_the_same_bits_on_any_cpu(tmp_path):
    """Encoded on the GPU (the pixel network and the map filter trained there), decoded on the
    CPU in fresh processes of 1 and 2 threads and in this one: the same bits, and the quality
    the encoder measured."""
    d = _encode_all(tmp_path, "cuda")
    for name in ("net.hnr", "filter.hnr"):
        assert hinerc.inspect(d / name)["device"].startswith("cuda")
        here = _hash_in_process(d / name)
        assert _hash_with_threads(d / name, 1) == here
        assert _hash_with_threads(d / name, 2) == here
