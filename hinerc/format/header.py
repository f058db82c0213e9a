"""Typed records stored in a ``.hnr`` file (numpy only, never torch).

* :class:`HnrHeader`: the fixed-size ``HEAD`` section, declared once as a table of
  ``(name, struct code, description)`` that the writer, the reader and ``docs/format.md`` share.
* :class:`BandTable`: per-band kind (coded, constant, all no-data) and the normalisation
  offset and scale that map the network output back to original units.
* :class:`EncodeReport`: what ``info`` shows about the encode (PSNR, time, device).

The model's own record (MODL) belongs to its codec (:mod:`hinerc.codecs`), not to this module.
"""

from __future__ import annotations

import dataclasses
import itertools
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hinerc.dtypes import SUPPORTED_DTYPES
from hinerc.errors import CorruptFileError
from hinerc.format.deflate import inflate
from hinerc.format.validate import check_report

# --------------------------------------------------------------------------------- HEAD
#: The fixed header, little-endian. Order is the byte order in the file.
HEAD_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("height", "I", "image rows H"),
    ("width", "I", "image columns W"),
    ("bands", "I", "spectral bands C, all of them (coded, constant and no-data)"),
    ("dtype", "B", "sample type, index into (" + ", ".join(SUPPORTED_DTYPES) + ")"),
    ("n_coded", "I", "bands represented by the network (have an embedding)"),
    ("band_param_bytes", "B", "4 or 8: width of the float offsets/scales in BAND"),
    ("flags", "B", "bit 0: samples may be no-data; bit 1: tiled file (TILE section); "
                   "bit 2: not to be resampled (`--no-resample`); others 0"),
)
_HEAD_STRUCT = struct.Struct("<" + "".join(code for _, code, _ in HEAD_FIELDS))

FLAG_NODATA = 1
FLAG_TILED = 2
FLAG_NO_RESAMPLE = 4


@dataclass
class HnrHeader:
    height: int
    width: int
    bands: int
    dtype: str
    n_coded: int
    band_param_bytes: int
    flags: int = 0

    def to_bytes(self) -> bytes:
        values = dataclasses.asdict(self)
        values["dtype"] = SUPPORTED_DTYPES.index(self.dtype)
        return _HEAD_STRUCT.pack(*(values[name] for name, _, _ in HEAD_FIELDS))

    @classmethod
    def from_bytes(cls, buf: bytes) -> "HnrHeader":
        if len(buf) != _HEAD_STRUCT.size:
            raise CorruptFileError(f"HEAD section is {len(buf)} bytes, expected {_HEAD_STRUCT.size}")
        values = dict(zip((n for n, _, _ in HEAD_FIELDS), _HEAD_STRUCT.unpack(buf)))
        if values["dtype"] >= len(SUPPORTED_DTYPES):
            raise CorruptFileError(f"unknown sample type code {values['dtype']}")
        values["dtype"] = SUPPORTED_DTYPES[values["dtype"]]
        h = cls(**values)
        if min(h.height, h.width, h.bands) < 1:
            raise CorruptFileError("header declares an empty cube")
        if h.flags & ~(FLAG_NODATA | FLAG_TILED | FLAG_NO_RESAMPLE):
            raise CorruptFileError("unknown header flags")
        if h.n_coded > h.bands:
            raise CorruptFileError("header declares more coded bands than bands")
        if h.band_param_bytes not in (4, 8):
            raise CorruptFileError("invalid band parameter width")
        return h

    @property
    def samples(self) -> int:
        return self.height * self.width * self.bands


# --------------------------------------------------------------------------------- BAND
BAND_CODED, BAND_CONSTANT, BAND_NODATA = 0, 1, 2
BAND_KIND_NAMES = {BAND_CODED: "coded", BAND_CONSTANT: "constant", BAND_NODATA: "no-data"}


