"""QPRM, HUFF and DATA: the bytes of the published network's quantized tensors (``arch: hiner``).

* QPRM: per stored tensor its bit depth, quantization mode, stream and (min, scale) pairs;
* HUFF: canonical Huffman tables, one per bit depth;
* DATA: the entropy-coded symbol streams.

:func:`to_sections` writes them, :func:`from_sections` reads and cross-checks them against the
model configuration (every size a hostile file declares is checked before decoding). Numpy only.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from hinerc.errors import CorruptFileError
from hinerc.format.entropy import HuffmanTable
from hinerc.format.quant import PER_CHANNEL, PER_TENSOR


@dataclass
class TensorQuant:
    """How one stored tensor was quantized and which entropy stream holds its symbols."""

    bits: int
    mode: int
    stream: int
    mins: np.ndarray
    scales: np.ndarray


@dataclass
class Stream:
    """One entropy-coded stream: its Huffman table index, symbol count and bytes."""

    table: int
    count: int
    data: bytes


@dataclass
class Payload:
    """The quantized tensors of a model as stored: QPRM records, Huffman tables, streams."""

    quant: list[TensorQuant]
    tables: list[HuffmanTable]
    streams: list[Stream]


def to_sections(p: Payload) -> dict[str, bytes]:
    """The QPRM, HUFF and DATA payloads of ``p``."""
    return {"QPRM": _quant_bytes(p.quant), "HUFF": _huff_bytes(p.tables),
            "DATA": _data_bytes(p.streams)}


def _quant_bytes(quant: list[TensorQuant]) -> bytes:
    out = [struct.pack("<H", len(quant))]
    for tq in quant:
        out.append(struct.pack("<BBB", tq.bits, tq.mode, tq.stream))
        out.append(tq.mins.astype("<f4").tobytes() + tq.scales.astype("<f4").tobytes())
    return b"".join(out)


def _huff_bytes(tables: list[HuffmanTable]) -> bytes:
    out = [struct.pack("<B", len(tables))]
    for t in tables:
        b = t.to_bytes()
        out.append(struct.pack("<I", len(b)) + b)
    return b"".join(out)


def _data_bytes(streams: list[Stream]) -> bytes:
    out = [struct.pack("<B", len(streams))]
    for s in streams:
        out.append(struct.pack("<BII", s.table, s.count, len(s.data)) + s.data)
    return b"".join(out)


def from_sections(qprm: bytes, huff: bytes, data: bytes,
                  specs: list[tuple[str, tuple[int, ...]]]) -> Payload:
    """Parse QPRM, HUFF and DATA and check them against the tensors ``specs`` of the model."""
    quant = _read_quant(qprm, specs)
    tables = _read_tables(huff)
    streams = _read_streams(data)
    for i, s in enumerate(streams):
        if s.table >= len(tables):
            raise CorruptFileError("DATA stream refers to a missing Huffman table")
        need = sum(math.prod(shape) for (_, shape), q in zip(specs, quant) if q.stream == i)
        if need != s.count:
            raise CorruptFileError("DATA stream size does not match the model")
        if any((1 << q.bits) != tables[s.table].alphabet
               for q in quant if q.stream == i):
            raise CorruptFileError("quantization width does not match its Huffman table")
    if any(q.stream >= len(streams) for q in quant):
        raise CorruptFileError("a tensor refers to a missing DATA stream")
    return Payload(quant, tables, streams)


def _read_quant(buf: bytes, specs: list[tuple[str, tuple[int, ...]]]) -> list[TensorQuant]:
    if len(buf) < 2:
        raise CorruptFileError("QPRM section is truncated")
    (n,) = struct.unpack_from("<H", buf, 0)
    if n != len(specs):
        raise CorruptFileError(f"QPRM describes {n} tensors, the model has {len(specs)}")
    pos, out = 2, []
    for _, shape in specs:
        if pos + 3 > len(buf):
            raise CorruptFileError("QPRM section is truncated")
        bits, mode, stream = struct.unpack_from("<BBB", buf, pos)
        pos += 3
        if not 1 <= bits <= 16 or mode not in (PER_TENSOR, PER_CHANNEL):
            raise CorruptFileError("invalid quantization parameters")
        k = 1 if mode == PER_TENSOR else shape[0]
        if pos + 8 * k > len(buf):
            raise CorruptFileError("QPRM section is truncated")
        mins = np.frombuffer(buf, "<f4", k, pos).astype(np.float32)
        scales = np.frombuffer(buf, "<f4", k, pos + 4 * k).astype(np.float32)
        if not (np.isfinite(mins).all() and np.isfinite(scales).all()):
            raise CorruptFileError("non-finite quantization parameters")
        pos += 8 * k
        out.append(TensorQuant(bits, mode, stream, mins, scales))
    if pos != len(buf):
        raise CorruptFileError("QPRM section has trailing bytes")
    return out


def _read_tables(buf: bytes) -> list[HuffmanTable]:
    if not buf:
        raise CorruptFileError("HUFF section is empty")
    pos, out = 1, []
    for _ in range(buf[0]):
        if pos + 4 > len(buf):
            raise CorruptFileError("HUFF section is truncated")
        (length,) = struct.unpack_from("<I", buf, pos)
        if pos + 4 + length > len(buf):
            raise CorruptFileError("HUFF section is truncated")
        table = HuffmanTable.from_bytes(buf[pos + 4: pos + 4 + length])
        table.validate()  # the code lengths (vectorised: 255 large tables stay quick)
        out.append(table)
        pos += 4 + length
    if pos != len(buf):
        raise CorruptFileError("HUFF section has trailing bytes")
    return out


def _read_streams(buf: bytes) -> list[Stream]:
    if not buf:
        raise CorruptFileError("DATA section is empty")
    pos, out = 1, []
    for _ in range(buf[0]):
        if pos + 9 > len(buf):
            raise CorruptFileError("DATA section is truncated")
        table, count, length = struct.unpack_from("<BII", buf, pos)
        if pos + 9 + length > len(buf):
            raise CorruptFileError("DATA section is truncated")
        if count > 8 * length + 8:
            raise CorruptFileError("DATA stream declares more symbols than its bytes can hold")
        out.append(Stream(table, count, bytes(buf[pos + 9: pos + 9 + length])))
        pos += 9 + length
    if pos != len(buf):
        raise CorruptFileError("DATA section has trailing bytes")
    return out
