"""Property-based fuzzing of ``.hnr`` files (hypothesis, derandomized: the same cases every run).

Valid files are mutated at the byte level (truncation, bit flips, overwrites, insertions), at the
section level with a valid CRC (a section's payload, or its inflated content, mutated and
re-framed), and with *well-formed lies*: sections rewritten with valid framing and CRC but
hostile content, up to whole files whose model, quantization, Huffman tables and streams are all
mutually consistent but whose decoder geometry is absurd.

For every case:

* the reader (``pipeline.load``: the container, then the codec's sections) parses or raises
  :class:`FormatError`, nothing else, in bounded time and memory;
* ``hinerc info`` and ``hinerc decompress`` exit 1 with exactly one ``hinerc: error:`` line on
  stderr and leave no output behind, or exit 0 when the file is genuinely valid (``info`` exits 0
  exactly when the reader accepts the file; a decoded cube has the declared shape and type);
* no case takes more than a few seconds, and none raises the process's peak memory by more than
  a bounded amount (the decoder may only allocate in proportion to the declared cube).
"""

from __future__ import annotations

import inspect
import json
import math
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import tracemalloc
import warnings
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hinerc
from hinerc import codecs, pipeline
from hinerc.cli import cli
from hinerc.codecs.hiner.payload import encode_payload, quantize_all
from hinerc.errors import FormatError
from hinerc.format import container
from hinerc.format.container import SIGNATURE, plain_order
from hinerc.format.header import _HEAD_STRUCT, BAND_WHOLE, HnrHeader
from hinerc.io import read_cube
from hinerc.format.deflate import inflate_json

from conftest import make_cube

FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])


def fuzz(n: int) -> settings:
    return settings(FUZZ, max_examples=n)


#: The sections of a plain file of the published network, and of the low-rank codec, in order.
SECTION_ORDER = plain_order(codecs.get("hiner").sections)
LOWRANK_ORDER = plain_order(codecs.get("lowrank").sections)
PARSE_SECONDS = 10
CLI_SECONDS = 30
PARSE_PEAK_BYTES = 64 << 20
RSS_GROWTH_KIB = 1536 << 10  # 1.5 GiB over the peak before the fuzz tests started
RUNNER = CliRunner()


# ------------------------------------------------------------------------------ base files
class Hnr(bytes):
    """File bytes with a short repr (hypothesis prints the arguments of a failing example)."""

    def __repr__(self) -> str:
        return f"<.hnr of {len(self)} bytes>"


@pytest.fixture(scope="module")
def work() -> Path:
    return Path(tempfile.mkdtemp(prefix="hnr_fuzz_"))


@pytest.fixture(scope="module")
def base(tiny_hiner_hnr) -> bytes:
    """A small valid file of the published network (most lies below are about its sections):
    20×24×12 int16, no no-data."""
    return Hnr(tiny_hiner_hnr.read_bytes())


def payload_of(buf: bytes):
    """The parsed QPRM/HUFF/DATA of a plain file of the published network."""
    return pipeline.load(buf).parts[0].content[1]


@pytest.fixture(scope="module")
def base_nodata(tmp_path_factory) -> bytes:
    """A small valid file with no-data pixels (MASK mode 1), a constant and a no-data band."""
    cube = make_cube(h=12, w=10, c=6, dtype=np.int16, seed=3, nodata=-9999)
    cube.data[:, :, 2] = 1234
    cube.data[2:4, 3:6, :] = -9999
    cube.data[:, :, 4] = -9999
    path = tmp_path_factory.mktemp("hnr") / "nodata.hnr"
    hinerc.compress(cube, path, bpppb=24.0, arch="hiner", epochs=1, seed=0)
    return Hnr(path.read_bytes())


@pytest.fixture(scope="module")
def base_tiled(tmp_path_factory) -> bytes:
    """A tiled file (HEAD flag bit 1): 24×20×12 cut into four 12×10 tiles, each a nested .hnr."""
    if "tile" not in inspect.signature(hinerc.compress).parameters:
        pytest.skip("this build writes no tiled files")
    path = tmp_path_factory.mktemp("hnr") / "tiled.hnr"
    hinerc.compress(make_cube(h=24, w=20, c=12, seed=5), path, bpppb=8.0, arch="hiner", epochs=1, seed=0,
                    tile=12)
    return Hnr(path.read_bytes())


@pytest.fixture(scope="module")
def rss0() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ------------------------------------------------------------------------------ framing
def frame(sections: list[tuple[bytes, bytes]], n: int | None = None,
          version: tuple[int, int] = (1, 0)) -> bytes:
    """A file from (tag, payload) pairs, every CRC valid."""
    pre = SIGNATURE + struct.pack("<BBH", *version, len(sections) if n is None else n)
    out = [pre, struct.pack("<I", zlib.crc32(pre))]
    for tag, payload in sections:
        head = tag + struct.pack("<I", len(payload))
        out.append(head + payload + struct.pack("<I", zlib.crc32(head + payload)))
    return b"".join(out)


def sections_of(buf: bytes) -> dict[str, bytes]:
    return container.split_sections(buf)


def resection(buf: bytes, **payloads: bytes) -> bytes:
    """Replace some sections' payloads, keeping a valid frame and CRCs (a well-formed lie)."""
    sec = sections_of(buf)
    sec.update(payloads)
    return frame([(t.encode(), p) for t, p in sec.items()])


def boundaries(buf: bytes) -> list[int]:
    pos, out = container.PREAMBLE_SIZE, [0, 1, 7, 8, 9, 10, 11, 12, 15, 16]
    while pos < len(buf):
        (length,) = struct.unpack_from("<I", buf, pos + 4)
        out += [pos, pos + 4, pos + 8, pos + 8 + length, pos + 12 + length]
        pos += 12 + length
    return sorted({c + d for c in out for d in (-1, 0, 1) if 0 <= c + d < len(buf)})


