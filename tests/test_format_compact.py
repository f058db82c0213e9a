"""The compact side information of format 1.8: BAND's integer form, the JSON sections' preset
dictionary, META without its unset fields, and the version they make a file."""

import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from hinerc.errors import CorruptFileError
from hinerc.format import container
from hinerc.format.deflate import JSON_DICTIONARY, deflate_json, inflate, uses_dictionary
from hinerc.format.header import BAND_WHOLE, BandTable, _varints

ROOT = Path(__file__).resolve().parents[1]


def _bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float64).view(np.uint64)


def _table(rng, c: int, whole: bool) -> BandTable:
    kinds = rng.integers(0, 3, c).astype(np.uint8)
    if whole:
        offsets = np.round(rng.normal(0, 10 ** rng.uniform(0, 8), c))
        scales = np.round(rng.uniform(0, 10 ** rng.uniform(0, 9), c))
    else:
        offsets, scales = rng.normal(0, 100, c), rng.uniform(0, 10, c)
    return BandTable(kinds, offsets, scales)


@pytest.mark.parametrize("whole", [True, False])
def test_band_forms_give_back_the_float_forms_values_bit_for_bit(whole):
    rng = np.random.default_rng(7)
    chosen = 0
    for _ in range(60):
        c, width = int(rng.integers(1, 300)), int(rng.choice([4, 8]))
        t = _table(rng, c, whole)
        buf = t.to_bytes(width)
        chosen += buf[:1] == BAND_WHOLE  # whole numbers may still be smaller as floats
        back = BandTable.from_bytes(buf, c, width)
        dt = "<f4" if width == 4 else "<f8"
        np.testing.assert_array_equal(back.kinds, t.kinds)
        np.testing.assert_array_equal(_bits(back.offsets), _bits(t.offsets.astype(dt)))
        np.testing.assert_array_equal(_bits(back.scales), _bits(t.scales.astype(dt)))
    assert chosen > 40 if whole else chosen == 0


def test_band_integer_form_is_smaller_on_an_integer_cube():
    rng = np.random.default_rng(1)
    c = 162
    offsets = np.cumsum(rng.integers(-6, 7, c)).astype(np.float64) + 20
    scales = np.cumsum(rng.integers(-9, 10, c)).astype(np.float64) + 400
    t = BandTable(np.zeros(c, np.uint8), offsets, scales)
    floats = np.concatenate([offsets.astype("<f4"), scales.astype("<f4")])
    float_form = zlib.compress(bytes(c) + floats.view(np.uint8).reshape(-1, 4).T.tobytes(), 9)
    assert len(t.to_bytes(4)) < 0.75 * len(float_form)


def test_band_negative_zero_keeps_the_float_form():
    t = BandTable(np.zeros(2, np.uint8), np.array([-0.0, 3.0]), np.array([1.0, 2.0]))
    back = BandTable.from_bytes(t.to_bytes(4), 2, 4)
    assert np.signbit(back.offsets[0])


def _whole(body: bytes, order: int = 1) -> bytes:
    return BAND_WHOLE + bytes([order]) + zlib.compress(body, 9)


@pytest.mark.parametrize("buf, why", [
    (BAND_WHOLE, "no order"),
    (BAND_WHOLE + b"\x03" + zlib.compress(bytes(2) + _varints([1, 2, 3, 4])), "order 3"),
    (_whole(bytes(2) + _varints([1, 2, 3])), "a varint short"),
    (_whole(bytes(2) + _varints([1, 2, 3, 4, 5])), "a varint too many"),
    (_whole(bytes(2) + _varints([1, 2, 3]) + b"\x80"), "a varint cut"),
    (_whole(bytes(2) + _varints([1, 2, 3]) + b"\xff" * 10 + b"\x01"), "a varint too long"),
    (_whole(bytes(2) + _varints([2 ** 53 + 1, 0, 1, 1])), "past 2**53"),
    (_whole(bytes(2) + _varints([2 ** 24 + 1, 0, 1, 1])), "not a float32"),
    (_whole(bytes([0, 7]) + _varints([1, 2, 3, 4])), "band kind 7"),
    (_whole(bytes(1)), "kinds short"),
    (BAND_WHOLE + b"\x01" + b"garbage", "not zlib"),
])
def test_band_integer_form_hostile(buf, why):
    with pytest.raises(CorruptFileError):
        BandTable.from_bytes(buf, 2, 4)


