"""The map filter on the decoded maps (MFLT, :mod:`hinerc.codecs.lowrank.mapfilter`): its
section, its decoding against torch's convolution, its training, and files that carry it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import hinerc
import hinerc.metrics
from hinerc.cli import cli as main
from hinerc.codecs.lowrank import mapfilter
from hinerc.codecs.lowrank.sections import LowRankConfig
from hinerc.errors import CorruptFileError, FormatError
from hinerc.format import container
from hinerc.io import Cube, read_cube
from io_helpers import assert_each_is_corrupt, damaged, rewritten


def _filter(k: int = 5, c: int = 6, seed: int = 0) -> mapfilter.MapFilter:
    rng = np.random.default_rng(seed)
    return mapfilter.MapFilter(
        rng.integers(-127, 128, (c, k, 3, 3)).astype(np.int8),
        rng.uniform(1e-3, 1e-2, c).astype(np.float32),
        rng.normal(0, 0.1, c).astype(np.float32),
        rng.integers(-127, 128, (k, c)).astype(np.int8),
        rng.uniform(1e-4, 1e-3, k).astype(np.float32),
        rng.normal(0, 1e-3, k).astype(np.float32))


# ------------------------------------------------------------------------------ the section
def test_pack_and_unpack_give_back_every_weight():
    f = _filter()
    blob = mapfilter.pack(f)
    assert len(blob) == mapfilter.payload_bytes(5, 6)
    back = mapfilter.unpack(blob, rank=5)
    for name in ("w1", "s1", "b1", "w2", "s2", "b2"):
        assert np.array_equal(getattr(back, name), getattr(f, name)), name


@pytest.mark.parametrize("damage", ["truncated head", "version", "activation", "maps",
                                    "width 0", "width 200", "short", "long", "nan"])
def test_a_damaged_section_is_a_corrupt_file(damage):
    blob = bytearray(mapfilter.pack(_filter()))
    if damage == "truncated head":
        blob = blob[:3]
    elif damage == "version":
        blob[0] = 2
    elif damage == "activation":
        blob[1] = 9
    elif damage == "maps":
        blob[2] = 4
    elif damage == "width 0":
        blob[3] = 0
    elif damage == "width 200":
        blob[3] = 200
    elif damage == "short":
        blob = blob[:-1]
    elif damage == "long":
        blob += b"\0"
    elif damage == "nan":
        blob[4:8] = np.float32(np.nan).tobytes()
    with pytest.raises(CorruptFileError):
        mapfilter.unpack(bytes(blob), rank=5)


def test_random_damage_raises_only_corrupt_file_errors():
    for blob in damaged(mapfilter.pack(_filter()), seed=3):
        try:
            f = mapfilter.unpack(blob, rank=5)
        except CorruptFileError:
            continue
        out = f.correction(np.zeros((5, 4, 3)))  # whatever it parsed decodes to finite values
        assert np.isfinite(out).all()


def test_huge_scales_give_a_clipped_correction_not_an_infinity():
    f = _filter(k=2, c=3)
    f.s1[:] = 3e38
    f.s2[:] = 3e38
    out = f.correction(np.full((2, 4, 4), 0.9))
    assert np.isfinite(out).all() and np.abs(out).max() <= mapfilter.CLIP


def test_the_filter_takes_at_most_its_share_of_the_budget():
    for room in (2_000, 60_000, 600_000):
        c = mapfilter.width_for(room, 25)
        if c:
            assert mapfilter.payload_bytes(25, c) + 12 <= mapfilter.MAX_SHARE * room
        assert c == 0 or c == max(w for w in mapfilter.WIDTHS
                                  if mapfilter.payload_bytes(25, w) + 12
                                  <= mapfilter.MAX_SHARE * room)
    assert mapfilter.width_for(2_000, 25) == 0 and mapfilter.width_for(600_000, 25) == 32


def test_the_widest_filter_fills_the_bytes_kept_to_a_channel():
    for k in (3, 25, 72):
        for nbytes in (500, 2_000, 9_000):
            c = mapfilter.widest(nbytes, k)
            assert c == 0 or mapfilter.payload_bytes(k, c) <= nbytes
            assert c == 32 or mapfilter.payload_bytes(k, c + 1) > nbytes


# ------------------------------------------------------------------------------ decoding
def test_the_correction_is_torchs_convolution_with_replicated_edges():
    """The numpy decoder computes the network torch trained: a 3×3 convolution with replicated
    edges, the tanh GELU, a 1×1 convolution (float64 both; rows taken in several bands)."""
    torch = pytest.importorskip("torch")
    f = _filter(k=4, c=5)
    rng = np.random.default_rng(1)
    u = rng.uniform(-1, 1, (4, 150, 7))  # more rows than one band of rows
    got = f.correction(u)
    conv = torch.nn.functional.conv2d(
        torch.nn.functional.pad(torch.from_numpy(u)[None], (1, 1, 1, 1), mode="replicate"),
        torch.from_numpy(f.w1.astype(np.float64) * f.s1.astype(np.float64)[:, None, None, None]),
        torch.from_numpy(f.b1.astype(np.float64)))
    hid = torch.nn.functional.gelu(conv, approximate="tanh")[0]
    want = (torch.einsum("jc,chw->jhw", torch.from_numpy(
        f.w2.astype(np.float64) * f.s2.astype(np.float64)[:, None]), hid)
        + torch.from_numpy(f.b2.astype(np.float64))[:, None, None]).numpy()
    assert np.allclose(got, want, rtol=1e-9, atol=1e-12)


def test_apply_works_in_code_units_around_the_centres():
    f = _filter(k=3, c=4)
    rng = np.random.default_rng(2)
    codes = rng.uniform(0, 65535, (3, 9, 8))
    centres = np.array([30000, 32000, 34000], np.uint16)
    out = f.apply(codes.copy(), centres)
    u = (codes - centres.astype(np.float64)[:, None, None]) / 32767.5
    assert np.allclose((out - codes) / 32767.5, f.correction(u), rtol=1e-12, atol=1e-15)


def test_apply_filters_in_place_and_reads_only_the_unfiltered_neighbours():
    """In place, a band of rows at a time: the rows below a band are filtered from the maps as
    they were decoded, not from the band just filtered (more rows than one band of 64)."""
    f = _filter(k=2, c=3)
    rng = np.random.default_rng(5)
    codes = rng.uniform(0, 65535, (2, 150, 7))
    centres = np.array([32000, 33000], np.uint16)
    kept = codes.copy()
    out = f.apply(codes, centres)
    assert out is codes
    u = (kept - centres.astype(np.float64)[:, None, None]) / 32767.5
    assert np.allclose(out, kept + 32767.5 * f.correction(u), rtol=1e-12, atol=1e-9)


# ------------------------------------------------------------------------------ training
def test_training_undoes_a_blur_of_the_maps_and_is_seeded():
    """Maps blurred by a 3×3 box: the filter, trained through the mix, brings the bands back
    closer; the same seed gives the same weights."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    h, w, k, n = 32, 32, 3, 12
    sharp = np.cumsum(np.cumsum(rng.normal(0, 1, (k, h, w)), 1), 2)
    sharp = (sharp - sharp.mean((1, 2), keepdims=True)) / np.abs(sharp).max()
    pad = np.pad(sharp, ((0, 0), (1, 1), (1, 1)), mode="edge")
    blur = sum(pad[:, a:a + h, b:b + w] for a in range(3) for b in range(3)) / 9
    emb = np.vstack([rng.normal(0, 0.3, (k, n)), np.full((1, n), 0.5)])
    target = (np.einsum("kn,khw->nhw", emb[:-1], sharp) + emb[-1][:, None, None])

    def err(maps):
        return float(((np.einsum("kn,khw->nhw", emb[:-1], maps) + emb[-1][:, None, None]
                       - target) ** 2).mean())

    f = mapfilter.train(blur, target, None, emb, 8, 300, seed=0)
    g = mapfilter.train(blur, target, None, emb, 8, 300, seed=0)
    assert np.array_equal(f.w1, g.w1) and np.array_equal(f.w2, g.w2)
    assert err(blur + f.correction(blur)) < 0.85 * err(blur)  # 0.79 measured


