"""The pixel network after the low-rank mix (PNET, :mod:`hinerc.codecs.lowrank.pixelnet`): its
section, its sizing to the budget, its training, and files that carry it, end to end."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

import hinerc
import hinerc.metrics
from hinerc.cli import cli as main
from hinerc.codecs.lowrank import pixelnet
from hinerc.errors import CorruptFileError
from hinerc.format import container
from hinerc.io import Cube
from hinerc.format.deflate import inflate_json
from io_helpers import assert_each_is_corrupt, damaged, rewritten


def _net(k: int = 5, hidden: int = 7, n: int = 11, seed: int = 0) -> pixelnet.PixelNet:
    rng = np.random.default_rng(seed)
    return pixelnet.PixelNet(
        rng.uniform(0.1, 2, k).astype(np.float32),
        rng.integers(-127, 128, (hidden, k)).astype(np.int8),
        rng.uniform(1e-3, 1e-2, hidden).astype(np.float32),
        rng.normal(0, 0.1, hidden).astype(np.float32),
        rng.integers(-127, 128, (n, hidden)).astype(np.int8),
        rng.uniform(1e-5, 1e-3, n).astype(np.float32),
        rng.normal(0, 1e-3, n).astype(np.float32))


# ------------------------------------------------------------------------------ the section
def test_pack_and_unpack_give_back_every_weight():
    net = _net()
    back = pixelnet.unpack(pixelnet.pack(net), rank=8, n_coded=11)
    for name in ("sigma", "w1", "s1", "b1", "w2", "s2", "b2"):
        assert np.array_equal(getattr(back, name), getattr(net, name)), name
    assert len(pixelnet.pack(net)) == pixelnet.payload_bytes(5, 7, 11)


def test_the_correction_of_some_bands_is_those_rows_of_the_whole():
    net = _net()
    maps = np.random.default_rng(1).normal(0, 0.3, (8, 50))  # more maps than the net takes
    whole = net.correction(maps)
    some = net.correction(maps, np.array([0, 4, 10]))
    assert whole.shape == (11, 50) and whole.dtype == np.float64
    np.testing.assert_allclose(some, whole[[0, 4, 10]], rtol=0, atol=1e-12)
    # a block of the pixels gives the same values as the whole (to float32 samples)
    part = net.correction(maps[:, 7:19])
    assert np.array_equal(part.astype(np.float32), whole[:, 7:19].astype(np.float32))


def test_gelu_is_the_tanh_form():
    x = np.linspace(-6, 6, 101).astype(np.float32)
    ref = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(pixelnet.gelu(x.astype(np.float64)), ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("damage", ["truncated head", "version", "activation", "inputs 0",
                                    "inputs above rank", "hidden 0", "floats cut", "nan",
                                    "sigma 0", "weights cut", "weights long"])
def test_a_damaged_section_is_a_corrupt_file(damage):
    blob = bytearray(pixelnet.pack(_net()))
    head = pixelnet._HEAD.size
    if damage == "truncated head":
        blob = blob[:3]
    elif damage == "version":
        blob[0] = 2
    elif damage == "activation":
        blob[1] = 9
    elif damage == "inputs 0":
        blob[2] = 0
    elif damage == "inputs above rank":
        blob[2] = 9
    elif damage == "hidden 0":
        blob[3:5] = b"\0\0"
    elif damage == "floats cut":
        blob = blob[:head + 10]
    elif damage == "nan":
        blob[head:head + 4] = np.float32(np.nan).tobytes()
    elif damage == "sigma 0":
        blob[head:head + 4] = np.float32(0).tobytes()
    elif damage == "weights cut":
        blob = blob[:-5]
    elif damage == "weights long":
        blob = blob + b"\x00" * 40
    with pytest.raises(CorruptFileError):
        pixelnet.unpack(bytes(blob), rank=8, n_coded=11)


def test_random_damage_raises_only_corrupt_file_errors():
    for blob in damaged(pixelnet.pack(_net()), seed=7):
        try:
            net = pixelnet.unpack(blob, rank=8, n_coded=11)
        except CorruptFileError:
            continue
        assert net.correction(np.zeros((8, 3))).shape == (11, 3)


# ------------------------------------------------------------------------------ sizing
def test_the_network_takes_at_most_its_share_of_the_budget():
    assert pixelnet.hidden_for(49_000, 32, 198) == 0  # Jasper Ridge at 0.2 bpppb: none
    h = pixelnet.hidden_for(4_900_000, 32, 198)  # the 1000² scene: the widest
    assert h == max(pixelnet.WIDTHS)
    for room in (1.2e6, 2e6, 3e6):
        h = pixelnet.hidden_for(room, 32, 198)
        assert h and pixelnet.payload_bytes(32, h, 198) + 12 <= pixelnet.MAX_SHARE * room
    assert pixelnet.hidden_for(1e9, 31, 31) == 0  # too few bands


# ------------------------------------------------------------------------------ training
def _nonlinear(pixels: int, seed: int = 0):
    """Maps (k × P) and bands that are a non-linear function of the first maps."""
    rng = np.random.default_rng(seed)
    maps = rng.uniform(-0.5, 0.5, (6, pixels)).astype(np.float32)
    lam = np.linspace(0, 1, 70)[:, None]
    target = (0.5 + 0.3 * np.tanh(3 * maps[0] * (1 + lam)) + 0.1 * maps[1] ** 2 * lam
              ).astype(np.float32)
    linear = np.full_like(target, 0.5) + 0.3 * 3 * maps[0] * (1 + lam) * 0.5
    return maps, linear.astype(np.float32), target


def test_training_undoes_a_non_linear_miss_and_is_seeded():
    maps, linear, target = _nonlinear(9000)
    miss = np.ascontiguousarray((target - linear).T)
    held = pixelnet.held_out(9000)
    net, gain = pixelnet.train(maps, miss, linear[:, held], hidden=32, iters=600, seed=3)
    assert gain > 3.0, gain
    again, gain2 = pixelnet.train(maps, miss, linear[:, held], hidden=32, iters=600, seed=3)
    assert pixelnet.pack(again) == pixelnet.pack(net) and gain2 == gain


def test_the_training_sample_keeps_only_real_pixels():
    valid = np.ones((3, 40, 50), bool)
    valid[1, :10] = False  # a no-data row band: those pixels are left out
    sel = pixelnet.sample(40, 50, valid, 0)
    assert sel.min() >= 10 * 50 and np.all(np.diff(sel) > 0)
    assert pixelnet.sample(40, 50, None, 0).size == 2000


# ------------------------------------------------------------------------------ files
def _cube(h: int = 72, w: int = 80, c: int = 70, seed: int = 0) -> np.ndarray:
    """A cube whose spectra are a non-linear function of three smooth fields (int16)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / 12.0
    a = np.sin(x + 0.5 * np.cos(y))
    b = np.cos(0.7 * y - 0.3 * x)
    lam = np.linspace(0, 1, c)
    spec = (np.tanh(2.5 * a[..., None] * (1 + lam)) + np.exp(-(b[..., None] - lam) ** 2 * 8)
            + 0.5 * a[..., None] * b[..., None] * lam)
    return (1000 + 800 * spec + rng.normal(0, 0.5, spec.shape)).astype(np.int16)


