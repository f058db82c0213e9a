"""Map coders: how the low-rank codec's k feature maps become the bytes of its MAPS section.

The rank search and the embedding fit (:mod:`hinerc.codecs.lowrank.model`) only ever call this
interface; which coder runs is a name stored in the file (MODL's ``maps``)::

    coder = get("jpeg2000")()                       # one instance per encode (it may cache)
    code = coder.encode(maps, budget_bytes)         # maps: H×W×k float64 in [0, 65535]
    maps2 = coder.decode(code.data, h, w, k)        # (H·W)×k float64, the same units
    coder.check(code.data, h, w, k)                 # structure only, before any decoding
    code = coder.encode(maps, budget_bytes, importance=weigh)   # maps weighted (optional)

The maps arrive in *code units*: each principal component shifted and scaled to [0, 65535]
(one scale for all maps). A coder returns decoded maps in the same units; the embeddings are
then fitted to exactly what it returns, so a coder may lose anything it likes.

``importance`` (optional, any coder may ignore it; JPEG 2000 does): what a unit of squared
error in each map costs the quality the search measures, as :data:`Importance`: given each
map's squared error (summed over pixels, code units) of a code, or ``None`` before any code,
it returns k weights ≥ 0. A coder that shares bytes out between the maps weighs their errors
by it. The low-rank model computes it from its KLT (the band-mean PSNR counts each band's
error relative to that band's own), never knowing which coder runs.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, ClassVar, Optional, Sequence, Union

import numpy as np

from hinerc.errors import CorruptFileError, HinercError


class MapCoderUnavailable(HinercError):
    """A map coder cannot encode on this machine (its program is missing or fails); the codec
    then falls back to :data:`FALLBACK` with a warning."""


#: per-map squared errors (k,) or ``None`` → per-map weights (k,) ≥ 0
Importance = Callable[[Optional[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class MapCode:
    """A coder's bytes for a set of maps."""

    data: bytes  # b"" when even the coarsest code does not fit the budget
    #: the code is at the coder's finest quality (more bytes would buy nothing)
    finest: bool = False
    #: the maps the code leaves *empty* (a constant: worth none of the bytes), in map order;
    #: the caller may drop them and code the others again with the bytes they free
    empty: tuple[int, ...] = ()


class MapCoder(ABC):
    """A codestream for k maps of H×W. An instance serves one encode: it may remember the
    encodes of the maps it was last given (the rank search asks for one set of maps at a few
    budgets) and what one rank taught it for the next."""

    #: stored in the file (MODL ``maps``): the codestream's identity
    name: ClassVar[str]
    #: one line for documentation
    summary: ClassVar[str] = ""
    #: its name for people (messages, ``info``'s summary)
    label: ClassVar[str] = ""
    #: its part of ``docs/format.md`` (the MAPS codestream)
    format_doc: ClassVar[str] = ""
    #: it shares the bytes out between the maps and may leave some out (``MapCode.empty``):
    #: the rank search then offers it many maps and lets it choose (``Search.allocate``)
    leaves_maps_out: ClassVar[bool] = False
    #: an effort tries it beside its own coder (``Preset.also``) only on maps of at most this
    #: many pixels (``None``: any; a coder without a sampled grid is slow on a scene)
    also_max_pixels: ClassVar[Optional[int]] = None

    @abstractmethod
    def encode(self, maps: np.ndarray, budget_bytes: int, *, window: Optional[float] = None,
               tick: Optional[Callable[[], None]] = None,
               importance: Optional[Importance] = None, map_cost: float = 0.0) -> MapCode:
        """The best code of ``maps`` (H×W×k float64 in [0, 65535]) within ``budget_bytes``.

        ``window`` (for the quick effort levels): any code of ``window``·budget..budget bytes
        will do, found in a few encodes. ``tick`` is called after each encode it runs (for
        progress). ``importance``: the maps' weights (see the module docstring).
        ``map_cost``: what each map costs outside the codestream (its embedding row, bytes)
        unless the coder leaves it empty (:attr:`MapCode.empty`); a coder that leaves maps
        empty may then write ``budget_bytes`` + ``map_cost`` per empty map. A coder that never
        leaves a map empty ignores it."""

    def without(self, data: bytes, k: int, drop: Sequence[int]) -> Optional[bytes]:
        """The code of ``data`` (k maps) with the empty maps ``drop`` taken out, the others
        unchanged, without coding anything again; ``None`` when the coder cannot (the caller
        then codes the others again)."""
        return None

    @abstractmethod
    def decode(self, data: bytes, height: int, width: int, k: int) -> np.ndarray:
        """The (H·W)×k float64 maps of ``data``, in code units; a
        :class:`~hinerc.errors.CorruptFileError` when the bytes are not such a code."""

    def decode_planes(self, data: bytes, height: int, width: int, k: int) -> np.ndarray:
        """:meth:`decode` as k×H×W, map by map (a decoder that mixes windows of the maps reads
        each map's window contiguously); by default a view of :meth:`decode`."""
        return self.decode(data, height, width, k).reshape(height, width, k).transpose(2, 0, 1)

    @abstractmethod
    def check(self, data: bytes, height: int, width: int, k: int) -> None:
        """Check ``data`` declares k maps of H×W, before any decoding (a hostile file must not
        make the decoder allocate more); :class:`~hinerc.errors.CorruptFileError` otherwise."""


#: name → "module:Class"; the first is the default.
MAP_CODERS: dict[str, Union[str, type[MapCoder]]] = {
    "jpeg2000": "hinerc.codecs.lowrank.mapcoders.jpeg2000:Jpeg2000MapCoder",
    "hevc": "hinerc.codecs.lowrank.mapcoders.hevc:HevcMapCoder",
    "av1": "hinerc.codecs.lowrank.mapcoders.av1:Av1MapCoder",
    "av1-444": "hinerc.codecs.lowrank.mapcoders.av1joint:Av1JointMapCoder",
}
DEFAULT = next(iter(MAP_CODERS))
#: What an encode uses when its map coder is unavailable: needs only ``imagecodecs``.
FALLBACK = "jpeg2000"


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
