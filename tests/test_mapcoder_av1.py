"""The AV1 map coder: round trip, budget, refinement past cq-level 1, the split into temporal
units, a lying and a fuzzed framing, the time-limited decoder (its own API and the map-coder
interface), and files with AV1 maps (format 1.3, MODL ``maps: "av1"``)."""

from __future__ import annotations

import struct

import warnings

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

import hinerc  # noqa: E402
from hinerc import pipeline  # noqa: E402
from hinerc.codecs.lowrank import mapcoders  # noqa: E402
from hinerc.codecs.lowrank.mapcoders import MapCode, MapCoder, MapCoderUnavailable, av1, hevc, intra  # noqa: E402,E501
from hinerc.codecs.lowrank.mapcoders.av1 import Av1MapCoder  # noqa: E402
from hinerc.errors import CorruptFileError  # noqa: E402
from hinerc.format import container  # noqa: E402

from conftest import make_cube  # noqa: E402
from test_mapcoder_hevc import make_maps  # noqa: E402

#: A short cq-level grid keeps the tests fast (the default grid has 22 levels).
QS = (1, 6, 12, 24, 40, 63)


@pytest.fixture(scope="module")
def coder() -> Av1MapCoder:
    return Av1MapCoder(qps=QS, jobs=2)


def _sse(a, b):
    return ((a - b) ** 2).sum(axis=(0, 1))


def test_registered_and_sharing_the_intra_parts():
    assert "av1" in mapcoders.names() and mapcoders.get("av1") is Av1MapCoder
    assert issubclass(Av1MapCoder, MapCoder) and Av1MapCoder.name == "av1"
    doc = Av1MapCoder.format_doc
    assert "1.3" in doc and "libdav1d" in doc and "temporal unit" in doc
    # one implementation of the allocation, the framing and the runner for both codecs
    assert hevc.allocate is intra.allocate and hevc._run is intra._run is av1._run
    assert issubclass(hevc.HevcMapCoder, intra.IntraMapCoder)


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
        assert err == pytest.approx(coder.last.distortion, rel=1e-6, abs=1e-9)
        errors.append(err)
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-3 * errors[0]


def test_fills_the_budget_small_budgets_and_cache(coder):
    maps = make_maps(32, 40, 4, seed=1)
    for budget in (500, 2000):
        data = coder.encode_bytes(maps, budget)
        assert 0.8 * budget <= len(data) <= budget  # the short test grid fills coarsely
    again = coder.encode_bytes(maps, 2000)
    assert again == data and coder.last.encodes == 0
    small = make_maps()
    with pytest.raises(ValueError, match="below the 17 bytes of the smallest AV1"):
        coder.encode_bytes(small, 16)
    assert coder.encode_bytes(small, 17) and coder.last.modes == [intra.EMPTY] * 3


def test_constant_map_and_odd_size(coder):
    maps = make_maps(5, 37, 2, seed=2)
    maps[:, :, 1] = 3.25
    data = coder.encode_bytes(maps, 2000)
    assert coder.last.modes[1] == intra.EMPTY and coder.last.modes[0] != intra.EMPTY
    dec = coder.decode_maps(data, 5, 37, 2)
    assert np.array_equal(dec[:, :, 1], np.full((5, 37), 3.25))
    assert np.abs(dec[:, :, 0] - maps[:, :, 0]).max() < 2.0


def test_refinement_goes_past_the_finest_level():
    maps = make_maps(24, 24, 2, seed=4) * 50
    plain = Av1MapCoder(qps=QS, jobs=2, refine=0)
    refined = Av1MapCoder(qps=QS, jobs=2, refine=1)
    d0 = plain.decode_maps(plain.encode_bytes(maps, 20_000), 24, 24, 2)
    d1 = refined.decode_maps(refined.encode_bytes(maps, 20_000), 24, 24, 2)
    assert plain.last.modes[0] == 1 and refined.last.modes[0] >= intra.REFINED
    assert _sse(d1, maps)[0] < 0.5 * _sse(d0, maps)[0]
    assert Av1MapCoder(qps=(6, 12)).refine == 0  # no finest lossy level, no refinement


