"""--effort presets and --time-limit are honoured in behaviour: epochs run, file written, rate held."""

import json

import pytest

import hinerc
from hinerc.cli import cli
from hinerc.codecs.hiner.presets import EFFORTS

from conftest import make_cube


def _rate_ok(res, rate):
    return 0.97 * rate <= res.bpppb <= 1.03 * rate


@pytest.mark.parametrize("level", [pytest.param(lv, marks=pytest.mark.slow) if lv >= 7 else lv
                                   for lv in sorted(EFFORTS)])
def test_each_effort_runs_its_epochs(tmp_path, level):
    cube = make_cube(h=12, w=12, c=8)
    # 9 bpppb: the smallest file of this 12×12×8 cube is 8.30 bpppb (7.99 before the encode
    # report held the worst band, SAM and largest error)
    res = hinerc.compress(cube, tmp_path / "e.hnr", bpppb=9.0, effort=level, arch="hiner")
    assert res.epochs == EFFORTS[level].epochs
    assert hinerc.inspect(tmp_path / "e.hnr")["epochs"] == EFFORTS[level].epochs
    assert _rate_ok(res, 9.0)


def test_efforts_are_ordered():
    levels = [EFFORTS[k] for k in sorted(EFFORTS)]
    assert all(a.epochs < b.epochs for a, b in zip(levels, levels[1:]))


def test_epochs_override_effort(tmp_path):
    res = hinerc.compress(make_cube(), tmp_path / "o.hnr", bpppb=4.0, effort=9, arch="hiner", epochs=2)
    assert res.epochs == 2


def test_time_limit_stops_training_and_writes(tmp_path):
    res = hinerc.compress(make_cube(h=40, w=40, c=24), tmp_path / "t.hnr", bpppb=2.0, effort=9,
                          arch="hiner", time_limit=1.0)
    assert 1 <= res.epochs < EFFORTS[9].epochs
    assert (tmp_path / "t.hnr").exists() and _rate_ok(res, 2.0)
    assert res.psnr_db > 0


def test_cli_effort(runner, tmp_path):
    import numpy as np
    np.save(tmp_path / "c.npy", make_cube(h=12, w=12, c=8).data)
    r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "-o", str(tmp_path / "c.hnr"),
                            "--bpppb", "9", "-e", "1", "--arch", "hiner", "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["epochs"] == EFFORTS[1].epochs
    assert runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "-e", "10"]).exit_code == 2


# ------------------------------------------------------------------------------ lowrank levels
def _work(monkeypatch, cube, rate, level):
    """Ranks coded and JPEG 2000 component-encodes (an encode of k maps counts k: its cost)
    of one lowrank compress, counted through hooks, never timed."""
    import imagecodecs

    count = {"maps": 0}
    real = imagecodecs.jpeg2k_encode

    def counted(data, *args, **kwargs):
        count["maps"] += data.shape[2] if data.ndim == 3 else 1
        return real(data, *args, **kwargs)

    monkeypatch.setattr(imagecodecs, "jpeg2k_encode", counted)
    notes = []
    # the rank search's work with JPEG 2000 maps at every level (5–9 code HEVC maps by default),
    # the KLT in the original units at every level (3–9 weigh the bands after quick codes of
    # their own: tests/test_band_weights.py)
    res = hinerc.compress(cube, None, bpppb=rate, effort=level, map_coder="jpeg2000",
                          band_weights="units",
                          progress=lambda p: p.note and notes.append(p.note))
    monkeypatch.setattr(imagecodecs, "jpeg2k_encode", real)
    return sum(s.startswith("rank ") for s in notes), count["maps"], res


@pytest.fixture(scope="module")
def crop():
    import warnings

    from conftest import SAMPLE_HDR
    from hinerc.io import read_cube

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_cube(SAMPLE_HDR)


@pytest.mark.parametrize("rate", [0.25, 1.0])
def test_quick_levels_do_less_work(monkeypatch, crop, rate):
    work = {e: _work(monkeypatch, crop, rate, e) for e in (1, 3, 5)}
    ranks = {e: w[0] for e, w in work.items()}
    maps = {e: w[1] for e, w in work.items()}
    assert maps[1] <= maps[3] <= maps[5] / 2
    assert ranks[1] <= 2 and ranks[1] <= ranks[3] <= ranks[5]
    for e, (_, _, res) in work.items():
        assert _rate_ok(res, rate)
    # and the quick levels stay close to the default
    assert work[1][2].psnr_db > work[5][2].psnr_db - 0.5
    assert work[3][2].psnr_db > work[5][2].psnr_db - 0.2


def test_level_one_codes_at_most_two_ranks_on_a_synthetic_cube(monkeypatch):
    cube = make_cube(h=32, w=32, c=24)
    ranks1, maps1, res1 = _work(monkeypatch, cube, 2.0, 1)
    ranks5, maps5, res5 = _work(monkeypatch, cube, 2.0, 5)
    assert maps1 < maps5 / 2 and 1 <= ranks1 <= 2 and ranks1 <= ranks5
    assert _rate_ok(res1, 2.0) and res1.psnr_db > res5.psnr_db - 0.5
