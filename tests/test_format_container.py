import struct
import zlib

import numpy as np
import pytest

from hinerc.errors import CorruptFileError, UnsupportedVersionError
from hinerc import codecs, pipeline
from hinerc.format import container
from hinerc.format.container import SIGNATURE, plain_order
from hinerc.format.deflate import inflate_json


def _order(path) -> tuple[str, ...]:
    """The sections of a plain file of ``path``'s codec, in order."""
    return plain_order(codecs.get(container.read_file(path).codec).sections)


def _boundaries(buf: bytes) -> list[int]:
    pos, out = container.PREAMBLE_SIZE, []
    while pos < len(buf):
        out.append(pos)
        (length,) = struct.unpack_from("<I", buf, pos + 4)
        out += [pos + 4, pos + 8, pos + 8 + length]
        pos += 12 + length
    return out


def test_parse_valid_file(any_hnr):
    f = container.read_file(any_hnr)
    assert f.header.height == 20 and f.header.width == 24 and f.header.bands == 12
    assert f.header.dtype == "int16"
    assert list(f.section_sizes) == list(_order(any_hnr))
    assert list(f.sections) == list(codecs.get(f.codec).sections)  # the model's own, in order
    assert sum(f.section_sizes.values()) + container.PREAMBLE_SIZE == any_hnr.stat().st_size


def test_reserialise_identical(any_hnr):
    buf = any_hnr.read_bytes()
    assert container.to_bytes(container.from_bytes(buf)) == buf


def test_truncation_at_every_section_boundary(any_hnr):
    buf = any_hnr.read_bytes()
    cuts = [0, 1, 7, 8, 11, 15] + _boundaries(buf) + [len(buf) - 1]
    for n in sorted(set(cuts)):
        with pytest.raises(CorruptFileError):
            container.from_bytes(buf[:n])


def test_every_single_byte_change_is_detected(any_hnr):
    buf = any_hnr.read_bytes()
    for i in range(len(buf)):
        bad = bytearray(buf)
        bad[i] ^= 0x5A
        with pytest.raises((CorruptFileError, UnsupportedVersionError)):
            container.from_bytes(bytes(bad))


def test_trailing_garbage_refused(any_hnr):
    with pytest.raises(CorruptFileError, match="unexpected bytes"):
        container.from_bytes(any_hnr.read_bytes() + b"\x00")


def test_unknown_major_version(any_hnr):
    buf = bytearray(any_hnr.read_bytes())
    buf[len(SIGNATURE)] = 2
    struct.pack_into("<I", buf, 12, zlib.crc32(bytes(buf[:12])))
    with pytest.raises(UnsupportedVersionError, match="version 2"):
        container.from_bytes(bytes(buf))


def _resection(buf: bytes, tag: str, payload: bytes) -> bytes:
    """Replace one section's payload with a valid CRC (a well-formed but lying file)."""
    f = container.split_sections(buf)
    f[tag] = payload
    order = list(f)
    pre = SIGNATURE + struct.pack("<BBH", 1, 0, len(order))
    out = [pre, struct.pack("<I", zlib.crc32(pre))]
    for t in order:
        head = t.encode() + struct.pack("<I", len(f[t]))
        out.append(head + f[t] + struct.pack("<I", zlib.crc32(head + f[t])))
    return b"".join(out)


def test_huge_declared_shape_refused_before_allocation(any_hnr):
    buf = any_hnr.read_bytes()
    head = bytearray(container.split_sections(buf)["HEAD"])
    struct.pack_into("<III", head, 0, 100000, 100000, 100000)
    with pytest.raises(CorruptFileError):
        container.from_bytes(_resection(buf, "HEAD", bytes(head)))


def test_stream_count_must_match_model(tiny_hiner_hnr):
    buf = tiny_hiner_hnr.read_bytes()
    data = bytearray(container.split_sections(buf)["DATA"])
    struct.pack_into("<I", data, 2, struct.unpack_from("<I", data, 2)[0] + 1)
    lie = _resection(buf, "DATA", bytes(data))
    container.from_bytes(lie)  # the container passes the model's sections through
    with pytest.raises(CorruptFileError):
        pipeline.load(lie)  # its codec refuses them


@pytest.mark.parametrize("tag", ["META", "MODL", "RPRT"])
def test_invalid_json_sections(any_hnr, tag):
    buf = any_hnr.read_bytes()
    with pytest.raises(CorruptFileError):
        container.from_bytes(_resection(buf, tag, zlib.compress(b"{not json")))


def test_model_config_must_cover_image(tiny_hiner_hnr):
    import json
    buf = tiny_hiner_hnr.read_bytes()
    cfg = json.loads(inflate_json(container.split_sections(buf)["MODL"]))
    cfg["crop_top"] = 10_000
    with pytest.raises(CorruptFileError, match="model configuration"):
        pipeline.load(_resection(buf, "MODL", zlib.compress(json.dumps(cfg).encode())))


@pytest.mark.parametrize("arch", [None, 3, "no-such-model"])
def test_model_of_no_known_codec_is_refused(tiny_hnr, arch):
    import json
    buf = tiny_hnr.read_bytes()
    cfg = json.loads(inflate_json(container.split_sections(buf)["MODL"]))
    cfg["arch"] = arch
    with pytest.raises(CorruptFileError, match="model"):
        pipeline.load(_resection(buf, "MODL", zlib.compress(json.dumps(cfg).encode())))


def test_no_pickle_anywhere_in_package():
    import pathlib
    root = pathlib.Path(container.__file__).resolve().parents[1]
    for py in root.rglob("*.py"):
        text = py.read_text()
        assert "import pickle" not in text and "torch.load(" not in text, py
        assert "HuffmanCodec.load" not in text, py


def test_band_table_roundtrip():
    from hinerc.format.header import BandTable
    t = BandTable(np.array([0, 1, 2], np.uint8), np.array([1.5, 2, 0]), np.array([3.25, 0, 0]))
    for width in (4, 8):
        t2 = BandTable.from_bytes(t.to_bytes(width), 3, width)
        np.testing.assert_array_equal(t2.offsets, t.offsets)
        np.testing.assert_array_equal(t2.kinds, t.kinds)
