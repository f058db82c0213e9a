"""Batch mode: many files, skip/--force, failures isolated, summary, --jobs and Dask."""

import json

import numpy as np
import pytest

from hinerc.cli import cli

from conftest import make_cube

RATE = ["--bpppb", "4", "--arch", "hiner", "--epochs", "1", "--quiet"]


@pytest.fixture
def scenes(tmp_path):
    src = tmp_path / "scenes"
    src.mkdir()
    for i in range(3):
        np.save(src / f"s{i}.npy", make_cube(seed=i).data)
    (src / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    return src


def test_batch_compress_isolates_failures(runner, scenes, tmp_path):
    out = tmp_path / "out"
    files = sorted(str(p) for p in scenes.iterdir())
    r = runner.invoke(cli, ["compress", *files, "--out-dir", str(out), *RATE, "--json"])
    assert r.exit_code == 1
    res = {json.loads(r.stdout)[i]["input"].split("/")[-1]: json.loads(r.stdout)[i]
           for i in range(4)}
    assert res["broken.npy"]["status"] == "failed" and res["broken.npy"]["message"]
    assert all(res[f"s{i}.npy"]["status"] == "done" for i in range(3))
    assert sorted(p.name for p in out.iterdir()) == ["s0.hnr", "s1.hnr", "s2.hnr"]
    assert "1 of 4 file(s) failed" in r.stderr


def test_batch_skips_existing_unless_force(runner, scenes, tmp_path):
    out = tmp_path / "out"
    files = [str(scenes / "s0.npy"), str(scenes / "s1.npy")]
    assert runner.invoke(cli, ["compress", *files, "--out-dir", str(out), *RATE]).exit_code == 0
    before = (out / "s0.hnr").stat().st_mtime_ns
    r = runner.invoke(cli, ["compress", *files, "--out-dir", str(out), *RATE[:-1]])
    assert r.exit_code == 0
    assert "skipped" in r.stdout + r.stderr
    assert (out / "s0.hnr").stat().st_mtime_ns == before
    r = runner.invoke(cli, ["compress", *files, "--out-dir", str(out), *RATE, "--force", "--json"])
    assert r.exit_code == 0
    assert [d["status"] for d in json.loads(r.stdout)] == ["done", "done"]


def test_batch_with_jobs_and_decompress(runner, scenes, tmp_path):
    out, dec = tmp_path / "out", tmp_path / "dec"
    files = [str(scenes / f"s{i}.npy") for i in range(3)]
    r = runner.invoke(cli, ["compress", *files, "--out-dir", str(out), "--jobs", "2", *RATE])
    assert r.exit_code == 0, r.output
    hnrs = sorted(str(p) for p in out.glob("*.hnr"))
    assert len(hnrs) == 3
    r = runner.invoke(cli, ["decompress", *hnrs, "--out-dir", str(dec), "-f", "npy", "--quiet"])
    assert r.exit_code == 0, r.output
    for i in range(3):
        assert np.load(dec / f"s{i}.npy").shape == (20, 24, 12)


def test_same_output_name_fails_second(runner, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    np.save(a / "x.npy", make_cube().data)
    np.save(b / "x.npy", make_cube().data)
    r = runner.invoke(cli, ["compress", str(a / "x.npy"), str(b / "x.npy"),
                            "--out-dir", str(tmp_path / "o"), *RATE, "--json"])
    assert r.exit_code == 1
    assert [d["status"] for d in json.loads(r.stdout)] == ["done", "failed"]


def test_output_with_several_inputs_is_usage_error(runner, scenes):
    r = runner.invoke(cli, ["compress", str(scenes / "s0.npy"), str(scenes / "s1.npy"),
                            "-o", "x.hnr"])
    assert r.exit_code == 2


@pytest.mark.slow
def test_dask_local_cluster(runner, scenes, tmp_path, capfd):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "out"
    files = [str(scenes / "s0.npy"), str(scenes / "broken.npy")]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        r = runner.invoke(cli, ["compress", *files, "--out-dir", str(out), *RATE, "--json",
                                "--scheduler", cluster.scheduler_address])
        assert r.exit_code == 1, r.output
        assert [d["status"] for d in json.loads(r.stdout)] == ["done", "failed"]
        assert (out / "s0.hnr").exists()
        # the worker's warning comes back with its result, not raw on the worker's stderr
        assert "band index is used" in json.loads(r.stdout)[0]["warnings"][0]
        assert "HinercWarning" not in capfd.readouterr().err
        r = runner.invoke(cli, ["compress", *files[:1], "--out-dir", str(out), *RATE, "--json",
                                "--scheduler", cluster.scheduler_address])
        assert r.exit_code == 0 and json.loads(r.stdout)[0]["status"] == "skipped"


@pytest.mark.slow
def test_unreachable_scheduler_is_exit_1(runner, scenes, tmp_path):
    pytest.importorskip("distributed")
    r = runner.invoke(cli, ["compress", str(scenes / "s0.npy"), "--out-dir", str(tmp_path),
                            *RATE, "--scheduler", "tcp://127.0.0.1:9"])
    assert r.exit_code == 1
    assert "Dask scheduler" in r.stderr
