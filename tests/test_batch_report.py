"""What a batch tells the user: warnings from its workers, Ctrl-C, the summary table."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hinerc.cli import cli

from conftest import make_cube
from io_helpers import sigint_as_a_terminal

# 16×16×2 cubes at 48 bpppb: the lowrank model reaches its finest precision below the rate and
# warns (a message that does not name the file); .npy has no wavelengths (a message that does).
FINEST = ["--bpppb", "48"]


@pytest.fixture
def warners(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        np.save(src / f"w{i}.npy", make_cube(h=16, w=16, c=2, seed=i).data)
    return [str(src / "w0.npy"), str(src / "w1.npy")]


def _warning_lines(stderr):
    return [ln for ln in stderr.splitlines() if "warning:" in ln or "Warning" in ln]


def _check_warning_lines(lines, files):
    assert all(ln.startswith("hinerc: warning: ") for ln in lines), lines
    assert len(lines) == len(set(lines)) == 2 * len(files), lines  # each (file, message) once
    for f in files:
        mine = [ln for ln in lines if f in ln]
        assert len(mine) == 2, lines
        assert any(ln.startswith(f"hinerc: warning: no wavelengths in {f}: the band index is used")
                   for ln in mine), lines
        assert any(ln.startswith(f"hinerc: warning: {f}: the model is at its finest precision")
                   for ln in mine), lines


def test_batch_warnings_name_their_file(runner, warners, tmp_path):
    r = runner.invoke(cli, ["compress", *warners, "--out-dir", str(tmp_path / "o"), *FINEST])
    assert r.exit_code == 0, r.output
    _check_warning_lines(_warning_lines(r.stderr), warners)
    r = runner.invoke(cli, ["compress", *warners, "--out-dir", str(tmp_path / "q"), *FINEST,
                            "--quiet", "--json"])
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    for d in json.loads(r.stdout):
        assert len(d["warnings"]) == 2 and "finest precision" in d["warnings"][1]


@pytest.mark.slow
def test_batch_worker_warnings_are_one_line_and_quiet(warners, tmp_path):
    """Warnings raised in --jobs worker processes go through hinerc's reporting."""
    base = [sys.executable, "-m", "hinerc", "compress", *warners, *FINEST, "--jobs", "2"]
    r = subprocess.run(base + ["--out-dir", str(tmp_path / "q"), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and r.stdout == ""
    r = subprocess.run(base + ["--out-dir", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "HinercWarning" not in r.stderr and "Traceback" not in r.stderr
    _check_warning_lines(_warning_lines(r.stderr), warners)


def _interrupt_batch(tmp_path, jobs, whole_group, extra=()):
    """Start a batch of a tiny cube and two slow ones, Ctrl-C it once the tiny one is done."""
    src = tmp_path / "in"
    src.mkdir()
    np.save(src / "a.npy", make_cube(seed=0).data)
    rng = np.random.default_rng(0)
    for name in ("slow1.npy", "slow2.npy"):  # noise: the rank search takes tens of seconds
        np.save(src / name, rng.integers(0, 30000, (128, 128, 32), dtype=np.int16))
    files = [str(src / n) for n in ("a.npy", "slow1.npy", "slow2.npy")]
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "hinerc", "compress", *files, "--out-dir",
                          str(out), "--bpppb", "4", "--jobs", str(jobs), *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, preexec_fn=sigint_as_a_terminal)
    seen = []
    for line in p.stderr:  # wait for the first file to be written, then interrupt
        seen.append(line)
        if line.startswith("[1/3]"):
            break
    assert seen and seen[-1].startswith("[1/3]"), "".join(seen)
    if whole_group:  # what a terminal's Ctrl-C does: the workers get SIGINT too
        os.killpg(p.pid, signal.SIGINT)
    else:
        p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=300)
    return p.returncode, stdout, "".join(seen) + stderr, files, out


@pytest.mark.slow
@pytest.mark.parametrize("jobs, whole_group", [(1, False), (2, True), (2, False)])
def test_ctrl_c_in_a_batch_says_what_was_written(tmp_path, jobs, whole_group):
    rc, stdout, stderr, files, out = _interrupt_batch(tmp_path, jobs, whole_group, ["--json"])
    assert rc == 130, stderr
    assert "Traceback" not in stderr
    written = str(out / "a.hnr")
    assert sorted(p.name for p in out.iterdir()) == ["a.hnr"]  # nothing partial, no temp file
    line = stderr.strip().splitlines()[-1]
    assert line == (f"hinerc: interrupted; 1 file(s) written ({written}); 2 not done, nothing "
                    f"of them left ({files[1]}, {files[2]})")
    results = json.loads(stdout)  # the summary of what finished, and of what did not
    assert [(d["input"], d["status"]) for d in results] == [
        (files[0], "done"), (files[1], "interrupted"), (files[2], "interrupted")]


@pytest.mark.slow
def test_ctrl_c_with_dask_says_what_may_still_be_written(runner, tmp_path, monkeypatch):
    """Dask cannot stop a running task: the file is reported as possibly still written."""
    distributed = pytest.importorskip("distributed")
    src = tmp_path / "in"
    src.mkdir()
    np.save(src / "a.npy", make_cube(seed=0).data)
    np.save(src / "slow.npy", np.random.default_rng(0).integers(0, 30000, (128, 128, 32),
                                                                dtype=np.int16))
    files = [str(src / "a.npy"), str(src / "slow.npy")]
    real = distributed.as_completed

    def first_then_ctrl_c(futures):  # Ctrl-C as soon as the first file is in
        for f in real(futures):
            yield f
            raise KeyboardInterrupt

    monkeypatch.setattr(distributed, "as_completed", first_then_ctrl_c)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        r = runner.invoke(cli, ["compress", *files, "--out-dir", str(tmp_path / "out"), "--json",
                                "--bpppb", "4", "--scheduler", cluster.scheduler_address])
    assert r.exit_code == 130, r.output
    statuses = {d["input"]: d["status"] for d in json.loads(r.stdout)}
    assert sorted(statuses.values()) == ["done", "interrupted"]
    done = [f for f in files if statuses[f] == "done"][0]
    other = [f for f in files if statuses[f] == "interrupted"][0]
    assert r.stderr.strip().splitlines()[-1] == (
        f"hinerc: interrupted; 1 file(s) written ({tmp_path / 'out' / Path(done).stem}.hnr); "
        f"1 still running on Dask workers, whose outputs may yet be written ({other})")


def _summary(results, columns, monkeypatch, capsys):
    from hinerc.cli import _print_summary
    monkeypatch.setenv("COLUMNS", str(columns))
    _print_summary(results)
    return [ln.rstrip() for ln in capsys.readouterr().out.splitlines()]


def _rows(lines, results):
    return [ln for ln in lines if any(f"  {r.status}  " in ln for r in results)]


def _archive(folder, names, **kw):
    from hinerc.batch import TaskResult
    return [TaskResult(f"{folder}/{n}", f"out/{n.rsplit('.', 1)[0]}.hnr", "done", seconds=12.3,
                       bpppb=0.1997, psnr_db=41.23, **kw) for n in names]


@pytest.mark.parametrize("columns", [80, 100, 200])
def test_summary_fits_the_terminal_one_line_per_file(monkeypatch, capsys, columns):
    folder = "/data/archive/enmap/2022/potsdam_reflectance_tiles_level2a"
    names = ["sub/enmap_potsdam_tile_160_64_reflectance_corrected.npy",
             "sub/enmap_potsdam_tile_192_64_reflectance_corrected.npy",
             "enmap_potsdam_tile_160_96_reflectance_corrected.npy", "short.npy"]
    results = _archive(folder, names)
    results[3].status, results[3].message = "failed", f"{folder}/short.npy: the file is empty"
    lines = _summary(results, columns, monkeypatch, capsys)
    assert all(len(ln) <= columns for ln in lines), "\n".join(lines)
    rows = _rows(lines, results)
    assert len(rows) == len(results), "\n".join(lines)  # no row wraps
    shown = [ln.split()[0] for ln in rows]
    assert len(set(shown)) == len(results), shown  # every row can be told from the others
    assert f"inputs: {folder}" in lines and "outputs: out" in lines  # the common folders
    assert "short.npy" in shown and "the file is" in rows[3]  # the row names it, not the message
    if columns == 200:  # wide enough: nothing is cut
        assert shown[:3] == names[:3] and "…" not in "".join(rows)


def test_summary_cuts_paths_from_the_left(monkeypatch, capsys):
    """``…/name.hdr``: whole folders first, then characters, then where the paths differ."""
    from hinerc.cli import _fit_paths
    assert _fit_paths(["a/b/c/scene.hdr", "a/b/d/other.hdr", "x.hdr"], 12, "…") == [
        "…/scene.hdr", "…/other.hdr", "x.hdr"]
    assert _fit_paths(["a_very_long_scene_name.hdr"], 12, "…") == ["…ne_name.hdr"]
    # alike once cut from the left: the part where they differ is kept
    cut = _fit_paths(["d/scene_001_radiance_v2.hdr", "d/scene_002_radiance_v2.hdr"], 14, "…")
    assert len(set(cut)) == 2 and all(len(c) <= 14 for c in cut), cut
    results = _archive("/d", ["c1/scene.hdr", "c2/scene.hdr"])
    lines = _summary(results, 80, monkeypatch, capsys)  # short enough: only the folder goes
    assert [ln.split()[0] for ln in _rows(lines, results)] == ["c1/scene.hdr", "c2/scene.hdr"]
    assert "inputs: /d" in lines


def test_batch_summary_at_80_columns(runner, tmp_path):
    folder = tmp_path / "a_folder_with_a_rather_long_name_for_the_scenes_of_one_campaign"
    folder.mkdir()
    files = []
    for i in range(2):
        files.append(str(folder / f"campaign_2022_flight_line_{i}_radiance_corrected.npy"))
        np.save(files[-1], make_cube(seed=i).data)
    r = runner.invoke(cli, ["compress", *files, "--out-dir", str(tmp_path / "out"), "--bpppb",
                            "4"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines and all(len(ln) <= 80 for ln in lines), r.stdout
    rows = [ln for ln in lines if "  done  " in ln]
    assert len(rows) == 2 and rows[0].split()[0] != rows[1].split()[0], r.stdout
    # the progress lines are whole lines (the terminal wraps them, not rich)
    assert f"[1/2] {files[0]}: done" in r.stderr.splitlines(), r.stderr
