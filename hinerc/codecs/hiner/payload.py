"""Stored tensors ⇄ quantized symbols ⇄ Huffman-coded streams (numpy only).

Every tensor is quantized on its own (:mod:`hinerc.format.quant`); tensors of the same bit depth
share one entropy stream with one canonical Huffman table over ``2**bits`` symbols. Symbols are
concatenated in storage order (embeddings first, then the decoder layers in order). The exact
coded size can be computed from the code lengths without running the coder, which is what rate
control iterates on.
"""

from __future__ import annotations

import numpy as np

from hinerc.codecs.hiner.sections import Payload, Stream, TensorQuant
from hinerc.format import entropy
from hinerc.format.entropy import HuffmanTable
from hinerc.format.quant import QuantTensor, dequantize, quantize


def quantize_all(tensors: list[np.ndarray], bits: list[int]) -> list[QuantTensor]:
    return [quantize(t, b) for t, b in zip(tensors, bits)]


def _groups(qts: list[QuantTensor]) -> list[int]:
    """Distinct bit depths in first-use order; stream i holds tensors of depth ``groups[i]``."""
    out: list[int] = []
    for q in qts:
        if q.bits not in out:
            out.append(q.bits)
    return out


def coded_size(qts: list[QuantTensor]) -> int:
    """Exact byte size of the QPRM, HUFF and DATA section payloads for ``qts``."""
    size = 2 + 1 + 1  # QPRM count, HUFF count, DATA count
    for q in qts:
        size += 3 + 8 * q.mins.size
    for bits in _groups(qts):
        counts = sum(q.histogram for q in qts if q.bits == bits)
        table = HuffmanTable.from_counts(counts)
        size += 4 + len(table.to_bytes())
        size += 9 + (table.coded_bits_counts(counts) + 7) // 8
    return size


def encode_payload(qts: list[QuantTensor]) -> Payload:
    groups = _groups(qts)
    quant = [TensorQuant(q.bits, q.mode, groups.index(q.bits), q.mins, q.scales) for q in qts]
    tables, streams = [], []
    for i, bits in enumerate(groups):
        syms = np.concatenate([q.q.ravel() for q in qts if q.bits == bits])
        table = HuffmanTable.from_symbols(syms, 1 << bits)
        tables.append(table)
        streams.append(Stream(i, int(syms.size), entropy.encode(syms, table)))
    return Payload(quant, tables, streams)


def decode_payload(specs: list[tuple[str, tuple[int, ...]]], payload: Payload) -> dict[str, np.ndarray]:
    """Dequantized float32 tensors by name, from a parsed file's payload."""
    symbols = [entropy.decode(s.data, payload.tables[s.table], s.count) for s in payload.streams]
    cursor = [0] * len(symbols)
    out: dict[str, np.ndarray] = {}
    for (name, shape), tq in zip(specs, payload.quant):
        n = int(np.prod(shape))
        k = cursor[tq.stream]
        q = symbols[tq.stream][k: k + n].reshape(shape)
        cursor[tq.stream] = k + n
        out[name] = dequantize(q, tq.mins, tq.scales, tq.mode)
    return out
