"""benchmarks/rd.py's comparison with the best anchor: which anchor counts at a point (the
highest PSNR among those within ±3% of the rate), hinerc − best, and the table's rows."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rd():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("rd_bench", ROOT / "benchmarks" / "rd.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _pt(psnr, bpppb, **kw):
    return {"psnr_db": psnr, "bpppb": bpppb, "encode_s": 1.0, "decode_s": 0.1, "load": 1.0, **kw}


def test_best_anchor_is_the_highest_within_the_rate(rd):
    db = {"jasper|pca_hevc_rd16|0.25": _pt(47.5, 0.25),
          "jasper|pca_av1_rd16|0.25": _pt(47.9, 0.26),  # 4% over the rate: not counted
          "jasper|pca_j2k|0.25": _pt(46.7, 0.25),
          "jasper|sperr3d|0.25": {"error": "RuntimeError: x"}}
    name, r = rd.best_anchor(db, "jasper", 0.25)
    assert name == "pca_hevc_rd16" and r["psnr_db"] == 47.5
    assert rd.best_anchor(db, "jasper", 0.5) is None


def test_report_rows_differences_and_errors(rd, tmp_path):
    db = {"jasper|pca_hevcpip_rd16|0.1": _pt(43.70, 0.0996, k=11),
          "jasper|pca_j2k|0.1": _pt(42.12, 0.1),
          "jasper|hinerc-e5|0.1": _pt(44.50, 0.0998, k=18),
          "jasper|hinerc-e5-jpeg2000|0.1": _pt(43.67, 0.1, k=16),
          "abu_beach|pca_av1_rd16|0.1": {"error": "FileNotFoundError: aomenc"}}
    text = rd.report(db, tmp_path)
    assert (tmp_path / "rd.md").read_text() == text
    row = next(ln for ln in text.splitlines() if ln.startswith("| Jasper Ridge | 0.1 |"))
    assert "43.70 (pca_hevcpip_rd16)" in row and "+0.80" in row and "-0.03" in row
    assert "hinerc-e5: mean +0.80 dB, min +0.80 dB over 1 points" in text
    assert "pca_av1_rd16: FileNotFoundError: aomenc" in text
