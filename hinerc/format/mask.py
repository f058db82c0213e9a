"""Lossless coding of the no-data mask (numpy + zlib only).

Modes: 0 = no no-data sample among the coded bands; 1 = one H×W mask shared by every coded band
(the usual case: a pixel is no-data in all bands); 2 = a full H×W×N mask. Bits are packed with
``np.packbits`` and deflated.
"""

from __future__ import annotations

import zlib

import numpy as np

from hinerc.errors import CorruptFileError
from hinerc.format.deflate import inflate

NONE, PIXEL, FULL = 0, 1, 2


def encode_mask(mask: np.ndarray) -> bytes:
    """``mask``: boolean H×W×N, True where a sample is no-data."""
    if not mask.any():
        return bytes([NONE])
    first = mask[:, :, :1]
    if (mask == first).all():
        mode, bits = PIXEL, first[:, :, 0]
    else:
        mode, bits = FULL, mask
    return bytes([mode]) + zlib.compress(np.packbits(bits.ravel()).tobytes(), 9)


def check_mask(buf: bytes) -> None:
    """What can be checked of a MASK section without inflating it: its mode byte."""
    if not buf:
        raise CorruptFileError("empty mask section")
    if buf[0] not in (NONE, PIXEL, FULL):
        raise CorruptFileError(f"unknown mask mode {buf[0]}")
    if buf[0] == NONE and len(buf) != 1:
        raise CorruptFileError("corrupt mask section")


def decode_mask(buf: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    """Inverse of :func:`encode_mask` for a mask of ``shape`` (H, W, N) (read-only: a mask of
    one plane, or of none, is a view of that plane)."""
    if not buf:
        raise CorruptFileError("empty mask section")
    h, w, n = shape
    mode = buf[0]
    if mode == NONE:
        if len(buf) != 1:
            raise CorruptFileError("corrupt mask section")
        return np.broadcast_to(np.zeros((), bool), shape)  # read-only, no memory
    if mode not in (PIXEL, FULL):
        raise CorruptFileError(f"unknown mask mode {mode}")
    count = h * w if mode == PIXEL else h * w * n
    nbytes = (count + 7) // 8
    raw = inflate(buf[1:], "MASK section", size=nbytes)
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), count=count).astype(bool)
    if mode == PIXEL:
        return np.broadcast_to(bits.reshape(h, w, 1), shape)  # read-only: one plane held
    return bits.reshape(shape)


__all__ = ["encode_mask", "decode_mask", "check_mask", "NONE", "PIXEL", "FULL"]
