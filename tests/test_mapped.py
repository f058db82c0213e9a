"""Reading a scene by windows (issue 16 item 2): a large ENVI or .npy cube is memory-mapped and
the encoder holds about one tile of it at a time (``hinerc.io.mapped``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from hinerc.io import mapped, read_cube
from io_helpers import write_raw_envi


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("byte_order", [0, 1])
def test_a_mapped_envi_cube_reads_the_same_samples(tmp_path, monkeypatch, interleave, byte_order):
    rng = np.random.default_rng(3)
    data = rng.integers(-3000, 3000, (7, 9, 5)).astype(np.int16)
    hdr, _ = write_raw_envi(tmp_path, "c", data, 2, interleave, byte_order, header_offset=16)
    in_memory = read_cube(hdr).data
    assert not mapped.is_mapped(in_memory)
    monkeypatch.setattr(mapped, "MAP_ABOVE", 0)
    cube = read_cube(hdr)
    # a file in the machine's byte order is mapped; the other order is read (and swapped)
    assert mapped.is_mapped(cube.data) == (byte_order == (sys.byteorder == "big"))
    assert cube.data.shape == (7, 9, 5) and cube.data.dtype == np.int16
    assert np.array_equal(cube.data, data) and np.array_equal(in_memory, data)


def test_a_mapped_npy_cube_reads_the_same_samples(tmp_path, monkeypatch):
    data = np.arange(6 * 5 * 4, dtype=np.float32).reshape(6, 5, 4)
    np.save(tmp_path / "c.npy", data)
    monkeypatch.setattr(mapped, "MAP_ABOVE", 0)
    cube = read_cube(tmp_path / "c.npy")
    assert mapped.is_mapped(cube.data) and np.array_equal(cube.data, data)


def test_release_gives_pages_back_and_the_samples_stay(tmp_path, monkeypatch):
    data = np.random.default_rng(0).random((64, 64, 16)).astype(np.float32)
    np.save(tmp_path / "c.npy", data)
    monkeypatch.setattr(mapped, "MAP_ABOVE", 0)
    cube = read_cube(tmp_path / "c.npy")
    first = float(cube.data[10:20].sum())
    mapped.release(cube.data)
    assert float(cube.data[10:20].sum()) == first
    mapped.release(np.zeros(3))  # an array in memory: nothing to do
    assert np.array_equal(cube.data, data)




@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_a_mapped_scene_is_never_held_whole(tmp_path):
    """A 92 MB float32 cube coded in 25 tiles: read into memory, the process holds all of it;
    memory-mapped and read tile by tile, it holds about a tile: its peak RSS is at least 0.6×
    the cube lower (the same command otherwise; the tiles' own work is the same in both)."""
    rng = np.random.default_rng(5)
    h, w, c = 600, 600, 64
    base = rng.random((h, w, 4)).astype(np.float32)
    mix = rng.random((4, c)).astype(np.float32)
    cube = (base.reshape(-1, 4) @ mix).reshape(h, w, c) * 1000
    cube += rng.normal(0, 1, cube.shape).astype(np.float32)
    hdr, _ = write_raw_envi(tmp_path, "scene", cube.astype(np.float32), 4, "bil", 0)
    del cube
    peaks = {}
    for name, above in (("read", 1 << 40), ("mapped", 1 << 20)):
        out = tmp_path / f"{name}.hnr"
        args = ["compress", str(hdr), "-o", str(out), "--bpppb", "0.5", "--effort", "1",
                "--tile", "128", "--quiet"]
        code = textwrap.dedent(f"""
            import sys
            import hinerc.io.mapped as m
            m.MAP_ABOVE = {above}
            from hinerc.cli import main
            try:
                main({args!r})
            except SystemExit as e:
                if e.code:
                    raise
            # this process's own peak (ru_maxrss would count the parent's, from before exec)
            with open("/proc/self/status") as f:
                print(next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")))
        """)
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=600)
        assert res.returncode == 0, res.stderr
        peaks[name] = int(res.stdout.split()[-1]) * 1024  # kB on Linux
        assert out.stat().st_size > 0
    held = h * w * c * 4
    assert peaks["read"] - peaks["mapped"] > 0.6 * held, peaks


def test_pixels_of_a_view_are_read_by_rows_and_equal_a_copy():
    """The coded bands of a cube that is a view (a memory-mapped BIL scene, say) are read by
    the rows the pixels lie in, never by reshaping the view (a copy of the whole)."""
    from hinerc.bands import prepare
    from hinerc.io import Cube

    base = np.random.default_rng(0).integers(0, 1000, (7, 4, 9)).astype(np.int16)
    view = base.transpose(0, 2, 1)  # lines × samples × bands over a BIL layout
    assert not view.flags.c_contiguous
    pv, pc = prepare(Cube(view)), prepare(Cube(np.ascontiguousarray(view)))
    for sel in (slice(0, 63), slice(5, 40), slice(10, 11), slice(0, 63, 4),
                np.array([3, 17, 62, 0])):
        assert np.array_equal(pv.pixels(sel), pc.pixels(sel)), sel


def test_a_large_decode_to_npy_is_written_tile_by_tile(tmp_path, monkeypatch):
    """A tiled file decoded to .npy above MAP_ABOVE goes into a memory map of the output (the
    process never holds the scene): the same samples as a decode in memory, a window and
    bands too, with ordinary permissions and nothing left beside it."""
    import hinerc

    rng = np.random.default_rng(1)
    cube = (rng.random((70, 50, 3)) @ rng.random((3, 12)) * 1000).astype(np.int16)
    np.save(tmp_path / "c.npy", cube)
    hinerc.compress(tmp_path / "c.npy", tmp_path / "c.hnr", bpppb=1.0, tile=32, effort=1)
    ref = hinerc.decompress(tmp_path / "c.hnr").data
    monkeypatch.setattr(mapped, "MAP_ABOVE", 0)
    written: list = []
    real = np.lib.format.open_memmap
    monkeypatch.setattr(np.lib.format, "open_memmap",
                        lambda *a, **k: written.append(a[0]) or real(*a, **k))
    out = hinerc.decompress(tmp_path / "c.hnr", tmp_path / "o.npy")
    assert written, "the decode was not written into a memory map"
    assert np.array_equal(np.load(tmp_path / "o.npy"), ref) and np.array_equal(out.data, ref)
    assert (tmp_path / "o.npy").stat().st_mode & 0o777 == 0o666 & ~_umask()
    hinerc.decompress(tmp_path / "c.hnr", tmp_path / "w.npy", window="10,5,40,30", bands="2:6")
    assert np.array_equal(np.load(tmp_path / "w.npy"), ref[10:50, 5:35, 2:6])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.hnr", "c.npy", "o.npy", "w.npy"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
