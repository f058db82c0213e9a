"""hinerc: a hyperspectral image codec that fits a small model to each cube (a low-rank model by
default, the published HINER network with ``arch="hiner"``).

The Python API mirrors the command line::

    import hinerc
    result = hinerc.compress("scene.hdr", "scene.hnr", bpppb=0.2)
    cube = hinerc.decompress("scene.hnr", "decoded.hdr")
    every5nm = hinerc.resample("scene.hnr", "every5nm.hdr", wavelengths="400:2500:5")
    facts = hinerc.inspect("scene.hnr")
    from hinerc.classify import classify   # SpectralFormer + ASW + ISI on the decoded cube

Importing hinerc does not import torch; only ``arch="hiner"`` and classification do.
"""

__version__ = "0.1.0"

from hinerc.api import CompressResult, compress, decompress, inspect, resample  # noqa: E402
from hinerc.errors import HinercError, HinercWarning, InputError, UsageError  # noqa: E402
from hinerc.io import Cube, read_cube, write_cube  # noqa: E402

__all__ = [
    "__version__", "compress", "decompress", "resample", "inspect", "CompressResult", "Cube", "read_cube",
    "write_cube", "HinercError", "HinercWarning", "InputError", "UsageError",
]