@pytest.fixture(scope="module")
def with_net(tmp_path_factory):
    """One file with a pixel network (its share allowed up to a half: this cube is small) and
    the same cube without one."""
    mp = pytest.MonkeyPatch()
    mp.setattr(pixelnet, "MAX_SHARE", 0.5)
    d = tmp_path_factory.mktemp("pnet")
    data = _cube()
    events = []
    try:
        on = hinerc.compress(Cube(data), d / "on.hnr", bpppb=0.3, effort=5,
                             progress=events.append)
        on.events = [e for e in events if e.total]
        off = hinerc.compress(Cube(data), d / "off.hnr", bpppb=0.3, effort=5, pixel_net="off")
    finally:
        mp.undo()
    return data, d, on, off


def test_a_file_with_a_network_is_1_5_and_says_so(with_net):
    data, d, on, off = with_net
    info = hinerc.inspect(d / "on.hnr")
    assert info["format_version"] in ("1.5", "1.7", "1.8", "1.10") and info["pixel_net"] is True
    assert "pixel network" in info["model_summary"] and "PNET" in info["model_sections"]
    assert info["model_config"]["pnet"] is True
    plain = hinerc.inspect(d / "off.hnr")
    assert plain["format_version"] in ("1.3", "1.7", "1.8", "1.10") and plain["pixel_net"] is False
    assert "pnet" not in plain["model_config"]


