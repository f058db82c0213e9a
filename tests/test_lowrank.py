"""The default low-rank codec: its SPEC storage, its rank search, rate, effort and progress
(the map coders have their own tests: ``test_mapcoder_jpeg2000.py``)."""

from __future__ import annotations

import lzma
import struct
import warnings

import numpy as np
import pytest

import hinerc
from hinerc.cli import cli
from hinerc.codecs.lowrank import model as lowrank
from hinerc.codecs.lowrank.mapcoders.jpeg2000 import Jpeg2000MapCoder
from hinerc.codecs.lowrank.presets import EFFORTS
from hinerc.codecs.lowrank.sections import (ADAPTIVE, RANGE_CODED, RC_LIMIT, pack_embeddings,
                                            unpack_embeddings)
from hinerc.errors import CorruptFileError, HinercWarning, InputError
from hinerc.format import container
from hinerc.io import read_cube
from hinerc.metrics import mean_psnr

from conftest import SAMPLE_HDR, make_cube


def _rate_ok(res, rate):
    return 0.97 * rate <= res.bpppb <= 1.03 * rate


# ------------------------------------------------------------------------------ storage
@pytest.mark.parametrize("big", [3, 300, 70_000, 2 ** 30])
def test_embeddings_pack_roundtrip(big):
    rng = np.random.default_rng(0)
    weights = rng.integers(-big, big, (5, 17))
    centres = rng.integers(0, 65536, 4).astype(np.uint16)
    steps = rng.uniform(1e-6, 1e-2, 5).astype(np.float32)
    lzma_width = 1 if big < 2 ** 7 else 2 if big < 2 ** 15 else 4
    sizes = []
    for form in ("lzma", None, "laplace", "adaptive"):
        buf = pack_embeddings(centres, steps, weights, form=form)
        c2, s2, w2 = unpack_embeddings(buf, 4, 17)
        assert np.array_equal(c2, centres) and np.array_equal(s2, steps)
        assert np.array_equal(w2, weights)
        if form == "lzma" or form == "laplace" and 2 * big >= RC_LIMIT:
            assert buf[0] == lzma_width  # the range coder holds |D| < RC_LIMIT only
        elif form == "laplace":
            assert buf[0] == RANGE_CODED
        elif form == "adaptive":  # order 0 holds |W| < RC_LIMIT
            assert buf[0] == (ADAPTIVE if big <= RC_LIMIT else lzma_width)
        if form is not None:
            sizes.append(len(buf))
    assert len(pack_embeddings(centres, steps, weights)) == min(sizes)


@pytest.mark.parametrize("order", [0, 1, 2])
def test_adaptive_embeddings_roundtrip_each_order(order):
    """Rows that are noise, a random walk and a walk of a walk: each decodes
    exactly, and the order the encoder picks for the row built for it is that order."""
    rng = np.random.default_rng(order)
    n = 120
    noise = np.rint(rng.laplace(0, 3, (4, n))).astype(np.int64)
    rows = [noise, np.cumsum(noise, 1), np.cumsum(np.cumsum(noise, 1), 1)][order]
    buf = pack_embeddings(np.zeros(3, np.uint16), np.ones(4, np.float32), rows, form="adaptive")
    assert buf[0] == ADAPTIVE
    assert np.array_equal(unpack_embeddings(buf, 3, n)[2], rows)
    head = 1 + 2 * 3 + 4 * 4
    declared = np.frombuffer(buf, np.uint8, 4, head + 4) >> 4
    assert (declared == order).sum() >= 3


def test_adaptive_embeddings_are_smaller_where_rows_change_their_noise():
    """Smooth rows with a noisy stretch (as water-vapour bands give): adaptive scales beat one
    scale a row by more than 10% (6–12% measured on the benchmark cubes' real SPEC at 1.0
    bpppb)."""
    rng = np.random.default_rng(3)
    spread = np.where((np.arange(198) > 100) & (np.arange(198) < 130), 12.0, 0.7)
    weights = np.cumsum(np.rint(rng.laplace(0, 1, (20, 198)) * spread).astype(np.int64), axis=1)
    args = (np.zeros(19, np.uint16), np.ones(20, np.float32), weights)
    adaptive, laplace = pack_embeddings(*args, form="adaptive"), pack_embeddings(*args, form="laplace")
    assert adaptive[0] == ADAPTIVE and laplace[0] == RANGE_CODED
    assert len(adaptive) < 0.9 * len(laplace)
    assert pack_embeddings(*args) == adaptive


