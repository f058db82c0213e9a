"""Bounded zlib inflation for sections read from files: never inflate past what is declared."""

from __future__ import annotations

import zlib
from typing import Optional

from hinerc.errors import CorruptFileError


def inflate(buf: bytes, what: str, size: Optional[int] = None, limit: int = 16 << 20) -> bytes:
    """Inflate ``buf``, which must be one complete zlib stream.

    With ``size`` the result must be exactly that long; otherwise at most ``limit`` bytes.
    Anything else (corrupt stream, too long, too short, trailing bytes) is a
    :class:`CorruptFileError` naming ``what``.
    """
    cap = size if size is not None else limit
    try:
        d = zlib.decompressobj()
        raw = d.decompress(buf, cap + 1)
    except zlib.error as exc:
        raise CorruptFileError(f"{what} is corrupt") from exc
    if not d.eof or d.unused_data or len(raw) > cap or (size is not None and len(raw) != size):
        raise CorruptFileError(f"{what} is corrupt or has the wrong size")
    return raw
