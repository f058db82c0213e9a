"""HEVC maps behind the map-coder interface and in files: the interface (``MapCode``, the
``importance`` hook, ``check``), ``--map-coder hevc`` (format 1.3, MODL ``maps``), hostile
MAPS, and the fallback to JPEG 2000 when the bundled ffmpeg is missing or fails."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

import hinerc  # noqa: E402
from hinerc import pipeline  # noqa: E402
from hinerc.cli import cli  # noqa: E402
from hinerc.codecs.lowrank import mapcoders  # noqa: E402
from hinerc.codecs.lowrank.mapcoders import MapCode, MapCoder, hevc  # noqa: E402
from hinerc.errors import CorruptFileError, HinercWarning  # noqa: E402
from hinerc.format import container  # noqa: E402

from conftest import make_cube  # noqa: E402

QPS = (0, 6, 12, 24, 36, 51)


def _maps(h=24, w=20, k=3, seed=0):
    """Maps in code units (0..65535), of decreasing strength, as the low-rank model gives."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.stack([np.sin((3 + j) * x + j) * np.cos((2 + j) * y) * 20000 / (j + 1)
                    for j in range(k)], -1)
    return np.clip(32768 + out + rng.normal(0, 100, out.shape), 0, 65535)


def test_registered_behind_the_interface():
    assert "hevc" in mapcoders.names() and mapcoders.DEFAULT == "jpeg2000"
    cls = mapcoders.get("hevc")
    assert issubclass(cls, MapCoder) and cls.name == "hevc"
    assert "1.3" in cls.format_doc and "imageio-ffmpeg" in cls.format_doc


def test_interface_round_trip_check_and_budget():
    maps = _maps()
    coder = hevc.HevcMapCoder(qps=QPS, jobs=2)
    ticks = []
    code = coder.encode(maps, 1200, tick=lambda: ticks.append(1))
    assert isinstance(code, MapCode) and 0 < len(code.data) <= 1200 and ticks
    coder.check(code.data, 24, 20, 3)
    back = coder.decode(code.data, 24, 20, 3)
    assert back.shape == (24 * 20, 3) and back.dtype == np.float64
    assert np.sqrt(np.mean((back - maps.reshape(-1, 3)) ** 2)) < 2000
    assert not code.finest and coder.encode(maps, 10 ** 6).finest
    for args in [(24, 20, 2), (24, 20, 4), (0, 20, 3)]:
        with pytest.raises(CorruptFileError):
            coder.check(code.data, *args)
    with pytest.raises(CorruptFileError):
        coder.check(b"\xff\x4f\xff\x51" + b"\x00" * 60, 24, 20, 3)  # a JPEG 2000 start
    assert coder.encode(maps, 5).data == b""  # below the smallest codestream: an empty code


def test_importance_weighs_the_maps():
    # two maps alike but for their importance: the important one gets the bytes; the hook is
    # asked first without errors, then with the errors of the code before
    maps = _maps(32, 32, 2, seed=3)
    maps[:, :, 1] = maps[:, :, 0][::-1]
    coder = hevc.HevcMapCoder(qps=QPS, jobs=2)
    asked = []

    def weigh(first):
        def f(sse):
            asked.append(None if sse is None else np.array(sse))
            return np.array([first, 1.0])
        return f

    def error(weights):
        back = coder.decode(coder.encode(maps, 700, importance=weigh(weights)).data, 32, 32, 2)
        return ((back - maps.reshape(-1, 2)) ** 2).sum(0)

    even, first = error(1.0), error(1e3)
    assert first[0] < 0.5 * even[0] and first[1] > 2 * even[1]
    assert asked[0] is None and asked[1].shape == (2,) and len(asked) == 2 * (1 + hevc.REWEIGHTS)


def test_model_importance_counts_each_band_relative_to_its_error():
    # the low-rank model's hook: a band with a tiny error makes the maps it needs weigh more
    from hinerc.codecs.lowrank import model

    rng = np.random.default_rng(0)
    target = rng.random((6, 8, 8))
    p = model._Problem(target, None, np.ones(6), hevc.HevcMapCoder(qps=QPS))
    weigh = p.importance(3)
    w0 = weigh(None)
    assert w0.shape == (3,) and (w0 > 0).all()
    w_small, w_big = weigh(np.full(3, 1e-3)), weigh(np.full(3, 1e3))
    assert (w_small > w_big).all()


@pytest.fixture(scope="module")
def hevc_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("hevc") / "h.hnr"
    hinerc.compress(make_cube(), path, bpppb=2.0, map_coder="hevc", seed=0)
    return path