def flipped(buf: bytes, data) -> bytes:
    """``buf`` with 1–8 distinct bits flipped (a bit flipped twice would leave it valid)."""
    out = bytearray(buf)
    for b in data.draw(st.lists(st.integers(0, 8 * len(buf) - 1), min_size=1, max_size=8,
                                unique=True)):
        out[b // 8] ^= 0x80 >> (b % 8)
    return bytes(out)


def inflate(b: bytes) -> bytes:
    return inflate_json(b)


def deflate(b: bytes) -> bytes:
    return zlib.compress(b, 9)


# ------------------------------------------------------------------------------ checks
class Hang(BaseException):
    """Raised by the alarm: not an Exception, so nothing on the way can swallow it."""


@contextmanager
def time_limit(seconds: float):
    def alarm(signum, frame_):
        raise Hang(f"took more than {seconds} s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def parses(buf: bytes) -> bool:
    """True when the reader (container and codec) accepts ``buf``; a FormatError means no;
    anything else fails."""
    tracemalloc.start()
    try:
        with time_limit(PARSE_SECONDS):
            try:
                pipeline.load(buf)
                ok = True
            except FormatError:
                ok = False
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PARSE_PEAK_BYTES, f"parsing allocated {peak} bytes"
    return ok


def _one_error_line(r) -> None:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("hinerc: error: "), r.stderr


def invoke(args: list[str]):
    with time_limit(CLI_SECONDS):
        r = RUNNER.invoke(cli, args)
    assert r.exit_code in (0, 1), (r.exit_code, r.stderr, r.exception)
    return r


def check(buf: bytes, work: Path, rss0: int, decompress: bool | None = None,
          formats: tuple[str, ...] = ("npy",)) -> bool:
    """Every property of one fuzzed file; returns whether the container accepted it.

    ``decompress=None`` runs the decoder when the file parses (the network then runs on a
    hostile but accepted file) and on a deterministic quarter of the rest; it writes each of
    ``formats`` (extensions).
    """
    ok = parses(buf)
    case = work / f"case_{zlib.crc32(buf):08x}"
    case.mkdir(exist_ok=True)
    path = case / "f.hnr"
    path.write_bytes(buf)
    for args in (["info", str(path)], ["info", str(path), "--json"]):
        r = invoke(args)
        if ok:
            assert r.exit_code == 0, r.stderr
        else:
            assert r.exit_code == 1
            _one_error_line(r)
    if decompress is None:
        decompress = ok or zlib.crc32(buf) % 4 == 0
    for ext in formats if decompress else ():
        out = case / f"out.{ext}"
        r = invoke(["decompress", str(path), "-o", str(out), "--device", "cpu"])
        if r.exit_code == 1:
            _one_error_line(r)
            assert sorted(p.name for p in case.iterdir()) == ["f.hnr"], "output left behind"
        else:
            assert ok, "decompress accepted a file the container refuses"
            hd = container.from_bytes(buf).header
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                back = read_cube(out)
            assert back.shape == (hd.height, hd.width, hd.bands)
            assert back.dtype == np.dtype(hd.dtype)
            for p in case.iterdir():
                if p.name != "f.hnr":
                    p.unlink()
    path.unlink()
    case.rmdir()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    assert grown < RSS_GROWTH_KIB, f"peak memory grew by {grown} KiB"
    return ok


# ------------------------------------------------------------------------------ sanity
def test_base_files_are_valid(base, base_nodata, work, rss0):
    assert check(base, work, rss0, decompress=True)
    assert check(base_nodata, work, rss0, decompress=True)
    assert sections_of(base_nodata)["MASK"][0] == 1


# ------------------------------------------------------------------------------ truncation
def test_truncation_at_every_boundary(base, work, rss0):
    for n in boundaries(base):
        assert not check(base[:n], work, rss0, decompress=n % 3 == 0), n


@fuzz(25)
@given(st.data())
def test_truncation_at_random_points(base, work, rss0, data):
    n = data.draw(st.integers(0, len(base) - 1))
    assert not check(base[:n], work, rss0)


# ------------------------------------------------------------------------------ raw mutations
@fuzz(30)
@given(st.data())
def test_random_bit_flips(base, work, rss0, data):
    assert not check(flipped(base, data), work, rss0)


@fuzz(30)
@given(st.data())
def test_random_byte_overwrites(base, work, rss0, data):
    pos = data.draw(st.integers(0, len(base) - 1))
    new = data.draw(st.binary(min_size=1, max_size=16))
    buf = base[:pos] + new + base[pos + len(new):]
    buf = buf[:len(base)]
    check(buf, work, rss0)  # may rewrite the same bytes: then the file is valid


@fuzz(30)
@given(st.data())
def test_random_bytes_inserted_or_appended(base, work, rss0, data):
    pos = data.draw(st.one_of(st.just(len(base)), st.integers(0, len(base))))
    new = data.draw(st.binary(min_size=1, max_size=64))
    assert not check(base[:pos] + new + base[pos:], work, rss0)


# ------------------------------------------------------------------------------ re-framed mutations
def _mutate(data, raw: bytes) -> bytes:
    kind = data.draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate",
                                      "extend", "replace"]))
    n = len(raw)
    if kind == "flip" and n:
        buf = bytearray(raw)
        for b in data.draw(st.lists(st.integers(0, 8 * n - 1), min_size=1, max_size=8)):
            buf[b // 8] ^= 0x80 >> (b % 8)
        return bytes(buf)
    if kind == "overwrite" and n:
        pos = data.draw(st.integers(0, n - 1))
        new = data.draw(st.binary(min_size=1, max_size=8))
        return (raw[:pos] + new + raw[pos + len(new):])[:max(n, pos + len(new))]
    if kind == "insert":
        pos = data.draw(st.integers(0, n))
        return raw[:pos] + data.draw(st.binary(min_size=1, max_size=16)) + raw[pos:]
    if kind == "delete" and n:
        pos = data.draw(st.integers(0, n - 1))
        return raw[:pos] + raw[pos + data.draw(st.integers(1, 8)):]
    if kind == "truncate":
        return raw[:data.draw(st.integers(0, max(0, n - 1)))]
    if kind == "extend":
        return raw + data.draw(st.binary(min_size=1, max_size=32))
    return data.draw(st.binary(max_size=64))


ZLIB_SECTIONS = ("META", "BAND", "MODL", "RPRT")


def _inner_mutated(data, tag: str, payload: bytes) -> bytes:
    """``payload`` (a section of :data:`ZLIB_SECTIONS`) with what its zlib stream holds mutated
    and deflated again; BAND's integer form (1.8) keeps its two leading bytes."""
    if tag == "BAND" and payload[:1] == BAND_WHOLE:
        return payload[:2] + deflate(_mutate(data, zlib.decompress(payload[2:])))
    return deflate(_mutate(data, inflate(payload)))


@fuzz(90)
@given(st.data())
def test_section_payload_mutated_with_valid_crc(base, base_nodata, work, rss0, data):
    src = data.draw(st.sampled_from([base, base_nodata]))
    tag = data.draw(st.sampled_from(list(sections_of(src))))
    payload = sections_of(src)[tag]
    if tag in ZLIB_SECTIONS and data.draw(st.booleans()):
        new = _inner_mutated(data, tag, payload)  # reaches the parsers behind zlib
    else:
        new = _mutate(data, payload)
    check(resection(src, **{tag: new}), work, rss0)


# ------------------------------------------------------------------------------ framing lies
def test_framing_lies(base, work, rss0):
    sec = sections_of(base)
    pairs = [(t.encode(), sec[t]) for t in SECTION_ORDER]
    cases = []
    for n in (0, 1, 8, 10, 255, 65535):  # section count lies
        cases.append(frame(pairs, n=n))
    for major, minor in ((0, 0), (2, 0), (255, 255)):
        cases.append(frame(pairs, version=(major, minor)))
    cases.append(frame(pairs[:4] + pairs[5:]))  # a section missing
    cases.append(frame(pairs + [pairs[0]]))  # duplicated
    cases.append(frame([(b"\xff\xfe\x00\x01", b"")] + pairs))  # non-ASCII tag
    for length in (len(base), 2**31, 2**32 - 1):  # a length beyond the end of the file
        buf = bytearray(base)
        struct.pack_into("<I", buf, container.PREAMBLE_SIZE + 4, length)
        cases.append(bytes(buf))
    buf = bytearray(frame(pairs))  # a length beyond the file with a self-consistent CRC
    struct.pack_into("<I", buf, len(buf) - 8 - len(sec["RPRT"]), 2**32 - 1)
    cases.append(bytes(buf))
    cases.append(base[:12] + b"\x00\x00\x00\x00" + base[16:])  # preamble CRC wrong
    for buf in cases:
        assert not check(buf, work, rss0, decompress=True)
    # accepted: a newer minor version, an unknown extra section, another section order
    for buf in (frame(pairs, version=(1, 7)), frame(pairs + [(b"XTRA", b"future")]),
                frame(pairs[::-1])):
        assert check(buf, work, rss0, decompress=True)


# ------------------------------------------------------------------------------ HEAD lies
HOSTILE_U32 = [0, 1, 2, 3, 7, 12, 13, 20, 24, 255, 65535, 65536, 10**6, 2**31 - 1, 2**31,
               2**32 - 1]


@fuzz(60)
@given(st.data())
def test_head_lies(base, work, rss0, data):
    head = list(_HEAD_STRUCT.unpack(sections_of(base)["HEAD"]))
    u32 = st.one_of(st.sampled_from(HOSTILE_U32), st.integers(0, 2**32 - 1))
    u8 = st.one_of(st.sampled_from([0, 1, 4, 8, 9, 10, 16, 128, 255]), st.integers(0, 255))
    which = data.draw(st.sets(st.integers(0, len(head) - 1), min_size=1))
    for i in which:
        head[i] = data.draw(u32 if _HEAD_STRUCT.format[1 + i] == "I" else u8)
    check(resection(base, HEAD=_HEAD_STRUCT.pack(*head)), work, rss0)


def test_head_huge_shapes(base, work, rss0):
    h = container.from_bytes(base).header
    for hh, ww, cc, nc in [(2**32 - 1, 2**32 - 1, 2**32 - 1, 12), (100000, 100000, 12, 12),
                           (20, 24, 2**32 - 1, 2**32 - 1), (20, 24, 12, 2**32 - 1),
                           (20, 24, 10**6, 12), (20, 24, 12, 13), (20, 24, 12, 0),
                           (20, 2**20, 12, 12), (2**20, 24, 12, 12)]:
        head = HnrHeader(hh, ww, cc, h.dtype, nc, h.band_param_bytes, h.flags)
        assert not check(resection(base, HEAD=head.to_bytes()), work, rss0, decompress=True)
    # a smaller image inside the same decoder frame is consistent: it decodes
    for hh, ww in [(1, 1), (17, 24), (20, 19)]:
        head = HnrHeader(hh, ww, h.bands, h.dtype, h.n_coded, h.band_param_bytes, h.flags)
        check(resection(base, HEAD=head.to_bytes()), work, rss0, decompress=True)


# ------------------------------------------------------------------------------ BAND lies
FLOATS = st.one_of(st.floats(width=32), st.sampled_from([0.0, -0.0, 1.0, 1e30, -1e30,
                                                         float("nan"), float("inf"),
                                                         -float("inf")]))


def band_payload(kinds, offsets, scales, width=4, extra=b"") -> bytes:
    dt = "<f4" if width == 4 else "<f8"
    floats = np.concatenate([np.asarray(offsets, dt), np.asarray(scales, dt)])
    shuffled = floats.view(np.uint8).reshape(-1, width).T.tobytes()
    return deflate(bytes(np.asarray(kinds, np.uint8)) + shuffled + extra)


@fuzz(40)
@given(st.data())
def test_band_lies(base, work, rss0, data):
    f = container.from_bytes(base)
    c = f.header.bands
    kinds = list(f.bands.kinds)
    offsets, scales = list(f.bands.offsets), list(f.bands.scales)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, c - 1))
        what = data.draw(st.sampled_from(["kind", "offset", "scale"]))
        if what == "kind":
            kinds[i] = data.draw(st.one_of(st.integers(0, 3), st.integers(0, 255)))
        elif what == "offset":
            offsets[i] = data.draw(FLOATS)
        else:
            scales[i] = data.draw(FLOATS)
    size = data.draw(st.sampled_from(["exact", "short", "long"]))
    if size == "short":
        kinds, offsets, scales = kinds[:-1], offsets[:-1], scales[:-1]
    extra = b"\x00" * 3 if size == "long" else b""
    check(resection(base, BAND=band_payload(kinds, offsets, scales, extra=extra)), work, rss0)


