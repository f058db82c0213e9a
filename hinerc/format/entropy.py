"""Huffman coding of integer symbols with canonical codes, stored as plain code lengths.

dahuffman builds the code (``HuffmanCodec.from_frequencies``) and does the bit packing
(``PrefixCodec``). What we store is only the code length of each symbol: the codes themselves
are re-derived canonically (sorted by length, then symbol), so the table costs one byte per
alphabet entry and nothing read from a file is ever unpickled (dahuffman's own ``save``/``load``
use pickle and are never called).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from dahuffman import HuffmanCodec
from dahuffman.huffmancodec import PrefixCodec

from hinerc.errors import CorruptFileError
from hinerc.format.deflate import inflate

MAX_CODE_LENGTH = 48


@dataclass
class HuffmanTable:
    """Code lengths for symbols ``0..alphabet-1`` plus an end-of-stream symbol (index ``alphabet``).

    A length of 0 means the symbol does not occur.
    """

    lengths: np.ndarray  # uint8, size alphabet + 1

    @property
    def alphabet(self) -> int:
        return self.lengths.size - 1

    @classmethod
    def from_symbols(cls, symbols: np.ndarray, alphabet: int) -> "HuffmanTable":
        counts = np.bincount(np.asarray(symbols, dtype=np.int64).ravel(), minlength=alphabet)
        if counts.size > alphabet:
            raise ValueError("symbol outside the alphabet")
        return cls.from_counts(counts)

    @classmethod
    def from_counts(cls, counts: np.ndarray) -> "HuffmanTable":
        """Table for a histogram of symbols ``0..len(counts)-1``."""
        alphabet = int(counts.size)
        freqs = {int(s): int(c) for s, c in enumerate(counts) if c > 0}
        freqs[alphabet] = 1  # end-of-stream
        if len(freqs) == 1:  # a lone symbol still needs a 1-bit code
            freqs[0 if alphabet != 0 else 1] = freqs.get(0, 0) or 1
        codec = HuffmanCodec.from_frequencies(freqs, concat=list, eof=alphabet)
        lengths = np.zeros(alphabet + 1, dtype=np.uint8)
        for s, (bits, _) in codec.get_code_table().items():
            lengths[s] = bits
        return cls(lengths)

    def validate(self) -> None:
        """Refuse lengths that are not a complete prefix code with codes of at most
        :data:`MAX_CODE_LENGTH` bits (counted per length: quick even for 2**16 symbols)."""
        lengths = self.lengths.astype(np.int64)
        per_length = np.bincount(lengths, minlength=MAX_CODE_LENGTH + 1)
        if per_length.size > MAX_CODE_LENGTH + 1 or per_length[1:].sum() < 2:
            raise CorruptFileError("invalid Huffman table")
        # A Huffman code is complete: the Kraft sum is exactly one.
        kraft = sum(int(n) << (MAX_CODE_LENGTH - b) for b, n in enumerate(per_length) if b)
        if kraft != 1 << MAX_CODE_LENGTH:
            raise CorruptFileError("invalid Huffman table (not a complete prefix code)")

    def code_table(self) -> dict[int, tuple[int, int]]:
        """Canonical ``{symbol: (bit length, code value)}``; validates the lengths first."""
        self.validate()
        lengths = self.lengths.astype(np.int64)
        used = np.nonzero(lengths)[0]
        order = sorted(used.tolist(), key=lambda s: (lengths[s], s))
        table: dict[int, tuple[int, int]] = {}
        code = 0
        prev = int(lengths[order[0]])
        for s in order:
            n = int(lengths[s])
            code <<= n - prev
            prev = n
            table[int(s)] = (n, code)
            code += 1
        return table

    def to_bytes(self) -> bytes:
        raw = self.lengths.tobytes()
        return len(raw).to_bytes(4, "little") + zlib.compress(raw, 9)

    @classmethod
    def from_bytes(cls, buf: bytes) -> "HuffmanTable":
        if len(buf) < 4:
            raise CorruptFileError("truncated Huffman table")
        n = int.from_bytes(buf[:4], "little")
        if not 2 <= n <= (1 << 16) + 1:
            raise CorruptFileError("invalid Huffman table size")
        raw = inflate(buf[4:], "Huffman table", size=n)
        return cls(np.frombuffer(raw, dtype=np.uint8).copy())

    def coded_bits(self, symbols: np.ndarray) -> int:
        """Exact number of payload bits for ``symbols`` (without the end-of-stream padding)."""
        return self.coded_bits_counts(np.bincount(np.asarray(symbols).ravel(),
                                                  minlength=self.alphabet))

    def coded_bits_counts(self, counts: np.ndarray) -> int:
        return int(np.dot(counts[: self.alphabet], self.lengths[: self.alphabet].astype(np.int64)))


def encode(symbols: np.ndarray, table: HuffmanTable) -> bytes:
    """Huffman-code ``symbols`` (ints in ``[0, alphabet)``) into bytes."""
    codec = PrefixCodec(table.code_table(), concat=list, check=False, eof=table.alphabet)
    return codec.encode(np.asarray(symbols).ravel().tolist())


def decode(buf: bytes, table: HuffmanTable, count: int) -> np.ndarray:
    """Decode exactly ``count`` symbols; a mismatch means a corrupt stream."""
    codec = PrefixCodec(table.code_table(), concat=list, check=False, eof=table.alphabet)
    try:
        out = codec.decode(buf)
    except Exception as exc:  # dahuffman raises on undecodable trailing bits
        raise CorruptFileError("corrupt entropy-coded payload") from exc
    if len(out) != count:
        raise CorruptFileError(f"payload decodes to {len(out)} symbols, expected {count}")
    return np.asarray(out, dtype=np.int64)
