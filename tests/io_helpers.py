"""Shared helpers of the hinerc.io tests."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pytest

from marks import SHARED_DATA as SHARED
from marks import requires_shared_data as requires_shared  # noqa: F401 (re-exported)

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"
EXAMPLES = REPO / "examples" / "data"

#: ENVI data type code -> numpy dtype name
ENVI_CODES = {1: "uint8", 2: "int16", 3: "int32", 4: "float32", 5: "float64", 12: "uint16",
              13: "uint32", 14: "int64", 15: "uint64"}


def shared(rel: str) -> Path:
    p = SHARED / rel
    if not p.exists():
        pytest.skip(f"{p} is absent")
    return p


def ramp(shape: tuple[int, int, int], dtype: str, seed: int = 0) -> np.ndarray:
    """A cube whose values reach the extremes of ``dtype`` (catches byte-order mistakes)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        a = rng.normal(0, 1000, size=shape).astype(dt)
        a.flat[0] = np.finfo(dt).max
        a.flat[1] = np.finfo(dt).tiny
    else:
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
        a.flat[0] = info.max
        a.flat[1] = info.min
    return a


def write_raw_envi(folder: Path, name: str, data: np.ndarray, code: int, interleave: str,
                   byte_order: int, extra_lines: str = "", ext: str = ".img",
                   header_offset: int = 0) -> tuple[Path, Path]:
    """Write an ENVI header + binary by hand (H×W×C ``data``), any byte order."""
    h, w, c = data.shape
    order = {"bsq": (2, 0, 1), "bil": (0, 2, 1), "bip": (0, 1, 2)}[interleave]
    dt = np.dtype(ENVI_CODES.get(code, "uint8")).newbyteorder(">" if byte_order else "<")
    raw = np.ascontiguousarray(np.transpose(data, order)).astype(dt).tobytes()
    hdr = folder / f"{name}.hdr"
    binary = folder / f"{name}{ext}"
    hdr.write_text(
        "ENVI\n"
        f"samples = {w}\nlines   = {h}\nbands   = {c}\nheader offset = {header_offset}\n"
        f"file type = ENVI Standard\ndata type = {code}\ninterleave = {interleave}\n"
        f"byte order = {byte_order}\n" + extra_lines
    )
    binary.write_bytes(b"\0" * header_offset + raw)
    return hdr, binary


def assert_one_line(exc: BaseException, *needles: str) -> None:
    msg = str(exc)
    assert "\n" not in msg, msg
    for n in needles:
        assert n.lower() in msg.lower(), f"{n!r} not in {msg!r}"


def utm33_wkt() -> str:
    from rasterio.crs import CRS

    return CRS.from_epsg(32633).to_wkt()


def cube_kwargs(c: int, wl_start: float = 400.0, step: float = 10.0,
                bad: Optional[list[int]] = None) -> dict:
    wl = wl_start + step * np.arange(c)
    bb = np.zeros(c, dtype=bool)
    for b in bad or []:
        bb[b] = True
    return dict(wavelengths_nm=wl, fwhm_nm=np.full(c, 9.5), bad_bands=bb,
                wavelength_units="Nanometers")


def sigint_as_a_terminal() -> None:
    """``preexec_fn`` of a child a test sends Ctrl-C: SIGINT back to its default. A test run
    started in the background of a shell (``cmd &``) inherits SIGINT ignored, and Python then
    never raises KeyboardInterrupt; a terminal's Ctrl-C is what the tests mean."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def rewritten(path, model: Optional[dict] = None, drop: Optional[str] = None) -> bytes:
    """The .hnr at ``path`` with its MODL replaced or its section ``drop`` taken out, framed
    anew (valid CRCs): a file whose sections lie to each other, not a damaged one."""
    from hinerc.format import container

    f = container.read_file(path)
    if model is not None:
        f.model = model
    if drop is not None:
        f.sections.pop(drop)
    return container.to_bytes(f)


def assert_each_is_corrupt(cases: dict, tmp_path) -> None:
    """Each file of ``cases`` (name → bytes) is a CorruptFileError to the API, and exit 1 with
    no output left behind to ``hinerc decompress``."""
    from click.testing import CliRunner

    import hinerc
    from hinerc.cli import cli
    from hinerc.errors import CorruptFileError

    for name, blob in cases.items():
        p = tmp_path / f"{name.replace(' ', '_')}.hnr"
        p.write_bytes(blob)
        with pytest.raises(CorruptFileError):
            hinerc.decompress(p)
        r = CliRunner().invoke(cli, ["decompress", str(p), "-o", str(tmp_path / "x.npy")])
        assert r.exit_code == 1 and not (tmp_path / "x.npy").exists(), name


def damaged(good: bytes, seed: int, rounds: int = 300):
    """``rounds`` copies of the section ``good`` with 1–3 bytes set at random, about a third of
    them also cut short: what a fuzzer of one section's parser tries."""
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        blob = bytearray(good)
        for i in rng.integers(0, len(blob), rng.integers(1, 4)):
            blob[i] = int(rng.integers(0, 256))
        if rng.random() < 0.3:
            blob = blob[: int(rng.integers(0, len(blob)))]
        yield bytes(blob)