# ------------------------------------------------------------------------------ JSON lies
DEEP, BIGINT = "__DEEP__", "__BIGINT__"
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=4),
    max_leaves=10)
HOSTILE = st.one_of(
    st.sampled_from([0, -1, 1, 2, 3, 5, 7, 16, 17, 4096, 4097, 65536, 65537, 2**31, 2**32,
                     2**63, 2**64, 10**30, -10**30, 2.5, 3.0, 1e308, float("nan"), float("inf"),
                     -float("inf"), True, False, None, "", "3", "hiner", [], {}, [3], [[3]],
                     [1] * 9, [16] * 8, [2**40, 2**40], [-1], [0], [3.0], [2.5], ["a"],
                     [None], {"a": 1}, DEEP, BIGINT]),
    st.integers(-2**40, 2**40), JUNK)


def json_text(obj) -> bytes:
    text = json.dumps(obj, allow_nan=True)
    text = text.replace(json.dumps(DEEP), "[" * 3000 + "]" * 3000)
    text = text.replace(json.dumps(BIGINT), "9" * 5000)
    return text.encode()


def _json_lie(data, d: dict, keys: list[str]):
    """A dict with some keys given hostile values, elements of lists changed, or keys removed;
    sometimes a JSON document that is not an object at all."""
    if data.draw(st.integers(0, 9)) == 0:
        return data.draw(st.sampled_from([[], 3, "x", None, [d], DEEP, BIGINT]))
    d = json.loads(json.dumps(d))
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(keys + ["unknown_key"]))
        action = data.draw(st.sampled_from(["value", "value", "element", "delete"]))
        if action == "delete":
            d.pop(key, None)
        elif action == "element" and isinstance(d.get(key), list) and d[key]:
            i = data.draw(st.integers(0, len(d[key]) - 1))
            d[key][i] = data.draw(HOSTILE)
        else:
            d[key] = data.draw(HOSTILE)
    return d


