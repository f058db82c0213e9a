"""The AV1 4:4:4 map coder (three maps a picture): round trip within the budget, the groups and
their empty form, the weighted plane scaling, a lying and a fuzzed framing, files with it
(format 1.9, MODL ``maps: "av1-444"``), and the efforts that try it."""

from __future__ import annotations

import struct

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

import hinerc  # noqa: E402
from hinerc import pipeline  # noqa: E402
from hinerc.codecs.lowrank import mapcoders  # noqa: E402
from hinerc.codecs.lowrank.mapcoders import MapCoder, av1joint  # noqa: E402
from hinerc.codecs.lowrank.mapcoders.av1joint import Av1JointMapCoder  # noqa: E402
from hinerc.errors import CorruptFileError  # noqa: E402
from hinerc.format import container  # noqa: E402
from hinerc.format.deflate import deflate_json  # noqa: E402

from conftest import make_cube  # noqa: E402
from test_mapcoder_hevc import make_maps  # noqa: E402

#: a short cq-level grid keeps the tests fast
QS = (2, 8, 16, 30, 46, 63)


@pytest.fixture(scope="module")
def coder() -> Av1JointMapCoder:
    return Av1JointMapCoder(qps=QS, jobs=2)


def _sse(a, b):
    return ((a - b) ** 2).sum(axis=(0, 1))


def test_registered_with_its_format():
    assert mapcoders.get("av1-444") is Av1JointMapCoder and issubclass(Av1JointMapCoder, MapCoder)
    assert "av1-444" in container.NEWER_MAP_CODERS
    doc = Av1JointMapCoder.format_doc
    assert "1.9" in doc and "4:4:4" in doc and "255" in doc