def test_interface_round_trip_and_check(coder):
    maps = np.clip(32768 + make_maps(24, 20, 3, seed=5) * 100, 0, 65535)
    code = coder.encode(maps, 1200)
    assert isinstance(code, MapCode) and 0 < len(code.data) <= 1200
    coder.check(code.data, 24, 20, 3)
    back = coder.decode(code.data, 24, 20, 3)
    assert back.shape == (480, 3) and np.sqrt(np.mean((back - maps.reshape(-1, 3)) ** 2)) < 2000
    for args in [(24, 20, 2), (0, 20, 3)]:
        with pytest.raises(CorruptFileError):
            coder.check(code.data, *args)
    assert coder.encode(maps, 5).data == b""


# ------------------------------------------------------------------------------ OBU framing
def test_split_into_temporal_units():
    seq = bytes([0x0A, 0x02, 0xAA, 0xBB])  # sequence header OBU, 2 bytes
    frame = lambda b: bytes([0x32, 0x01, b])  # noqa: E731  frame OBU, 1 byte
    stream = av1.TD + seq + frame(1) + av1.TD + seq + frame(2) + av1.TD + frame(3)
    ps, pics = av1.split_temporal_units(stream, 3)
    assert ps == seq and pics == [frame(1), frame(2), frame(3)]
    other = bytes([0x0A, 0x02, 0xCC, 0xDD])
    ps, pics = av1.split_temporal_units(stream.replace(seq + frame(2), other + frame(2)), 3)
    assert pics[1] == other + frame(2)
    joined = Av1MapCoder()._join(ps, pics)
    assert joined == av1.TD + seq + frame(1) + av1.TD + other + frame(2) + av1.TD + seq + frame(3)
    for bad in (stream[:-1], bytes([0x30, 0x01]) + stream, frame(1) + stream):
        with pytest.raises(intra.FfmpegError):
            av1.split_temporal_units(bad, 3)
    with pytest.raises(intra.FfmpegError, match="4 maps"):
        av1.split_temporal_units(stream, 4)


@pytest.fixture(scope="module")
def stream(coder):
    maps = make_maps(24, 20, 3, seed=7)
    return coder.encode_bytes(maps, 1500), maps.shape