def test_the_decode_is_what_the_encoder_measured(with_net):
    data, d, on, off = with_net
    out = hinerc.decompress(d / "on.hnr").data
    assert abs(hinerc.metrics.mean_psnr(data, out) - on.psnr_db) < 0.01
    size = (d / "on.hnr").stat().st_size * 8 / data.size
    assert abs(size - 0.3) / 0.3 <= 0.03


def test_the_network_corrects_the_mix(with_net, tmp_path):
    """The same file without its network (MODL's pnet and PNET taken out) decodes worse."""
    data, d, on, off = with_net
    model = {k: v for k, v in container.read_file(d / "on.hnr").model.items() if k != "pnet"}
    (tmp_path / "linear.hnr").write_bytes(rewritten(d / "on.hnr", model, drop="PNET"))
    linear = hinerc.decompress(tmp_path / "linear.hnr").data
    assert hinerc.inspect(tmp_path / "linear.hnr")["format_version"] in ("1.3", "1.7", "1.8", "1.10")
    assert on.psnr_db > hinerc.metrics.mean_psnr(data, linear) + 0.03


def test_a_window_and_some_bands_decode_as_the_whole(with_net):
    data, d, on, off = with_net
    whole = hinerc.decompress(d / "on.hnr").data
    part = hinerc.decompress(d / "on.hnr", window=(10, 20, 30, 25), bands="6:40").data
    assert np.array_equal(np.asarray(part), whole[10:40, 20:45, 6:40])


def test_pnet_and_modl_must_agree(with_net, tmp_path):
    data, d, on, off = with_net
    model = container.read_file(d / "on.hnr").model
    assert_each_is_corrupt({
        "no section": rewritten(d / "on.hnr", drop="PNET"),
        "undeclared": rewritten(d / "on.hnr", model={k: v for k, v in model.items()
                                                     if k != "pnet"}),
        "not a bool": rewritten(d / "on.hnr", model={**model, "pnet": 1}),
    }, tmp_path)


def test_the_cli_takes_pixel_net_off(tmp_path):
    np.save(tmp_path / "c.npy", _cube(40, 40, 70))
    r = CliRunner().invoke(main, ["compress", str(tmp_path / "c.npy"), "-o",
                                  str(tmp_path / "c.hnr"), "--pixel-net", "off", "--json",
                                  "--quiet"])
    assert r.exit_code == 0, r.output
    assert hinerc.inspect(tmp_path / "c.hnr")["pixel_net"] is False
    r = CliRunner().invoke(main, ["compress", str(tmp_path / "c.npy"), "-o",
                                  str(tmp_path / "d.hnr"), "--pixel-net", "maybe"])
    assert r.exit_code == 2


def test_a_near_lossless_file_never_carries_a_network(tmp_path, monkeypatch):
    monkeypatch.setattr(pixelnet, "MAX_SHARE", 0.5)
    data = _cube(40, 40, 70)
    hinerc.compress(Cube(data), tmp_path / "l.hnr", max_error=2)
    info = hinerc.inspect(tmp_path / "l.hnr")
    assert info["format_version"] in ("1.4", "1.7", "1.8", "1.10") and info["pixel_net"] is False
    out = hinerc.decompress(tmp_path / "l.hnr").data
    assert np.abs(out.astype(np.int32) - data).max() <= 2