def test_band_integer_form_second_differences():
    body = bytes(3) + _varints([5, -3, 1]) + _varints([10, 0, 0])  # order 2
    t = BandTable.from_bytes(_whole(body, order=2), 3, 8)
    np.testing.assert_array_equal(t.offsets, [5, 7, 10])
    np.testing.assert_array_equal(t.scales, [10, 20, 30])


def test_json_dictionary_is_the_one_the_format_spec_prints():
    doc = (ROOT / "docs" / "format.md").read_text()
    m = re.search(r"Adler-32 `([0-9a-f]{8})`\):\n\n`([^`\n]+)`\n", doc)
    assert m, "docs/format.md lost the dictionary"
    assert m.group(2).encode("ascii") == JSON_DICTIONARY
    assert int(m.group(1), 16) == zlib.adler32(JSON_DICTIONARY)
    assert f"{len(JSON_DICTIONARY)} ASCII bytes" in doc


def test_json_sections_use_the_dictionary_when_it_is_smaller():
    report = {"device": "cpu", "psnr_db": 41.25, "encode_seconds": 2.5, "seed": 0,
              "hinerc_version": "0.1.0", "worst_band_psnr_db": 30.5, "sam_deg": 1.5}
    buf = container.json_bytes(report)
    assert uses_dictionary(buf)
    plain = zlib.compress(b'{"device":"cpu"}', 9)
    assert len(buf) < len(zlib.compress(container.json.dumps(report).encode(), 9)) - 40
    assert not uses_dictionary(container.json_bytes({}))  # an empty RPRT stays as it was
    assert inflate(plain, "x", zdict=JSON_DICTIONARY) == b'{"device":"cpu"}'
    assert inflate(deflate_json(b'{"a":1}'), "x", zdict=JSON_DICTIONARY) == b'{"a":1}'


def test_a_stream_naming_another_dictionary_is_corrupt():
    c = zlib.compressobj(9, zdict=b'"psnr_db":"device":')
    other = c.compress(b'{"psnr_db":1}') + c.flush()
    with pytest.raises(CorruptFileError):
        inflate(other, "RPRT", zdict=JSON_DICTIONARY)
    with pytest.raises(CorruptFileError):
        container._json(other, "RPRT")


def test_meta_leaves_out_unset_fields_and_reads_them_back_unset():
    meta = {"wavelengths_nm": None, "nodata": None, "extra": {}, "crs": None,
            "interleave": "bsq"}
    raw = zlib.decompressobj(zdict=JSON_DICTIONARY).decompress(container.meta_bytes(meta))
    assert container.json.loads(raw) == {"interleave": "bsq"}
    back = container._read_meta(container.meta_bytes(meta), 3)
    assert back.get("nodata") is None and back.get("wavelengths_nm") is None


def test_version_of_the_compact_forms():
    tags = container.plain_order(("SPEC", "MAPS"))
    assert container.version_for(tags, {"BAND": b"x\x9c"}) == (1, 3)
    assert container.version_for(tags, {"BAND": BAND_WHOLE + b"\x01"}) == (1, 8)
    for tag in ("META", "MODL", "RPRT"):
        assert container.version_for(tags, {tag: deflate_json(b"{}")}) == (1, 8)
        assert container.version_for(tags, {tag: zlib.compress(b"{}", 9)}) == (1, 3)


def test_fresh_file_is_1_8_or_newer_and_smaller(tmp_path):
    import hinerc
    from hinerc.io import Cube

    rng = np.random.default_rng(3)
    base = rng.integers(100, 4000, (16, 18, 1)).astype(np.int16)
    data = (base + rng.integers(0, 50, (16, 18, 40))).astype(np.int16)
    out = tmp_path / "x.hnr"
    hinerc.compress(Cube(data), out, bpppb=2.0)
    info = hinerc.inspect(out)
    spec = container.read_file(out).sections["SPEC"]
    assert info["format_version"] == ("1.10" if spec[0] == 3 else "1.8")  # 1.10: adaptive SPEC
    sizes = info["sections"]
    assert sizes["META"] <= 12 + 10 and sizes["BAND"] < 12 + 150
    f = container.read_file(out)
    assert f.meta.get("crs") is None and f.report.device == "cpu"
    assert container.to_bytes(f) == out.read_bytes()
