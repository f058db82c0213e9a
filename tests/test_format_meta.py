"""META's packed band vectors and band-name templates (hinerc.format.meta): exact both ways,
used only where exact, and refused with a CorruptFileError when a file lies about them."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import hinerc
from hinerc.errors import CorruptFileError
from hinerc.format.container import json_bytes, meta_bytes
from hinerc.format.meta import (pack_meta, pack_names, pack_vector, unpack_meta, unpack_names,
                                unpack_vector)
from hinerc.io import Cube

from conftest import make_cube
from marks import SHARED_DATA, requires_shared_data


def roundtrip(values):
    packed = json.loads(json.dumps(pack_vector(values)))
    return packed, (unpack_vector(packed, len(values)) if isinstance(packed, dict) else packed)


@pytest.mark.parametrize("values", [
    [418.24, 423.874, 429.294, 434.528, 2445.53],  # EnMAP wavelengths
    [399.369995, 409.209991, 419.059998],  # AVIRIS, six decimals
    [6.99561, 6.6675, 6.42408],
    [400.0, 410.0, 420.0], [400, 410, 420], [0.0], [-3.25, 1e-6, 123456.789012],
    list(np.round(np.linspace(380, 2510, 425), 5)),
])
def test_decimal_vectors_pack_and_come_back_bit_for_bit(values):
    packed, back = roundtrip(values)
    assert isinstance(packed, dict) and set(packed) == {"decimals", "diffs2"}
    assert np.array_equal(np.asarray(back, np.float64).view(np.int64),
                          np.asarray(values, np.float64).view(np.int64))


def test_regular_spacing_packs_to_small_integers():
    packed = pack_vector([400.0 + 10 * i for i in range(100)])
    assert packed["decimals"] == 0 and set(packed["diffs2"][2:]) == {0}


@pytest.mark.parametrize("values", [
    [0.1, 0.2, 0.30000000000000004],  # 17 decimals
    [-0.0, 1.0],  # the sign of zero would be lost
    [1e300, 2.0], [float("nan"), 1.0], [], [True, False], ["400", "410"],
])
def test_vectors_that_do_not_pack_stay_lists(values):
    assert pack_vector(values) is values


def test_band_name_templates():
    wl = [418.24, 423.874, 2445.53]
    names = [f"band {i + 1} ({w} Nanometers)" for i, w in enumerate(wl)]
    assert pack_names(names, wl) == {"template": "band {n} ({w} Nanometers)"}
    assert unpack_names(pack_names(names, wl), 3, wl) == names
    assert pack_names(["Band 1", "Band 2", "Band 3"], None) == {"template": "Band {n}"}
    assert unpack_names({"template": "Band {n}"}, 3, None) == ["Band 1", "Band 2", "Band 3"]
    assert pack_names(["376.44 Nanometers", "381.45 Nanometers"], [376.44, 381.45]) == \
        {"template": "{w} Nanometers"}
    for odd in (["a", "b"], ["band 1 {x}", "band 2 {x}"], ["Band 1", "Band 3"],
                ["band 1 (0.4 um)", "band 2 (0.41 um)"]):  # names in other units than nm
        assert pack_names(odd, [400.0, 410.0]) is odd


def test_pack_meta_of_a_cube_round_trips():
    wl = np.round(np.linspace(418.24, 2445.53, 40), 3)
    cube = Cube(np.zeros((2, 2, 40), np.int16), wavelengths_nm=wl,
                fwhm_nm=np.round(np.linspace(7.0, 9.0, 40), 5),
                band_names=[f"band {i + 1} ({w!r} Nanometers)" for i, w in enumerate(wl.tolist())],
                bad_bands=np.zeros(40, bool))
    meta = cube.metadata_dict()
    packed = json.loads(json.dumps(pack_meta(meta)))
    assert isinstance(packed["wavelengths_nm"], dict) and isinstance(packed["band_names"], dict)
    assert unpack_meta(packed, 40) == meta
    assert len(meta_bytes(meta)) < len(json_bytes(meta)) / 2


@pytest.mark.parametrize("obj", [
    {"decimals": 13, "diffs2": [1, 2]}, {"decimals": -1, "diffs2": [1, 2]},
    {"decimals": True, "diffs2": [1, 2]}, {"decimals": 1, "diffs2": [1]},
    {"decimals": 1, "diffs2": [1, 2, 3]}, {"decimals": 1, "diffs2": [1.5, 2]},
    {"decimals": 1, "diffs2": [True, 2]}, {"decimals": 1, "diffs2": [2**60, 2**60]},
    {"decimals": 1, "diffs2": [10**400, 0]}, {"decimals": 1}, {"diffs2": [1, 2]},
    {"decimals": 1, "diffs2": [1, 2], "x": 0}, {"decimals": 1, "diffs2": "12"},
])
def test_lying_packed_vectors_are_refused(obj):
    with pytest.raises(CorruptFileError):
        unpack_meta({"wavelengths_nm": obj}, 2)


@pytest.mark.parametrize("obj, wl", [
    ({"template": "{w} nm"}, None), ({"template": "{w} nm"}, [1.0]), ({"template": 3}, None),
    ({"template": "x" * 201}, None), ({"template": "{w}"}, ["a", "b"]),
    ({"template": "a", "b": 1}, None), ({}, None),
])
def test_lying_name_templates_are_refused(obj, wl):
    with pytest.raises(CorruptFileError):
        unpack_meta({"band_names": obj, "wavelengths_nm": wl}, 2)


def test_meta_is_never_larger_packed():
    """Packing a few constant values adds keys for nothing: META is then written as lists."""
    meta = Cube(np.zeros((2, 2, 8), np.int16), wavelengths_nm=np.linspace(400, 1000, 8),
                fwhm_nm=np.full(8, 10.0)).metadata_dict()
    assert len(json_bytes(pack_meta(meta))) > len(json_bytes(meta))
    set_fields = {k: v for k, v in meta.items() if v is not None and v != {}}
    assert meta_bytes(meta) == json_bytes(set_fields)  # 1.8: unset fields left out


def test_packed_file_keeps_every_band_name_and_wavelength(tmp_path):
    cube = make_cube(h=12, w=10, c=8, seed=1)
    cube.wavelengths_nm = np.array([418.24, 423.874, 429.294, 434.528, 439.603, 444.549,
                                    449.391, 454.159])
    cube.fwhm_nm = np.array([6.99561, 6.6675, 6.42408, 6.25124, 6.13485, 6.06076, 6.01486,
                             5.98302])
    cube.band_names = [f"band {i + 1} ({w!r} Nanometers)"
                       for i, w in enumerate(cube.wavelengths_nm.tolist())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hinerc.compress(cube, tmp_path / "c.hnr", bpppb=8.0)
    back = hinerc.decompress(tmp_path / "c.hnr")
    assert back.band_names == cube.band_names
    assert np.array_equal(back.wavelengths_nm, cube.wavelengths_nm)
    assert np.array_equal(back.fwhm_nm, cube.fwhm_nm)


@requires_shared_data
def test_enmap_metadata_shrinks_and_survives():
    from hinerc.io import read_cube

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = read_cube(SHARED_DATA / "enmap_potsdam" / "images" / "enmap_potsdam_tile_160_64.tif")
    meta = cube.metadata_dict()
    assert len(meta_bytes(meta)) < 0.4 * len(json_bytes(meta))
    assert unpack_meta(json.loads(json.dumps(pack_meta(meta))), cube.data.shape[2]) == meta