@dataclass
class BandTable:
    """Per band: kind, and ``value = offset + scale · y`` with y the network output in [0, 1].

    A constant band stores its value as ``offset`` (scale 0); a no-data band stores nothing useful.
    """

    kinds: np.ndarray  # uint8 (C,)
    offsets: np.ndarray  # float (C,)
    scales: np.ndarray  # float (C,)

    def to_bytes(self, width: int) -> bytes:
        """The smaller of two forms: kinds, then offsets and scales byte-shuffled (all first
        bytes, all second bytes, ...), deflated (neighbouring bands have similar exponents,
        which then compress well); or, where every offset and scale is a whole number (an
        integer cube's band minima and ranges), the integer form (format 1.8): ``I``, the order
        d (1 or 2), then deflated the kinds and the d-th differences of the offsets and of the
        scales as zigzag LEB128 varints."""
        dt = "<f4" if width == 4 else "<f8"
        floats = np.concatenate([self.offsets.astype(dt), self.scales.astype(dt)])
        shuffled = floats.view(np.uint8).reshape(-1, width).T.tobytes()
        kinds = self.kinds.astype(np.uint8).tobytes()
        forms = [zlib.compress(kinds + shuffled, 9)]
        values = floats.astype(np.float64)
        whole = (np.isfinite(values).all() and (np.abs(values) <= _MAX_WHOLE).all()
                 and (values == np.round(values)).all()
                 and not (np.signbit(values) & (values == 0)).any())
        if whole:
            ints = [int(v) for v in values]
            n = len(self.kinds)
            for order in (1, 2):
                body = kinds + _varints(_diffs(ints[:n], order) + _diffs(ints[n:], order))
                forms.append(BAND_WHOLE + bytes([order]) + zlib.compress(body, 9))
        return min(forms, key=len)

    @classmethod
    def from_bytes(cls, buf: bytes, bands: int, width: int, plain_ok: bool = False
                   ) -> "BandTable":
        """Parse BAND. ``plain_ok`` (files of version 1.0) also accepts the first layout of
        1.0, written before BAND was deflated: exactly C·(1 + 2w) bytes, kinds then the offsets
        then the scales, not shuffled. It cannot be mistaken for a zlib stream, whose first
        byte has 8 in its low four bits, where a band kind is 0, 1 or 2."""
        size = bands * (1 + 2 * width)
        dt = "<f4" if width == 4 else "<f8"
        if plain_ok and len(buf) == size and buf[0] <= BAND_NODATA:
            kinds = np.frombuffer(buf[:bands], dtype=np.uint8).copy()
            floats = np.frombuffer(buf[bands:], dtype=dt).astype(np.float64)
            return cls._checked(kinds, floats[:bands], floats[bands:])
        if buf[:1] == BAND_WHOLE:
            return cls._whole(buf, bands, dt)
        raw = inflate(buf, "BAND section", size=size)
        kinds = np.frombuffer(raw[:bands], dtype=np.uint8).copy()
        floats = (np.frombuffer(raw[bands:], dtype=np.uint8).reshape(width, 2 * bands).T
                  .copy().view(dt).reshape(-1).astype(np.float64))
        return cls._checked(kinds, floats[:bands], floats[bands:])

    @classmethod
    def _whole(cls, buf: bytes, bands: int, dt: str) -> "BandTable":
        """The integer form (see :meth:`to_bytes`): every value must come back a whole number
        of at most 2**53 that the float width holds exactly."""
        if len(buf) < 2 or buf[1] not in (1, 2):
            raise CorruptFileError("BAND: unknown order of differences")
        raw = inflate(buf[2:], "BAND section", limit=bands * (1 + 2 * _MAX_VARINT))
        kinds = np.frombuffer(raw[:bands], dtype=np.uint8).copy()
        if len(kinds) != bands:
            raise CorruptFileError("BAND section is too short")
        diffs = _read_varints(raw[bands:], 2 * bands)
        ints = _undiff(diffs[:bands], buf[1]) + _undiff(diffs[bands:], buf[1])
        if any(abs(v) > _MAX_WHOLE for v in ints):
            raise CorruptFileError("BAND: a band offset or scale out of range")
        values = np.array(ints, dtype=np.float64)
        if not (values.astype(dt).astype(np.float64) == values).all():
            raise CorruptFileError("BAND: a band offset or scale its float width cannot hold")
        return cls._checked(kinds, values[:bands], values[bands:])

    @classmethod
    def _checked(cls, kinds: np.ndarray, offsets: np.ndarray, scales: np.ndarray
                 ) -> "BandTable":
        if kinds.max(initial=0) > BAND_NODATA:
            raise CorruptFileError("unknown band kind")
        if not (np.isfinite(offsets).all() and np.isfinite(scales).all()):
            raise CorruptFileError("non-finite band offset or scale")
        return cls(kinds, offsets, scales)

    @property
    def coded(self) -> np.ndarray:
        """Indices of the bands the network represents, in band order."""
        return np.nonzero(self.kinds == BAND_CODED)[0]


