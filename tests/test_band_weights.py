"""The bands weighed in the KLT by the inverse of their errors (``--band-weights``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import hinerc
from hinerc.cli import cli
from hinerc.codecs.lowrank import model
from hinerc.codecs.lowrank.mapcoders.jpeg2000 import Jpeg2000MapCoder
from hinerc.io import read_cube
from hinerc.metrics import psnr_of_band_mse

from conftest import SAMPLE_HDR


@pytest.fixture(scope="module")
def sample():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_cube(SAMPLE_HDR)


def test_weights_are_the_inverse_of_each_error_in_original_units():
    mse = np.array([1e-4, 2e-4, 4e-4])  # normalised units
    scales = np.array([1.0, 1.0, 2.0])  # original = normalised × scale
    w = model.klt_weights(mse, scales)
    assert w.mean() == pytest.approx(1.0)
    # original-unit errors 1e-4, 2e-4, 16e-4: weights as 1, 1/2, 1/16
    assert w / w[0] == pytest.approx([1.0, 0.5, 1 / 16])


def test_a_band_decoded_almost_exactly_does_not_take_the_whole_klt():
    mse = np.array([0.0, 1e-4, 1e-4, 1e-4])
    w = model.klt_weights(mse, np.ones(4))
    assert np.isfinite(w).all()
    assert w[0] / w[1] == pytest.approx(1 / model.KLT_WEIGHT_FLOOR)


def _cube(n=12, h=30, w=34, seed=3):
    rng = np.random.default_rng(seed)
    base = rng.random((3, h * w))
    t = rng.random((n, 3)) @ base + rng.normal(0, 0.02, (n, h * w))
    t = (t - t.min(1, keepdims=True)) / np.ptp(t, axis=1, keepdims=True)
    return t.reshape(n, h, w).astype(np.float32)


@pytest.mark.parametrize("large", [False, True])
def test_a_trial_carries_the_band_errors_its_psnr_averages(monkeypatch, large):
    target = _cube()
    if large:
        monkeypatch.setattr(model, "LARGE_PIXELS", 100)  # the Gram-matrix problem
    trial = model.encode(target, None, np.linspace(100, 300, 12), 4000,
                         model.Search(model.RANKS, patience=1, max_ranks=2), Jpeg2000MapCoder())
    assert trial.band_mse.shape == (12,) and (trial.band_mse > 0).all()
    assert psnr_of_band_mse(trial.band_mse) == pytest.approx(trial.psnr_db, abs=1e-9)
    assert (trial.decoded is None) == large


@pytest.mark.parametrize("large", [False, True])
def test_weights_scale_the_bands_before_the_klt(monkeypatch, large):
    """A band weighed up pulls the leading component towards itself, in both problems."""
    if large:
        monkeypatch.setattr(model, "LARGE_PIXELS", 100)
    target, scales = _cube(), np.ones(12)
    coder = Jpeg2000MapCoder()
    plain = model._problem(target, None, scales, coder)
    w = np.ones(12)
    w[5] = 50.0
    weighed = model._problem(target, None, scales, coder, w / w.mean())
    assert isinstance(weighed, model._LargeProblem) == large
    assert weighed.scales == pytest.approx(scales * np.sqrt(w / w.mean()))
    assert abs(weighed.basis[5, 0]) > abs(plain.basis[5, 0]) + 0.2


def test_weighed_bands_raise_the_band_mean_psnr_on_real_data(sample):
    """Jasper Ridge's 40² crop: the weighed KLT beats the original units' at the rate."""
    weighed = hinerc.compress(sample, None, bpppb=0.25, effort=3)
    units = hinerc.compress(sample, None, bpppb=0.25, effort=3, band_weights="units")
    assert weighed.psnr_db > units.psnr_db + 0.5
    assert abs(weighed.bpppb - 0.25) <= 0.03 * 0.25


def test_the_guard_keeps_the_original_units_where_the_weighed_search_fails(sample):
    """At 0.1 bpppb on the crop the weighed HEVC search picks a poor rank: the encoder codes
    the original units too and keeps the better, so the default is never below them there."""
    default = hinerc.compress(sample, None, bpppb=0.1, effort=5, pixel_net="off")
    units = hinerc.compress(sample, None, bpppb=0.1, effort=5, pixel_net="off",
                            band_weights="units")
    assert default.psnr_db >= units.psnr_db - 1e-9


def test_cli_band_weights_choice(tmp_path, runner):
    out = tmp_path / "s.hnr"
    res = runner.invoke(cli, ["compress", str(SAMPLE_HDR), "-o", str(out), "--bpppb", "0.25",
                              "-e", "3", "--band-weights", "units", "--quiet"])
    assert res.exit_code == 0, res.output
    assert out.exists()
    bad = runner.invoke(cli, ["compress", str(SAMPLE_HDR), "-o", str(tmp_path / "b.hnr"),
                              "--band-weights", "nonsense"])
    assert bad.exit_code == 2 and not (tmp_path / "b.hnr").exists()


def test_a_large_tile_is_weighed_on_its_centre_window(monkeypatch, sample):
    """Past ``WEIGHING_SIDE`` the quick codes code the centre window only (a scene's time goes
    to its search): on the crop, weights from a 24² window gain as the whole crop's do."""
    from hinerc.codecs.lowrank import model, presets

    seen = []
    real = model.encode

    def spy(target, *args, **kwargs):
        seen.append(target.shape)
        return real(target, *args, **kwargs)

    monkeypatch.setattr(model, "encode", spy)
    monkeypatch.setattr(presets, "WEIGHING_SIDE", 24)
    res = hinerc.compress(sample, None, bpppb=0.25, effort=3)
    assert seen[0] == (198, 24, 24) and seen[-1] == (198, 40, 40)
    units = hinerc.compress(sample, None, bpppb=0.25, effort=3, band_weights="units")
    assert res.psnr_db > units.psnr_db + 0.5
