"""docs/json.md lists exactly the keys that --json prints; a file's record is the same in single
and in batch mode."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from hinerc.cli import cli

from conftest import make_cube

DOC = Path(__file__).resolve().parents[1] / "docs" / "json.md"
ONLY = re.compile(r"\(`--arch ([\w-]+)` only\)")


def doc_keys(heading: str, arch: str = "hiner") -> set:
    """Keys of the table under ``## heading`` that a file of ``arch`` has (a row marked
    "(`--arch X` only)" belongs to that codec alone)."""
    part = DOC.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    keys = set()
    for key, rest in re.findall(r"^\| `(\w+)` \|(.*)$", part, flags=re.M):
        only = ONLY.search(rest)
        if only is None or only.group(1) == arch:
            keys.add(key)
    return keys


def run_json(runner, args):
    r = runner.invoke(cli, args + ["--json", "--quiet"])
    return r.exit_code, json.loads(r.stdout)


@pytest.fixture
def inputs(tmp_path):
    for i in range(2):
        np.save(tmp_path / f"s{i}.npy", make_cube(seed=i).data)
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    return tmp_path


def test_compress_single_and_batch_records_match_the_doc(runner, inputs, tmp_path):
    rate = ["--bpppb", "4", "--seed", "3"]
    code, single = run_json(runner, ["compress", str(inputs / "s0.npy"), "-o",
                                     str(tmp_path / "one.hnr"), *rate])
    assert code == 0
    want = doc_keys("`hinerc compress --json`", "lowrank")
    assert set(single) == want
    files = [str(inputs / n) for n in ("s0.npy", "broken.npy", "s1.npy")]
    code, many = run_json(runner, ["compress", *files, "--out-dir", str(tmp_path / "out"), *rate])
    assert code == 1 and [r["status"] for r in many] == ["done", "failed", "done"]
    extra = doc_keys("Batch mode")
    assert extra == {"status", "message", "warnings"}
    assert set(many[0]) == set(many[2]) == want | extra
    assert set(many[1]) == {"input", "output", "status", "message", "warnings", "seconds"}
    # the same file, the same seed: the same figures, rounded the same way
    # (the file's size may differ by a few bytes: its report holds the encode time)
    for key in want - {"input", "output", "seconds", "size_bytes", "bpppb"}:
        assert many[0][key] == single[key], key
    assert abs(many[0]["size_bytes"] - single["size_bytes"]) <= 8
    assert many[0]["bpppb"] == pytest.approx(single["bpppb"], abs=8 * 8 / (20 * 24 * 12))
    for rec in (single, many[0]):
        assert rec["seconds"] == round(rec["seconds"], 2)


def test_compress_hiner_record_has_epochs(runner, inputs, tmp_path):
    code, d = run_json(runner, ["compress", str(inputs / "s0.npy"), "-o", str(tmp_path / "h.hnr"),
                                "--bpppb", "4", "--arch", "hiner", "--epochs", "1"])
    assert code == 0 and set(d) == doc_keys("`hinerc compress --json`") and d["epochs"] == 1


def test_decompress_single_and_batch_records_match_the_doc(runner, tiny_hnr, tmp_path):
    want = doc_keys("`hinerc decompress --json`")
    code, d = run_json(runner, ["decompress", str(tiny_hnr), "-o", str(tmp_path / "d.npy")])
    assert code == 0 and set(d) == want
    code, many = run_json(runner, ["decompress", str(tiny_hnr), "--out-dir", str(tmp_path / "o"),
                                   "-f", "npy"])
    assert code == 0 and set(many[0]) == want | doc_keys("Batch mode")
    assert many[0]["shape"] == d["shape"] and many[0]["dtype"] == d["dtype"]


def test_info_records_match_the_doc(runner, tiny_hiner_hnr, inputs, tmp_path, sample_hdr):
    want = doc_keys("`hinerc info --json` on a `.hnr`")
    code, d = run_json(runner, ["info", str(tiny_hiner_hnr)])
    assert code == 0 and d["arch"] == "hiner" and set(d) == want
    runner.invoke(cli, ["compress", str(inputs / "s0.npy"), "-o", str(tmp_path / "l.hnr"),
                        "--bpppb", "4", "--quiet"])
    code, d = run_json(runner, ["info", str(tmp_path / "l.hnr")])
    assert code == 0 and set(d) == doc_keys("`hinerc info --json` on a `.hnr`", "lowrank")
    code, d = run_json(runner, ["info", str(sample_hdr)])
    assert code == 0 and set(d) == doc_keys("`hinerc info --json` on an input cube")