def test_framing_lies_are_one_line_errors(coder, stream):
    data, (h, w, k) = stream
    parsed = av1.parse(data, k)
    assert parsed.ps[0] >> 3 & 15 == av1.OBU_SEQUENCE_HEADER
    head = len(data) - sum(len(p) for p in parsed.pictures)
    pic0 = head  # the first picture: its first OBU header loses its size field
    lies = {
        "version": b"\x02" + data[1:],
        "map count": data[:1] + b"\x04" + data[2:],
        "mode": data[:2] + b"\x50" + data[3:],
        "trailing": data + b"\x00",
        "non-finite": data[:3] + struct.pack("<f", float("inf")) + data[7:],
        "empty": b"",
        "no size field": data[:pic0] + bytes([data[pic0] & ~0x02]) + data[pic0 + 1:],
    }
    lies.update({f"cut at {n}": data[:n] for n in sorted({1, 2, 3, 8, head - 1, head,
                                                          len(data) // 2, len(data) - 1})})
    for what, bad in lies.items():
        with pytest.raises(CorruptFileError) as info:
            coder.decode_maps(bad, h, w, k)
        assert "\n" not in str(info.value) and str(info.value), what
    with pytest.raises(CorruptFileError, match="AV1 maps codestream holds 3 maps, expected 2"):
        coder.decode_maps(data, h, w, 2)
    with pytest.raises(CorruptFileError):  # the pictures are not of the size declared
        coder.decode_maps(data, h + 16, w, k)


def test_fuzzed_payload_errors_or_decodes(coder, stream):
    """A flipped bit either fails with one line or decodes to maps of the right shape (AV1
    carries no checksum; the .hnr container does): never a hang or a crash."""
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


def test_decoder_is_time_limited(monkeypatch, coder, stream):
    """The decoder runs through the shared runner with a time limit: a hanging ffmpeg is one
    line, not a hang."""
    data, (h, w, k) = stream
    monkeypatch.setattr(av1, "ffmpeg_exe", lambda: "sleep")
    real = intra._run
    monkeypatch.setattr(av1, "_run", lambda cmd, d, timeout, max_out:
                        real(["sleep", "60"], d, 0.5, max_out))
    with pytest.raises(CorruptFileError, match="timed out"):
        coder.decode_maps(data, h, w, k)


# ------------------------------------------------------------------------------ files
@pytest.fixture(scope="module")
def av1_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("av1") / "a.hnr"
    hinerc.compress(make_cube(), path, bpppb=2.0, map_coder="av1", seed=0)
    return path


def test_file_with_av1_maps_is_format_1_3_and_decodes(av1_file):
    blob = av1_file.read_bytes()
    # 1.7: embeddings range-coded; 1.8: compact side info; 1.10: adaptive embeddings
    assert (blob[8], blob[9]) in ((1, 3), (1, 7), (1, 8), (1, 10))
    facts = hinerc.inspect(av1_file)
    assert facts["map_coder"] == "av1" and facts["model_config"]["maps"] == "av1"
    assert "AV1" in facts["model_summary"]
    cube = make_cube()
    back = hinerc.decompress(av1_file).data.astype(np.float64)
    err = np.sqrt(np.mean((back - cube.data) ** 2))
    assert err < 0.02 * float(cube.data.max() - cube.data.min())
    assert abs(facts["bpppb"] - 2.0) <= 0.03 * 2.0


def test_hostile_av1_maps_are_one_line_errors(av1_file):
    f = container.read_file(av1_file)
    maps = f.sections["MAPS"]
    for bad in [b"", b"\x01", maps[:len(maps) // 2], maps + b"\x00", b"\x02" + maps[1:]]:
        f.sections = dict(f.sections, MAPS=bad)
        with pytest.raises(CorruptFileError) as info:
            pipeline.decode(pipeline.load(container.to_bytes(f)))
        assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------ the choice
@pytest.mark.slow  # five encodes, about 11 s
def test_the_default_codes_with_both_and_keeps_the_better_file(tmp_path, monkeypatch):
    """Effort 5 (``Preset.also``): the cube is coded with HEVC and with AV1 at the same budget
    and the file of higher measured quality is kept; ``map_coder`` codes with one coder only."""
    from hinerc.codecs.lowrank import presets
    from hinerc.codecs.lowrank.presets import EFFORTS

    monkeypatch.setattr(presets, "ALSO_MAX_BPPPB", 4.0)  # this small cube needs 2 bpppb

    assert EFFORTS[5].maps == "hevc" and EFFORTS[5].also == ("av1",)
    cube = make_cube()
    quality = {}
    for name in ("hevc", "av1"):
        path = tmp_path / f"{name}.hnr"
        hinerc.compress(cube, path, bpppb=2.0, map_coder=name, seed=0)
        back = hinerc.decompress(path).data.astype(np.float64)
        mse = ((back - cube.data) ** 2).mean(axis=(0, 1))
        span = np.ptp(cube.data.astype(np.float64), axis=(0, 1))
        quality[name] = float(np.mean(-10 * np.log10(mse / span ** 2)))  # band-mean PSNR
    path = tmp_path / "both.hnr"
    hinerc.compress(cube, path, bpppb=2.0, effort=5, seed=0)
    chosen = hinerc.inspect(path)["map_coder"]
    kept, alone = container.read_file(path), container.read_file(tmp_path / f"{chosen}.hnr")
    assert all(kept.sections[s] == alone.sections[s] for s in ("MAPS", "SPEC"))
    other = "av1" if chosen == "hevc" else "hevc"
    assert quality[chosen] > quality[other] - 0.05  # chosen by the encoder's own measure


@pytest.mark.parametrize("bands,rate,tried", [(12, 2.0, False), (12, 0.3, True),
                                              (80, 0.3, False)])
def test_the_second_coder_only_on_few_bands_at_low_rates(bands, rate, tried, monkeypatch):
    """AV1 is tried beside HEVC only where it was measured ahead: few bands, low rates."""
    from hinerc.codecs.lowrank.mapcoders import av1

    calls = []

    def fake(self, *args, **kwargs):
        calls.append(1)
        raise MapCoderUnavailable("not run in this test")

    monkeypatch.setattr(av1.Av1MapCoder, "encode", fake)
    cube = make_cube(h=64, w=64, c=bands)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = hinerc.compress(cube, None, bpppb=rate, effort=5, seed=0)
    assert bool(calls) is tried and res.arch == "lowrank"
