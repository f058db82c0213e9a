"""The JPEG 2000 map coder behind the map-coder interface: round trip, budget, the structural
check before decoding, and the file's map coder identity."""

import numpy as np
import pytest

import hinerc
from hinerc.codecs.lowrank import mapcoders
from hinerc.codecs.lowrank.mapcoders import MapCoder
from hinerc.codecs.lowrank.mapcoders.jpeg2000 import Jpeg2000MapCoder
from hinerc.errors import CorruptFileError

from conftest import make_cube


def _maps(h=12, w=10, k=3, seed=1):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    m = np.stack([np.sin(4 * x + i) * np.cos(3 * y - i) for i in range(k)], -1)
    return np.clip(32768 + 20000 * m + rng.normal(0, 200, m.shape), 0, 65535)


def test_registry_names_the_default_and_refuses_unknown_names():
    assert mapcoders.DEFAULT == "jpeg2000" and "jpeg2000" in mapcoders.names()
    assert issubclass(mapcoders.get("jpeg2000"), MapCoder)
    with pytest.raises(CorruptFileError, match="does not know"):
        mapcoders.get("vvc-from-the-future")


def test_round_trip_within_the_budget_and_finer_with_more_bytes():
    maps = _maps(48, 40, 4)
    errors = []
    for budget in (800, 3000, 12000):
        code = Jpeg2000MapCoder().encode(maps, budget)
        assert 0 < len(code.data) <= budget
        back = Jpeg2000MapCoder().decode(code.data, 48, 40, 4)
        assert back.shape == (48 * 40, 4) and back.dtype == np.float64
        errors.append(np.sqrt(np.mean((back - maps.reshape(-1, 4)) ** 2)))
    assert errors[0] > errors[1] > errors[2]
    finest = Jpeg2000MapCoder().encode(maps, 10 ** 7)
    assert finest.finest
    lossless_ish = Jpeg2000MapCoder().decode(finest.data, 48, 40, 4)
    assert np.abs(lossless_ish - np.rint(maps).reshape(-1, 4)).max() <= 2


def test_maps_checked_before_decoding():
    maps = _maps()
    coder = Jpeg2000MapCoder()
    blob = coder.encode(maps, 10_000).data
    coder.check(blob, 12, 10, 3)
    for args in [(12, 10, 2), (10, 12, 3), (12, 11, 3), (12, 10, 4)]:
        with pytest.raises(CorruptFileError):
            coder.check(blob, *args)
    with pytest.raises(CorruptFileError):
        coder.check(b"\x00" * 64, 12, 10, 3)
    import imagecodecs

    eight_bit = imagecodecs.jpeg2k_encode(np.rint(maps / 257).astype(np.uint8), level=50,
                                          codecformat="J2K")
    with pytest.raises(CorruptFileError):
        coder.check(eight_bit, 12, 10, 3)
    with pytest.raises(CorruptFileError):
        coder.decode(b"\xff\x4f\xff\x51" + b"\x00" * 60, 12, 10, 3)


def test_files_store_no_name_for_jpeg2000_and_read_it_back(tmp_path):
    # JPEG 2000 is what every file before the map-coder interface holds: its name is left out
    # of MODL (the same bytes as before), and a MODL naming it reads the same
    path = tmp_path / "m.hnr"
    hinerc.compress(make_cube(), path, bpppb=4.0, map_coder="jpeg2000")
    facts = hinerc.inspect(path)
    assert "maps" not in facts["model_config"] and facts["map_coder"] == "jpeg2000"
    from hinerc import pipeline
    from hinerc.format import container

    f = container.read_file(path)
    f.model = dict(f.model, maps="jpeg2000")
    same = pipeline.decode(pipeline.load(container.to_bytes(f)))
    assert np.array_equal(same.data, hinerc.decompress(path).data)
    f.model = dict(f.model, maps="hevc-unknown")
    with pytest.raises(CorruptFileError, match="hevc-unknown"):
        pipeline.load(container.to_bytes(f))
