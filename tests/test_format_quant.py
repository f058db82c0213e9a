import numpy as np
import pytest

from hinerc.format.quant import PER_CHANNEL, PER_TENSOR, dequantize, quantize


def test_per_tensor_error_bounded_by_half_step():
    t = np.random.default_rng(0).normal(size=(64, 8, 3, 3)).astype(np.float32)
    q = quantize(t, 8, PER_TENSOR)
    assert q.q.min() >= 0 and q.q.max() <= 255
    step = q.scales[0]
    assert np.abs(q.dequantize() - t).max() <= step / 2 + 1e-6
    assert q.q.min() == 0 and q.q.max() == 255  # min/max map to the ends


def test_per_channel_chosen_when_channels_differ_in_range():
    rng = np.random.default_rng(1)
    t = rng.normal(size=(128, 64, 3, 3)).astype(np.float32)
    t *= np.logspace(-3, 0, 128, dtype=np.float32)[:, None, None, None]
    q = quantize(t, 8)
    assert q.mode == PER_CHANNEL and q.mins.size == 128
    assert np.mean((q.dequantize() - t) ** 2) < np.mean((quantize(t, 8, PER_TENSOR).dequantize() - t) ** 2)


def test_small_tensor_stays_per_tensor():
    t = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    assert quantize(t, 8).mode == PER_TENSOR


@pytest.mark.parametrize("bits", [5, 8, 12])
def test_bits_and_dequantize_roundtrip(bits):
    t = np.linspace(-1, 1, 1000, dtype=np.float32).reshape(10, 100)
    q = quantize(t, bits, PER_TENSOR)
    assert q.q.max() == (1 << bits) - 1
    np.testing.assert_array_equal(dequantize(q.q, q.mins, q.scales, q.mode), q.dequantize())


def test_constant_tensor():
    q = quantize(np.full((5, 5), 3.0, np.float32), 8)
    np.testing.assert_allclose(q.dequantize(), 3.0)