def test_groups_of_three():
    assert [list(g) for g in av1joint.groups(7)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert av1joint.groups(0) == []


@pytest.mark.parametrize("k", [1, 4])
def test_round_trip_within_budget_and_measured(coder, k):
    maps = make_maps(k=k)
    h, w, _ = maps.shape
    errors = []
    for budget in (60, 400, 1500, 8000):
        code = coder.encode(maps, budget)
        assert code.data and len(code.data) <= budget
        dec = coder.decode(code.data, h, w, k).reshape(h, w, k)
        # the coder's own measure is the decoded maps' error, map by map
        np.testing.assert_allclose(_sse(dec, maps), coder.map_sse, rtol=1e-9, atol=1e-6)
        assert all(j < k for j in code.empty)
        for j in code.empty:  # an empty map is its mean
            assert np.ptp(dec[:, :, j]) == 0
        errors.append(float(_sse(dec, maps).sum()))
        coder.check(code.data, h, w, k)
    assert errors == sorted(errors, reverse=True) and errors[-1] < 0.01 * errors[0]


def test_below_the_smallest_codestream_is_an_empty_code(coder):
    maps = make_maps(k=4)
    assert coder.encode(maps, 5).data == b""
    code = coder.encode(maps, 14)  # version, k, no header, two empty records of 13 and 5 bytes
    assert code.data == b"" or set(code.empty) == {0, 1, 2, 3}


def test_planes_share_one_weighted_step():
    rng = np.random.default_rng(1)
    ms = [rng.normal(0, s, (9, 11)) for s in (100.0, 10.0, 1.0)]
    offs, scales = av1joint._plane_scaling(ms, [1.0, 4.0, 0.0])
    assert float(scales[2]) == 0  # a map of weight 0 is its mean
    assert float(scales[0]) * 1.0 == pytest.approx(float(scales[1]) * 2.0, rel=1e-6)
    for m, o, s in zip(ms[:2], offs, scales):
        codes = (m - float(o)) / float(s)
        assert codes.min() > -0.5 and codes.max() < av1joint.TOP + 0.5  # no clipping


def test_importance_scales_the_planes(coder):
    """A map that matters more gets the finer step: a lower error at the same bytes."""
    maps = make_maps(k=3)
    h, w, k = maps.shape
    flat = coder.encode(maps, 900, importance=lambda sse: np.ones(k))
    dec = coder.decode(flat.data, h, w, k).reshape(h, w, k)
    heavy = coder.encode(maps, 900, importance=lambda sse: np.array([1.0, 1.0, 400.0]))
    dec2 = coder.decode(heavy.data, h, w, k).reshape(h, w, k)
    assert _sse(dec2, maps)[2] < _sse(dec, maps)[2]


@pytest.fixture(scope="module")
def stream(coder):
    maps = make_maps(k=4)
    return coder.encode(maps, 2000).data, maps.shape


def test_framing_lies_are_one_line_errors(coder, stream):
    data, (h, w, k) = stream
    parsed = av1joint.parse(data, k)
    assert parsed.packed() == data
    bad = [b"", b"\x02" + data[1:], data[:1] + b"\x05" + data[2:], data[:-1], data + b"\x00",
           data[:len(data) // 2]]
    seq_end = 3 + len(parsed.seq)
    bad.append(data[:seq_end] + bytes([64]) + data[seq_end + 1:])  # no cq-level 64
    # a negative scale, a NaN offset
    bad.append(data[:seq_end + 5] + struct.pack("<f", -1.0) + data[seq_end + 9:])
    bad.append(data[:seq_end + 1] + struct.pack("<f", float("nan")) + data[seq_end + 5:])
    bad.append(data[:1] + bytes([k, 0]) + data[seq_end:])  # pictures without a header
    for b in bad:
        with pytest.raises(CorruptFileError) as info:
            coder.decode(b, h, w, k)
        assert "\n" not in str(info.value)
    with pytest.raises(CorruptFileError):
        coder.check(data, h, w, k + 1)
    with pytest.raises(CorruptFileError):  # pictures of another size
        coder.decode(data, h + 16, w, k)


def test_fuzzed_payload_errors_or_decodes(coder, stream):
    data, (h, w, k) = stream
    rng = np.random.default_rng(9)
    for _ in range(12):
        bad = bytearray(data)
        i = int(rng.integers(0, len(bad)))
        bad[i] ^= 1 << int(rng.integers(0, 8))
        try:
            dec = coder.decode(bytes(bad), h, w, k)
        except ValueError as exc:
            assert "\n" not in str(exc)
        else:
            assert dec.shape == (h * w, k)


# ------------------------------------------------------------------------------ files
@pytest.fixture(scope="module")
def joint_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("av1joint") / "a.hnr"
    res = hinerc.compress(make_cube(), path, bpppb=2.0, map_coder="av1-444", seed=0)
    return path, res


def test_file_is_format_1_9_and_decodes_as_encoded(joint_file):
    path, res = joint_file
    blob = path.read_bytes()
    spec = container.read_file(path).sections["SPEC"]
    assert (blob[8], blob[9]) == ((1, 10) if spec[0] == 3 else (1, 9))  # 1.10: adaptive SPEC
    facts = hinerc.inspect(path)
    assert facts["map_coder"] == "av1-444" and "AV1 4:4:4" in facts["model_summary"]
    assert abs(facts["bpppb"] - 2.0) <= 0.03 * 2.0
    cube = make_cube()
    back = hinerc.decompress(path).data.astype(np.float64)
    assert np.sqrt(np.mean((back - cube.data) ** 2)) < 0.02 * float(np.ptp(cube.data))
    assert facts["psnr_db"] == pytest.approx(res.psnr_db, abs=1e-3)


def test_the_version_follows_the_map_coder():
    tags = container.plain_order(("SPEC", "MAPS"))
    for maps, version in (("av1-444", (1, 9)), ("av1", (1, 8))):
        modl = deflate_json(f'{{"arch":"lowrank","maps":"{maps}","rank":3}}'.encode())
        assert container.version_for(tags, {"MODL": modl}) == version
    assert container.version_for(tags, {"MODL": b"x"}) == container.VERSION  # not zlib


def test_hostile_maps_in_a_file_are_one_line_errors(joint_file):
    f = container.read_file(joint_file[0])
    maps = f.sections["MAPS"]
    for bad in [b"", b"\x01", maps[:len(maps) // 2], maps + b"\x00", b"\x02" + maps[1:]]:
        f.sections = dict(f.sections, MAPS=bad)
        with pytest.raises(CorruptFileError) as info:
            pipeline.decode(pipeline.load(container.to_bytes(f)))
        assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------ the efforts
def test_the_highest_efforts_try_it_with_slower_av1():
    from hinerc.codecs.lowrank.presets import EFFORTS

    for e in (8, 9):
        assert "av1-444" in EFFORTS[e].also
        assert EFFORTS[e].coder("av1").preset == "2"
        assert EFFORTS[e].coder("av1-444").preset == "2"
    assert EFFORTS[8].coder("hevc").preset == "slow"
    for e in range(1, 8):
        assert "av1-444" not in EFFORTS[e].also
        assert EFFORTS[e].coder("av1").preset == "4"


def test_the_highest_effort_codes_hevc_at_placebo_on_every_qp():
    from hinerc.codecs.lowrank.mapcoders.hevc import FINE_QP_GRID, QP_GRID
    from hinerc.codecs.lowrank.presets import EFFORTS

    top = EFFORTS[9].coder("hevc")
    assert top.preset == "placebo" and tuple(top.qps) == FINE_QP_GRID
    assert set(QP_GRID) < set(FINE_QP_GRID) and len(FINE_QP_GRID) == 49
    for e in range(5, 9):
        assert EFFORTS[e].coder("hevc").preset == "slow"
        assert tuple(EFFORTS[e].coder("hevc").qps) == QP_GRID


@pytest.mark.parametrize("side", [16, 24, 32])
def test_placebo_codes_small_pictures(side):
    """x265 refuses placebo's transform depth on a picture under 32 a side: those are coded at
    veryslow."""
    from hinerc.codecs.lowrank.mapcoders import hevc

    frames = np.random.default_rng(side).integers(0, 4096, (2, side, side)).astype(np.uint16)
    ps, pictures = hevc._encode_stack(frames, 10, "placebo")
    assert len(pictures) == 2 and ps


@pytest.mark.parametrize("side,tried", [(17, True), (18, False)])
def test_tried_only_on_cubes_of_modest_size(side, tried, monkeypatch):
    """A scene is too large for a coder without a sampled grid: an effort leaves it out there
    (``also_max_pixels``, here lowered to 300 pixels: 17² is under, 18² over)."""
    import warnings

    from hinerc.codecs.lowrank import presets

    calls = []

    def fake(self, *args, **kwargs):
        calls.append(type(self).name)
        raise mapcoders.MapCoderUnavailable("not run in this test")

    monkeypatch.setattr(Av1JointMapCoder, "encode", fake)
    monkeypatch.setattr(Av1JointMapCoder, "also_max_pixels", 300)
    monkeypatch.setattr(mapcoders.get("av1"), "encode", fake)
    monkeypatch.setattr(presets, "ALSO_MAX_BPPPB", 9.0)
    cube = make_cube(h=side, w=side, c=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hinerc.compress(cube, None, bpppb=6.0, effort=9, seed=0, pixel_net="off",
                        map_filter="off")
    assert "av1" in calls and ("av1-444" in calls) is tried
