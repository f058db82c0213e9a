"""Map coders: how the low-rank codec's k feature maps become the bytes of its MAPS section.

The rank search and the embedding fit (:mod:`hinerc.codecs.lowrank.model`) only ever call this
interface; which coder runs is a name stored in the file (MODL's ``maps``)::

    coder = get("jpeg2000")()                       # one instance per encode (it may cache)
    code = coder.encode(maps, budget_bytes)         # maps: H×W×k float64 in [0, 65535]
    maps2 = coder.decode(code.data, h, w, k)        # (H·W)×k float64, the same units
    coder.check(code.data, h, w, k)                 # structure only, before any decoding

The maps arrive in *code units*: each principal component shifted and scaled to [0, 65535]
(one scale for all maps). A coder returns decoded maps in the same units; the embeddings are
then fitted to exactly what it returns, so a coder may lose anything it likes.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, ClassVar, Optional, Union

import numpy as np

from hinerc.errors import CorruptFileError


@dataclass(frozen=True)
class MapCode:
    """A coder's bytes for a set of maps."""

    data: bytes  # b"" when even the coarsest code does not fit the budget
    #: the code is at the coder's finest quality (more bytes would buy nothing)
    finest: bool = False


class MapCoder(ABC):
    """A codestream for k maps of H×W. An instance serves one encode: it may remember the
    encodes of the maps it was last given (the rank search asks for one set of maps at a few
    budgets) and what one rank taught it for the next."""

    #: stored in the file (MODL ``maps``): the codestream's identity
    name: ClassVar[str]
    #: one line for documentation
    summary: ClassVar[str] = ""
    #: its part of ``docs/format.md`` (the MAPS codestream)
    format_doc: ClassVar[str] = ""

    @abstractmethod
    def encode(self, maps: np.ndarray, budget_bytes: int, *, window: Optional[float] = None,
               tick: Optional[Callable[[], None]] = None) -> MapCode:
        """The best code of ``maps`` (H×W×k float64 in [0, 65535]) within ``budget_bytes``.

        ``window`` (for the quick effort levels): any code of ``window``·budget..budget bytes
        will do, found in a few encodes. ``tick`` is called after each encode it runs (for
        progress)."""

    @abstractmethod
    def decode(self, data: bytes, height: int, width: int, k: int) -> np.ndarray:
        """The (H·W)×k float64 maps of ``data``, in code units; a
        :class:`~hinerc.errors.CorruptFileError` when the bytes are not such a code."""

    @abstractmethod
    def check(self, data: bytes, height: int, width: int, k: int) -> None:
        """Check ``data`` declares k maps of H×W, before any decoding (a hostile file must not
        make the decoder allocate more); :class:`~hinerc.errors.CorruptFileError` otherwise."""


#: name → "module:Class"; the first is the default.
MAP_CODERS: dict[str, Union[str, type[MapCoder]]] = {
    "jpeg2000": "hinerc.codecs.lowrank.mapcoders.jpeg2000:Jpeg2000MapCoder",
}
DEFAULT = next(iter(MAP_CODERS))


def names() -> tuple[str, ...]:
    return tuple(MAP_CODERS)


def get(name: str) -> type[MapCoder]:
    """The map coder class called ``name``; a :class:`CorruptFileError` for an unknown one
    (a name only ever comes from a file or from this registry)."""
    entry = MAP_CODERS.get(name) if isinstance(name, str) else None
    if entry is None:
        raise CorruptFileError(f"the file's maps are coded with {name!r}, which this hinerc "
                               f"does not know ({', '.join(MAP_CODERS)})")
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
        MAP_CODERS[name] = entry
    return entry
