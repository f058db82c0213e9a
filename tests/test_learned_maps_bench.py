"""benchmarks/learned_maps.py: its starting points are what they say (issue 18, items 1–2).

``dpcm`` starts as the principal components quantized with the step asked, ``pyramid`` as their
Laplacian pyramid whose linear synthesis gives them back, and the rate estimate falls as the
step grows. On a small synthetic cube: no shared data needed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("learned_maps", ROOT / "benchmarks"
                                               / "learned_maps.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _problem(h=20, w=24, n=9, k=4):
    rng = np.random.default_rng(0)
    t = torch.tensor(rng.random((h * w, n)), dtype=torch.float32)
    mean = t.mean(0)
    _, _, vt = torch.linalg.svd(t - mean, full_matrices=False)
    basis = vt[:k]
    return h, w, basis, mean, (t - mean) @ basis.T


@pytest.mark.parametrize("init", ["dpcm", "pyramid"])
def test_the_start_gives_back_the_components(init):
    h, w, basis, mean, scores = _problem()
    a = bench._args(["--init", init, "--k", "4", "--delta", "1e-4", "--levels", "3"])
    torch.manual_seed(0)
    net = bench.build(a, h, w, basis, mean, scores)
    with torch.no_grad():
        rec, bits = net("round")
    want = scores @ basis + mean
    assert float((rec - want).abs().max()) < 2e-3  # a step of 1e-4 (1e-4 / 4 coarser), rounded
    assert float(bits) > 0


def test_dpcm_start_is_the_quantized_components():
    h, w, basis, mean, scores = _problem()
    a = bench._args(["--init", "dpcm", "--k", "4", "--delta", "0.05"])
    net = bench.build(a, h, w, basis, mean, scores)
    with torch.no_grad():
        rec, _ = net("round")
    want = torch.round(scores / 0.05) * 0.05 @ basis + mean
    assert torch.allclose(rec, want, atol=1e-5)


def test_a_coarser_step_costs_fewer_bits():
    h, w, basis, mean, scores = _problem()
    got = []
    for delta in ("0.01", "0.1"):
        a = bench._args(["--init", "dpcm", "--k", "4", "--delta", delta])
        torch.manual_seed(0)
        with torch.no_grad():
            got.append(float(bench.build(a, h, w, basis, mean, scores)("round")[1]))
    assert got[1] < got[0]


def test_the_laplace_code_length_is_that_of_its_bins():
    """−log2 of the bin's probability: the bins of a unit Laplace sum to one."""
    v = torch.arange(-60, 61, dtype=torch.float32)
    bits = bench._laplace_bits(v, torch.zeros_like(v), torch.ones_like(v))
    assert abs(float((2.0 ** -bits).sum()) - 1.0) < 1e-4
    assert float(bits[60]) < float(bits[61]) < float(bits[62])