class _ByPixels:
    """The bands read by pixels only, as a prepared scene gives them."""

    def __init__(self, target):
        self.shape, self._flat = target.shape, target.reshape(target.shape[0], -1)

    def pixels(self, sel):
        return self._flat[:, sel].astype(np.float64)


def test_the_error_terms_are_read_a_few_rows_at_a_time(monkeypatch):
    """``g`` and ``Q`` of the loss from the bands read by pixels, in chunks of rows, are the
    sums over the whole cube at once (no-data samples left out of ``g``)."""
    rng = np.random.default_rng(4)
    k, h, w, n = 3, 23, 9, 7
    u = rng.normal(0, 0.2, (k, h, w))
    emb = rng.normal(0, 0.5, (k + 1, n))
    target = rng.uniform(0, 1, (n, h, w))
    valid = rng.uniform(0, 1, (n, h, w)) > 0.1
    monkeypatch.setattr(mapfilter, "_CHUNK", 40)  # 4 rows a read
    g, q = mapfilter.error_terms(u, _ByPixels(target), valid, emb)
    resid = np.where(valid, np.einsum("kn,khw->nhw", emb[:-1], u)
                     + emb[-1][:, None, None] - target, 0.0)
    wb = 1.0 / (resid ** 2).sum((1, 2))
    wb /= wb.sum()
    want = np.einsum("kn,nhw->khw", emb[:-1] * wb, resid)
    assert g.dtype == np.float32 and np.allclose(g, want, rtol=1e-5, atol=1e-7)
    assert np.allclose(q, (emb[:-1] * wb) @ emb[:-1].T, rtol=1e-10, atol=1e-14)
    g2, _ = mapfilter.error_terms(u, target, valid, emb)
    assert np.allclose(g2, g, rtol=1e-6, atol=1e-8)


