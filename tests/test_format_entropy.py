import numpy as np
import pytest

from hinerc.errors import CorruptFileError
from hinerc.format.entropy import HuffmanTable, decode, encode


@pytest.mark.parametrize("alphabet", [2, 256, 4096])
def test_huffman_roundtrip(alphabet):
    rng = np.random.default_rng(alphabet)
    syms = np.clip(rng.normal(alphabet / 2, alphabet / 8 + 1, 5000), 0, alphabet - 1).astype(int)
    table = HuffmanTable.from_symbols(syms, alphabet)
    buf = encode(syms, table)
    np.testing.assert_array_equal(decode(buf, table, syms.size), syms)
    assert len(buf) == (table.coded_bits(syms) + 7) // 8  # size is predictable exactly


def test_table_serialises_as_plain_numbers():
    syms = np.random.default_rng(0).integers(0, 256, 10000)
    t = HuffmanTable.from_symbols(syms, 256)
    raw = t.to_bytes()
    assert b"pickle" not in raw and raw[:4] == (257).to_bytes(4, "little")
    t2 = HuffmanTable.from_bytes(raw)
    np.testing.assert_array_equal(t.lengths, t2.lengths)
    assert t.code_table() == t2.code_table()


def test_single_symbol_stream():
    syms = np.zeros(100, int)
    t = HuffmanTable.from_symbols(syms, 256)
    np.testing.assert_array_equal(decode(encode(syms, t), t, 100), syms)


def test_skewed_distribution_compresses():
    syms = np.r_[np.zeros(9000, int), np.arange(1000) % 256]
    t = HuffmanTable.from_symbols(syms, 256)
    assert len(encode(syms, t)) * 8 / syms.size < 3


def test_invalid_tables_refused():
    lengths = np.zeros(257, np.uint8)
    lengths[:3] = [1, 1, 1]  # Kraft sum > 1
    with pytest.raises(CorruptFileError):
        HuffmanTable(lengths).code_table()
    with pytest.raises(CorruptFileError):
        HuffmanTable.from_bytes(b"\x01\x00")
    with pytest.raises(CorruptFileError):
        HuffmanTable.from_bytes((257).to_bytes(4, "little") + b"garbage")


def test_wrong_count_is_corrupt():
    syms = np.arange(50) % 7
    t = HuffmanTable.from_symbols(syms, 8)
    with pytest.raises(CorruptFileError):
        decode(encode(syms, t), t, 51)