def _junk_words_decode_or_are_corrupt(prefix: bytes, rng) -> None:
    """Other words after a SPEC's head (2 maps, 40 bands): integers of the declared shape or a
    corrupt file, nothing else (the section's CRC guards against damage; a hostile file gets
    no further than this)."""
    for _ in range(50):
        junk = rng.integers(0, 256, 4 * int(rng.integers(0, 12)), dtype=np.uint8).tobytes()
        try:
            _, _, w = unpack_embeddings(prefix + junk, 2, 40)
        except CorruptFileError:
            continue
        assert w.shape == (3, 40) and w.dtype == np.int64


def test_adaptive_embeddings_refuse_a_body_that_is_not_theirs():
    rng = np.random.default_rng(5)
    weights = np.cumsum(rng.integers(-3, 4, (3, 40)), axis=1)
    args = (np.array([1, 2], np.uint16), np.ones(3, np.float32))
    good = pack_embeddings(*args, weights, form="adaptive")
    assert good[0] == ADAPTIVE
    head = 1 + 2 * 2 + 4 * 3
    other = pack_embeddings(*args, weights[:, :-1], form="adaptive")  # one band short
    bad_order = bytearray(good)
    bad_order[head + 4] = 3 << 4  # order 3
    for buf in (good[:-1], good[:head + 9], good + b"\x00", good + b"\x12\x34\x56\x78" * 3,
                other, bytes(bad_order)):
        with pytest.raises(CorruptFileError):
            unpack_embeddings(buf, 2, 40)
    _junk_words_decode_or_are_corrupt(good[:head + 10], rng)


def test_range_coded_embeddings_are_smaller_on_smooth_spectra():
    """Rows of small along-band differences of scales that differ from row to row (as the
    embeddings' are): the range coder is chosen, and is smaller than LZMA2 (0.84× here; 17–24%
    smaller measured on the benchmark cubes)."""
    rng = np.random.default_rng(1)
    scales = np.geomspace(0.3, 12, 20)[:, None]
    weights = np.cumsum(np.rint(rng.laplace(0, 1, (20, 198)) * scales).astype(np.int64), axis=1)
    centres = np.zeros(19, np.uint16)
    steps = np.ones(20, np.float32)
    coded = pack_embeddings(centres, steps, weights)
    plain = pack_embeddings(centres, steps, weights, form="lzma")
    assert coded[0] in (RANGE_CODED, ADAPTIVE) and plain[0] == 1
    assert len(coded) < 0.9 * len(plain)
    assert np.array_equal(unpack_embeddings(coded, 19, 198)[2], weights)


def test_range_coded_embeddings_refuse_a_body_of_the_wrong_size():
    weights = np.cumsum(np.ones((3, 40), np.int64), axis=1)
    good = pack_embeddings(np.array([1, 2], np.uint16), np.ones(3, np.float32), weights,
                           form="laplace")
    assert good[0] == RANGE_CODED
    head = 1 + 2 * 2 + 4 * 3
    other = pack_embeddings(np.array([1, 2], np.uint16), np.ones(3, np.float32),
                            weights[:, :-1], form="laplace")  # one band short
    # (a word or so past the end may pass: the decoder cannot tell padding from it)
    for buf in (good[:-1], good[:head + 6], good + b"\x00", good + b"\x12\x34\x56\x78" * 3,
                other):
        with pytest.raises(CorruptFileError):
            unpack_embeddings(buf, 2, 40)
    _junk_words_decode_or_are_corrupt(good[:head + 7], np.random.default_rng(0))


