"""The Python API end to end on small cubes: round trip, no-data, special bands, refusals."""


import numpy as np
import pytest

import hinerc
from hinerc.errors import InputError, OutputExistsError
from hinerc.format import container
from hinerc.io import Cube, read_cube
from hinerc.metrics import mean_psnr

from conftest import make_cube


def test_roundtrip_keeps_shape_dtype_metadata(tmp_path):
    cube = make_cube()
    res = hinerc.compress(cube, tmp_path / "c.hnr", bpppb=4.0, arch="hiner", epochs=3)
    assert 0.97 * 4.0 <= (tmp_path / "c.hnr").stat().st_size * 8 / cube.data.size <= 1.03 * 4.0
    out = hinerc.decompress(tmp_path / "c.hnr")
    assert out.shape == cube.shape and out.dtype == cube.dtype
    np.testing.assert_array_equal(out.wavelengths_nm, cube.wavelengths_nm)
    np.testing.assert_array_equal(out.fwhm_nm, cube.fwhm_nm)
    # compress reports the PSNR of exactly what decompress gives back
    assert mean_psnr(cube.data, out.data) == pytest.approx(res.psnr_db, abs=1e-9)


def test_same_seed_same_bytes_except_report(tmp_path):
    cube = make_cube()
    a, b = tmp_path / "a.hnr", tmp_path / "b.hnr"
    hinerc.compress(cube, a, bpppb=4.0, arch="hiner", epochs=2, seed=7)
    hinerc.compress(cube, b, bpppb=4.0, arch="hiner", epochs=2, seed=7)
    sa, sb = container.split_sections(a.read_bytes()), container.split_sections(b.read_bytes())
    for tag in sa:
        if tag != "RPRT":
            assert sa[tag] == sb[tag], tag


def test_nodata_constant_and_empty_bands_restored_exactly(tmp_path):
    cube = make_cube(c=10, nodata=-9999)
    data = cube.data.copy()
    data[3:6, 4:9, :] = -9999          # no-data pixels in every band
    data[:, :, 2] = 1234               # a constant band (except the no-data pixels)
    data[3:6, 4:9, 2] = -9999
    data[:, :, 7] = -9999              # a band with no real sample
    cube = Cube(data, wavelengths_nm=cube.wavelengths_nm, nodata=-9999)
    hinerc.compress(cube, tmp_path / "n.hnr", bpppb=6.0, arch="hiner", epochs=2)
    f = container.read_file(tmp_path / "n.hnr")
    assert list(f.bands.kinds[[2, 7]]) == [1, 2] and f.header.n_coded == 8
    out = hinerc.decompress(tmp_path / "n.hnr").data
    np.testing.assert_array_equal(out == -9999, data == -9999)
    np.testing.assert_array_equal(out[:, :, 2], data[:, :, 2])
    np.testing.assert_array_equal(out[:, :, 7], data[:, :, 7])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
def test_dtypes_roundtrip(tmp_path, dtype):
    cube = make_cube(dtype=np.float64)
    data = cube.data / cube.data.max() * (200 if dtype == np.uint8 else 3000)
    cube = Cube(data.astype(dtype), wavelengths_nm=cube.wavelengths_nm)
    hinerc.compress(cube, tmp_path / "d.hnr", bpppb=8.0, arch="hiner", epochs=2)
    out = hinerc.decompress(tmp_path / "d.hnr")
    assert out.dtype == np.dtype(dtype)
    if np.dtype(dtype).kind in "iu":  # rounded, inside the band's range
        assert out.data.min() >= data.astype(dtype).min()


def test_nan_refused(tmp_path):
    data = make_cube(dtype=np.float32).data
    data[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        hinerc.compress(Cube(data), tmp_path / "x.hnr", bpppb=4.0, arch="hiner", epochs=1)
    assert not (tmp_path / "x.hnr").exists()


def test_existing_output_refused_and_input_never_overwritten(tmp_path, tiny_hnr):
    existing = tmp_path / "e.hnr"
    existing.write_bytes(b"keep")
    with pytest.raises(OutputExistsError):
        hinerc.compress(make_cube(), existing, bpppb=4.0, arch="hiner", epochs=1)
    assert existing.read_bytes() == b"keep"
    src = tmp_path / "cube.npy"
    np.save(src, make_cube().data)
    with pytest.raises(OutputExistsError, match="input"):
        hinerc.compress(src, src, bpppb=4.0, arch="hiner", epochs=1, force=True)
    with pytest.raises(OutputExistsError, match="input"):
        hinerc.decompress(tiny_hnr, tiny_hnr, force=True)


def test_decompress_writes_each_format(tmp_path, tiny_hnr):
    for name in ("o.hdr", "o.tif", "o.mat", "o.npy"):
        hinerc.decompress(tiny_hnr, tmp_path / name)
        back = read_cube(tmp_path / name)
        assert back.shape == (20, 24, 12)


def test_bad_device_is_input_error(tmp_path):
    with pytest.raises(InputError, match="device"):
        hinerc.compress(make_cube(), tmp_path / "x.hnr", bpppb=4.0, device="tpu")


def test_inspect_hnr_and_cube(tiny_hnr, sample_hdr):
    d = hinerc.inspect(tiny_hnr)
    assert d["kind"] == "hnr" and d["shape"] == [20, 24, 12]
    assert d["bpppb"] == pytest.approx(tiny_hnr.stat().st_size * 8 / (20 * 24 * 12))
    c = hinerc.inspect(sample_hdr)
    assert c["kind"] == "cube" and c["shape"] == [40, 40, 198] and c["interleave"] == "bil"


def test_corrupt_model_payload_detected_by_crc(tmp_path, tiny_hnr):
    buf = bytearray(tiny_hnr.read_bytes())
    buf[-40] ^= 1
    bad = tmp_path / "bad.hnr"
    bad.write_bytes(bytes(buf))
    with pytest.raises(container.CorruptFileError, match="bad.hnr"):
        hinerc.decompress(bad)


def test_band_table_is_float32_unless_a_constant_needs_more(tmp_path):
    from hinerc.format import container

    cube = make_cube(dtype=np.float64)
    hinerc.compress(cube, tmp_path / "a.hnr", bpppb=4.0)
    assert container.read_file(tmp_path / "a.hnr").header.band_param_bytes == 4
    data = cube.data.copy()
    data[:, :, 5] = 0.1  # not a float32 value: the table stays float64, the band exact
    hinerc.compress(Cube(data, wavelengths_nm=cube.wavelengths_nm), tmp_path / "b.hnr", bpppb=4.0)
    assert container.read_file(tmp_path / "b.hnr").header.band_param_bytes == 8
    assert (hinerc.decompress(tmp_path / "b.hnr").data[:, :, 5] == 0.1).all()
