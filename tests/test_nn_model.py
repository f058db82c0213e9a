import numpy as np
import pytest
import torch

from hinerc.codecs.hiner.geometry import choose_geometry
from hinerc.codecs.hiner.network import Decoder, PositionalEncoding, SpectralEncoder, decode_bands
from hinerc.codecs.hiner.sizing import config_for_budget, ladder
from hinerc.codecs.hiner.train import TrainConfig, fit, learning_rate


@pytest.mark.parametrize("hw", [(100, 100), (40, 40), (145, 145), (610, 340), (34, 78), (1, 1),
                                (3, 700)])
def test_geometry_covers_image_with_little_padding(hw):
    g = choose_geometry(*hw)
    fh, fw = g.frame
    assert fh >= hw[0] and fw >= hw[1]
    assert g.crop_top + hw[0] <= fh and g.crop_left + hw[1] <= fw
    if min(hw) >= 32:
        assert fh * fw <= 1.25 * hw[0] * hw[1]


def test_decoder_shapes_and_state_names_match_spec():
    g = choose_geometry(40, 40)
    cfg = config_for_budget(g, 10, 20000)
    dec = Decoder(cfg)
    specs = dict(cfg.tensor_specs(10))
    state = dec.state_dict()
    assert set(state) == set(specs) - {"embeddings"}
    for k, v in state.items():
        assert tuple(v.shape) == specs[k]
    y = dec(torch.zeros(3, cfg.embed_channels, cfg.embed_h, cfg.embed_w)).detach()
    assert y.shape == (3, 1) + cfg.frame
    assert float(y.min()) >= 0 and float(y.max()) <= 1


@pytest.mark.parametrize("budget", [3000, 20000, 200000])
def test_sizing_fills_budget(budget):
    g = choose_geometry(100, 100)
    cfg = config_for_budget(g, 198, budget)
    n = sum(int(np.prod(s)) for _, s in cfg.tensor_specs(198))
    assert 0.97 * budget <= n <= budget


def test_sizing_refuses_impossible_budget():
    assert config_for_budget(choose_geometry(100, 100), 198, 50) is None


def test_ladder_narrows_by_1_2_down_to_floor():
    assert ladder(84, 4) == [84, 70, 58, 48, 40]
    assert ladder(22, 4) == [22, 18, 15, 12, 12]
    assert ladder(5, 3) == [5, 5, 5, 5]


def test_positional_encoding_is_float64_then_float32():
    pe = PositionalEncoding(1.25, 80)
    out = pe(torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
    assert out.shape == (3, 160) and out.dtype == torch.float32
    np.testing.assert_allclose(out[0, 80:].numpy(), 1.0)  # cos(0)


def test_learning_rate_schedule():
    tc = TrainConfig(lr=1e-3, warmup=0.1)
    assert learning_rate(0.0, tc) == pytest.approx(1e-4)
    assert learning_rate(0.1, tc) == pytest.approx(1e-3)
    assert learning_rate(0.55, tc) == pytest.approx(5e-4)
    assert learning_rate(0.9999, tc) < 1e-6


def test_fit_learns_and_respects_mask():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:16, 0:16] / 16
    target = np.stack([(np.sin(3 * x + k) * 0.4 + 0.5) for k in range(6)]).astype(np.float32)
    valid = np.ones_like(target, bool)
    valid[:, :3, :3] = False
    target[~valid] = rng.random(int((~valid).sum()))  # garbage under the mask
    cfg = config_for_budget(choose_geometry(16, 16), 6, 4000)
    short = fit(target, valid, np.linspace(400, 900, 6), cfg, TrainConfig(epochs=2, seed=1))
    long = fit(target, valid, np.linspace(400, 900, 6), cfg, TrainConfig(epochs=40, seed=1))
    assert long.psnr_db > short.psnr_db + 3
    assert long.embeddings.shape == (6, cfg.embed_channels, cfg.embed_h, cfg.embed_w)
    out = decode_bands(cfg, {**long.decoder, "embeddings": long.embeddings}, 16, 16)
    err = np.abs(out - target)[valid].mean()
    assert err < 0.1


def test_fit_is_deterministic():
    target = np.random.default_rng(0).random((4, 8, 8)).astype(np.float32)
    cfg = config_for_budget(choose_geometry(8, 8), 4, 2000)
    a = fit(target, None, np.arange(4.0), cfg, TrainConfig(epochs=2, seed=3))
    b = fit(target, None, np.arange(4.0), cfg, TrainConfig(epochs=2, seed=3))
    for k in a.decoder:
        np.testing.assert_array_equal(a.decoder[k], b.decoder[k])


def test_encoder_output_shape():
    cfg = config_for_budget(choose_geometry(40, 40), 5, 10000)
    enc = SpectralEncoder(cfg)
    assert enc(torch.rand(5, dtype=torch.float64)).shape == (5, cfg.embed_channels,
                                                             cfg.embed_h, cfg.embed_w)


def _poisoned_forward(monkeypatch, bad_calls):
    """Make the decoder return NaN on the given forward-call numbers (fault injection)."""
    from hinerc.codecs.hiner import network as model
    real = model.Decoder.forward
    calls = {"n": 0}

    def forward(self, emb):
        calls["n"] += 1
        out = real(self, emb)
        return out * float("nan") if calls["n"] in bad_calls else out

    monkeypatch.setattr(model.Decoder, "forward", forward)


def test_divergence_is_recovered_at_lower_lr(monkeypatch):
    target = np.random.default_rng(0).random((4, 8, 8)).astype(np.float32)
    cfg = config_for_budget(choose_geometry(8, 8), 4, 2000)
    _poisoned_forward(monkeypatch, bad_calls={5})  # epoch 3 (2 steps per epoch) goes NaN once
    r = fit(target, None, np.arange(4.0), cfg, TrainConfig(epochs=4, bands_per_step=2, seed=0))
    assert r.restarts == 1 and r.epochs_done == 4
    assert np.isfinite(r.loss) and all(np.isfinite(v).all() for v in r.decoder.values())


def test_persistent_divergence_raises(monkeypatch):
    from hinerc.errors import TrainingError
    target = np.random.default_rng(0).random((4, 8, 8)).astype(np.float32)
    cfg = config_for_budget(choose_geometry(8, 8), 4, 2000)
    _poisoned_forward(monkeypatch, bad_calls=set(range(3, 1000)))
    with pytest.raises(TrainingError, match="diverged"):
        fit(target, None, np.arange(4.0), cfg, TrainConfig(epochs=4, bands_per_step=2, seed=0))


def test_diverging_compress_writes_nothing(monkeypatch, tmp_path):
    import hinerc
    from hinerc.errors import TrainingError

    from conftest import make_cube
    _poisoned_forward(monkeypatch, bad_calls=set(range(1, 10000)))
    with pytest.raises(TrainingError):
        hinerc.compress(make_cube(), tmp_path / "x.hnr", bpppb=4.0, arch="hiner", epochs=2)
    assert list(tmp_path.iterdir()) == []