def test_a_file_with_range_coded_embeddings_is_1_7():
    from hinerc.format.container import version_for

    tags = ("HEAD", "META", "BAND", "MODL", "SPEC", "MAPS", "MASK", "RPRT")
    assert version_for(tags, {"SPEC": b"\x01rest"}) == (1, 3)
    assert version_for(tags, {"SPEC": b"\x00rest"}) == (1, 7)
    assert version_for(tags + ("MFLT",), {"SPEC": b"\x02"}) == (1, 6)
    assert version_for(tags, {"SPEC": b"\x03rest"}) == (1, 10)


def test_embeddings_unpack_refuses_lies():
    centres = np.array([100, 200], np.uint16)
    steps = np.ones(3, np.float32)
    weights = np.arange(30).reshape(3, 10)
    good = pack_embeddings(centres, steps, weights, form="lzma")
    lies = [
        good[:5],  # truncated header
        b"\x05" + good[1:],  # invalid width
        good[:1 + 4] + struct.pack("<f", float("nan")) + good[9:],  # a NaN step
        good[:-3],  # truncated stream
        good[:17] + b"junk" * 4,  # not LZMA
        good[:17] + lzma.compress(b"\x00" * 7, format=lzma.FORMAT_RAW, filters=[
            {"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": 1 << 20}]),  # too short
    ]
    for buf in lies:
        with pytest.raises(CorruptFileError):
            unpack_embeddings(buf, 2, 10)
    with pytest.raises(CorruptFileError):
        unpack_embeddings(good, 2, 11)  # more bands than stored


# ------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def sample():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_cube(SAMPLE_HDR)


@pytest.mark.parametrize("rate", [0.1, 0.25, 1.0])
def test_real_crop_rate_and_measured_quality(tmp_path, sample, rate):
    out = tmp_path / "s.hnr"
    res = hinerc.compress(sample, out, bpppb=rate)
    assert _rate_ok(res, rate)
    assert out.stat().st_size * 8 / sample.data.size == pytest.approx(res.bpppb)
    back = hinerc.decompress(out)
    nd = np.zeros(sample.data.shape, bool)
    assert mean_psnr(sample.data, back.data, nd) == pytest.approx(res.psnr_db, abs=1e-6)
    info = hinerc.inspect(out)
    assert info["arch"] == "lowrank" and 1 <= info["model_config"]["rank"] <= 198
    assert info["sections"]["MAPS"] > info["sections"]["SPEC"] > 0


@pytest.mark.slow
def test_quality_rises_with_rate(sample):
    psnr = [hinerc.compress(sample, None, bpppb=r, effort=3).psnr_db for r in (0.1, 0.3, 1.0)]
    assert psnr[0] < psnr[1] < psnr[2]


def test_same_input_same_bytes_except_report(tmp_path, sample):
    a, b = tmp_path / "a.hnr", tmp_path / "b.hnr"
    hinerc.compress(sample, a, bpppb=0.3, effort=2)
    hinerc.compress(sample, b, bpppb=0.3, effort=2)
    sa, sb = container.split_sections(a.read_bytes()), container.split_sections(b.read_bytes())
    assert sa.keys() == sb.keys()
    for tag in sa:
        if tag != "RPRT":  # holds the encode time
            assert sa[tag] == sb[tag], tag


def test_tiled_lowrank_roundtrip(tmp_path, sample):
    out = tmp_path / "t.hnr"
    res = hinerc.compress(sample, out, bpppb=0.5, tile=20, effort=2)
    assert _rate_ok(res, 0.5)
    info = hinerc.inspect(out)
    assert info["tiles"] == 4 and info["arch"] == "lowrank"
    back = hinerc.decompress(out)
    assert back.data.shape == sample.data.shape
    assert mean_psnr(sample.data, back.data, np.zeros(back.data.shape, bool)) > 30


def test_nodata_pixels_kept(tmp_path):
    cube = make_cube(h=16, w=18, c=10, nodata=-9999)
    cube.data[:, :, 3] = 77
    cube.data[3:6, 4:9, :] = -9999
    out = tmp_path / "n.hnr"
    hinerc.compress(cube, out, bpppb=3.0)
    back = hinerc.decompress(out).data
    assert (back[3:6, 4:9, :] == -9999).all()
    assert (back[:, :, 3][back[:, :, 3] != -9999] == 77).all()
    assert ((back == -9999) == (cube.data == -9999)).all()