def test_the_model_json_keeps_pnet_out_unless_true():
    from hinerc.codecs.lowrank.sections import LowRankConfig
    assert "pnet" not in LowRankConfig(4, "hevc").to_dict()
    assert LowRankConfig(4, "hevc", pnet=True).to_dict()["pnet"] is True
    with pytest.raises(CorruptFileError):
        LowRankConfig.from_dict({"arch": "lowrank", "rank": 0, "pnet": True}, 5, 4, 4)
    assert json.loads(inflate_json(container.json_bytes({"a": 1}))) == {"a": 1}


def test_one_progress_bar_runs_through_search_and_training(with_net):
    data, d, on, off = with_net
    net = [e.fraction for e in on.events if e.label == "pixel network"]
    search = [e.fraction for e in on.events if e.label != "pixel network"]
    assert net and search and max(search) <= net[0] <= net[-1] == 1.0
    assert all(b >= a for a, b in zip(net, net[1:]))
    assert on.events[-1].label == "pixel network"


def test_no_network_where_no_pixel_has_every_band(tmp_path, monkeypatch):
    """Every pixel misses one band or another (a no-data value): no sample, no network, a file
    all the same."""
    monkeypatch.setattr(pixelnet, "MAX_SHARE", 0.5)
    data = _cube(40, 40, 70)
    data[:, :, 3][::2] = -9999
    data[:, :, 5][1::2] = -9999
    hinerc.compress(Cube(data, nodata=-9999), tmp_path / "n.hnr", bpppb=1.0)
    info = hinerc.inspect(tmp_path / "n.hnr")
    assert info["pixel_net"] is False
    out = hinerc.decompress(tmp_path / "n.hnr").data
    assert (out[:, :, 3][::2] == -9999).all()


def test_the_network_trains_where_device_says(tmp_path, monkeypatch):
    """``--device`` (``auto`` too) reaches the training, resolved only then, and the report
    says where it trained; the file decodes on the CPU. The device is simulated: the spy records
    what training was given and trains on the CPU (briefly: the network is kept whatever it
    gains)."""
    import hinerc.codecs.lowrank as lowrank

    monkeypatch.setattr(pixelnet, "MAX_SHARE", 0.5)
    asked, given = [], []
    monkeypatch.setattr(lowrank, "resolve_device", lambda d: asked.append(d) or "cuda:0")
    real_train = pixelnet.train

    def spy(maps, miss, linear_held, hidden, iters, seed, device="cpu", tick=None):
        given.append(device)
        net, _ = real_train(maps, miss, linear_held, hidden, 200, seed, "cpu", tick)
        return net, 1.0

    monkeypatch.setattr(pixelnet, "train", spy)
    data = _cube(64, 64, 70)
    res = hinerc.compress(Cube(data), tmp_path / "d.hnr", bpppb=0.3, effort=5, device="auto")
    assert asked == ["auto"] and given == ["cuda:0"]
    assert res.device == "cuda:0"
    assert hinerc.inspect(tmp_path / "d.hnr")["device"] == "cuda:0"
    assert hinerc.decompress(tmp_path / "d.hnr", device="cpu").data.shape == data.shape


def test_a_file_without_training_says_cpu(tmp_path, monkeypatch):
    """No network trained (``--pixel-net off``): the device is never resolved, the report says
    cpu whatever was asked."""
    import hinerc.codecs.lowrank as lowrank

    monkeypatch.setattr(lowrank, "resolve_device", lambda d: pytest.fail("resolved"))
    res = hinerc.compress(Cube(_cube(40, 40, 70)), tmp_path / "o.hnr", bpppb=0.3,
                          pixel_net="off", device="auto")
    assert res.device == "cpu" and hinerc.inspect(tmp_path / "o.hnr")["device"] == "cpu"