def test_a_large_cube_is_filtered_and_scored_from_gram_matrices(monkeypatch):
    """A cube of more pixels than the search holds in float64: the filtered maps' embeddings
    are fitted and scored from Gram matrices, and come out as those of the whole-cube fit."""
    from hinerc.codecs.lowrank import mapcoders, model

    data = _cube(h=48, w=48, c=16).transpose(2, 0, 1).astype(np.float64)
    target = ((data - data.min()) / np.ptp(data)).astype(np.float32)
    scales = np.full(16, 1000.0)
    coder = mapcoders.get("jpeg2000")()
    best = model.encode(target, None, scales, 3000, model.Search((3, 4)), coder)
    f = _filter(k=best.rank, c=4, seed=3)
    f.s2 *= 0.1  # a correction of about 0.3 dB (a missing one would show)
    small = model.filtered_trial(target, None, scales, coder, best.code, best.rel, f)
    monkeypatch.setattr(model, "LARGE_PIXELS", 1000)
    large = model.filtered_trial(_ByPixels(target), None, scales, coder, best.code, best.rel, f)
    assert large.code.filt is f and large.decoded is None
    assert abs(large.psnr_db - small.psnr_db) < 0.02
    assert np.allclose(large.code.embeddings(), small.code.embeddings(), rtol=0.01, atol=1e-3)


