"""--psnr / --min-band-psnr: the rate search finds the smallest file that meets the quality,
the ceiling is honoured or named, for every codec."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

import hinerc
from hinerc.cli import cli
from hinerc.errors import RateError, UsageError
from hinerc.settings import EncodeSettings
from hinerc.targets import PRECISION, QualityTargetError, Target, search

from conftest import CODEC_ARGS, make_cube


def fake_codec(psnr_at, worst_at=None, floor=0.01):
    """An encode whose PSNR is a known function of the rate; records the rates tried."""
    tried = []

    def encode(rate):
        tried.append(rate)
        if rate < floor:
            raise RateError("too low")
        q = SimpleNamespace(psnr_db=psnr_at(rate),
                            worst_band_psnr_db=(worst_at or psnr_at)(rate) - (0 if worst_at else 3))
        return SimpleNamespace(quality=q, rate=rate)

    return encode, tried


@pytest.mark.parametrize("goal", [30.0, 41.0, 47.5, 52.0])
def test_search_finds_the_smallest_passing_rate(goal):
    psnr = lambda r: 40 + 6.02 * math.log2(r / 0.25)  # noqa: E731  (6 dB per doubling)
    encode, tried = fake_codec(psnr)
    best = search(encode, Target(psnr_db=goal), ceiling=16.0)
    exact = 0.25 * 2 ** ((goal - 40) / 6.02)
    assert best.quality.psnr_db >= goal
    assert exact <= best.rate <= exact * PRECISION
    assert len(tried) <= 12


def test_worst_band_target_and_both():
    psnr = lambda r: 40 + 6.02 * math.log2(r / 0.25)  # noqa: E731
    encode, _ = fake_codec(psnr)
    a = search(encode, Target(min_band_psnr_db=40.0), ceiling=16.0)
    assert a.quality.worst_band_psnr_db >= 40.0 and a.quality.psnr_db >= 43.0
    b = search(encode, Target(psnr_db=44.0, min_band_psnr_db=40.0), ceiling=16.0)
    assert b.quality.psnr_db >= 44.0 and b.quality.worst_band_psnr_db >= 40.0


def test_ceiling_is_never_passed_and_a_miss_is_named():
    psnr = lambda r: 40 + 6.02 * math.log2(r / 0.25)  # noqa: E731
    encode, tried = fake_codec(psnr)
    with pytest.raises(QualityTargetError, match=r"--psnr 60 cannot be met within --bpppb 1\b"):
        search(encode, Target(psnr_db=60.0), ceiling=1.0)
    assert max(tried) <= 1.0
    assert issubclass(QualityTargetError, RateError)  # exit 1, like an unreachable rate


def test_unreachable_low_rates_are_misses_not_errors():
    encode, _ = fake_codec(lambda r: 50.0, floor=0.1)  # anything reachable passes
    best = search(encode, Target(psnr_db=45.0), ceiling=4.0)
    assert 0.1 <= best.rate <= 0.1 * PRECISION ** 2 * 1.01


def test_settings_checks():
    assert EncodeSettings().bpppb == 0.2
    s = EncodeSettings(psnr=40.0)
    assert s.bpppb is None and s.quality_target
    for bad in (dict(psnr=0.0), dict(psnr=float("nan")), dict(min_band_psnr=-3.0)):
        with pytest.raises(UsageError):
            EncodeSettings(**bad)


@pytest.mark.parametrize("codec", ["lowrank", "hiner"])
def test_api_psnr_target_every_codec(tmp_path, codec):
    cube = make_cube(h=24, w=24, c=10)
    goal = 9.0 if codec == "hiner" else 45.0  # hiner: 2 epochs
    res = hinerc.compress(cube, tmp_path / "q.hnr", psnr=goal, bpppb=8.0, arch=codec,
                          **CODEC_ARGS[codec])
    assert res.psnr_db >= goal and res.target_psnr_db == goal and res.target_bpppb == 8.0
    info = hinerc.inspect(tmp_path / "q.hnr")
    assert info["psnr_db"] >= goal - 1e-3  # what the file's report says, rounded
    back = hinerc.decompress(tmp_path / "q.hnr")
    err = back.data.astype(float) - cube.data
    peak = np.ptp(cube.data.astype(float), axis=(0, 1))
    per_band = 10 * np.log10(peak ** 2 / np.mean(err ** 2, axis=(0, 1)))
    assert per_band.mean() >= goal - 1e-6


def test_cli_psnr_json_and_ceiling(runner, tmp_path):
    np.save(tmp_path / "c.npy", make_cube(h=24, w=24, c=10).data)
    r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "-o", str(tmp_path / "c.hnr"),
                            "--psnr", "44", "--json", "--quiet", "-e", "1"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["psnr_db"] >= 44 and rec["target_psnr_db"] == 44
    assert rec["target_bpppb"] is None and rec["target_min_band_psnr_db"] is None
    r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "-o", str(tmp_path / "d.hnr"),
                            "--psnr", "90", "--bpppb", "1", "-e", "1"])
    assert r.exit_code == 1 and "--psnr 90 cannot be met within --bpppb 1" in r.stderr
    assert not (tmp_path / "d.hnr").exists()
    r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "-o", str(tmp_path / "e.hnr"),
                            "--min-band-psnr", "40", "-e", "1"])
    assert r.exit_code == 0 and "asked every band ≥ 40 dB" in r.stdout, r.output
