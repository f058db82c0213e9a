"""The sample types a cube may have, in the order the ``.hnr`` header numbers them.

Shared by the readers (:mod:`hinerc.io`), which refuse other types, and the container
(:mod:`hinerc.format.header`), which stores a type as its index here: so that neither imports
the other.
"""

SUPPORTED_DTYPES = (
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64",
)
