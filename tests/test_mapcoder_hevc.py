"""The HEVC map coder: round trip, budget, allocation, refinement and a fuzzed framing (the
coder's own API: ``encode_bytes``/``decode_maps`` on H×W×k maps); the map-coder interface, the
files it writes (format 1.3) and the fallback to JPEG 2000 are in ``test_mapcoder_hevc_file.py``."""

from __future__ import annotations

import itertools
import struct
import sys

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from hinerc.errors import CorruptFileError  # noqa: E402
from hinerc.codecs.lowrank.mapcoders import MapCoder  # noqa: E402
from hinerc.codecs.lowrank.mapcoders import hevc  # noqa: E402
from hinerc.codecs.lowrank.mapcoders.hevc import (EMPTY, REFINED, HevcMapCoder, allocate,  # noqa: E402
                                                  lower_hull)

#: A short QP grid keeps the tests fast (the default grid has 19 QPs).
QPS = (0, 6, 12, 24, 36, 51)


def make_maps(h=24, w=20, k=3, seed=0) -> np.ndarray:
    """Smooth maps of decreasing strength with a little noise, like principal components."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.empty((h, w, k))
    for j in range(k):
        out[:, :, j] = (np.sin((3 + j) * x + j) * np.cos((2 + j) * y) * 100.0 / (j + 1)
                        + rng.normal(0, 1.0, (h, w)))
    return out


@pytest.fixture(scope="module")
def coder() -> HevcMapCoder:
    return HevcMapCoder(qps=QPS, jobs=2)


def _sse(a, b):
    return ((a - b) ** 2).sum(axis=(0, 1))


def test_is_a_map_coder(coder):
    assert isinstance(coder, MapCoder) and coder.name == "hevc"


def test_round_trip_within_budget_and_prediction(coder):
    maps = make_maps()
    h, w, k = maps.shape
    errors = []
    for budget in (40, 300, 1500, 6000):
        data = coder.encode_bytes(maps, budget)
        assert len(data) <= budget
        dec = coder.decode_maps(data, h, w, k)
        assert dec.shape == maps.shape and dec.dtype == np.float64
        err = float(_sse(dec, maps).sum())
        # the allocation's error is measured on the very pictures written: decoding agrees
        assert err == pytest.approx(coder.last.distortion, rel=1e-6, abs=1e-9)
        assert np.allclose(coder.last.map_sse, _sse(dec, maps), rtol=1e-6, atol=1e-9)
        errors.append(err)
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-3 * errors[0]
    # at the largest budget every map is close: within a few 12-bit steps of its range
    span = maps.max(axis=(0, 1)) - maps.min(axis=(0, 1))
    rmse = np.sqrt(_sse(dec, maps) / (h * w))
    assert (rmse < 4 * span / 4095).all()


def test_fills_the_budget(coder):
    maps = make_maps(32, 40, 4, seed=1)
    for budget in (500, 2000):
        data = coder.encode_bytes(maps, budget)
        assert 0.9 * budget <= len(data) <= budget


def test_small_budgets(coder):
    maps = make_maps()
    h, w, k = maps.shape
    with pytest.raises(ValueError, match="below the 17 bytes"):
        coder.encode_bytes(maps, 16)
    data = coder.encode_bytes(maps, 17)  # every map empty: its mean
    assert len(data) == 17 and coder.last.modes == [EMPTY] * k
    dec = coder.decode_maps(data, h, w, k)
    assert np.allclose(dec, maps.mean(axis=(0, 1)).astype(np.float32), rtol=0, atol=1e-9)


def test_constant_map_odd_size_and_cache(coder):
    maps = make_maps(5, 37, 2, seed=2)
    maps[:, :, 1] = 3.25
    data = coder.encode_bytes(maps, 2000)
    assert coder.last.modes[1] == EMPTY and coder.last.modes[0] != EMPTY
    dec = coder.decode_maps(data, 5, 37, 2)
    assert np.array_equal(dec[:, :, 1], np.full((5, 37), 3.25))
    assert np.abs(dec[:, :, 0] - maps[:, :, 0]).max() < 2.0
    again = coder.encode_bytes(maps, 2000)  # grid results are cached per map
    assert again == data and coder.last.encodes == 0


def test_weights_steer_the_bytes(coder):
    maps = make_maps(32, 32, 2, seed=3)
    maps[:, :, 1] = maps[:, :, 0][::-1] * 1.01  # two maps alike, but for the weights
    def coded(weights):
        return coder.decode_maps(coder.encode_bytes(maps, 600, weights=np.array(weights)), 32, 32,
                                 2)

    even = _sse(coded([1.0, 1.0]), maps)
    first = _sse(coded([1e3, 1.0]), maps)
    assert first[0] < 0.5 * even[0] and first[1] > 2 * even[1]
    with pytest.raises(ValueError, match="weights"):
        coder.encode_bytes(maps, 800, weights=np.array([1.0, -1.0]))


def test_refinement_goes_past_qp0():
    maps = make_maps(24, 24, 2, seed=4) * 50  # a wide range: QP 0 alone leaves ~10 codes of error
    plain = HevcMapCoder(qps=QPS, jobs=2, refine=0)
    refined = HevcMapCoder(qps=QPS, jobs=2, refine=1)
    budget = 20_000
    d0 = plain.decode_maps(plain.encode_bytes(maps, budget), 24, 24, 2)
    d1 = refined.decode_maps(refined.encode_bytes(maps, budget), 24, 24, 2)
    assert refined.last.modes[0] >= REFINED and refined.last.refined == 1
    assert _sse(d1, maps)[0] < 0.5 * _sse(d0, maps)[0]
    assert plain.last.modes[0] == 0  # QP 0 is as far as plain goes


def test_bad_inputs(coder):
    with pytest.raises(ValueError, match="H×W×k"):
        coder.encode_bytes(np.zeros((4, 4)), 100)
    bad = make_maps()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        coder.encode_bytes(bad, 100)


# ------------------------------------------------------------------------------ allocation
def test_lower_hull_is_convex_and_decreasing():
    rng = np.random.default_rng(5)
    b = rng.uniform(0, 100, 40)
    d = rng.uniform(0, 100, 40)
    hull = lower_hull(b, d)
    hb, hd = b[hull], d[hull]
    assert (np.diff(hb) > 0).all() and (np.diff(hd) < 0).all()
    slopes = np.diff(hd) / np.diff(hb)
    assert (np.diff(slopes) > 0).all()  # slopes flatten: convex
    for i in range(40):  # no point lies below the hull
        j = np.searchsorted(hb, b[i])
        if 0 < j < len(hb):
            t = (b[i] - hb[j - 1]) / (hb[j] - hb[j - 1])
            assert d[i] >= hd[j - 1] + t * (hd[j] - hd[j - 1]) - 1e-9


def test_allocation_close_to_the_optimum():
    rng = np.random.default_rng(6)
    for _ in range(20):
        points = []
        for _ in range(3):
            b = np.sort(rng.uniform(1, 50, 6)).cumsum()
            d = np.sort(rng.uniform(0, 100, 6))[::-1] * rng.uniform(0.1, 10)
            points.append((np.r_[5.0, b], np.r_[1000.0, d]))
        budget = float(rng.uniform(20, 300))
        choice = allocate(points, budget)
        feasible = [c for c in itertools.product(range(7), repeat=3)
                    if sum(p[0][i] for p, i in zip(points, c)) <= budget]
        best = min(sum(p[1][i] for p, i in zip(points, c)) for c in feasible)
        assert choice is not None
        assert sum(p[0][i] for p, i in zip(points, choice)) <= budget
        assert sum(p[1][i] for p, i in zip(points, choice)) <= 1.25 * best + 1e-9
    assert allocate([(np.array([10.0]), np.array([1.0]))], 5) is None


# ------------------------------------------------------------------------------ framing
@pytest.fixture(scope="module")
def stream(coder) -> tuple[bytes, tuple[int, int, int]]:
    maps = make_maps(24, 20, 3, seed=7)
    return coder.encode_bytes(maps, 1500), maps.shape


def test_framing_lies_are_one_line_errors(coder, stream):
    data, (h, w, k) = stream
    parsed = hevc.parse(data, k)
    head = len(data) - sum(len(p) for p in parsed.pictures)
    lies = {
        "version": b"\x02" + data[1:],
        "map count": data[:1] + b"\x04" + data[2:],
        "mode": data[:2] + b"\x60" + data[3:],
        "trailing": data + b"\x00",
        "non-finite": data[:3] + struct.pack("<f", float("inf")) + data[7:],
        "empty": b"",
    }
    lies.update({f"cut at {n}": data[:n] for n in sorted({1, 2, 3, 8, head - 1, head,
                                                          len(data) // 2, len(data) - 1})})
    for what, bad in lies.items():
        with pytest.raises(CorruptFileError) as info:
            coder.decode_maps(bad, h, w, k)
        assert isinstance(info.value, ValueError), what
        assert "\n" not in str(info.value) and str(info.value), what
    with pytest.raises(CorruptFileError, match="holds 3 maps, expected 2"):
        coder.decode_maps(data, h, w, 2)
    with pytest.raises(CorruptFileError):  # the pictures are not of the size declared
        coder.decode_maps(data, h + 16, w, k)


def test_fuzzed_payload_errors_or_decodes(coder, stream):
    """A flipped bit in the HEVC payload either fails with one line or decodes to maps of the
    right shape (HEVC carries no checksum; the .hnr container does): never a hang or a crash."""
    data, (h, w, k) = stream
    rng = np.random.default_rng(8)
    for _ in range(12):
        bad = bytearray(data)
        i = int(rng.integers(0, len(bad)))
        bad[i] ^= 1 << int(rng.integers(0, 8))
        try:
            dec = coder.decode_maps(bytes(bad), h, w, k)
        except ValueError as exc:
            assert "\n" not in str(exc)
        else:
            assert dec.shape == (h, w, k)


def test_subprocess_is_time_limited_and_capped():
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    code, _, why = hevc._run(sleeper, b"", timeout=0.5, max_out=10)
    assert code == -9 and why == "timed out"
    talker = [sys.executable, "-c", "import sys; sys.stdout.write('x' * 1000000)"]
    code, out, why = hevc._run(talker, b"", timeout=60, max_out=1000)
    assert code == -9 and why == "wrote more than expected" and len(out) <= 1000 + 65536
