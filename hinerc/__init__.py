"""hinerc: a hyperspectral image codec based on an overfitted neural representation (HINER).

The Python API mirrors the command line::

    import hinerc
    result = hinerc.compress("scene.hdr", "scene.hnr", bpppb=0.2)
    cube = hinerc.decompress("scene.hnr", "decoded.hdr")
    every5nm = hinerc.resample("scene.hnr", "every5nm.hdr", wavelengths="400:2500:5")
    facts = hinerc.inspect("scene.hnr")

Importing hinerc does not import torch; only compressing, decompressing and resampling do.
"""

__version__ = "0.1.0"

from hinerc.api import CompressResult, compress, decompress, inspect, resample  # noqa: E402
from hinerc.errors import HinercError  # noqa: E402
from hinerc.io import Cube, read_cube, write_cube  # noqa: E402

__all__ = [
    "__version__", "compress", "decompress", "resample", "inspect", "CompressResult", "Cube", "read_cube",
    "write_cube", "HinercError",
]
