"""zlib for sections: bounded inflation of what files hold, and the preset dictionary of the
JSON sections.

Why a dictionary: META, MODL and RPRT are small JSON objects whose keys are the same in every
file. Deflated alone, a key costs its letters each time; deflated with a preset dictionary that
holds the keys (zlib's FDICT, RFC 1950), it costs a back-reference of two or three bytes. On a
small cube that is a few hundred bytes of the file (format 1.8). The dictionary is part of the
format: it never changes (a file names it by its Adler-32, which the reader checks).
"""

from __future__ import annotations

import zlib
from typing import Optional

from hinerc.errors import CorruptFileError

#: The preset dictionary of the JSON sections META, MODL and RPRT (format 1.8), as written in
#: ``docs/format.md``; the strings that occur most often last (deflate reaches them cheapest).
JSON_DICTIONARY = (
    b'"embed_channels":"embed_h":"embed_w":"strides":["channels":["kernels":["head_kernel":'
    b'"crop_top":"crop_left":"pe_base":"pe_levels":"mlp_hidden":"arch":"hiner"'
    b'"divergence_restarts":"pixel_net_gain_db":"map_filter_gain_db":"mflt":true,"pnet":true,'
    b'{"arch":"lowrank","maps":"av1","jpeg2000","hevc","rank":'
    b'"bad_bands":"band_names":{"template":"crs":"extra":{"envi":{"gdal":{"mat":'
    b'"fwhm_nm":"interleave":"bsq","bil","bip","nodata":NaN,"source_format":"envi","gtiff",'
    b'"transform":["wavelength_units":"Nanometers","wavelengths_nm":{"decimals":0,"diffs2":['
    b'{"device":"cpu","cuda:0","encode_seconds":"epochs":0,"extra":{"rank":'
    b'"hinerc_version":"0.1.0","max_abs_error":"psnr_db":"sam_deg":"seed":0,'
    b'"source_bits_per_sample":16,"worst_band":"worst_band_psnr_db":,"')
#: zlib's FLG bit that says a preset dictionary follows (its Adler-32, 4 bytes)
_FDICT = 0x20


def deflate_json(raw: bytes) -> bytes:
    """``raw`` (a JSON text) deflated at level 9 with :data:`JSON_DICTIONARY`."""
    c = zlib.compressobj(9, zdict=JSON_DICTIONARY)
    return c.compress(raw) + c.flush()


def uses_dictionary(buf: bytes) -> bool:
    """Whether the zlib stream ``buf`` declares a preset dictionary (FDICT)."""
    return len(buf) >= 2 and bool(buf[1] & _FDICT)


def inflate(buf: bytes, what: str, size: Optional[int] = None, limit: int = 16 << 20,
            zdict: Optional[bytes] = None) -> bytes:
    """Inflate ``buf``, which must be one complete zlib stream.

    With ``size`` the result must be exactly that long; otherwise at most ``limit`` bytes.
    With ``zdict`` a stream that declares a preset dictionary must name that one (a stream that
    declares none reads as without it). Anything else (corrupt stream, another dictionary, too
    long, too short, trailing bytes) is a :class:`CorruptFileError` naming ``what``.
    """
    cap = size if size is not None else limit
    try:
        d = zlib.decompressobj() if zdict is None else zlib.decompressobj(zdict=zdict)
        raw = d.decompress(buf, cap + 1)
    except zlib.error as exc:
        raise CorruptFileError(f"{what} is corrupt") from exc
    if not d.eof or d.unused_data or len(raw) > cap or (size is not None and len(raw) != size):
        raise CorruptFileError(f"{what} is corrupt or has the wrong size")
    return raw


def inflate_json(buf: bytes, what: str = "JSON section", limit: int = 16 << 20) -> bytes:
    """The text of a JSON section (META, MODL, RPRT), with or without the preset dictionary."""
    return inflate(buf, what, limit=limit, zdict=JSON_DICTIONARY)
