"""The ``.hnr`` container, version 1: signature, version, then CRC-protected sections.

Layout (all integers little-endian; the full specification is ``docs/format.md``)::

    signature   8 bytes  89 48 4E 52 0D 0A 1A 0A   ("\\x89HNR\\r\\n\\x1a\\n")
    version     2 bytes  major (1), minor (3)
    n_sections  u16
    crc32       u32      of the 12 bytes above
    then n_sections times:
        tag     4 ASCII bytes
        length  u32      payload bytes
        payload
        crc32   u32      of tag + length + payload

The reader checks, in order, the signature, the major version, every section length against the
real file size, and every CRC, before it parses a single field. Nothing is unpickled: sections
are fixed ``struct`` records, float arrays, zlib-compressed UTF-8 JSON, or entropy-coded bytes.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from hinerc.errors import CorruptFileError, FormatError, UnsupportedVersionError
from hinerc.format.deflate import deflate_json, inflate_json, uses_dictionary
from hinerc.format.header import BAND_WHOLE, FLAG_TILED, BandTable, EncodeReport, HnrHeader
from hinerc.format.mask import check_mask
from hinerc.format.meta import pack_meta, unpack_meta
from hinerc.format.tiles import TileRect, decode_tiles
from hinerc.format.validate import check_json_depth, check_meta

SIGNATURE = b"\x89HNR\r\n\x1a\n"
PREAMBLE_SIZE = len(SIGNATURE) + 8  # signature, version, section count, CRC
VERSION = (1, 3)  # 1.3: HEVC/AV1 maps (MODL maps); 1.2: packed META; 1.1: the low-rank model
#: the version of a file that carries a RESD section (--max-error, --lossless): files without
#: one are written as 1.3, byte for byte as before
RESIDUAL_VERSION = (1, 4)
#: the residual section (:mod:`hinerc.format.residual`), between MASK and RPRT when present
RESIDUAL_TAG = "RESD"
#: Sections newer than 1.3, and the version a file carrying one is written as (a file is the
#: highest version any of its sections, or its tiles', needs; without any it stays 1.3, byte
#: for byte as before). PNET: the low-rank codec's pixel network; MFLT: its map filter.
SECTION_VERSIONS = {RESIDUAL_TAG: RESIDUAL_VERSION, "PNET": (1, 5), "MFLT": (1, 6)}
#: Payloads that need a newer reader than their tag does: (tag, the test of its payload,
#: that version). SPEC with width byte 0: the low-rank embeddings range-coded (1.7; the LZMA2
#: widths 1, 2, 4 stay 1.1); width byte 3: range-coded with adaptive scales (1.10). BAND in its integer form, and JSON sections deflated with the
#: preset dictionary (1.8: :mod:`hinerc.format.deflate`); an empty RPRT deflates smaller
#: without it, so a tile that has nothing else new stays as it was.
PAYLOAD_VERSIONS: tuple[tuple[str, Callable[[bytes], bool], tuple[int, int]], ...] = (
    ("SPEC", lambda p: p[:1] == b"\x00", (1, 7)),
    ("BAND", lambda p: p[:1] == BAND_WHOLE, (1, 8)),
    ("META", uses_dictionary, (1, 8)),
    ("MODL", uses_dictionary, (1, 8)),
    ("RPRT", uses_dictionary, (1, 8)),
    ("MODL", lambda p: _model_field(p, "maps") in NEWER_MAP_CODERS, (1, 9)),
    ("SPEC", lambda p: p[:1] == b"\x03", (1, 10)),
)
#: map coders (MODL ``maps``) newer than their files' other sections: the AV1 4:4:4 maps
#: (1.9; an older reader refuses the name with a one-line error)
NEWER_MAP_CODERS = ("av1-444",)
#: The sections of a plain file, in order: these, then the model's own (its codec's, see
#: :mod:`hinerc.codecs`; for instance SPEC MAPS), then :data:`TAIL_SECTIONS`.
HEAD_SECTIONS = ("HEAD", "META", "BAND", "MODL")
TAIL_SECTIONS = ("MASK", "RPRT")
#: Sections of a tiled file (HEAD flag bit 1): each tile inside TILE is a plain file.
TILED_ORDER = ("HEAD", "META", "TILE", "RPRT")
#: A declared output may not exceed this many samples per coded bit (bpppb ≥ 1e-4).
MAX_SAMPLES_PER_BIT = 10_000
_JSON_LIMIT = 16 << 20


@dataclass
class HnrFile:
    """Everything a ``.hnr`` holds, its model's sections as bytes.

    A plain file has every field but ``tiles``; ``model`` is its MODL record (``arch`` names the
    codec) and ``sections`` the model's own sections, by tag, in file order (the codec reads
    them: :mod:`hinerc.codecs`). A tiled file has only ``header``, ``meta``, ``report`` and
    ``tiles`` (each tile a parsed plain file of its window). ``report`` is ``None`` for a
    tile, whose RPRT section is empty.
    """

    header: HnrHeader
    meta: dict[str, Any]
    bands: Optional[BandTable] = None
    model: Optional[dict[str, Any]] = None
    sections: dict[str, bytes] = field(default_factory=dict)
    mask: Optional[bytes] = None
    report: Optional[EncodeReport] = None
    section_sizes: dict[str, int] = field(default_factory=dict)
    tiles: list[tuple[TileRect, "HnrFile"]] = field(default_factory=list)
    version: tuple[int, int] = VERSION
    residual: Optional[bytes] = None  # the RESD payload of a near-lossless plain file

    @property
    def codec(self) -> Optional[str]:
        """The codec of a plain file (MODL's ``arch``); ``None`` for a tiled one."""
        return self.model.get("arch") if self.model is not None else None

    def plain(self) -> list["HnrFile"]:
        """The plain files: this one, or its tiles in order."""
        return [sub for _, sub in self.tiles] if self.tiles else [self]


# ------------------------------------------------------------------------------ writing
def json_bytes(obj: Any) -> bytes:
    """Compact, sorted, deflated JSON: the encoding of META, MODL and RPRT; deflated with the
    JSON sections' preset dictionary (1.8) unless that is not smaller."""
    raw = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    return min(zlib.compress(raw, 9), deflate_json(raw), key=len)


def meta_bytes(meta: dict[str, Any]) -> bytes:
    """The META payload: ``meta`` without its unset fields (a reader takes a missing field as
    unset) and with its band vectors packed (:mod:`hinerc.format.meta`), or as plain lists
    when that deflates smaller (a few constant values do)."""
    meta = {k: v for k, v in meta.items() if v is not None and not (k == "extra" and v == {})}
    return min(json_bytes(pack_meta(meta)), json_bytes(meta), key=len)


def _section(tag: str, payload: bytes) -> bytes:
    head = tag.encode("ascii") + struct.pack("<I", len(payload))
    return head + payload + struct.pack("<I", zlib.crc32(head + payload))


def to_bytes(f: HnrFile) -> bytes:
    """Serialise a plain file; the result's length is the real rate."""
    payloads = {
        "HEAD": f.header.to_bytes(),
        "META": meta_bytes(f.meta),
        "BAND": f.bands.to_bytes(f.header.band_param_bytes),
        "MODL": json_bytes(f.model),
        **f.sections,
        "MASK": f.mask,
        "RPRT": json_bytes(f.report.to_dict() if f.report is not None else {}),
    }
    order = plain_order(tuple(f.sections), residual=f.residual is not None)
    if f.residual is not None:
        payloads[RESIDUAL_TAG] = f.residual
    return _frame(payloads, order, version_for(order, payloads))


def _model_field(payload: bytes, key: str) -> Any:
    """A field of a MODL payload (``None`` where it has none or is not valid)."""
    try:
        return _json(payload, "MODL").get(key)
    except (FormatError, AttributeError):
        return None


def version_for(tags: Any, payloads: Optional[dict[str, bytes]] = None) -> tuple[int, int]:
    """The version a file whose sections are ``tags`` (with these ``payloads``) is written as
    (:data:`SECTION_VERSIONS`, :data:`PAYLOAD_VERSIONS`)."""
    need = [VERSION] + [SECTION_VERSIONS[t] for t in tags if t in SECTION_VERSIONS]
    for tag, needs, version in PAYLOAD_VERSIONS:
        if payloads is not None and tag in payloads and needs(payloads[tag]):
            need.append(version)
    return max(need)


def plain_order(model_sections: tuple[str, ...], residual: bool = False) -> tuple[str, ...]:
    """The sections of a plain file whose model has ``model_sections``, in file order (with
    ``residual``, RESD between MASK and RPRT)."""
    if residual:
        return HEAD_SECTIONS + tuple(model_sections) + ("MASK", RESIDUAL_TAG, "RPRT")
    return HEAD_SECTIONS + tuple(model_sections) + TAIL_SECTIONS


def to_bytes_tiled(header: HnrHeader, meta: dict[str, Any], tile_payload: bytes,
                   report: EncodeReport, version: tuple[int, int] = VERSION) -> bytes:
    """Serialise a tiled file; ``tile_payload`` comes from :func:`hinerc.format.tiles.encode_tiles`
    (``version``: the highest of its tiles', :func:`file_version`; the scene's own META and
    RPRT may need a higher one)."""
    payloads = {"HEAD": header.to_bytes(), "META": meta_bytes(meta), "TILE": tile_payload,
                "RPRT": json_bytes(report.to_dict())}
    return _frame(payloads, TILED_ORDER, max(version, version_for(TILED_ORDER, payloads)))


def _frame(payloads: dict[str, bytes], order: tuple[str, ...],
           version: tuple[int, int] = VERSION) -> bytes:
    pre = SIGNATURE + struct.pack("<BBH", *version, len(order))
    parts = [pre, struct.pack("<I", zlib.crc32(pre))]
    parts += [_section(tag, payloads[tag]) for tag in order]
    return b"".join(parts)


# ------------------------------------------------------------------------------ reading
def _tag_name(tag: bytes) -> str:
    """A section tag for a message: its letters when printable, else its bytes in hex."""
    if all(0x20 < b < 0x7F for b in tag):
        return tag.decode("ascii")
    return "0x" + tag.hex()


def split_sections(buf: bytes) -> dict[str, bytes]:
    """Check signature, version, lengths and CRCs; return the payload of each section."""
    if not buf:
        raise CorruptFileError("empty file")
    if buf[: len(SIGNATURE)] != SIGNATURE[: len(buf)]:
        raise CorruptFileError("not a .hnr file (wrong signature)")
    if len(buf) < PREAMBLE_SIZE:
        raise CorruptFileError("truncated file (incomplete preamble)")
    major, minor, n = struct.unpack_from("<BBH", buf, len(SIGNATURE))
    (crc,) = struct.unpack_from("<I", buf, PREAMBLE_SIZE - 4)
    if zlib.crc32(buf[: PREAMBLE_SIZE - 4]) != crc:
        raise CorruptFileError("CRC mismatch in the preamble: the file is corrupt")
    if major != VERSION[0]:
        raise UnsupportedVersionError(
            f"unsupported .hnr version {major}.{minor} (this hinerc reads {VERSION[0]}.x)")
    pos = PREAMBLE_SIZE
    sections: dict[str, bytes] = {}
    for i in range(n):
        if pos + 8 > len(buf):
            raise CorruptFileError(f"truncated file: section {i + 1} of {n} is missing")
        tag_b = buf[pos: pos + 4]
        (length,) = struct.unpack_from("<I", buf, pos + 4)
        end = pos + 8 + length + 4
        if end > len(buf):
            raise CorruptFileError(
                f"truncated file: section {_tag_name(tag_b)} declares {length} bytes, "
                f"only {max(0, len(buf) - pos - 12)} present")
        (crc,) = struct.unpack_from("<I", buf, end - 4)
        if zlib.crc32(buf[pos: end - 4]) != crc:
            raise CorruptFileError(f"CRC mismatch in section {_tag_name(tag_b)}: "
                                   "the file is corrupt")
        try:
            tag = tag_b.decode("ascii")
        except UnicodeDecodeError as exc:
            raise CorruptFileError("invalid section tag") from exc
        if tag in sections:
            raise CorruptFileError(f"duplicate section {tag}")
        sections[tag] = buf[pos + 8: end - 4]
        pos = end
    if pos != len(buf):
        raise CorruptFileError(f"{len(buf) - pos} unexpected bytes after the last section")
    return sections


def _require(sections: dict[str, bytes], order: tuple[str, ...]) -> None:
    missing = [t for t in order if t not in sections]
    if missing:
        raise CorruptFileError(f"missing section(s) {', '.join(missing)}")


def _json(buf: bytes, what: str) -> Any:
    raw = inflate_json(buf, f"{what} section", limit=_JSON_LIMIT)
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: JSONDecodeError, and integers past Python's digit limit
        raise CorruptFileError(f"{what} section is corrupt") from exc
    check_json_depth(obj, what)  # what reads it later may recurse
    return obj


def from_bytes(buf: bytes) -> HnrFile:
    """Parse and cross-check a whole ``.hnr`` held in memory. The model's own sections are
    kept as bytes: its codec checks them (:meth:`hinerc.codecs.base.Codec.parse`)."""
    return _from_bytes(buf, tile_of=None)


def _from_bytes(buf: bytes, tile_of: Optional[HnrHeader]) -> HnrFile:
    sec = split_sections(buf)
    _require(sec, ("HEAD",))
    header = HnrHeader.from_bytes(sec["HEAD"])
    if header.samples > MAX_SAMPLES_PER_BIT * 8 * len(buf):
        raise CorruptFileError("header declares a cube far larger than the file could code")
    if header.flags & FLAG_TILED:
        if tile_of is not None:
            raise CorruptFileError("a tile is itself tiled")
        f = _from_bytes_tiled(sec, header)
        f.version = _version(buf)
        return f
    _require(sec, HEAD_SECTIONS + TAIL_SECTIONS)
    if tile_of is not None and (header.bands, header.dtype) != (tile_of.bands, tile_of.dtype):
        raise CorruptFileError("a tile does not match the scene's bands or sample type")
    meta = _read_meta(sec["META"], header.bands)
    bands = BandTable.from_bytes(sec["BAND"], header.bands, header.band_param_bytes,
                                 plain_ok=_version(buf) == (1, 0))
    if int((bands.kinds == 0).sum()) != header.n_coded:
        raise CorruptFileError("BAND and HEAD disagree on the number of coded bands")
    model = _mapping(sec["MODL"], "MODL")
    if not isinstance(model.get("arch"), str):
        raise CorruptFileError("invalid model configuration (arch)")
    check_mask(sec["MASK"])
    sizes = {tag: len(sec[tag]) + 12 for tag in sec}
    own = {tag: data for tag, data in sec.items()
           if tag not in HEAD_SECTIONS + TAIL_SECTIONS + (RESIDUAL_TAG,)}
    return HnrFile(header, meta, bands, model, own, sec["MASK"],
                   _report(sec["RPRT"], header.bands), sizes, version=_version(buf),
                   residual=sec.get(RESIDUAL_TAG))


def _from_bytes_tiled(sec: dict[str, bytes], header: HnrHeader) -> HnrFile:
    _require(sec, TILED_ORDER)
    meta = _read_meta(sec["META"], header.bands)

    def parse(blob: bytes) -> HnrFile:
        return _from_bytes(blob, tile_of=header)

    parsed = decode_tiles(sec["TILE"], header.height, header.width, parse)
    for rect, sub in parsed:
        if (sub.header.height, sub.header.width) != (rect.height, rect.width):
            raise CorruptFileError("a tile's header does not match its rectangle")
    sizes = {tag: len(sec[tag]) + 12 for tag in sec}
    return HnrFile(header, meta, report=_report(sec["RPRT"], header.bands), section_sizes=sizes,
                   tiles=parsed)


def _read_meta(buf: bytes, bands: int) -> dict[str, Any]:
    """META as a checked mapping, its packed band vectors expanded."""
    meta = unpack_meta(_mapping(buf, "META"), bands)
    check_meta(meta, bands)
    return meta


def _mapping(buf: bytes, what: str) -> dict[str, Any]:
    d = _json(buf, what)
    if not isinstance(d, dict):
        raise CorruptFileError(f"{what} section is not a mapping")
    return d


def _report(buf: bytes, bands: int) -> Optional[EncodeReport]:
    """The encode report, or ``None`` for the empty report of a tile."""
    d = _mapping(buf, "RPRT")
    if not d:
        return None
    report = EncodeReport.from_dict(d)
    if report.worst_band is not None and report.worst_band > bands:
        raise CorruptFileError("RPRT: invalid worst_band")
    return report


def file_version(buf: bytes) -> tuple[int, int]:
    """The (major, minor) version a serialised file declares (its preamble unchecked)."""
    return _version(buf)


def _version(buf: bytes) -> tuple[int, int]:
    """The (major, minor) version of a file whose preamble :func:`split_sections` checked."""
    major, minor = struct.unpack_from("<BB", buf, len(SIGNATURE))
    return major, minor


def read_file(path: str | Path) -> HnrFile:
    """Read and parse a ``.hnr`` file; every problem is a one-line :class:`CorruptFileError`."""
    p = Path(path)
    try:
        buf = p.read_bytes()
    except FileNotFoundError as exc:
        raise CorruptFileError(f"{p}: no such file") from exc
    except IsADirectoryError as exc:
        raise CorruptFileError(f"{p}: is a directory") from exc
    except OSError as exc:
        raise CorruptFileError(f"{p}: cannot read ({exc.strerror})") from exc
    try:
        return from_bytes(buf)
    except FormatError as exc:
        raise type(exc)(f"{p}: {exc}") from None