@fuzz(70)
@given(st.data())
def test_modl_lies(base, work, rss0, data):
    d = json.loads(inflate(sections_of(base)["MODL"]))
    lie = _json_lie(data, d, sorted(d))
    check(resection(base, MODL=deflate(json_text(lie))), work, rss0)


@fuzz(50)
@given(st.data())
def test_meta_lies(base, base_nodata, work, rss0, data):
    src = data.draw(st.sampled_from([base, base_nodata]))
    d = json.loads(inflate(sections_of(src)["META"]))
    lie = _json_lie(data, d, sorted(d))
    check(resection(src, META=deflate(json_text(lie))), work, rss0)


@fuzz(30)
@given(st.data())
def test_rprt_lies(base, work, rss0, data):
    d = json.loads(inflate(sections_of(base)["RPRT"]))
    lie = _json_lie(data, d, sorted(d))
    check(resection(base, RPRT=deflate(json_text(lie))), work, rss0)


EXTRA_LIES = st.fixed_dictionaries({}, optional={
    "envi": st.one_of(HOSTILE, st.dictionaries(st.sampled_from(
        ["description", "map info", "sensor type", "file type", "bands", "data type",
         "reflectance scale factor", "x"]), HOSTILE, max_size=3)),
    "gdal": st.one_of(HOSTILE, st.dictionaries(st.sampled_from(
        ["tags", "band_tags", "scales", "offsets", "units", "domains"]), HOSTILE, max_size=3)),
    "mat": st.one_of(HOSTILE, st.fixed_dictionaries({"var": HOSTILE})),
    "io": st.one_of(HOSTILE, st.fixed_dictionaries({"wavelength_unit_inferred": HOSTILE})),
})


@fuzz(16)
@given(st.data())
def test_meta_lies_written_to_every_format(base, work, rss0, data):
    """What the writers read from META (CRS, transform, names, no-data, extra.*) may lie too."""
    d = json.loads(inflate(sections_of(base)["META"]))
    key = data.draw(st.sampled_from(["extra", "extra", "extra", "crs", "transform", "nodata",
                                     "band_names", "wavelength_units", "interleave"]))
    if key == "extra":
        d["extra"] = data.draw(EXTRA_LIES)
    elif key == "band_names":
        d["band_names"] = [data.draw(st.text(max_size=8))] * 12
    elif key == "crs":
        d["crs"] = data.draw(st.one_of(st.text(max_size=20), st.sampled_from(
            ['GEOGCS["x"', 'PROJCS["UTM", 5]', "EPSG:4326", "EPSG:999999", ""])))
        d["transform"] = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
    else:
        d[key] = data.draw(HOSTILE)
    check(resection(base, META=deflate(json_text(d))), work, rss0, decompress=True,
          formats=("hdr", "tif", "mat"))


PACKED_LIES = st.one_of(
    HOSTILE,
    st.fixed_dictionaries({"decimals": st.one_of(st.integers(-2, 14), HOSTILE),
                           "diffs2": st.one_of(st.lists(st.integers(-2**60, 2**60), max_size=14),
                                               HOSTILE)}),
    st.fixed_dictionaries({"template": st.one_of(
        st.text(max_size=12), st.sampled_from(["{w}", "{n}", "{w}{w}", "{n} {w} nm", "x" * 300]),
        HOSTILE)}),
)


@fuzz(24)
@given(st.data())
def test_packed_meta_lies(base, work, rss0, data):
    """META 1.2's packed band vectors and name templates may lie (hinerc.format.meta)."""
    d = json.loads(inflate(sections_of(base)["META"]))
    for key in data.draw(st.sets(st.sampled_from(["wavelengths_nm", "fwhm_nm", "band_names"]),
                                 min_size=1)):
        d[key] = data.draw(PACKED_LIES)
    check(resection(base, META=deflate(json_text(d))), work, rss0, decompress=True)