# ------------------------------------------------------------------------------ search and effort
def test_effort_levels_search_more():
    searches = [EFFORTS[k].search for k in sorted(EFFORTS)]
    for a, b in zip(searches, searches[1:]):
        assert set(a.ranks) <= set(b.ranks)
        assert a.patience <= b.patience
        assert (a.max_ranks or 256) <= (b.max_ranks or 256)
        assert set(a.rels) <= set(b.rels)
        assert a.window <= b.window
        assert a.aim >= b.aim  # aiming into the window takes fewer encodes than bisecting
    assert searches[0].max_ranks == 2 and searches[0].predict and searches[0].aim
    assert not searches[4].predict and not searches[4].aim  # the default keeps its search


@pytest.mark.parametrize("level", [1, 5, pytest.param(9, marks=pytest.mark.slow)])
def test_each_effort_writes_within_rate(tmp_path, sample, level):
    res = hinerc.compress(sample, tmp_path / "e.hnr", bpppb=0.25, effort=level)
    assert _rate_ok(res, 0.25) and res.epochs == 0


def test_highest_effort_at_least_as_good_as_lowest(sample):
    lo = hinerc.compress(sample, None, bpppb=0.25, effort=1).psnr_db
    hi = hinerc.compress(sample, None, bpppb=0.25, effort=9).psnr_db
    assert hi >= lo


def _ranks_tried(notes):
    return [int(s.split()[1].rstrip(":")) for s in notes if s.startswith("rank ")]


def _notes(events):
    """The lines the search prints with --verbose (a rank each)."""
    return [e.note for e in events if e.note]


def test_time_limit_stops_the_search_after_one_rank(tmp_path, sample):
    events = []
    res = hinerc.compress(sample, tmp_path / "t.hnr", bpppb=0.25, effort=9, time_limit=1e-6,
                          progress=events.append)
    ranks = _ranks_tried(_notes(events))
    assert len(ranks) == 1
    assert hinerc.inspect(tmp_path / "t.hnr")["model_config"]["rank"] == ranks[0]
    assert _rate_ok(res, 0.25)


def test_search_climbs_then_stops_past_the_best_rank(sample):
    events = []
    # the rank search (with HEVC maps, the default, the allocation chooses the rank)
    res = hinerc.compress(sample, None, bpppb=0.5, effort=5, map_coder="jpeg2000",
                          progress=events.append)
    stages = _notes(events)
    ranks = _ranks_tried(stages)
    # the start is the candidate nearest first_rank of the rate left after the headers
    assert abs(np.log(ranks[0] / lowrank.first_rank(0.5))) < 0.3
    assert len(set(ranks)) == len(ranks) < len(lowrank.RANKS)
    psnr = {int(s.split()[1].rstrip(":")): float(s.split()[2]) for s in stages
            if s.startswith("rank ")}
    best = max(psnr, key=psnr.get)
    assert res.psnr_db == pytest.approx(psnr[best], abs=0.05)  # after rounding to int16
    assert len(ranks) >= 1 + EFFORTS[5].search.patience  # it looked past the best one


def test_finest_precision_warns_and_is_never_larger(tmp_path):
    cube = make_cube(h=16, w=16, c=2)
    with pytest.warns(HinercWarning, match="finest precision"):
        res = hinerc.compress(cube, tmp_path / "f.hnr", bpppb=48.0)
    assert res.bpppb <= 48.0 * 1.03


def test_network_options_refused_for_lowrank(tmp_path, runner):
    with pytest.raises(InputError, match="arch hiner"):
        hinerc.compress(make_cube(), None, bpppb=2.0, epochs=3)
    np.save(tmp_path / "c.npy", make_cube().data)
    r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "--epochs", "3", "--quiet"])
    assert r.exit_code == 2 and "--arch hiner" in r.stderr
    assert not (tmp_path / "c.hnr").exists()
    r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "--arch", "pca"])
    assert r.exit_code == 2


