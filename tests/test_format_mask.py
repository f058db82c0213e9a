import numpy as np
import pytest

from hinerc.errors import CorruptFileError
from hinerc.format.mask import FULL, NONE, PIXEL, decode_mask, encode_mask


def test_no_mask_is_one_byte():
    m = np.zeros((10, 12, 5), bool)
    buf = encode_mask(m)
    assert buf == bytes([NONE])
    np.testing.assert_array_equal(decode_mask(buf, m.shape), m)


def test_pixel_mask_shared_by_bands():
    m = np.zeros((9, 7, 4), bool)
    m[2:5, 1:3, :] = True
    buf = encode_mask(m)
    assert buf[0] == PIXEL
    np.testing.assert_array_equal(decode_mask(buf, m.shape), m)


def test_full_mask():
    m = np.random.default_rng(0).random((9, 7, 4)) < 0.2
    buf = encode_mask(m)
    assert buf[0] == FULL
    np.testing.assert_array_equal(decode_mask(buf, m.shape), m)


@pytest.mark.parametrize("buf", [b"", b"\x07", b"\x00\x00", b"\x01garbage", b"\x02"])
def test_corrupt_masks_refused(buf):
    with pytest.raises(CorruptFileError):
        decode_mask(buf, (4, 4, 2))