def test_invalid_crs_is_one_line_from_a_real_process(base, work):
    """GDAL prints its own errors on stderr unless told not to: only a real process shows it."""
    d = json.loads(inflate(sections_of(base)["META"]))
    d.update(crs="garbage", transform=[0.0, 1.0, 0.0, 0.0, 0.0, -1.0])
    path = work / "crs.hnr"
    path.write_bytes(resection(base, META=deflate(json.dumps(d).encode())))
    for out in (work / "crs.tif", work / "crs.hdr"):
        r = subprocess.run([sys.executable, "-m", "hinerc", "decompress", str(path), "-o",
                            str(out), "--device", "cpu"], capture_output=True, text=True,
                           timeout=120)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        if r.returncode == 1:
            assert len(lines) == 1 and lines[0].startswith("hinerc: error: "), r.stderr
            assert not out.exists()
        else:
            assert r.returncode == 0 and not lines, r.stderr
            out.unlink()
            out.with_suffix(".img").unlink(missing_ok=True)


def test_json_bombs_and_junk(base, work, rss0):
    big = deflate(b"[" + b"0," * (9 << 20) + b"0]")  # inflates past the 16 MiB limit
    for tag in ("META", "MODL", "RPRT"):
        for payload in (big, deflate(b"\xff\xfe"), deflate(b"[" * 100000), deflate(b"1" * 5000),
                        deflate(b'{"a": ' + b"9" * 5000 + b"}"), b"", b"\x78\x9c",
                        deflate(b"{}") + b"x", deflate(b"{}"), deflate(b"[]"), deflate(b"null"),
                        deflate(b'{"extra": ' + b"[" * 600 + b"]" * 600 + b"}"),
                        deflate(b'{"extra": {"envi": ' + b"[" * 30 + b"]" * 30 + b"}}")):
            check(resection(base, **{tag: payload}), work, rss0, decompress=True)


# ------------------------------------------------------------------------------ QPRM lies
def qprm(entries) -> bytes:
    out = [struct.pack("<H", len(entries))]
    for bits, mode, stream, mins, scales in entries:
        out.append(struct.pack("<BBB", bits, mode, stream))
        out.append(np.asarray(mins, "<f4").tobytes() + np.asarray(scales, "<f4").tobytes())
    return b"".join(out)


@fuzz(40)
@given(st.data())
def test_qprm_lies(base, work, rss0, data):
    f = payload_of(base)
    entries = [[q.bits, q.mode, q.stream, list(q.mins), list(q.scales)] for q in f.quant]
    for _ in range(data.draw(st.integers(1, 3))):
        e = entries[data.draw(st.integers(0, len(entries) - 1))]
        field = data.draw(st.integers(0, 4))
        if field == 0:
            e[0] = data.draw(st.sampled_from([0, 1, 7, 8, 9, 12, 16, 17, 255]))
        elif field == 1:
            e[1] = data.draw(st.sampled_from([0, 1, 2, 255]))
        elif field == 2:
            e[2] = data.draw(st.sampled_from([0, 1, 2, 255]))
        else:
            e[field][0] = data.draw(FLOATS)
    count = data.draw(st.sampled_from([None, 0, len(entries) + 1, 65535]))
    payload = qprm(entries)
    if count is not None:
        payload = struct.pack("<H", count) + payload[2:]
    check(resection(base, QPRM=payload), work, rss0)


# ------------------------------------------------------------------------------ HUFF lies
def huff(tables: list[bytes], count: int | None = None) -> bytes:
    out = [bytes([len(tables) if count is None else count])]
    for t in tables:
        out.append(struct.pack("<I", len(t)) + t)
    return b"".join(out)


def table_bytes(lengths, n: int | None = None) -> bytes:
    raw = bytes(np.asarray(lengths, np.uint8))
    return struct.pack("<I", len(raw) if n is None else n) + deflate(raw)


@fuzz(40)
@given(st.data())
def test_huff_lies(base, work, rss0, data):
    f = payload_of(base)
    tables = [t.to_bytes() for t in f.tables]
    i = data.draw(st.integers(0, len(tables) - 1))
    lengths = f.tables[i].lengths.copy()
    kind = data.draw(st.sampled_from(["lengths", "all_zero", "one_symbol", "kraft_over",
                                      "kraft_under", "too_long", "n", "extra_table", "count"]))
    count = None
    if kind == "lengths":
        for _ in range(data.draw(st.integers(1, 4))):
            lengths[data.draw(st.integers(0, lengths.size - 1))] = data.draw(st.integers(0, 255))
        tables[i] = table_bytes(lengths)
    elif kind == "all_zero":
        tables[i] = table_bytes(np.zeros_like(lengths))
    elif kind == "one_symbol":
        z = np.zeros_like(lengths)
        z[-1] = 1
        tables[i] = table_bytes(z)
    elif kind == "kraft_over":
        z = np.zeros_like(lengths)
        z[:3] = 1
        tables[i] = table_bytes(z)
    elif kind == "kraft_under":
        z = np.zeros_like(lengths)
        z[:2] = [1, 2]
        tables[i] = table_bytes(z)
    elif kind == "too_long":
        z = np.zeros_like(lengths)  # a complete code with lengths up to 49..
        depth = data.draw(st.integers(49, 60))
        z[:depth] = np.arange(1, depth + 1)
        z[depth] = depth
        tables[i] = table_bytes(z)
    elif kind == "n":
        n = data.draw(st.sampled_from([0, 1, 2, 256, 258, 65537, 65538, 2**32 - 1]))
        tables[i] = table_bytes(lengths, n=n)
    elif kind == "extra_table":
        tables.append(data.draw(st.sampled_from([b"", b"\x00" * 4, tables[0], b"\xff" * 12])))
    else:
        count = data.draw(st.sampled_from([0, 1, 3, 255]))
    check(resection(base, HUFF=huff(tables, count)), work, rss0)


def test_many_large_huffman_tables_are_quick(base, work, rss0):
    # 255 complete codes over 2**16 + 1 symbols: every one is validated, none may be slow
    lengths = np.full(65537, 16, np.uint8)
    lengths[-2:] = 17  # Kraft: 65535·2⁻¹⁶ + 2·2⁻¹⁷ = 1
    tables = [table_bytes(lengths)] * 255
    check(resection(base, HUFF=huff(tables)), work, rss0, decompress=True)