# ------------------------------------------------------------------------------ files
def _cube(h: int = 64, w: int = 64, c: int = 40, seed: int = 0) -> np.ndarray:
    """A cube of a few sharp-edged fields mixed into many bands (int16)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    fields = [((x // 9 + y // 7) % 2).astype(float), np.sin(x / 5.0) * (y > 30),
              ((x - 30) ** 2 + (y - 25) ** 2 < 200).astype(float),
              np.cos(y / 3.0 + x / 11.0)]
    lam = np.linspace(0, 1, c)
    spec = sum(f[..., None] * np.cos((i + 1) * 2.1 * lam + i) for i, f in enumerate(fields))
    return (2000 + 600 * spec + rng.normal(0, 2, spec.shape)).astype(np.int16)


RATE = 0.2


@pytest.fixture(scope="module")
def with_filter(tmp_path_factory):
    """The bundled Jasper Ridge crop (40²×198) at effort 7 and :data:`RATE` with the map filter
    tried (its share allowed up to a tenth and its pixels down to 1024: the crop is small;
    measured +0.42 dB; at 0.25 bpppb the filter is not kept since format 1.8 gave the maps a
    few hundred bytes more) and the same without a filter; both with the KLT in the original
    units (over the weighed KLT of efforts 3–9 the filter gains less and is not kept here:
    benchmarks/results/rd.md)."""
    from conftest import SAMPLE_HDR

    mp = pytest.MonkeyPatch()
    mp.setattr(mapfilter, "MAX_SHARE", 0.1)
    mp.setattr(mapfilter, "MIN_PIXELS", 1024)
    d = tmp_path_factory.mktemp("mflt")
    data = read_cube(SAMPLE_HDR).data
    try:
        on = hinerc.compress(SAMPLE_HDR, d / "on.hnr", bpppb=RATE, effort=7, map_coder="hevc",
                             pixel_net="off", band_weights="units")
        off = hinerc.compress(SAMPLE_HDR, d / "off.hnr", bpppb=RATE, effort=7,
                              map_coder="hevc", pixel_net="off", map_filter="off",
                              band_weights="units")
    finally:
        mp.undo()
    return data, d, on, off


@pytest.mark.slow
def test_a_file_with_a_filter_is_1_6_says_so_and_is_better(with_filter):
    data, d, on, off = with_filter
    info = hinerc.inspect(d / "on.hnr")
    assert info["format_version"] in ("1.6", "1.7", "1.8", "1.10") and info["map_filter"] is True
    assert "map filter" in info["model_summary"] and "MFLT" in info["model_sections"]
    assert info["model_config"]["mflt"] is True
    plain = hinerc.inspect(d / "off.hnr")
    assert plain["format_version"] in ("1.3", "1.7", "1.8", "1.10") and plain["map_filter"] is False
    assert on.psnr_db > off.psnr_db + mapfilter.MIN_GAIN_DB
    for name in ("on", "off"):
        size = (d / f"{name}.hnr").stat().st_size * 8 / data.size
        assert abs(size - RATE) / RATE <= 0.03


@pytest.mark.slow
def test_the_decode_is_what_the_encoder_measured(with_filter):
    data, d, on, off = with_filter
    out = hinerc.decompress(d / "on.hnr").data
    assert abs(hinerc.metrics.mean_psnr(data, out) - on.psnr_db) < 0.01


@pytest.mark.slow
def test_a_window_and_some_bands_decode_as_the_whole(with_filter):
    data, d, on, off = with_filter
    whole = hinerc.decompress(d / "on.hnr").data
    part = hinerc.decompress(d / "on.hnr", window=(10, 20, 30, 20), bands="6:30").data
    assert np.array_equal(np.asarray(part), whole[10:40, 20:40, 6:30])


@pytest.mark.slow
def test_mflt_and_modl_must_agree(with_filter, tmp_path):
    data, d, on, off = with_filter
    model = container.read_file(d / "on.hnr").model
    assert_each_is_corrupt({
        "no section": rewritten(d / "on.hnr", drop="MFLT"),
        "undeclared": rewritten(d / "on.hnr", model={k: v for k, v in model.items()
                                                     if k != "mflt"}),
        "not a bool": rewritten(d / "on.hnr", model={**model, "mflt": 1}),
    }, tmp_path)


def test_the_model_json_keeps_mflt_out_unless_true():
    assert "mflt" not in LowRankConfig(4, "hevc").to_dict()
    assert LowRankConfig(4, "hevc", mflt=True).to_dict()["mflt"] is True
    with pytest.raises(CorruptFileError):
        LowRankConfig.from_dict({"arch": "lowrank", "rank": 0, "mflt": True}, 5, 4, 4)


def test_the_default_effort_trains_no_filter_and_the_cli_takes_it_off(tmp_path):
    np.save(tmp_path / "c.npy", _cube(32, 32, 20))
    r = CliRunner().invoke(main, ["compress", str(tmp_path / "c.npy"), "-o",
                                  str(tmp_path / "c.hnr"), "--bpppb", "1", "--quiet"])
    assert r.exit_code == 0, r.output
    assert hinerc.inspect(tmp_path / "c.hnr")["map_filter"] is False
    r = CliRunner().invoke(main, ["compress", str(tmp_path / "c.npy"), "-o",
                                  str(tmp_path / "d.hnr"), "--map-filter", "maybe"])
    assert r.exit_code == 2


def test_a_near_lossless_file_never_carries_a_filter(tmp_path, monkeypatch):
    monkeypatch.setattr(mapfilter, "MAX_SHARE", 0.5)
    monkeypatch.setattr(mapfilter, "MIN_PIXELS", 256)
    data = _cube(32, 32, 20)
    hinerc.compress(Cube(data), tmp_path / "l.hnr", max_error=2, effort=7)
    info = hinerc.inspect(tmp_path / "l.hnr")
    assert info["map_filter"] is False
    out = hinerc.decompress(tmp_path / "l.hnr").data
    assert np.abs(out.astype(np.int32) - data).max() <= 2


def test_the_filter_trains_where_device_says(tmp_path, monkeypatch):
    """``--device`` reaches the filter's training (a spy on the training's device)."""
    import hinerc.codecs.lowrank as lowrank

    from conftest import SAMPLE_HDR

    monkeypatch.setattr(mapfilter, "MAX_SHARE", 0.1)
    monkeypatch.setattr(mapfilter, "MIN_PIXELS", 1024)
    seen = []
    real = mapfilter.train

    def spy(*args, **kw):
        seen.append(args[7] if len(args) > 7 else kw.get("device"))
        return real(*args[:5], 20, *args[6:], **kw)

    monkeypatch.setattr(mapfilter, "train", spy)
    monkeypatch.setattr(lowrank, "resolve_device", lambda d: "cpu" if d in ("auto", "cpu") else d)
    hinerc.compress(SAMPLE_HDR, tmp_path / "c.hnr", bpppb=0.25, effort=7, map_coder="hevc",
                    pixel_net="off", device="cpu")
    assert seen == ["cpu"]


GOLDEN = Path(__file__).parent / "data" / "golden" / "v1.6-lowrank-plain-mflt-c049696.hnr"


def test_a_hostile_mflt_in_a_whole_file_is_a_corrupt_file_or_decodes(tmp_path):
    """The 1.6 golden with its MFLT payload damaged and framed anew (valid CRCs): the reader
    raises a FormatError, or the file decodes to the declared shape (weights that parse are
    weights: finite samples all the same)."""
    f = container.read_file(GOLDEN)
    good = f.sections["MFLT"]
    shape = hinerc.decompress(GOLDEN).data.shape
    rng = np.random.default_rng(7)
    for i in range(40):
        blob = bytearray(good)
        for j in rng.integers(0, len(blob), rng.integers(1, 6)):
            blob[j] = int(rng.integers(0, 256))
        if i % 4 == 0:
            blob = blob[: int(rng.integers(0, len(blob)))]
        f.sections["MFLT"] = bytes(blob)
        path = tmp_path / f"h{i}.hnr"
        path.write_bytes(container.to_bytes(f))
        try:
            out = hinerc.decompress(path).data
        except FormatError:
            continue
        assert out.shape == shape


def test_no_filter_past_half_of_the_time_limit(tmp_path, monkeypatch):
    """A --time-limit spent more than half by the search leaves the filter out (it would code
    the cube again and train)."""
    from conftest import SAMPLE_HDR

    import hinerc.codecs.lowrank as lowrank

    monkeypatch.setattr(mapfilter, "MAX_SHARE", 0.1)
    monkeypatch.setattr(mapfilter, "MIN_PIXELS", 1024)
    called = []
    monkeypatch.setattr(lowrank, "_with_map_filter", lambda *a, **k: called.append(1) or a[4])
    clock = iter(range(0, 10_000, 100))  # each reading of the clock 100 s later
    monkeypatch.setattr(lowrank.time, "perf_counter", lambda: float(next(clock)))
    hinerc.compress(SAMPLE_HDR, tmp_path / "c.hnr", bpppb=0.25, effort=7, map_coder="hevc",
                    pixel_net="off", time_limit=150)
    assert not called


def test_a_filter_kept_from_the_start_only_where_it_is_a_sliver_of_the_file():
    need = mapfilter.payload_bytes(40, max(mapfilter.WIDTHS)) + 12
    assert mapfilter.up_front(100 * need, 40, 0.03) == need  # 1%: kept from the start
    assert mapfilter.up_front(99 * need, 40, 0.03) == 0  # more than 1%: coded again
    assert mapfilter.up_front(300 * need, 40, 0.006) == 0  # over a third of a tolerance


@pytest.mark.slow
def test_bytes_kept_from_the_start_code_the_cube_once(tmp_path, monkeypatch):
    """Where the filter's bytes are kept out of the maps' from the start (a scene), the maps
    are coded once and the filter trains on them; the file lands the rate, kept or not."""
    from hinerc.codecs.lowrank import model

    from conftest import SAMPLE_HDR

    monkeypatch.setattr(mapfilter, "MIN_PIXELS", 1024)
    kept = {}

    def up_front(room, maps, tolerance):
        kept["bytes"] = mapfilter.payload_bytes(maps, 6) + 12
        return kept["bytes"]

    monkeypatch.setattr(mapfilter, "up_front", up_front)
    searches, widths = [], []
    real_encode, real_train = model.encode, mapfilter.train
    monkeypatch.setattr(model, "encode", lambda *a, **k: searches.append(a[3])
                        or real_encode(*a, **k))
    monkeypatch.setattr(mapfilter, "train", lambda u, t, v, e, width, *a, **k:
                        widths.append(width) or real_train(u, t, v, e, width, *a, **k))
    out = tmp_path / "c.hnr"
    r = hinerc.compress(SAMPLE_HDR, out, bpppb=0.25, effort=7, map_coder="hevc",
                        pixel_net="off", band_weights="units")  # no quick codes: one search
    assert len(searches) == 1  # no second code for the filter
    assert widths and widths[0] >= 6  # as wide as the bytes kept allow at the rank found
    assert abs(r.bpppb - 0.25) / 0.25 <= 0.03
    size = out.stat().st_size
    info = hinerc.inspect(out)
    if info["map_filter"]:
        assert info["sections"]["MFLT"] <= kept["bytes"]
    else:
        assert size <= r.bpppb * 40 * 40 * 198 / 8 + 1