def test_cli_arch_choice(tmp_path, runner):
    np.save(tmp_path / "c.npy", make_cube().data)
    for arch, extra in [("lowrank", []), ("hiner", ["--epochs", "1"])]:
        out = tmp_path / f"{arch}.hnr"
        r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "-o", str(out),
                                "--bpppb", "4", "--arch", arch, *extra, "--quiet"])
        assert r.exit_code == 0, r.stderr
        r = runner.invoke(cli, ["info", str(out)])
        assert r.exit_code == 0 and f"model           {arch}" in r.stdout


# ------------------------------------------------------------------------------ encoder speed
def _count_j2k(monkeypatch):
    """Count OpenJPEG encodes (the encoder's unit of work) through a hook, never by time."""
    import imagecodecs

    calls = {"n": 0}
    real = imagecodecs.jpeg2k_encode

    def counted(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(imagecodecs, "jpeg2k_encode", counted)
    return calls


def test_bisection_cache_gives_the_same_codestream_with_fewer_encodes(monkeypatch):
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:48, 0:40] / 48.0
    q = np.stack([np.sin(5 * x + i) * np.cos(3 * y) for i in range(3)], -1)
    q = np.clip(32768 + 20000 * q + rng.normal(0, 300, q.shape), 0, 65535).astype(np.uint16)
    maps = q.astype(np.float64)
    calls = _count_j2k(monkeypatch)
    plain = [Jpeg2000MapCoder().encode(maps, b) for b in (3000, 3100)]  # a coder each: no cache
    fresh = calls["n"] / 2  # encodes of one bisection
    calls["n"] = 0
    coder = Jpeg2000MapCoder()  # one coder, the same maps: it keeps its encodes
    cached = [coder.encode(maps, b) for b in (3000, 3100)]
    assert cached == plain
    assert calls["n"] - fresh <= fresh / 2  # the second bisection shares the first's start


