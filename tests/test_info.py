"""``hinerc info``: what it says about a .hnr (tiles, version, metadata, quality) and a cube."""

import json
import struct
import zlib

import numpy as np
import pytest

import hinerc
from hinerc.cli import cli
from hinerc.errors import CorruptFileError
from hinerc.format import container
from hinerc.io import Cube
from hinerc.format.deflate import inflate_json

from conftest import make_cube
from marks import SHARED_DATA, requires_shared_data


def _with_version(buf: bytes, minor: int) -> bytes:
    """The same file with another minor version in its preamble (and the preamble CRC)."""
    b = bytearray(buf)
    b[9] = minor
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[:12])))
    return bytes(b)


def _with_report(buf: bytes, edit) -> bytes:
    """The same plain low-rank file with its RPRT mapping changed by ``edit``."""
    sec = container.split_sections(buf)
    d = json.loads(inflate_json(sec["RPRT"]))
    edit(d)
    sec["RPRT"] = container.json_bytes(d)
    return container._frame(sec, tuple(sec))


@pytest.fixture(scope="module")
def lowrank_hnr(tmp_path_factory):
    path = tmp_path_factory.mktemp("info") / "l.hnr"
    hinerc.compress(make_cube(), path, bpppb=4.0)
    return path


@pytest.fixture(scope="module")
def tiled_hnr(tmp_path_factory):
    path = tmp_path_factory.mktemp("info") / "t.hnr"
    hinerc.compress(make_cube(h=40, w=44, c=12), path, bpppb=4.0, tile=20)
    return path


def test_tiled_info_counts_the_sections_inside_tile(runner, tiled_hnr):
    f = container.read_file(tiled_hnr)
    assert len(f.tiles) == 6
    maps = sum(t.section_sizes["MAPS"] for _, t in f.tiles)
    spec = sum(t.section_sizes["SPEC"] for _, t in f.tiles)
    d = hinerc.inspect(tiled_hnr)
    assert d["model_sections"]["MAPS"] == maps > 0 and d["model_sections"]["SPEC"] == spec > 0
    r = runner.invoke(cli, ["info", str(tiled_hnr)])
    assert r.exit_code == 0, r.output
    title = {"jpeg2000": "JPEG 2000", "hevc": "HEVC", "av1": "AV1"}[d["map_coder"]]
    assert f"({title}, {maps:,} bytes in 6 tiles)" in r.stdout
    assert f"{spec:,} bytes in 6 tiles)" in r.stdout and " 0 bytes" not in r.stdout


def test_info_reports_the_files_own_version(tmp_path, runner, lowrank_hnr):
    # compact side information (1.8), embeddings with adaptive scales (1.10)
    assert hinerc.inspect(lowrank_hnr)["format_version"] in ("1.8", "1.10")
    old = tmp_path / "old.hnr"
    old.write_bytes(_with_version(lowrank_hnr.read_bytes(), 1))
    assert hinerc.inspect(old)["format_version"] == "1.1"
    r = runner.invoke(cli, ["info", str(old)])
    assert r.exit_code == 0 and ".hnr version 1.1" in r.stdout


def test_info_hnr_shows_metadata_like_the_input(tmp_path, runner):
    base = make_cube(c=10, nodata=-9999)
    bad = np.zeros(10, bool)
    bad[[2, 7]] = True
    cube = Cube(base.data, wavelengths_nm=base.wavelengths_nm, fwhm_nm=base.fwhm_nm,
                bad_bands=bad, nodata=-9999, crs='PROJCS["WGS 84 / UTM zone 33N"]',
                transform=(360000.0, 30.0, 0.0, 5800000.0, 0.0, -30.0))
    hinerc.compress(cube, tmp_path / "g.hnr", bpppb=4.0)
    np.save(tmp_path / "g.npy", cube.data)
    d = hinerc.inspect(tmp_path / "g.hnr")
    assert (d["fwhm"], d["bad_bands"], d["nodata"], d["crs"]) == (True, 2, -9999, True)
    assert d["transform"] == [360000.0, 30.0, 0.0, 5800000.0, 0.0, -30.0]
    c = hinerc.inspect(tmp_path / "g.npy")  # the input side has the same keys
    assert {"fwhm", "bad_bands", "nodata", "crs", "transform"} <= set(c)
    text = runner.invoke(cli, ["info", str(tmp_path / "g.hnr")]).stdout
    rows = dict(line.split(None, 1) for line in text.splitlines()
                if line.split()[0] in ("FWHM", "nodata", "georeferenced"))
    assert rows == {"FWHM": "yes", "nodata": "-9999", "georeferenced": "yes"}
    assert "bad bands       2" in text


def test_info_input_without_nodata_says_none(runner, sample_hdr):
    r = runner.invoke(cli, ["info", str(sample_hdr)])
    assert r.exit_code == 0
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("nodata"))
    assert line.split()[1:] == ["none"]


def test_lowrank_json_leaves_out_the_networks_keys(runner, tmp_path, lowrank_hnr):
    d = hinerc.inspect(lowrank_hnr)
    assert d["arch"] == "lowrank" and "epochs" not in d and "quant_bits" not in d
    np.save(tmp_path / "c.npy", make_cube().data)
    r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "--bpppb", "4", "--json",
                            "--quiet"])
    assert r.exit_code == 0, r.output
    assert "epochs" not in json.loads(r.stdout)