# ------------------------------------------------------------------------------ DATA lies
def data_section(streams, count: int | None = None) -> bytes:
    out = [bytes([len(streams) if count is None else count])]
    for table, n, raw, length in streams:
        out.append(struct.pack("<BII", table, n, len(raw) if length is None else length) + raw)
    return b"".join(out)


@fuzz(40)
@given(st.data())
def test_data_lies(base, work, rss0, data):
    f = payload_of(base)
    streams = [[s.table, s.count, s.data, None] for s in f.streams]
    s = streams[data.draw(st.integers(0, len(streams) - 1))]
    kind = data.draw(st.sampled_from(["table", "count", "length", "bytes", "garbage",
                                      "stream_count"]))
    count = None
    if kind == "table":
        s[0] = data.draw(st.sampled_from([1, 2, 255]))
    elif kind == "count":
        s[1] = data.draw(st.sampled_from([0, s[1] - 1, s[1] + 1, 8 * len(s[2]) + 8, 2**31,
                                          2**32 - 1]))
    elif kind == "length":
        s[3] = data.draw(st.sampled_from([0, len(s[2]) - 1, len(s[2]) + 1, 2**31, 2**32 - 1]))
    elif kind == "bytes":  # same count, same length, other bits: decodes to junk or fails
        raw = bytearray(s[2])
        for b in data.draw(st.lists(st.integers(0, 8 * len(raw) - 1), min_size=1, max_size=8)):
            raw[b // 8] ^= 0x80 >> (b % 8)
        s[2] = bytes(raw)
    elif kind == "garbage":
        s[2] = data.draw(st.binary(min_size=len(s[2]), max_size=len(s[2])))
    else:
        count = data.draw(st.sampled_from([0, len(streams) + 1, 255]))
    check(resection(base, DATA=data_section(streams, count)), work, rss0)


# ------------------------------------------------------------------------------ MASK lies
def test_mask_every_mode_byte(base, base_nodata, work, rss0):
    for src in (base, base_nodata):
        f = container.from_bytes(src)
        hd = f.header
        m = int((f.bands.kinds != 2).sum())
        tails = [b"", b"\x00", deflate(b"\x00" * ((hd.height * hd.width + 7) // 8)),
                 deflate(b"\xff" * ((hd.height * hd.width * m + 7) // 8)), deflate(b"\x00" * 3)]
        for mode in range(256):
            tail = tails[mode % len(tails)]
            check(resection(src, MASK=bytes([mode]) + tail), work, rss0,
                  decompress=mode < 4 or mode % 32 == 0)
        check(resection(src, MASK=b""), work, rss0, decompress=True)


@fuzz(20)
@given(st.data())
def test_mask_lies(base_nodata, work, rss0, data):
    f = container.from_bytes(base_nodata)
    hd = f.header
    m = int((f.bands.kinds != 2).sum())
    mode = data.draw(st.sampled_from([0, 1, 2, 3, 255]))
    nbits = data.draw(st.sampled_from([hd.height * hd.width, hd.height * hd.width * m, 0, 1,
                                       10**6]))
    raw = data.draw(st.binary(min_size=(nbits + 7) // 8, max_size=(nbits + 7) // 8)) \
        if nbits < 4096 else b"\xff" * ((nbits + 7) // 8)
    check(resection(base_nodata, MASK=bytes([mode]) + deflate(raw)), work, rss0,
          decompress=True)


# ------------------------------------------------------------------------------ coherent lies
def coherent(base: bytes, model: dict, modl: bytes | None = None, seed: int = 0,
             head: HnrHeader | None = None, bands: bytes | None = None,
             bits: int = 8) -> bytes:
    """A file whose MODL, QPRM, HUFF and DATA all agree with ``model`` (ints), so that only
    the container's own limits (and the decoder) stand between it and a decode."""
    from hinerc.codecs.hiner.config import ModelConfig
    f = container.from_bytes(base)
    hd = head or f.header
    names = {k: v for k, v in model.items() if k in ModelConfig.__dataclass_fields__}
    cfg = ModelConfig(**names)
    specs = cfg.tensor_specs(hd.n_coded)
    rng = np.random.default_rng(seed)
    tensors = [rng.normal(0, 0.5, shape).astype(np.float32) for _, shape in specs]
    from hinerc.codecs.hiner.sections import to_sections
    own = to_sections(encode_payload(quantize_all(tensors, [bits] * len(tensors))))
    return frame([
        (b"HEAD", hd.to_bytes()), (b"META", sections_of(base)["META"]),
        (b"BAND", bands if bands is not None else sections_of(base)["BAND"]),
        (b"MODL", modl if modl is not None else deflate(json.dumps(model).encode())),
        (b"QPRM", own["QPRM"]), (b"HUFF", own["HUFF"]), (b"DATA", own["DATA"]),
        (b"MASK", sections_of(base)["MASK"]), (b"RPRT", sections_of(base)["RPRT"])])


def _values(model: dict, n_coded: int) -> int:
    e, c = model["embed_channels"], model["channels"]
    n = n_coded * e * model["embed_h"] * model["embed_w"] + c[0] * e + c[0]
    for i, (s, k) in enumerate(zip(model["strides"], model["kernels"])):
        n += c[i + 1] * s * s * (c[i] * k * k + 1)
    return n + c[-1] * model["head_kernel"] ** 2 + 1


def _macs(model: dict) -> int:
    area = model["embed_h"] * model["embed_w"]
    c = model["channels"]
    total = area * c[0] * model["embed_channels"]
    for i, (s, k) in enumerate(zip(model["strides"], model["kernels"])):
        total += area * c[i] * c[i + 1] * s * s * k * k
        area *= s * s
    return total + area * c[-1] * model["head_kernel"] ** 2


@st.composite
def geometries(draw, h: int, w: int):
    n = draw(st.integers(0, 8))
    strides = draw(st.lists(st.integers(1, 16), min_size=n, max_size=n))
    u = math.prod(strides)
    fit_h, fit_w = -(-h // u), -(-w // u)
    embed_h = draw(st.sampled_from([fit_h, fit_h + 1, max(1, fit_h - 1), 1, 64]))
    embed_w = draw(st.sampled_from([fit_w, fit_w + 1, max(1, fit_w - 1), 1, 64]))
    fh, fw = embed_h * u, embed_w * u
    crop_top = draw(st.sampled_from([0, max(0, (fh - h) // 2), max(0, fh - h), fh - h + 1]))
    crop_left = draw(st.sampled_from([0, max(0, (fw - w) // 2), max(0, fw - w), fw - w + 1]))
    return dict(arch="hiner", embed_channels=draw(st.sampled_from([1, 2, 4])),
                embed_h=embed_h, embed_w=embed_w, strides=strides,
                channels=draw(st.lists(st.integers(1, 6), min_size=n + 1, max_size=n + 1)),
                kernels=draw(st.lists(st.sampled_from([1, 3, 5, 7]), min_size=n, max_size=n)),
                head_kernel=draw(st.sampled_from([1, 3, 5, 7])), crop_top=crop_top,
                crop_left=crop_left, pe_base=1.25, pe_levels=80, mlp_hidden=320)


@fuzz(40)
@given(st.data())
def test_coherent_hostile_geometry(base, work, rss0, data):
    hd = container.from_bytes(base).header
    model = data.draw(geometries(hd.height, hd.width))
    values = _values(model, hd.n_coded)
    # keep the case cheap to build and, if accepted, to decode: the point is what the
    # container lets through (check() bounds the time and memory of every decode)
    if values > 60_000 or _macs(model) * hd.n_coded > 5e9:
        model["strides"], model["channels"][1:] = model["strides"][:1], model["channels"][1:2]
        model["kernels"] = model["kernels"][:1]
        if _values(model, hd.n_coded) > 60_000:
            return
    check(coherent(base, model, seed=data.draw(st.integers(0, 3))), work, rss0)


def test_coherent_explosive_frames_refused(base, work, rss0):
    """Geometries of a few hundred weights whose decoder frame would need gigabytes."""
    base_model = json.loads(inflate(sections_of(base)["MODL"]))
    explosive = [
        dict(strides=[16, 16, 16, 16], channels=[1, 1, 1, 1, 1], kernels=[1, 1, 1, 1],
             embed_h=1, embed_w=1, crop_top=0, crop_left=0),          # frame 65536²
        dict(strides=[16] * 8, channels=[1] * 9, kernels=[1] * 8,
             embed_h=1, embed_w=1, crop_top=0, crop_left=0),          # frame 2³²·2³²
        dict(strides=[4, 4, 4, 4, 4, 4, 4, 4], channels=[1] * 9, kernels=[1] * 8,
             embed_h=1, embed_w=1, crop_top=0, crop_left=0),          # frame 65536²
        dict(strides=[5, 2, 2, 2], channels=[1, 1, 1, 1, 1], kernels=[1, 1, 1, 1],
             embed_h=9, embed_w=9, crop_top=0, crop_left=0),          # 9×9 grid for 1×1 cells
        dict(strides=[], channels=[1], kernels=[], embed_h=64, embed_w=24,
             crop_top=0, crop_left=0),                                # 44 rows past the image
    ]
    for change in explosive:
        model = dict(base_model, **change)
        assert not check(coherent(base, model), work, rss0, decompress=True), change


def test_coherent_type_lies_refused(base, work, rss0):
    """Numbers of the right value but the wrong JSON type must not reach the network."""
    model = json.loads(inflate(sections_of(base)["MODL"]))
    for key, value in [("embed_channels", 16.0), ("embed_h", 1.0), ("head_kernel", 3.0),
                       ("crop_top", 2.0), ("crop_left", False), ("embed_channels", True),
                       ("strides", [3.0, 2, 2, 2]), ("channels", [2, 3, 3, 2, 3.0]),
                       ("kernels", "1355"), ("strides", "3222"), ("arch", ["hiner"])]:
        lie = dict(model, **{key: value})
        buf = coherent(base, model, modl=deflate(json.dumps(lie).encode()))
        assert not check(buf, work, rss0, decompress=True), (key, value)


def test_coherent_all_bands_constant(base, work, rss0):
    """n_coded = 0 with a consistent BAND: no network to run; decodes or is refused, cleanly."""
    f = container.from_bytes(base)
    hd = f.header
    head = HnrHeader(hd.height, hd.width, hd.bands, hd.dtype, 0, hd.band_param_bytes, hd.flags)
    bands = band_payload(np.ones(hd.bands), f.bands.offsets, np.zeros(hd.bands))
    model = json.loads(inflate(sections_of(base)["MODL"]))
    buf = coherent(base, model, head=head, bands=bands)
    check(buf, work, rss0, decompress=True)


# ------------------------------------------------------------------------------ tiled files
_TILE = struct.Struct("<IIIII")


def tile_entries(payload: bytes) -> list[list]:
    """[top, left, height, width, blob] of every tile of a valid TILE payload."""
    (n,) = struct.unpack_from("<I", payload, 0)
    pos, out = 4, []
    for _ in range(n):
        top, left, h, w, length = _TILE.unpack_from(payload, pos)
        pos += _TILE.size
        out.append([top, left, h, w, payload[pos: pos + length]])
        pos += length
    return out


def tile_payload(entries: list[list], n: int | None = None) -> bytes:
    out = [struct.pack("<I", len(entries) if n is None else n)]
    for top, left, h, w, blob in entries:
        out.append(_TILE.pack(top, left, h, w, len(blob)) + blob)
    return b"".join(out)


def test_tiled_base_is_valid(base_tiled, work, rss0):
    assert check(base_tiled, work, rss0, decompress=True)
    assert len(tile_entries(sections_of(base_tiled)["TILE"])) == 4


@fuzz(25)
@given(st.data())
def test_tiled_truncation_and_flips(base_tiled, work, rss0, data):
    if data.draw(st.booleans()):
        buf = base_tiled[:data.draw(st.integers(0, len(base_tiled) - 1))]
    else:
        buf = flipped(base_tiled, data)
    assert not check(bytes(buf), work, rss0)


@fuzz(60)
@given(st.data())
def test_tiled_lies(base_tiled, base, work, rss0, data):
    entries = tile_entries(sections_of(base_tiled)["TILE"])
    i = data.draw(st.integers(0, len(entries) - 1))
    kind = data.draw(st.sampled_from(["rect", "count", "drop", "duplicate", "swap", "foreign",
                                      "nested", "nested", "nested", "raw"]))
    n = None
    if kind == "rect":
        entries[i][data.draw(st.integers(0, 3))] = data.draw(
            st.one_of(st.sampled_from(HOSTILE_U32), st.integers(0, 30)))
    elif kind == "count":
        n = data.draw(st.sampled_from([0, 1, 3, 5, 480, 481, 2**32 - 1]))
    elif kind == "drop":
        del entries[i]
    elif kind == "duplicate":
        entries.append(list(entries[i]))
    elif kind == "swap":
        j = data.draw(st.integers(0, len(entries) - 1))
        entries[i][4], entries[j][4] = entries[j][4], entries[i][4]
    elif kind == "foreign":  # a whole valid plain file of another cube as a tile
        entries[i][4] = base
    elif kind == "nested":  # a section of one tile rewritten, CRCs valid all the way up
        blob = entries[i][4]
        tag = data.draw(st.sampled_from(list(sections_of(blob))))
        payload = sections_of(blob)[tag]
        if tag in ZLIB_SECTIONS and payload and data.draw(st.booleans()):
            new = _inner_mutated(data, tag, payload)
        else:
            new = _mutate(data, payload)
        entries[i][4] = resection(blob, **{tag: new})
    else:
        entries[i][4] = _mutate(data, entries[i][4])
    check(resection(base_tiled, TILE=tile_payload(entries, n)), work, rss0)


# ------------------------------------------------------------------------------ low-rank files
@pytest.fixture(scope="module")
def base_lowrank(tmp_path_factory) -> bytes:
    """A small valid low-rank file (the default model), with no-data pixels and a constant band."""
    cube = make_cube(h=18, w=14, c=10, dtype=np.int16, seed=4, nodata=-9999)
    cube.data[:, :, 6] = 321
    cube.data[4:7, 2:5, :] = -9999
    path = tmp_path_factory.mktemp("hnr") / "lowrank.hnr"
    hinerc.compress(cube, path, bpppb=3.0, effort=2, seed=0)
    return Hnr(path.read_bytes())


def test_lowrank_base_is_valid(base_lowrank, work, rss0):
    assert check(base_lowrank, work, rss0, decompress=True)
    assert set(sections_of(base_lowrank)) == set(LOWRANK_ORDER)


def test_lowrank_truncation_at_every_boundary(base_lowrank, work, rss0):
    for n in boundaries(base_lowrank):
        assert not check(base_lowrank[:n], work, rss0, decompress=n % 3 == 0), n


@fuzz(40)
@given(st.data())
def test_lowrank_bit_flips(base_lowrank, work, rss0, data):
    assert not check(flipped(base_lowrank, data), work, rss0)


@fuzz(80)
@given(st.data())
def test_lowrank_sections_mutated_with_valid_crc(base_lowrank, work, rss0, data):
    """SPEC and MAPS above all: the LZMA stream, the widths, the steps and the codestream."""
    tag = data.draw(st.sampled_from(["SPEC", "SPEC", "MAPS", "MAPS", "MODL", "BAND", "HEAD"]))
    payload = sections_of(base_lowrank)[tag]
    if tag == "MODL" and data.draw(st.booleans()):
        d = json.loads(inflate(payload))
        new = deflate(json_text(_json_lie(data, d, ["arch", "rank"])))
    else:
        new = _mutate(data, payload)
    check(resection(base_lowrank, **{tag: new}), work, rss0)


def test_lowrank_well_formed_lies(base_lowrank, base, work, rss0):
    """Consistent framing, hostile content: each is refused with one line, nothing written."""
    import imagecodecs

    from hinerc.codecs.lowrank.sections import pack_embeddings, unpack_embeddings

    sec = sections_of(base_lowrank)
    hd = HnrHeader.from_bytes(sec["HEAD"])
    rank = json.loads(inflate(sec["MODL"]))["rank"]
    centres, steps, weights = unpack_embeddings(sec["SPEC"], rank, hd.n_coded)
    q = np.zeros((hd.height, hd.width, rank), np.uint16)

    def j2k(a):
        return imagecodecs.jpeg2k_encode(a, level=40, codecformat="J2K", reversible=False,
                                         mct=False, planar=False)
    huge = bytearray(sec["MAPS"])
    struct.pack_into(">II", huge, 8, 60000, 60000)  # SIZ: a 60000×60000 image
    lies = [
        {"MODL": deflate(json.dumps({"arch": "lowrank", "rank": rank + 1}).encode())},
        {"MODL": deflate(json.dumps({"arch": "lowrank", "rank": 300}).encode())},
        {"MODL": deflate(json.dumps({"arch": "lowrank", "rank": -1}).encode())},
        {"MODL": deflate(json.dumps({"arch": "lowrank", "rank": True}).encode())},
        {"MODL": deflate(json.dumps({"arch": "lowrank", "rank": 2.0}).encode())},
        {"MODL": deflate(json.dumps({"arch": "lowrank"}).encode())},
        *({"SPEC": pack_embeddings(centres, steps, weights[:, :-1], form=f)}  # one band short
          for f in ("lzma", "laplace", "adaptive")),
        {"SPEC": pack_embeddings(centres, steps.copy() * np.float32("nan"), weights)},
        {"MAPS": b""},
        {"MAPS": bytes(huge)},
        {"MAPS": j2k(q[:, :, :1] if rank > 1 else np.zeros((hd.height, hd.width, 2), np.uint16))},
        {"MAPS": j2k(q[:-1])},  # one row short
        {"MAPS": sec["MAPS"][:len(sec["MAPS"]) // 2]},  # a cut codestream, SIZ intact
        {"QPRM": sections_of(base)["QPRM"]},  # a network section beside a lowrank MODL: ignored
    ]
    for lie in lies[:-2]:
        assert not check(resection(base_lowrank, **lie), work, rss0, decompress=True), lie.keys()
    check(resection(base_lowrank, **lies[-2]), work, rss0, decompress=True)
    assert check(resection(base_lowrank, **lies[-1]), work, rss0, decompress=True)