def test_least_squares_matches_lstsq_and_takes_degenerate_maps():
    rng = np.random.default_rng(4)
    a = np.c_[rng.uniform(-1, 1, (500, 6)), np.ones(500)]
    t = rng.uniform(0, 1, (500, 9))
    ref = np.linalg.lstsq(a, t, rcond=None)[0]
    assert np.allclose(lowrank._least_squares(a, t), ref, rtol=1e-9, atol=1e-9)
    a[:, 2] = 0.0  # a map coded flat: the SVD's minimum-norm answer
    a[:, 4] = a[:, 3]  # two identical maps
    ref = np.linalg.lstsq(a, t, rcond=None)[0]
    assert np.allclose(lowrank._least_squares(a, t), ref, rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------------------ progress
def _search_events(events):
    return [e for e in events if e.total]


def test_progress_counts_planned_work_and_ends_full():
    cube = make_cube(h=24, w=24, c=16)
    events = []
    hinerc.compress(cube, None, bpppb=2.0, effort=5, map_coder="jpeg2000",
                    progress=events.append)  # the rank search's plan (HEVC: one allocation)
    stages = _notes(events)
    ev = _search_events(events)
    search = EFFORTS[5].search
    unit = search.steps_per_rank()
    assert ev and len(ev) + len(stages) == len(events)
    assert ev[0].total == min(search.planned_ranks(), 16) * unit  # ranks to try × steps
    assert all(a.done <= b.done for a, b in zip(ev, ev[1:]))
    assert all(e.done <= e.total for e in ev)
    assert ev[-1].done == ev[-1].total == len(_ranks_tried(stages)) * unit
    assert {int(e.label.split()[1]) for e in ev if e.label != "rank search"} \
        == set(_ranks_tried(stages))


def test_progress_of_a_tiled_scene_is_tiles_times_ranks():
    cube = make_cube(h=24, w=24, c=16)
    events = []
    hinerc.compress(cube, None, bpppb=4.0, effort=2, tile=12, progress=events.append)
    ev = _search_events(events)
    assert {e.total for e in ev} == {4.0}  # the scene's work: four tiles of one unit each
    tiles = [int(e.label.split()[1].split("/")[0]) for e in ev]
    assert tiles == sorted(tiles) and set(tiles) == {1, 2, 3, 4}
    assert all(e.label.startswith(f"tile {t}/4, rank") for e, t in zip(ev, tiles))
    assert all(a.done <= b.done for a, b in zip(ev, ev[1:]))
    assert ev[-1].done == 4.0


def test_cli_rank_lines_only_with_verbose(runner, tmp_path):
    np.save(tmp_path / "c.npy", make_cube(h=16, w=16, c=8).data)
    args = ["compress", str(tmp_path / "c.npy"), "-o", str(tmp_path / "c.hnr"), "--bpppb", "3",
            "--force"]
    plain = runner.invoke(cli, args)
    assert plain.exit_code == 0, plain.stderr
    assert "rank " not in plain.stderr  # the progress bar shows the search (on a terminal)
    loud = runner.invoke(cli, [*args, "--verbose"])
    assert loud.exit_code == 0, loud.stderr
    lines = [s for s in loud.stderr.splitlines() if s.startswith("rank ")]
    assert lines and all(" dB (" in s and "bytes" in s for s in lines)
    quiet = runner.invoke(cli, [*args, "--verbose", "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""


def test_progress_bar_follows_the_search(capsys):
    from hinerc.cli import _TrainingProgress
    from hinerc.progress import Progress

    with _TrainingProgress(enabled=True) as prog:
        prog.update(Progress(3, 100, "rank 16"))
        task = prog.progress.tasks[0]
        assert (task.completed, task.total, task.description) == (3, 100, "rank 16")
        prog.update(Progress(40, 100, "rank 24", "best 46.50 dB").in_tile(1, 4))
        task = prog.progress.tasks[0]
        assert (task.completed, task.total) == (1.4, 4) and len(prog.progress.tasks) == 1
        assert task.description == "tile 2/4, rank 24" and task.fields["info"] == "best 46.50 dB"
        prog.update(Progress(0, 0, note="rank 24: 46.50 dB (47,000 bytes of maps and embeddings)"))
    assert capsys.readouterr().err == ""  # not a terminal: no bar, and no rank line
    with _TrainingProgress(enabled=False) as prog:
        prog.update(Progress(3, 100, "rank 16"))
        assert prog.progress is None


# ------------------------------------------------------------------------------ quick levels
def _pair(code):
    return code.data, code.finest


def test_aimed_maps_land_in_the_window_in_few_encodes(monkeypatch):
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:64, 0:48] / 64.0
    q = np.stack([np.sin(7 * x + i) * np.cos(5 * y - i) for i in range(4)], -1)
    q = np.clip(32768 + 20000 * q + rng.normal(0, 400, q.shape), 0, 65535).astype(np.uint16)
    maps = q.astype(np.float64)
    calls = _count_j2k(monkeypatch)
    for budget in (2000, 6000, 15000):
        calls["n"] = 0
        bisected = Jpeg2000MapCoder().encode(maps, budget).data
        bisections = calls["n"]
        calls["n"] = 0
        aimed, finest = _pair(Jpeg2000MapCoder().encode(maps, budget, window=0.98))
        assert 0.98 * budget <= len(aimed) <= budget and not finest
        assert calls["n"] <= 7 < bisections
        assert len(aimed) <= len(bisected)
    calls["n"] = 0
    # more bytes than it can use
    top, finest = _pair(Jpeg2000MapCoder().encode(maps, 10 ** 7, window=0.98))
    assert finest and top == Jpeg2000MapCoder().encode(maps, 10 ** 7).data
    # not even the coarsest fits
    assert _pair(Jpeg2000MapCoder().encode(maps, 50, window=0.98)) == (b"", False)


def test_predicted_rank_follows_the_spectrum():
    cube = make_cube(h=24, w=24, c=16)  # three components and a little noise
    from hinerc.bands import prepare

    prep = prepare(cube)
    p = lowrank._Problem(prep.target, prep.valid, prep.table.scales[prep.table.coded],
                         Jpeg2000MapCoder())
    assert p.left[0] > p.left[1] > p.left[3] and p.left[-1] == 0
    ranks = [lowrank.predict_rank(p, psnr) for psnr in (10.0, 30.0, 50.0, 80.0, 200.0)]
    assert ranks == sorted(ranks) and ranks[0] == 1 and ranks[-1] == 16
    assert lowrank.predict_rank(p, -10 * np.log10(p.left[3] / 0.6)) == 3