def test_file_with_hevc_maps_is_format_1_3_and_decodes(hevc_file):
    blob = hevc_file.read_bytes()
    # 1.7: embeddings range-coded; 1.8: compact side info; 1.10: adaptive embeddings
    assert (blob[8], blob[9]) in ((1, 3), (1, 7), (1, 8), (1, 10))
    facts = hinerc.inspect(hevc_file)
    assert facts["map_coder"] == "hevc" and facts["model_config"]["maps"] == "hevc"
    assert "HEVC" in facts["model_summary"]
    cube = make_cube()
    back = hinerc.decompress(hevc_file).data.astype(np.float64)
    err = np.sqrt(np.mean((back - cube.data) ** 2))
    assert err < 0.02 * float(cube.data.max() - cube.data.min())
    assert abs(facts["bpppb"] - 2.0) <= 0.03 * 2.0


def test_hostile_hevc_maps_are_one_line_errors(hevc_file):
    f = container.read_file(hevc_file)
    maps = f.sections["MAPS"]
    lies = [b"", b"\x01", maps[:len(maps) // 2], maps + b"\x00", b"\x02" + maps[1:],
            b"\xff\x4f\xff\x51" + maps[4:]]
    for bad in lies:
        f.sections = dict(f.sections, MAPS=bad)
        with pytest.raises(CorruptFileError) as info:
            pipeline.decode(pipeline.load(container.to_bytes(f)))
        assert "\n" not in str(info.value)
    # the same maps under MODL "jpeg2000" (no name): the JPEG 2000 check refuses them
    f = container.read_file(hevc_file)
    f.model = {k: v for k, v in f.model.items() if k != "maps"}
    with pytest.raises(CorruptFileError, match="JPEG 2000"):
        pipeline.load(container.to_bytes(f))


def _broken_ffmpeg(monkeypatch):
    def missing() -> str:
        raise hevc.FfmpegError("the HEVC map coder needs imageio-ffmpeg (pip install "
                               "'imageio-ffmpeg>=0.5')")
    monkeypatch.setattr(hevc, "ffmpeg_exe", missing)


def test_missing_ffmpeg_falls_back_to_jpeg2000_with_one_warning(monkeypatch, tmp_path):
    _broken_ffmpeg(monkeypatch)
    out = tmp_path / "f.hnr"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hinerc.compress(make_cube(), out, bpppb=2.0, map_coder="hevc", seed=0)
    ours = [w for w in caught if issubclass(w.category, HinercWarning)]
    assert len(ours) == 1 and "JPEG 2000" in str(ours[0].message)
    assert hinerc.inspect(out)["map_coder"] == "jpeg2000"
    assert out.read_bytes()[8:10] == bytes([1, 8])  # no HEVC maps; compact side info (1.8)


def test_failing_ffmpeg_falls_back_too(monkeypatch, tmp_path):
    # an ffmpeg that starts but fails (exit 1) on what it is given
    monkeypatch.setattr(hevc, "ffmpeg_exe", lambda: "false")
    out = tmp_path / "f.hnr"
    with pytest.warns(HinercWarning, match="JPEG 2000"):
        hinerc.compress(make_cube(), out, bpppb=2.0, map_coder="hevc", seed=0)
    assert hinerc.inspect(out)["map_coder"] == "jpeg2000"


def test_cli_map_coder_option_and_fallback_line(runner, tmp_path, monkeypatch):
    cube = tmp_path / "c.npy"
    np.save(cube, make_cube().data)
    r = runner.invoke(cli, ["compress", str(cube), "-o", str(tmp_path / "a.hnr"), "--bpppb", "2",
                            "--map-coder", "hevc", "--quiet"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["info", str(tmp_path / "a.hnr"), "--json"])
    assert json.loads(r.stdout)["map_coder"] == "hevc"
    r = runner.invoke(cli, ["compress", str(cube), "-o", str(tmp_path / "b.hnr"), "--bpppb", "2",
                            "--map-coder", "vvc"])
    assert r.exit_code == 2 and "--map-coder" in r.output
    r = runner.invoke(cli, ["compress", str(cube), "-o", str(tmp_path / "b.hnr"), "--bpppb", "2",
                            "--map-coder", "hevc", "--arch", "hiner", "--epochs", "1"])
    assert r.exit_code == 2 and "--map-coder" in r.output
    _broken_ffmpeg(monkeypatch)
    r = runner.invoke(cli, ["compress", str(cube), "-o", str(tmp_path / "c.hnr"), "--bpppb", "2",
                            "--map-coder", "hevc"])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stderr.splitlines()
             if ln.startswith("hinerc: warning:") and "map coder" in ln]
    assert len(lines) == 1 and "JPEG 2000" in lines[0] and "Traceback" not in r.output
    r = runner.invoke(cli, ["compress", str(cube), "-o", str(tmp_path / "d.hnr"), "--bpppb", "2",
                            "--map-coder", "hevc", "--quiet"])
    assert r.exit_code == 0 and "warning" not in r.stderr


# ------------------------------------------------------------------------------ allocation
def test_map_cost_lets_the_coder_leave_maps_out_and_spend_their_rows():
    maps = _maps(32, 32, 6, seed=4)
    maps = 32768 + (maps - 32768) * 0.2 ** np.arange(6)  # weaker and weaker maps
    coder = hevc.HevcMapCoder(qps=QPS, jobs=2)
    free = coder.encode(maps, 1500)
    costly = coder.encode(maps, 1500, map_cost=300.0)
    assert len(costly.empty) > len(free.empty)
    assert len(costly.data) <= 1500 + 300 * len(costly.empty)
    assert len(free.data) <= 1500
    assert list(costly.empty) == [j for j, m in enumerate(coder.last.modes) if m == hevc.EMPTY]


def test_default_effort_lets_the_allocation_choose_the_rank():
    # HEVC maps at the default effort: the coder is offered more components than it codes,
    # the maps it leaves empty are dropped (none is stored as a constant) and the embeddings
    # are fitted to the maps coded
    from hinerc.codecs.lowrank import model
    from hinerc.codecs.lowrank.presets import EFFORTS

    assert EFFORTS[5].maps == "hevc" and EFFORTS[5].also == ("av1",)
    assert EFFORTS[5].search.allocate
    assert all(EFFORTS[e].maps == "jpeg2000" for e in (1, 2, 3, 4))
    cube = make_cube(h=32, w=32, c=24)
    events = []
    res = hinerc.compress(cube, None, bpppb=1.0, effort=5, progress=events.append)
    notes = [e.note for e in events if e.note]
    offered = model.first_rank(1.0) * 2
    assert notes and all(n.startswith("rank ") for n in notes)
    rank = int(notes[-1].split()[1].rstrip(":"))
    assert 1 <= rank < min(offered, 24)
    assert abs(res.bpppb - 1.0) <= 0.03
    prog = [e for e in events if not e.note and e.total]
    assert prog and prog[-1].done == prog[-1].total
    assert all(e.done <= e.total for e in prog)


def test_allocated_file_stores_no_empty_map(tmp_path):
    out = tmp_path / "a.hnr"
    hinerc.compress(make_cube(h=32, w=32, c=24), out, bpppb=1.0, effort=5)
    f = container.read_file(out)
    assert f.model["maps"] in ("hevc", "av1")  # the default keeps the better of the two
    stream = mapcoders.get(f.model["maps"])().parse(f.sections["MAPS"], f.model["rank"])
    assert stream.records and not any(r.empty for r in stream.records)


def test_the_highest_efforts_also_run_the_default_allocation_and_keep_the_better():
    """-e8/-e9 share the bytes out with their own embedding step and row cost and again with the
    default level's: the search's result is never below the default allocation's."""
    from hinerc.codecs.lowrank import model
    from hinerc.codecs.lowrank.presets import EFFORTS

    for e in (8, 9):
        assert EFFORTS[e].search.also_allocate == ((model.DEFAULT_REL,
                                                    EFFORTS[5].search.row_cost),)
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:32, 0:32] / 32.0
    maps = np.stack([np.sin(5 * x + 3 * y), np.cos(7 * y) * x, np.sin(11 * x * y)], 0)
    target = np.clip(0.5 + 0.15 * np.einsum("khw,kn->nhw", maps, rng.normal(0, 1, (3, 20)))
                     + rng.normal(0, 0.01, (20, 32, 32)), 0, 1).astype(np.float32)
    scales = np.full(20, 1000.0)

    def run(search):
        seen = []
        best = model.encode(target, None, scales, 2000, search, hevc.HevcMapCoder(jobs=2),
                            on_trial=seen.append)
        return best, seen

    default, _ = run(EFFORTS[5].search)
    own = model.Search(model.RANKS, (0.0005, 0.002), allocate=True, row_cost=0.0)
    both, seen = run(model.Search(model.RANKS, (0.0005, 0.002), allocate=True, row_cost=0.0,
                                  also_allocate=((model.DEFAULT_REL, 0.05),)))
    alone, seen_alone = run(own)
    assert len(seen) > len(seen_alone)  # the default's allocation ran as well
    assert both.psnr_db >= max(default.psnr_db, alone.psnr_db) - 1e-9
    assert both.size <= 2000