#: The first byte of BAND's integer form (1.8); a zlib stream starts with 8 in its low four
#: bits, a plain BAND of 1.0 with a band kind (0–2)
BAND_WHOLE = b"I"
_MAX_WHOLE = 2 ** 53
_MAX_VARINT = 10  # bytes of a zigzag LEB128 varint of a 64-bit integer


def _diffs(values: list[int], order: int) -> list[int]:
    """The ``order``-th differences of ``values``, the values before the first taken as 0."""
    for _ in range(order):
        values = [b - a for a, b in zip([0] + values[:-1], values)]
    return values


def _undiff(diffs: list[int], order: int) -> list[int]:
    """The inverse of :func:`_diffs`: running sums, ``order`` times (as META's ``diffs2``)."""
    for _ in range(order):
        diffs = list(itertools.accumulate(diffs))
    return diffs


def _varints(values: list[int]) -> bytes:
    """Zigzag LEB128: 0, -1, 1, -2, ... → 0, 1, 2, 3, ..., seven bits a byte, low first."""
    out = bytearray()
    for v in values:
        z = v * 2 if v >= 0 else -v * 2 - 1
        while z >= 0x80:
            out.append(z & 0x7F | 0x80)
            z >>= 7
        out.append(z)
    return bytes(out)


def _read_varints(buf: bytes, n: int) -> list[int]:
    """Exactly ``n`` varints of :func:`_varints` filling ``buf``; anything else is corrupt."""
    out, z, shift, pos = [], 0, 0, 0
    for pos, byte in enumerate(buf, 1):
        z |= (byte & 0x7F) << shift
        shift += 7
        if byte & 0x80:
            if shift >= 7 * _MAX_VARINT:
                raise CorruptFileError("BAND: a varint is too long")
            continue
        out.append(z >> 1 if not z & 1 else -(z >> 1) - 1)
        z, shift = 0, 0
        if len(out) == n:
            break
    if len(out) != n or pos != len(buf):  # pos: the bytes read
        raise CorruptFileError("BAND section is corrupt or has the wrong size")
    return out


# --------------------------------------------------------------------------------- RPRT
@dataclass
class EncodeReport:
    """Facts about the encode, shown by ``info`` (not needed to decode).

    The quality fields after ``source_bits_per_sample`` came later: a file without them reads
    with ``None`` there (``info`` shows ``-``). ``worst_band`` is 1-based.
    """

    psnr_db: float | None = None
    encode_seconds: float | None = None
    device: str | None = None
    epochs: int | None = None
    seed: int | None = None
    hinerc_version: str | None = None
    source_bits_per_sample: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    worst_band_psnr_db: float | None = None
    worst_band: int | None = None
    sam_deg: float | None = None
    max_abs_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EncodeReport":
        check_report(d)
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in d.items() if k in names})
        except TypeError as exc:
            raise CorruptFileError("invalid encode report") from exc