def test_hiner_json_keeps_epochs_and_quant_bits(tiny_hiner_hnr):
    d = hinerc.inspect(tiny_hiner_hnr)
    assert d["arch"] == "hiner" and d["epochs"] == 2 and d["quant_bits"]


# ------------------------------------------------------------------------------ quality
def test_quality_at_compress_and_in_info_agree(tmp_path, runner):
    cube = make_cube(c=10)
    data = cube.data.copy()
    rng = np.random.default_rng(5)
    data[:, :, 6] += rng.normal(0, 300, data.shape[:2]).astype(np.int16)  # one noisy band
    cube = Cube(data, wavelengths_nm=cube.wavelengths_nm)
    res = hinerc.compress(cube, tmp_path / "q.hnr", bpppb=2.0)
    out = hinerc.decompress(tmp_path / "q.hnr").data
    from hinerc.metrics import band_psnr, mean_sam_degrees
    p = band_psnr(cube.data, out)
    worst = int(np.argmin(p)) + 1  # which band depends on the allocation; they must agree
    assert res.worst_band == worst
    assert res.worst_band_psnr_db == pytest.approx(p.min(), abs=1e-9)
    assert res.worst_band_nm == pytest.approx(cube.wavelengths_nm[worst - 1])
    assert res.sam_deg == pytest.approx(mean_sam_degrees(cube.data, out), rel=1e-9)
    assert res.max_abs_error == np.abs(out.astype(float) - cube.data).max()
    d = hinerc.inspect(tmp_path / "q.hnr")
    assert d["worst_band"] == worst
    assert d["worst_band_nm"] == pytest.approx(cube.wavelengths_nm[worst - 1])
    assert d["worst_band_psnr_db"] == round(res.worst_band_psnr_db, 4)
    assert d["sam_deg"] == round(res.sam_deg, 4)
    assert d["max_abs_error"] == res.max_abs_error
    text = runner.invoke(cli, ["info", str(tmp_path / "q.hnr")]).stdout
    assert f"worst band      {res.worst_band_psnr_db:.2f} dB: band {worst}, " in text
    assert f"SAM at encode   {res.sam_deg:.2f}°" in text


def test_compress_line_shows_worst_band_sam_and_error(runner, tmp_path):
    np.save(tmp_path / "c.npy", make_cube().data)
    r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "--bpppb", "4"])
    assert r.exit_code == 0, r.output
    line = r.stdout.strip().splitlines()[-1]
    assert "(worst band " in line and " dB: band " in line and "SAM " in line
    assert "°" in line and "max error " in line


def test_file_without_the_quality_keys_reads_and_shows_dashes(tmp_path, runner, lowrank_hnr):
    def drop(d):
        for key in ("worst_band_psnr_db", "worst_band", "sam_deg", "max_abs_error"):
            del d[key]
    old = tmp_path / "old.hnr"
    old.write_bytes(_with_version(_with_report(lowrank_hnr.read_bytes(), drop), 1))
    d = hinerc.inspect(old)
    assert d["worst_band"] is d["sam_deg"] is d["max_abs_error"] is d["worst_band_nm"] is None
    text = runner.invoke(cli, ["info", str(old)]).stdout
    assert "worst band      -" in text and "SAM at encode   -" in text
    assert "max error       -" in text
    np.testing.assert_array_equal(hinerc.decompress(old).data,
                                  hinerc.decompress(lowrank_hnr).data)


@pytest.mark.parametrize("key,value", [("worst_band", 0), ("worst_band", 13),
                                       ("worst_band", 2.0), ("worst_band", "3"),
                                       ("worst_band_psnr_db", "x"), ("sam_deg", -1),
                                       ("sam_deg", 181), ("max_abs_error", -0.5),
                                       ("max_abs_error", 10 ** 400)])
def test_lying_quality_keys_are_a_corrupt_file(tmp_path, runner, lowrank_hnr, key, value):
    bad = tmp_path / "bad.hnr"
    bad.write_bytes(_with_report(lowrank_hnr.read_bytes(), lambda d: d.update({key: value})))
    with pytest.raises(CorruptFileError, match="RPRT"):
        container.read_file(bad)
    r = runner.invoke(cli, ["info", str(bad)])
    assert r.exit_code == 1 and r.stderr.startswith("hinerc: error: ")


@pytest.mark.slow
@requires_shared_data
def test_aviris_ng_worst_band_is_visible(runner, tmp_path):
    """On AVIRIS-NG radiance at 0.2 bpppb a 41.8 dB mean hides 51 bands below 30 dB, the worst
    near 16 dB in the 1.9 µm water absorption: compress and info must both show it."""
    src = SHARED_DATA / "aviris_ng_isofit" / "ang20160910t185702_2rdn_img.hdr"
    out = tmp_path / "a.hnr"
    r = runner.invoke(cli, ["compress", str(src), "-o", str(out), "--bpppb", "0.2", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["psnr_db"] > 38 and d["worst_band_psnr_db"] < 20
    assert 1800 < d["worst_band_nm"] < 1950 and 0 < d["sam_deg"] < 1
    text = runner.invoke(cli, ["info", str(out)]).stdout
    assert f"band {d['worst_band']}, {d['worst_band_nm']:.2f} nm" in text
